package session

import (
	"testing"

	"github.com/openwa/openwa/internal/engine"
)

// An engine's handler never waits for the consumer: pushes succeed with nobody
// popping, and events come out in order.
func TestQueueNeverBlocksTheEngine(t *testing.T) {
	q := newQueue()
	const n = 100_000
	for i := range n {
		q.push(engine.Ack{WAMessageIDs: []string{string(rune('a' + i%26))}})
	}
	if q.len() != n {
		t.Fatalf("len %d", q.len())
	}
	for i := range n {
		it, ok := q.pop()
		if !ok || it.ev.(engine.Ack).WAMessageIDs[0] != string(rune('a'+i%26)) {
			t.Fatalf("event %d out of order", i)
		}
	}
	q.push(engine.Connecting{})
	q.close()
	q.push(engine.Connecting{}) // after close: dropped
	if _, ok := q.pop(); !ok {
		t.Fatal("events queued before close are still delivered")
	}
	if _, ok := q.pop(); ok {
		t.Fatal("pop after close and drain")
	}
}
