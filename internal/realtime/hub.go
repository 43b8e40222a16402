// Package realtime fans committed events out to WebSocket and Server-Sent
// Events clients. Each client has a bounded buffer; one that cannot keep up is
// dropped (WebSocket close 1013) rather than let memory grow. A client that
// resumes (?after=, Last-Event-ID) gets the stored events it missed, then the
// live ones, with no gap and no duplicate.
package realtime

import (
	"context"
	"slices"
	"sync"

	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/store"
)

// Buffer is how many events a client may lag behind before it is dropped.
const Buffer = 512

// Hub holds the subscribers.
type Hub struct {
	mu     sync.Mutex
	subs   map[*Sub]struct{}
	closed chan struct{} // closed at shutdown: every stream ends
	once   sync.Once
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[*Sub]struct{}{}, closed: make(chan struct{})} }

// Close ends every stream (at shutdown).
func (h *Hub) Close() { h.once.Do(func() { close(h.closed) }) }

// Done is closed when the hub is.
func (h *Hub) Done() <-chan struct{} { return h.closed }

// Sub is one client's subscription.
type Sub struct {
	C       chan *event.Row // live events, in seq order
	Evicted chan struct{}   // closed when the client fell behind and lost events

	mu       sync.Mutex
	allowed  []string // nil: every session (admin key); else the key's sessions
	sessions []string // nil: every allowed session
	names    []string // nil: every event
	once     sync.Once
}

// Subscribe registers a client. allowed bounds what it may ever see.
func (h *Hub) Subscribe(allowed, sessions, names []string) *Sub {
	s := &Sub{C: make(chan *event.Row, Buffer), Evicted: make(chan struct{}), allowed: allowed, sessions: sessions, names: names}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Unsubscribe removes a client.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// Count is the number of connected clients.
func (h *Hub) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Publish hands committed events to every client that wants them; it never blocks.
func (h *Hub) Publish(evs []*event.Row) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		for _, ev := range evs {
			if !s.Wants(ev) {
				continue
			}
			select {
			case s.C <- ev:
			default:
				s.once.Do(func() { close(s.Evicted) })
			}
		}
	}
}

// Wants reports whether the client's filters take ev.
func (s *Sub) Wants(ev *event.Row) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.allowed != nil && !slices.Contains(s.allowed, ev.SessionID) {
		return false
	}
	if s.sessions != nil && !slices.Contains(s.sessions, ev.SessionID) {
		return false
	}
	return s.names == nil || slices.Contains(s.names, ev.Name)
}

// Change subscribes to (add) or unsubscribes from (remove) sessions and events.
// Subscribing to a session or event when all are taken changes nothing;
// unsubscribing from one of "all" keeps the rest.
func (s *Sub) Change(add bool, sessions, names []string, allSessions, allNames []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = change(s.sessions, sessions, add, allSessions)
	s.names = change(s.names, names, add, allNames)
}

func change(cur, items []string, add bool, all []string) []string {
	if len(items) == 0 {
		return cur
	}
	if add {
		if cur == nil {
			return nil
		}
		for _, it := range items {
			if !slices.Contains(cur, it) {
				cur = append(cur, it)
			}
		}
		return cur
	}
	if cur == nil {
		cur = slices.Clone(all)
	}
	return slices.DeleteFunc(cur, func(x string) bool { return slices.Contains(items, x) })
}

// Replay sends the stored events after `after` that the client wants, then
// returns the last seq sent (or after). Live events at or below it are then skipped.
func Replay(ctx context.Context, st *store.Store, s *Sub, after int64, send func(*event.Row) error) (int64, error) {
	for {
		s.mu.Lock()
		f := event.Filter{After: after, Sessions: s.allowed, Names: s.names, Limit: 500}
		if s.sessions != nil {
			f.Sessions = s.sessions
		}
		s.mu.Unlock()
		evs, err := st.ListEvents(ctx, f)
		if err != nil {
			return after, err
		}
		for _, ev := range evs {
			if s.Wants(ev) {
				if err := send(ev); err != nil {
					return after, err
				}
			}
			after = ev.Seq
		}
		if len(evs) < f.Limit {
			return after, nil
		}
	}
}
