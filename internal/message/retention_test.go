package message

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/media/local"
	"github.com/openwa/openwa/internal/store"
)

// Retention deletes old messages but never the outbox.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := st.CreateSession(ctx, &store.Session{ID: "s", Name: "s", Engine: "mock", Status: "CREATED",
		Config: []byte("{}"), CreatedAt: now.UnixMilli(), UpdatedAt: now.UnixMilli()}, 10); err != nil {
		t.Fatal(err)
	}
	add := func(id, status string, age time.Duration) {
		ts := now.Add(-age).UnixMilli()
		if err := st.SaveInbound(ctx, &store.Message{ID: id, SessionID: "s", WAMessageID: "WA" + id, ChatID: "c", Sender: "x",
			Type: "text", Content: []byte("{}"), Status: status, Timestamp: ts, CreatedAt: ts, UpdatedAt: ts}); err != nil {
			t.Fatal(err)
		}
	}
	add("old", "read", 31*24*time.Hour)
	add("old-queued", "queued", 31*24*time.Hour)
	add("recent", "read", 29*24*time.Hour)
	blobs, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		id  string
		age time.Duration
	}{{"med_old", 31 * 24 * time.Hour}, {"med_new", time.Hour}} {
		key := "sessions/s/media/" + m.id
		blobs.Put(ctx, key, strings.NewReader("x"), 1, "")
		if err := st.CreateMedia(ctx, &store.Media{ID: m.id, SessionID: "s", StorageKey: key, Mimetype: "image/png", Size: 1,
			CreatedAt: now.Add(-m.age).UnixMilli()}); err != nil {
			t.Fatal(err)
		}
	}
	s := New(Options{Store: st, Media: blobs, Retention: 30 * 24 * time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	n, err := s.Cleanup(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("deleted %d, %v; want 1", n, err)
	}
	for id, want := range map[string]bool{"old": false, "old-queued": true, "recent": true} {
		_, err := st.GetMessage(ctx, "s", id)
		if (err == nil) != want {
			t.Errorf("%s kept=%v, want %v", id, err == nil, want)
		}
	}
	for id, want := range map[string]bool{"med_old": false, "med_new": true} {
		ok, _ := blobs.Exists(ctx, "sessions/s/media/"+id)
		_, err := st.GetMedia(ctx, "s", id)
		if ok != want || (err == nil) != want {
			t.Errorf("media %s: blob %v, row %v; want kept=%v", id, ok, err == nil, want)
		}
	}
}
