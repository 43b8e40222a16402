package realtime

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A stream whose key is gone without a revocation message (lost while Redis
// was away) is ended by the periodic check.
func TestKeyCheckEndsStreamsOfDeletedKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gone atomic.Bool
		hub := NewHub()
		srv := &Server{Hub: hub, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			KeyActive: func(_ context.Context, id string) (bool, error) { return id != "key_a" || !gone.Load(), nil }}
		a := hub.Subscribe(Request{KeyID: "key_a"})
		b := hub.Subscribe(Request{KeyID: "key_b"})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- srv.RunKeyCheck(ctx, KeyCheckEvery) }()

		time.Sleep(KeyCheckEvery + time.Second)
		synctest.Wait()
		select {
		case <-a.Revoked:
			t.Fatal("a stream of an existing key was ended")
		default:
		}
		gone.Store(true)
		time.Sleep(KeyCheckEvery)
		synctest.Wait()
		select {
		case <-a.Revoked:
		default:
			t.Fatal("the stream of a deleted key is still open after a check")
		}
		select {
		case <-b.Revoked:
			t.Fatal("another key's stream was ended")
		default:
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

type step struct {
	add   bool
	items []string
}

// Unsubscribing from one of all sessions keeps the others, later ones included.
func TestChangeKeepsTheRest(t *testing.T) {
	for _, tc := range []struct {
		name          string
		start         []string // the client's ?sessions= (nil: all)
		actions       []step
		want, notWant []string
	}{
		{name: "unsubscribe from all", actions: []step{{false, []string{"x"}}}, want: []string{"y", "later"}, notWant: []string{"x"}},
		{name: "and back", actions: []step{{false, []string{"x"}}, {true, []string{"x"}}}, want: []string{"x", "y"}},
		{name: "star", actions: []step{{false, []string{"*"}}}, notWant: []string{"x", "y"}},
		{name: "explicit list", start: []string{"x"}, actions: []step{{true, []string{"y"}}, {false, []string{"x"}}}, want: []string{"y"}, notWant: []string{"x", "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewHub().Subscribe(Request{Sessions: tc.start})
			for _, a := range tc.actions {
				if err := s.Change(a.add, a.items, nil); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range tc.want {
				if !s.sessions.has(id) {
					t.Errorf("does not take %s", id)
				}
			}
			for _, id := range tc.notWant {
				if s.sessions.has(id) {
					t.Errorf("takes %s", id)
				}
			}
		})
	}
}
