package session

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/cache/memory"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/store"
)

// recorder is an Observer that keeps the ids of the messages it stored.
type recorder struct {
	mu   sync.Mutex
	ids  []string
	fail error // returned for every message, when set
}

func (r *recorder) EngineEvent(_ context.Context, _ string, ev engine.Event) error {
	if m, ok := ev.(engine.MessageReceived); ok {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail != nil {
			return r.fail
		}
		r.ids = append(r.ids, m.Message.WAMessageID)
	}
	return nil
}

func (r *recorder) stored() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// lateEngine hands on one last message while it disconnects, as an engine
// whose event handler was busy when the session was stopped.
type lateEngine struct {
	engine.Engine
	opts engine.Options
}

func (e *lateEngine) Connect(context.Context) error { return nil }
func (e *lateEngine) Me() *engine.Account           { return nil }
func (e *lateEngine) Disconnect(context.Context) error {
	e.opts.Emit(engine.MessageReceived{Message: &engine.Message{WAMessageID: "LATE"}})
	return nil
}

func newTestManager(t *testing.T, obs Observer) (*Manager, *engine.Options) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "openwa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var opts engine.Options
	m := NewManager(Options{Store: st, Cache: memory.New(100, time.Minute), Observer: obs, DefaultEngine: "late", MaxSessions: 10,
		Engines: map[string]engine.Factory{"late": func(o engine.Options) (engine.Engine, error) {
			opts = o
			return &lateEngine{opts: o}, nil
		}}})
	t.Cleanup(func() { m.Close(context.Background()) })
	if _, err := m.Create(ctx, CreateInput{ID: "s", Engine: "late"}); err != nil {
		t.Fatal(err)
	}
	return m, &opts
}

// Deliver returns once the message is stored, and says so; a message that
// cannot be stored is an error the engine sees (it then does not
// acknowledge it to WhatsApp).
func TestDeliverWaitsForTheCommit(t *testing.T) {
	rec := &recorder{}
	_, opts := newTestManager(t, rec)
	ctx := context.Background()
	for _, id := range []string{"A", "B", "C"} {
		if err := opts.Deliver(ctx, engine.MessageReceived{Message: &engine.Message{WAMessageID: id}}); err != nil {
			t.Fatal(err)
		}
		if got := rec.stored(); got[len(got)-1] != id {
			t.Fatalf("Deliver(%s) returned before the commit: stored %v", id, got)
		}
	}
	rec.mu.Lock()
	rec.fail = errors.New("constraint failed")
	rec.mu.Unlock()
	if err := opts.Deliver(ctx, engine.MessageReceived{Message: &engine.Message{WAMessageID: "D"}}); err == nil {
		t.Fatal("a message that was not stored was reported stored")
	}
}

// A message the engine hands on while the session stops is stored, not
// dropped with the stopped runtime; after the stop Deliver refuses.
func TestStopDrainsTheQueue(t *testing.T) {
	rec := &recorder{}
	m, opts := newTestManager(t, rec)
	ctx := context.Background()
	if _, err := m.Stop(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !slices.Contains(rec.stored(), "LATE"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the message handed on during the stop was dropped: stored %v", rec.stored())
		}
	}
	if err := opts.Deliver(ctx, engine.MessageReceived{Message: &engine.Message{WAMessageID: "AFTER"}}); err == nil {
		t.Fatal("Deliver after the stop reported a commit")
	}
}
