package store

import (
	"encoding/json"
	"log/slog"
)

// DecodeJSON decodes a stored JSON column of the row id of table into v. A
// column that does not decode (written by hand, or damaged) is logged with the
// row's id and leaves v as it was: the caller goes on with what it has.
func DecodeJSON(log *slog.Logger, table, id string, raw []byte, v any) bool {
	if len(raw) == 0 {
		return true
	}
	if err := json.Unmarshal(raw, v); err != nil {
		log.Warn("a stored JSON column does not decode", "table", table, "row_id", id, "err", err)
		return false
	}
	return true
}
