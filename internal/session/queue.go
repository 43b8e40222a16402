package session

import (
	"sync"

	"github.com/openwa/openwa/internal/engine"
)

// queue is an unbounded FIFO of engine events: push never blocks, so an engine's
// handler never waits for OpenWA, however slow the consumer. It is bounded in
// practice by the rate at which WhatsApp delivers events.
type queue struct {
	mu     sync.Mutex
	items  []engine.Event
	closed bool
	notify chan struct{} // capacity 1: "something changed"
}

func newQueue() *queue { return &queue{notify: make(chan struct{}, 1)} }

func (q *queue) push(ev engine.Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, ev)
	q.mu.Unlock()
	q.signal()
}

// pop blocks until an event is there, or returns false once closed and drained.
func (q *queue) pop() (engine.Event, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			ev := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			q.mu.Unlock()
			return ev, true
		}
		if q.closed {
			q.mu.Unlock()
			return nil, false
		}
		q.mu.Unlock()
		<-q.notify
	}
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func (q *queue) signal() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}
