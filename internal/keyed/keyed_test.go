package keyed

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every wake is served, even one that lands as the worker retires, and a key's
// steps never overlap.
func TestNoLostWakeAndOneWorkerPerKey(t *testing.T) {
	var mu sync.Mutex
	pending := map[string]int{}
	var busy sync.Map
	var overlap atomic.Bool
	p := New(func(ctx context.Context, key string) (time.Duration, bool) {
		if _, loaded := busy.LoadOrStore(key, true); loaded {
			overlap.Store(true)
		}
		defer busy.Delete(key)
		mu.Lock()
		defer mu.Unlock()
		if pending[key] == 0 {
			return 0, true
		}
		pending[key]--
		return 0, false
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx, nil); close(done) }()
	time.Sleep(10 * time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := string(rune('a' + g%3))
			for range 2000 {
				mu.Lock()
				pending[key]++
				mu.Unlock()
				p.Wake(key)
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		left := pending["a"] + pending["b"] + pending["c"]
		mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pieces of work never done: a wake was lost", left)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if overlap.Load() {
		t.Fatal("two steps of one key ran at once")
	}
}

// Wakes racing with the end of Run start no worker after it returns.
func TestWakeDuringShutdown(t *testing.T) {
	for range 200 {
		var steps atomic.Int64
		p := New(func(ctx context.Context, key string) (time.Duration, bool) {
			steps.Add(1)
			return 0, true
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { p.Run(ctx, nil); close(done) }()
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
					p.Wake("k")
				}
			}
		}()
		time.Sleep(time.Millisecond)
		cancel()
		<-done
		n := steps.Load()
		time.Sleep(time.Millisecond)
		close(stop)
		if steps.Load() != n {
			t.Fatal("a worker ran after Run returned")
		}
	}
}
