// Package realtime fans committed events out to WebSocket and Server-Sent
// Events clients. Each client has a bounded buffer; one that cannot keep up is
// dropped (WebSocket close 1013) rather than let memory grow. A client that
// resumes (?after=, Last-Event-ID) gets the stored events it missed, then the
// live ones, with no gap and no duplicate.
package realtime

import (
	"context"
	"fmt"
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
	Revoked chan struct{}   // closed when the client's API key is revoked

	key string // id of the API key the client authenticated with

	mu       sync.Mutex
	allowed  []string // nil: every session (admin key); else the key's sessions, less deleted ones
	sessions filter
	names    filter
	evict    sync.Once
	revoke   sync.Once
}

// Subscribe registers a client. req.Allowed bounds what it may ever see.
func (h *Hub) Subscribe(req Request) *Sub {
	s := &Sub{C: make(chan *event.Row, Buffer), Evicted: make(chan struct{}), Revoked: make(chan struct{}),
		key: req.KeyID, allowed: req.Allowed, sessions: filter{only: req.Sessions}, names: filter{only: req.Events}}
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

// Revoke ends the streams of the clients that authenticated with API key
// keyID: the key was deleted, here or on another instance.
func (h *Hub) Revoke(keyID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.key == keyID {
			s.revoke.Do(func() { close(s.Revoked) })
		}
	}
}

// Keys returns the ids of the API keys that have streams open, each once.
func (h *Hub) Keys() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for s := range h.subs {
		if s.key != "" && !slices.Contains(out, s.key) {
			out = append(out, s.key)
		}
	}
	return out
}

// DropSession takes a deleted session off the sessions that session keys'
// streams may see, so that a later session of the same id stays unseen; a
// stream left with no session ends as revoked (its key was deleted with the
// session's last id).
func (h *Hub) DropSession(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.mu.Lock()
		if s.allowed != nil && slices.Contains(s.allowed, id) {
			s.allowed = slices.DeleteFunc(slices.Clone(s.allowed), func(x string) bool { return x == id })
			if len(s.allowed) == 0 {
				s.revoke.Do(func() { close(s.Revoked) })
			}
		}
		s.mu.Unlock()
	}
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
				s.evict.Do(func() { close(s.Evicted) })
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
	return s.sessions.has(ev.SessionID) && s.names.has(ev.Name)
}

// MaxFilter bounds the session ids one subscription names (in what it takes
// or in what it leaves out), so that matching an event stays cheap.
const MaxFilter = 256

// Change subscribes to (add) or unsubscribes from (remove) sessions and
// events; "*" stands for all of them. Unsubscribing from one session or event
// while taking all of them keeps every other one, those that appear later
// included. It refuses a change that would make the subscription name more
// than MaxFilter sessions.
func (s *Sub) Change(add bool, sessions, names []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions.change(add, sessions)
	if len(ss.only) > MaxFilter || len(ss.except) > MaxFilter {
		return fmt.Errorf("a subscription names at most %d sessions", MaxFilter)
	}
	s.sessions, s.names = ss, s.names.change(add, names)
	return nil
}

// filter is a set of names: only those in only (nil: all of them), less those in except.
type filter struct {
	only   []string
	except []string
}

func (f filter) has(x string) bool {
	return (f.only == nil || slices.Contains(f.only, x)) && !slices.Contains(f.except, x)
}

// change returns f with items added or removed; it never shares f's slices.
func (f filter) change(add bool, items []string) filter {
	if len(items) == 0 {
		return f
	}
	if slices.Contains(items, "*") {
		if add {
			return filter{}
		}
		return filter{only: []string{}}
	}
	out := filter{only: slices.Clone(f.only), except: slices.Clone(f.except)}
	switch {
	case add && out.only == nil:
		out.except = slices.DeleteFunc(out.except, func(x string) bool { return slices.Contains(items, x) })
	case add:
		out.only = union(out.only, items)
	case out.only == nil:
		out.except = union(out.except, items)
	default:
		out.only = slices.DeleteFunc(out.only, func(x string) bool { return slices.Contains(items, x) })
	}
	return out
}

func union(set, items []string) []string {
	for _, it := range items {
		if !slices.Contains(set, it) {
			set = append(set, it)
		}
	}
	return set
}

// Replay sends the stored events after `after` that the client wants, then
// returns the last seq sent (or after). Live events at or below it are then skipped.
func Replay(ctx context.Context, st *store.Store, s *Sub, after int64, send func(*event.Row) error) (int64, error) {
	for {
		s.mu.Lock()
		f := event.Filter{After: after, Sessions: s.allowed, Names: s.names.only, Limit: 500}
		if s.sessions.only != nil {
			f.Sessions = s.sessions.only
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
