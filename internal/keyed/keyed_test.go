package keyed

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Every wake is served, even one that lands as the worker retires, and a key's
// steps never overlap.
func TestNoLostWakeAndOneWorkerPerKey(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testNoLostWake)
}

func testNoLostWake(t *testing.T) {
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
	synctest.Wait() // Run has begun: wakes start workers
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
	synctest.Wait() // every worker has retired or waits
	mu.Lock()
	left := pending["a"] + pending["b"] + pending["c"]
	mu.Unlock()
	if left != 0 {
		t.Fatalf("%d pieces of work never done: a wake was lost", left)
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

// A step's wait is timed: the next step comes when it is over, not before;
// a Wake cuts it short; an idle key's worker retires, and a Wake starts it again.
func TestWaitBetweenSteps(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Duration
		start := time.Now()
		p := New(func(ctx context.Context, key string) (time.Duration, bool) {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Since(start))
			if len(at) >= 4 {
				return 0, true
			}
			return time.Minute, false
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { p.Run(ctx, []string{"k"}); close(done) }()
		defer func() { cancel(); <-done }()
		steps := func() []time.Duration {
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			return append([]time.Duration(nil), at...)
		}
		// The wake that started the worker is served too: a second step at once.
		if got := steps(); len(got) != 2 || got[1] != 0 {
			t.Fatalf("first steps at %v", got)
		}
		time.Sleep(59 * time.Second)
		if got := steps(); len(got) != 2 {
			t.Fatalf("a step before the minute was over: %v", got)
		}
		time.Sleep(time.Second)
		if got := steps(); len(got) != 3 || got[2] != time.Minute {
			t.Fatalf("the third step at %v, want 1m0s", got)
		}
		time.Sleep(10 * time.Second)
		p.Wake("k") // cuts the wait short: the step finds nothing and the worker retires
		if got := steps(); len(got) != 4 || got[3] != 70*time.Second {
			t.Fatalf("the woken step at %v, want 1m10s", got)
		}
		time.Sleep(time.Hour)
		if got := steps(); len(got) != 4 {
			t.Fatalf("an idle key took steps: %v", got)
		}
		p.Wake("k") // starts a worker, which serves the wake too
		if got := steps(); len(got) != 6 || got[4] != time.Hour+70*time.Second || got[5] != got[4] {
			t.Fatalf("after a wake of the idle key: %v", got)
		}
	})
}
