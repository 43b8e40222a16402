package auth

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/store"
	"github.com/openwa/openwa/internal/store/storetest"
)

// openStores gives the test a migrated SQLite store, and a PostgreSQL one
// when OPENWA_TEST_POSTGRES_URL is set.
func openStores(t *testing.T) map[string]func(t *testing.T) *store.Store {
	return map[string]func(t *testing.T) *store.Store{
		"sqlite": func(t *testing.T) *store.Store {
			st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "db"))
			return migrated(t, st, err)
		},
		"postgres": func(t *testing.T) *store.Store {
			st, err := store.OpenPostgres(context.Background(), storetest.PostgresURL(t), 4, false)
			return migrated(t, st, err)
		},
	}
}

func migrated(t *testing.T, st *store.Store, err error) *store.Store {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// Audit rows older than the retention period are deleted, the others kept;
// a retention of zero keeps everything.
func TestAuditRetention(t *testing.T) {
	for name, open := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
			day := 24 * time.Hour
			for i, age := range []time.Duration{91 * day, 90*day + time.Millisecond, 90*day - time.Millisecond, day, 0} {
				err := st.AddAudit(ctx, &store.AuditEntry{Action: "POST /api/sessions", Target: "/api/sessions", IP: "192.0.2.1",
					Status: 201, Outcome: "success", RequestID: string(rune('a' + i)), CreatedAt: now.Add(-age).UnixMilli()})
				if err != nil {
					t.Fatal(err)
				}
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			if n, err := NewAuditRetention(st, 0, log).Cleanup(ctx, now); err != nil || n != 0 {
				t.Fatalf("retention 0 deleted %d, %v", n, err)
			}
			n, err := NewAuditRetention(st, 90*day, log).Cleanup(ctx, now)
			if err != nil || n != 2 {
				t.Fatalf("deleted %d, %v; want 2", n, err)
			}
			rows, total, err := st.ListAudit(ctx, 10, 0)
			if err != nil || total != 3 {
				t.Fatalf("left %d rows, %v", total, err)
			}
			for _, r := range rows {
				if now.Sub(time.UnixMilli(r.CreatedAt)) >= 90*day {
					t.Fatalf("kept a row of %v", time.UnixMilli(r.CreatedAt))
				}
			}
		})
	}
}
