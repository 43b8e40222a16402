package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/ident"
	"github.com/openwa/openwa/internal/store/storetest"
)

// dialects runs fn against SQLite and PostgreSQL (the conformance suite:
// both implementations must pass the same tests).
func dialects(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "sub", "openwa.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		migrate(t, s)
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := OpenPostgres(context.Background(), storetest.PostgresURL(t), 20, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		migrate(t, s)
		fn(t, s)
	})
}

func migrate(t *testing.T, s *Store) {
	t.Helper()
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestMigrations(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("second migrate applied %v: %v", applied, err)
		}
		if v, _ := s.SchemaVersion(ctx); v != s.LatestVersion() || v < 1 {
			t.Fatalf("schema version %d, latest %d", v, s.LatestVersion())
		}
		if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "newer than this binary") {
			t.Fatalf("newer schema: %v", err)
		}
	})
}

func TestSessionsConcurrentWriters(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n*2)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				now := Now()
				row := &Session{ID: fmt.Sprintf("s%d", i), Name: "x", Engine: "mock", Status: "CREATED", Config: []byte("{}"),
					CreatedAt: now, UpdatedAt: now}
				if err := s.CreateSession(ctx, row, 40); err != nil && !errors.Is(err, ErrLimit) {
					errs <- err
					return
				}
				errs <- s.AddAudit(ctx, &AuditEntry{Action: "x", Target: "y", IP: "z", Status: 200, Outcome: "success", CreatedAt: now})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent write: %v", err)
			}
		}
		_, total, err := s.ListSessions(ctx, SessionFilter{})
		if err != nil || total != 40 {
			t.Fatalf("MAX_SESSIONS under concurrency: %d sessions, %v", total, err)
		}
	})
}

func TestSessionRows(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := Now()
		row := &Session{ID: "a", Name: "A", Engine: "mock", Status: "CREATED", Config: []byte(`{"autoStart":false}`),
			CreatedAt: now, UpdatedAt: now}
		if err := s.CreateSession(ctx, row, 10); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, row, 10); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate: %v", err)
		}
		if _, err := s.GetSession(ctx, "b"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		if err := s.SetSessionAuth(ctx, "a", []byte("pairing")); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSession(ctx, "a")
		if err != nil || string(got.AuthState) != "pairing" || got.Started {
			t.Fatalf("get: %+v %v", got, err)
		}
		got.Status, got.Started, got.Phone = "READY", true, "15550001"
		if err := s.UpdateSession(ctx, got); err != nil {
			t.Fatal(err)
		}
		counts, _ := s.CountSessionsByStatus(ctx)
		if counts["READY"] != 1 {
			t.Fatalf("counts %v", counts)
		}
		if err := s.DeleteSession(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, "a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
}

// An event is written exactly when its state change is: a refused change
// leaves no event behind, and the commit hook sees only committed events.
func TestEventsShareTheTransaction(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var committed []string
		s.SetOnCommit(func(evs []*event.Row) {
			for _, e := range evs {
				committed = append(committed, e.ID)
			}
		})
		ev := func(id string) *event.Row {
			return &event.Row{ID: id, Name: "message.received", SessionID: "a", Data: []byte("{}"), CreatedAt: Now()}
		}
		now := Now()
		if err := s.CreateSession(ctx, &Session{ID: "a", Name: "a", Engine: "mock", Status: "READY", Config: []byte("{}"),
			CreatedAt: now, UpdatedAt: now}, 10); err != nil {
			t.Fatal(err)
		}
		msg := &Message{ID: "m1", SessionID: "a", WAMessageID: "W1", ChatID: "c", Sender: "x", Type: "text",
			Content: []byte("{}"), Status: "delivered", Timestamp: now, CreatedAt: now, UpdatedAt: now}
		if err := s.SaveInbound(ctx, msg, ev("evt_1")); err != nil {
			t.Fatal(err)
		}
		dup := *msg
		dup.ID = "m2"
		if err := s.SaveInbound(ctx, &dup, ev("evt_2")); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("duplicate: %v", err)
		}
		if err := s.UpdateSession(ctx, &Session{ID: "missing", Config: []byte("{}")}, ev("evt_3")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update of a missing session: %v", err)
		}
		evs, err := s.ListEvents(ctx, event.Filter{Limit: 100})
		if err != nil || len(evs) != 1 || evs[0].ID != "evt_1" {
			t.Fatalf("events: %v %v", evs, err)
		}
		if len(committed) != 1 || committed[0] != "evt_1" {
			t.Fatalf("hook saw %v", committed)
		}
	})
}

// Deleting a session takes it off session keys (revoking a key left with
// none), and an event written for it after the delete (a straggler from its
// engine) is gone before a new session of that id exists.
func TestDeleteSessionReachesKeysAndStragglers(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, id := range []string{"tenant", "other"} {
			if err := s.CreateSession(ctx, &Session{ID: id, Name: id, Engine: "mock", Status: "CREATED", Config: []byte("{}")}, 10); err != nil {
				t.Fatal(err)
			}
		}
		keys := map[string][]string{"key_only": {"tenant"}, "key_both": {"other", "tenant"}, "key_like": {"tenantX"}}
		for id, sessions := range keys {
			if err := s.CreateKey(ctx, &APIKey{ID: id, Name: id, Hash: id, Prefix: "owa_", Role: "session", Sessions: sessions}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteSession(ctx, "tenant"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetKey(ctx, "key_only"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a key of the deleted session alone: %v", err)
		}
		if k, err := s.GetKey(ctx, "key_both"); err != nil || strings.Join(k.Sessions, ",") != "other" {
			t.Fatalf("a key of two sessions: %+v %v", k, err)
		}
		if k, err := s.GetKey(ctx, "key_like"); err != nil || strings.Join(k.Sessions, ",") != "tenantX" {
			t.Fatalf("a key of a session with a longer id: %+v %v", k, err)
		}

		late := &event.Row{ID: ident.NewEvent(time.Now()), Name: "message.ack", SessionID: "tenant", Data: []byte(`{"text":"old"}`), CreatedAt: Now()}
		if err := s.AddEvents(ctx, late); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, "tenant"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if evs, _ := s.ListEvents(ctx, event.Filter{Sessions: []string{"tenant"}, Limit: 10}); len(evs) != 0 {
			t.Fatalf("a second delete leaves %d events", len(evs))
		}
		// Another straggler, then the id is taken again.
		late2 := &event.Row{ID: ident.NewEvent(time.Now()), Name: "message.ack", SessionID: "tenant", Data: []byte(`{"text":"old"}`), CreatedAt: Now()}
		if err := s.AddEvents(ctx, late2); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, &Session{ID: "tenant", Name: "tenant", Engine: "mock", Status: "CREATED", Config: []byte("{}")}, 10); err != nil {
			t.Fatal(err)
		}
		if evs, _ := s.ListEvents(ctx, event.Filter{Sessions: []string{"tenant"}, Limit: 10}); len(evs) != 0 {
			t.Fatalf("the new session inherits %d events", len(evs))
		}
	})
}
