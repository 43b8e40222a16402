package store

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// A damaged stored column is logged with its table and row id, never silently ignored.
func TestDecodeJSONLogsTheRow(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var v map[string]string
	if !DecodeJSON(log, "webhooks", "wh_1", []byte(`{"a":"b"}`), &v) || v["a"] != "b" || logs.Len() != 0 {
		t.Fatalf("good column: %v, logs %q", v, logs.String())
	}
	if DecodeJSON(log, "webhooks", "wh_2", []byte(`{"a":`), &v) {
		t.Fatal("a damaged column decoded")
	}
	if l := logs.String(); !strings.Contains(l, "table=webhooks") || !strings.Contains(l, "row_id=wh_2") {
		t.Fatalf("logs %q", l)
	}
}
