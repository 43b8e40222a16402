// Package stamp is the one form in which OpenWA writes a time (API.md,
// "Basics"): RFC 3339 in UTC with exactly three fractional digits,
// "2026-01-01T10:00:00.320Z", so that string order is time order. encoding/json
// writes a time.Time with as many digits as it needs ("…:00.32Z"), which sorts
// after "…:00.315Z"; every time in a response, an event or a webhook payload is
// a stamp.Time instead.
package stamp

import (
	"encoding/json"
	"fmt"
	"time"
)

// Layout is the layout of every written time. The value is converted to UTC
// first, so the zone is always "Z".
const Layout = "2006-01-02T15:04:05.000Z"

// Time is a time.Time that is written in Layout. Its methods are time.Time's;
// only the JSON and text forms differ. The OpenAPI schema is time.Time's
// (string, date-time): httpapi registers the alias.
type Time struct{ time.Time }

// Of wraps t.
func Of(t time.Time) Time { return Time{t} }

// Millis is the time of unix milliseconds ms, in UTC (how the store keeps times).
func Millis(ms int64) Time { return Time{time.UnixMilli(ms).UTC()} }

// String is the written form.
func (t Time) String() string { return t.UTC().Format(Layout) }

// MarshalJSON writes t as a JSON string in Layout.
func (t Time) MarshalJSON() ([]byte, error) {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("stamp: year %d outside [0,9999]", y)
	}
	return []byte(`"` + t.String() + `"`), nil
}

// MarshalText writes t in Layout.
func (t Time) MarshalText() ([]byte, error) {
	b, err := t.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return b[1 : len(b)-1], nil
}

// UnmarshalJSON reads any RFC 3339 time (or null, which leaves t unchanged).
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("stamp: %w", err)
	}
	return t.UnmarshalText([]byte(s))
}

// UnmarshalText reads any RFC 3339 time.
func (t *Time) UnmarshalText(b []byte) error {
	v, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return fmt.Errorf("stamp: %w", err)
	}
	t.Time = v
	return nil
}
