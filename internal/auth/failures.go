package auth

import (
	"container/list"
	"sync"
	"time"
)

// Failures limits failed authentications per client address
// (AUTH_FAILURE_LIMIT): each address has a token bucket of limit tokens that
// refills at limit tokens an hour, and a failure takes one. An address with
// no token left is refused before its key is even looked at, so that neither
// guessing keys nor writing audit rows goes faster than that.
//
// The table is bounded: it remembers at most size addresses and forgets the
// least recently seen first. Forgetting an address gives it a full bucket
// again, which only ever lets a client fail more, never less, and memory
// stays bounded whatever the number of addresses.
type Failures struct {
	limit float64
	every time.Duration // one token back per every
	size  int
	now   func() time.Time

	mu     sync.Mutex
	lru    *list.List // of *bucket, most recently seen first
	byAddr map[string]*list.Element
}

type bucket struct {
	addr   string
	tokens float64
	at     time.Time // when tokens was computed
}

// DefaultFailureTable is how many addresses Failures remembers.
const DefaultFailureTable = 10_000

// NewFailures returns a table of size addresses, each allowed limit failures
// an hour (limit at once). limit <= 0 disables it: nobody is ever refused.
func NewFailures(limit, size int) *Failures {
	f := &Failures{limit: float64(limit), size: max(1, size), now: time.Now, lru: list.New(),
		byAddr: map[string]*list.Element{}}
	if limit > 0 {
		f.every = time.Hour / time.Duration(limit)
	}
	return f
}

// WithClock makes f read the time from now (tests).
func (f *Failures) WithClock(now func() time.Time) *Failures {
	f.now = now
	return f
}

// Blocked reports whether addr has no failure left, and how long until it
// has one again.
func (f *Failures) Blocked(addr string) (bool, time.Duration) {
	if f == nil || f.limit <= 0 {
		return false, 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.byAddr[addr]
	if !ok {
		return false, 0
	}
	b := f.refill(e)
	if b.tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - b.tokens) * float64(f.every))
}

// Fail records a failed authentication from addr.
func (f *Failures) Fail(addr string) {
	if f == nil || f.limit <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.byAddr[addr]
	if !ok {
		if f.lru.Len() >= f.size {
			old := f.lru.Back()
			f.lru.Remove(old)
			delete(f.byAddr, old.Value.(*bucket).addr)
		}
		e = f.lru.PushFront(&bucket{addr: addr, tokens: f.limit, at: f.now()})
		f.byAddr[addr] = e
	}
	b := f.refill(e)
	b.tokens = max(0, b.tokens-1)
}

// Len is the number of addresses remembered.
func (f *Failures) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lru.Len()
}

// refill brings e's bucket up to now and marks it the most recently seen.
// The caller holds f.mu.
func (f *Failures) refill(e *list.Element) *bucket {
	b := e.Value.(*bucket)
	now := f.now()
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(f.limit, b.tokens+float64(d)/float64(f.every))
		b.at = now
	}
	f.lru.MoveToFront(e)
	return b
}
