package store

import (
	"context"
	"fmt"
	"testing"
)

// Every list reads a page and the total of all matching rows, on both
// dialects: the filter's arguments serve the count and the page alike.
func TestPages(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := Now()
		for i := range 5 {
			row := &Session{ID: fmt.Sprintf("s%d", i), Engine: "mock", Status: "CREATED", Config: []byte(`{}`),
				CreatedAt: now + int64(i), UpdatedAt: now}
			if i%2 == 1 {
				row.Status = "READY"
			}
			if err := s.CreateSession(ctx, row, 10); err != nil {
				t.Fatal(err)
			}
		}
		got, total, err := s.ListSessions(ctx, SessionFilter{Status: "CREATED", Limit: 2, Offset: 1})
		if err != nil || total != 3 || len(got) != 2 || got[0].ID != "s2" || got[1].ID != "s4" {
			t.Fatalf("sessions page: total %d, %v, %v", total, ids(got, func(r *Session) string { return r.ID }), err)
		}
		if got, total, err := s.ListSessions(ctx, SessionFilter{}); err != nil || total != 5 || len(got) != 5 {
			t.Fatalf("all sessions: total %d, %d rows, %v", total, len(got), err)
		}
		for i := range 3 {
			w := &Webhook{ID: fmt.Sprintf("wh%d", i), SessionID: "s0", URL: "https://example.com", Events: `["*"]`,
				Headers: "{}", Active: true, CreatedAt: now + int64(i), UpdatedAt: now}
			if err := s.CreateWebhook(ctx, w, 10); err != nil {
				t.Fatal(err)
			}
		}
		hooks, total, err := s.ListWebhooks(ctx, "s0", 2, 2)
		if err != nil || total != 3 || len(hooks) != 1 || hooks[0].ID != "wh2" {
			t.Fatalf("webhooks page: total %d, %v, %v", total, ids(hooks, func(w *Webhook) string { return w.ID }), err)
		}
		if hooks, total, err := s.ListWebhooks(ctx, "", 10, 0); err != nil || total != 0 || len(hooks) != 0 {
			t.Fatalf("global webhooks: total %d, %d rows, %v", total, len(hooks), err)
		}
	})
}

func ids[T any](rows []T, id func(T) string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out
}
