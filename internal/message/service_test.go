package message

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/mock"
	"github.com/openwa/openwa/internal/session"
	"github.com/openwa/openwa/internal/store"
	"github.com/openwa/openwa/internal/testutil"
)

// readySessions plays the session manager: one READY mock session.
type readySessions struct {
	eng  engine.Engine
	sess *session.Session
}

func (r readySessions) Ready(context.Context, string) (engine.Engine, *session.Session, error) {
	return r.eng, r.sess, nil
}

// newService returns a message service on SQLite with one READY mock
// session "s" of the given pacing. No worker runs: sends stay queued.
func newService(t *testing.T, p *session.Pacing) *Service {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if err := st.CreateSession(ctx, &store.Session{ID: "s", Name: "s", Engine: "mock", Status: "READY",
		Config: []byte("{}"), CreatedAt: now, UpdatedAt: now}, 10); err != nil {
		t.Fatal(err)
	}
	eng, err := mock.New(engine.Options{SessionID: "s", Settings: []byte(`{"pairDelayMs":0}`), Emit: func(engine.Event) {},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	t.Cleanup(func() { cancel(); _ = eng.Disconnect(context.Background()) })
	if err := eng.Connect(cctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return eng.Me() != nil }, "the mock session is never paired")
	return New(Options{Store: st, Sessions: readySessions{eng: eng, sess: &session.Session{ID: "s", Config: session.Config{Pacing: p}}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func text(key, hash, body string) SendInput {
	return SendInput{ChatID: "6281234567890", Out: engine.Outgoing{Type: engine.TypeText, Content: engine.Content{Text: body}},
		IdempotencyKey: key, RequestHash: hash, Async: true}
}

// A retried send with the same Idempotency-Key is answered with the first
// message and stores nothing new; the same key with another body is refused.
func TestIdempotentSend(t *testing.T) {
	s := newService(t, nil)
	ctx := context.Background()
	first, _, err := s.Send(ctx, "s", text("k1", "h1", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := s.Send(ctx, "s", text("k1", "h1", "hello"))
	if err != nil || again.ID != first.ID || *again.WAMessageID != *first.WAMessageID {
		t.Fatalf("retry: %+v %v, want message %s again", again, err, first.ID)
	}
	if _, _, err := s.Send(ctx, "s", text("k1", "h2", "other")); !apperr.Is(err, apperr.IdempotencyConflict) {
		t.Fatalf("same key, other body: %v, want IDEMPOTENCY_CONFLICT", err)
	}
	other, _, err := s.Send(ctx, "s", text("k2", "h1", "hello"))
	if err != nil || other.ID == first.ID {
		t.Fatalf("another key: %+v %v, want a new message", other, err)
	}
	list, total, err := s.List(ctx, ListFilter{SessionID: "s", Limit: 10})
	if err != nil || total != 2 || len(list) != 2 {
		t.Fatalf("stored %d messages (%v), want 2", total, err)
	}
}

// pacing.dailyLimit caps accepted sends in 24 hours: past it a send is
// RATE_LIMITED with a Retry-After of when the oldest leaves the window; a
// retry of an accepted send is still answered.
func TestDailyLimit(t *testing.T) {
	s := newService(t, &session.Pacing{DailyLimit: 2})
	ctx := context.Background()
	first, _, err := s.Send(ctx, "s", text("a", "h", "1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Send(ctx, "s", text("b", "h", "2")); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Send(ctx, "s", text("c", "h", "3"))
	ae, ok := apperr.As(err)
	if !apperr.Is(err, apperr.RateLimited) || !ok || ae.RetryAfter <= 23*time.Hour || ae.RetryAfter > 24*time.Hour {
		t.Fatalf("third send: %v, want RATE_LIMITED with Retry-After near 24 h", err)
	}
	again, _, err := s.Send(ctx, "s", text("a", "h", "1"))
	if err != nil || again.ID != first.ID {
		t.Fatalf("retry past the cap: %+v %v, want the first answer", again, err)
	}
}
