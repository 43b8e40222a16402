package auth

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a token bucket per API key (RATE_LIMIT_RPS, RATE_LIMIT_BURST).
type Limiter struct {
	rps   rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// NewLimiter returns a limiter; rps <= 0 disables limiting.
func NewLimiter(rps float64, burst int) *Limiter {
	return &Limiter{rps: rate.Limit(rps), burst: burst, buckets: map[string]*rate.Limiter{}}
}

// Allow takes a token for key, or says how long until one is there.
func (l *Limiter) Allow(_ context.Context, key string) (bool, time.Duration) {
	if l == nil || l.rps <= 0 {
		return true, 0
	}
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(l.rps, l.burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	r := b.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return false, d
	}
	return true, 0
}
