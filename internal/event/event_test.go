package event_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/store"
)

func TestRetentionAndView(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	old := event.New(event.SessionStatus, "s", map[string]string{"status": "READY"})
	old.CreatedAt = time.Now().Add(-8 * 24 * time.Hour).UnixMilli()
	recent := event.New(event.WebhookTest, "", struct{}{})
	if err := st.AddEvents(ctx, old, recent); err != nil {
		t.Fatal(err)
	}
	l := event.NewLog(st, 7*24*time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if n, err := l.Cleanup(ctx, time.Now()); err != nil || n != 1 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	evs, err := l.List(ctx, event.Filter{Limit: 10})
	if err != nil || len(evs) != 1 {
		t.Fatalf("left %v %v", evs, err)
	}
	v := evs[0]
	if v.Event != event.WebhookTest || v.SessionID != nil || v.Seq != recent.Seq || !strings.HasPrefix(v.ID, "evt_") || string(v.Data) != "{}" {
		t.Fatalf("view %+v", v)
	}
}
