// Package keyed runs one worker goroutine per key (a session's outbox, a
// webhook's deliveries), started when there is work for the key and retired
// when there is none. Work for one key is done in order, one step at a time;
// keys do not wait for each other.
package keyed

import (
	"context"
	"sync"
	"time"
)

// Step does the next piece of work for key. It returns how long to wait
// before the next step (0: at once; a Wake cuts the wait short), or idle when
// there is nothing left to do for the key.
type Step func(ctx context.Context, key string) (wait time.Duration, idle bool)

// Pool owns the workers.
type Pool struct {
	step Step

	mu      sync.Mutex
	ctx     context.Context          // set by Run: workers live as long as it
	closed  bool                     // set when Run stops: no worker starts after
	workers map[string]chan struct{} // key → wake-up signal of its worker
	wg      sync.WaitGroup
}

// New returns a pool; Run starts it.
func New(step Step) *Pool {
	return &Pool{step: step, workers: map[string]chan struct{}{}}
}

// Run lets Wake start workers, and returns when ctx is cancelled and every worker has stopped.
func (p *Pool) Run(ctx context.Context, keys []string) {
	p.mu.Lock()
	p.ctx = ctx
	p.mu.Unlock()
	for _, k := range keys {
		p.Wake(k)
	}
	<-ctx.Done()
	// No Wake may start a worker once the wait below begins.
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait()
}

// Wake makes key's worker take a step now, starting it if needed. Before Run,
// and after its context ends, it does nothing.
func (p *Pool) Wake(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx == nil || p.closed {
		return
	}
	ch, ok := p.workers[key]
	if !ok {
		ch = make(chan struct{}, 1)
		p.workers[key] = ch
		p.wg.Add(1)
		go p.work(p.ctx, key, ch)
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (p *Pool) work(ctx context.Context, key string, wake chan struct{}) {
	defer p.wg.Done()
	for ctx.Err() == nil {
		wait, idle := p.step(ctx, key)
		if idle {
			if p.retire(key, wake) {
				return
			}
			continue
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-wake:
			case <-t.C:
			}
			t.Stop()
		}
	}
}

// retire removes the worker unless a wake-up arrived meanwhile: Wake signals
// under p.mu, so work that arrived while the worker found none is never left
// without a worker.
func (p *Pool) retire(key string, wake chan struct{}) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-wake:
		return false
	default:
		delete(p.workers, key)
		return true
	}
}
