package httpapi_test

import (
	"strconv"
	"testing"
	"time"
)

func TestPacing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.do("POST", "/api/sessions", map[string]any{"id": "p", "engine": "mock", "config": map[string]any{
		"mock":   map[string]any{"pairDelayMs": 10, "ackDelayMs": 5},
		"pacing": map[string]any{"minIntervalMs": 120, "jitterMs": 30, "dailyLimit": 4}}})
	e.expect(r, 201, "")
	e.waitStatus("p", "READY")

	t.Run("minimum interval between sends", func(t *testing.T) {
		var ids []string
		for i := range 4 {
			r := e.do("POST", "/api/sessions/p/messages/send-text?async=true", map[string]any{"chatId": "6281234567890", "text": strconv.Itoa(i)},
				header("Idempotency-Key", "k"+strconv.Itoa(i)))
			e.expect(r, 202, "")
			ids = append(ids, r.data()["id"].(string))
		}
		var prev time.Time
		for i, id := range ids {
			m := e.waitMessage("p", id, "sent", "delivered", "read")
			ts, _ := time.Parse(time.RFC3339Nano, m["timestamp"].(string))
			if i > 0 && ts.Sub(prev) < 120*time.Millisecond {
				t.Fatalf("sends %d and %d only %v apart, want at least 120ms", i-1, i, ts.Sub(prev))
			}
			prev = ts
		}
	})
	t.Run("daily limit", func(t *testing.T) {
		r := e.do("POST", "/api/sessions/p/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "fifth"})
		e.expect(r, 429, "RATE_LIMITED")
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || secs < 86000 || secs > 86400 {
			t.Fatalf("Retry-After %q, want about a day", r.Header.Get("Retry-After"))
		}
		if r.errDetails()["dailyLimit"] != 4.0 {
			t.Fatalf("details: %s", r.Raw)
		}
		// A retry of an accepted message is not a new send: it still gets its answer.
		again := e.do("POST", "/api/sessions/p/messages/send-text?async=true", map[string]any{"chatId": "6281234567890", "text": "0"},
			header("Idempotency-Key", "k0"))
		if again.Status != 201 && again.Status != 202 {
			t.Fatalf("idempotent retry past the cap: %d %s", again.Status, again.Raw)
		}
		// Raising the limit applies at once.
		e.expect(e.do("PUT", "/api/sessions/p", map[string]any{"config": map[string]any{
			"mock": map[string]any{"pairDelayMs": 10}, "pacing": map[string]any{"dailyLimit": 5}}}), 200, "")
		e.expect(e.do("POST", "/api/sessions/p/messages/send-text?async=true", map[string]any{"chatId": "6281234567890", "text": "fifth"}), 202, "")
	})
	t.Run("bad pacing", func(t *testing.T) {
		e.expect(e.do("PUT", "/api/sessions/p", map[string]any{"config": map[string]any{"pacing": map[string]any{"minIntervalMs": -1}}}), 400, "VALIDATION_ERROR")
	})
}
