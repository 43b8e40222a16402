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
	items  []item
	closed bool
	notify chan struct{} // capacity 1: "something changed"
}

// item is a queued event; done, when set, is told how its commit went
// (capacity 1: the consumer never waits for the engine).
type item struct {
	ev   engine.Event
	done chan<- error
}

func newQueue() *queue { return &queue{notify: make(chan struct{}, 1)} }

func (q *queue) push(ev engine.Event) { q.pushItem(item{ev: ev}) }

// pushItem queues it; false when the queue was closed (it is not queued).
func (q *queue) pushItem(it item) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, it)
	q.mu.Unlock()
	q.signal()
	return true
}

// pop blocks until an event is there, or returns false once closed and drained.
func (q *queue) pop() (item, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			it := q.items[0]
			q.items[0] = item{}
			q.items = q.items[1:]
			q.mu.Unlock()
			return it, true
		}
		if q.closed {
			q.mu.Unlock()
			return item{}, false
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
