package whatsmeow

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/openwa/openwa/internal/engine"
)

// The waits between reconnect attempts double from 1 s up to 2 min, each
// moved by at most ± 20 %.
func TestBackoffDelay(t *testing.T) {
	b := defaultBackoff
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		if got := b.delay(n, 0.5); got != want {
			t.Fatalf("attempt %d: %s, want %s", n, got, want)
		}
	}
	for _, n := range []int{7, 8, 20, 1000} {
		if got := b.delay(n, 0.5); got != 2*time.Minute {
			t.Fatalf("attempt %d: %s, want the 2 min cap", n, got)
		}
	}
	if lo, hi := b.delay(3, 0), b.delay(3, 0.999999); lo != 6400*time.Millisecond || hi < 9599*time.Millisecond || hi > 9600*time.Millisecond {
		t.Fatalf("jitter of 8 s: %s .. %s", lo, hi)
	}
}

// fakeConn fails its first fails connects, then is connected.
type fakeConn struct {
	mu        sync.Mutex
	fails     int
	attempts  []time.Time
	connected bool
}

func (c *fakeConn) ConnectContext(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts = append(c.attempts, time.Now())
	if len(c.attempts) <= c.fails {
		return errors.New("dial tcp: network is unreachable")
	}
	c.connected = true
	return nil
}
func (c *fakeConn) Disconnect() { c.mu.Lock(); c.connected = false; c.mu.Unlock() }
func (c *fakeConn) IsConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// After a failed connection the engine tries again after 1, 2, 4, 8 … s,
// each ± 20 %, saying why and when it tries next; it stops when the engine
// stops. The clock is synctest's: no real waiting.
func TestReconnectBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var evs []engine.Event
		e := New(nil, engine.Options{Emit: func(ev engine.Event) { mu.Lock(); evs = append(evs, ev); mu.Unlock() }})
		cli := &fakeConn{fails: 9}
		ctx, cancel := context.WithCancel(context.Background())
		e.wg.Add(1)
		go e.keepConnected(ctx, ctx, cli)
		start := time.Now()
		e.reconnect(redial{err: errors.New("dial tcp: no route to host")})
		synctest.Wait()
		time.Sleep(time.Hour) // fake time: every attempt has happened by now
		synctest.Wait()
		if !cli.IsConnected() || len(cli.attempts) != 10 {
			t.Fatalf("%d attempts, connected %v", len(cli.attempts), cli.IsConnected())
		}
		prev := start
		for n, at := range cli.attempts {
			want := min(time.Second<<n, 2*time.Minute)
			if gap := at.Sub(prev); gap < want*8/10 || gap > want*12/10 {
				t.Fatalf("attempt %d after %s, want %s ± 20 %%", n, gap, want)
			}
			prev = at
		}
		mu.Lock()
		var disconnected, connecting int
		for _, ev := range evs {
			switch v := ev.(type) {
			case engine.Disconnected:
				disconnected++
				if !v.WillReconnect || !strings.Contains(v.Reason, "cannot reach WhatsApp") || !strings.Contains(v.Reason, "trying again in") {
					t.Fatalf("disconnected: %+v", v)
				}
			case engine.Connecting:
				connecting++
			case engine.Failed:
				t.Fatalf("failed: %+v", v)
			}
		}
		mu.Unlock()
		if disconnected != 10 || connecting != 10 {
			t.Fatalf("%d DISCONNECTED, %d INITIALIZING", disconnected, connecting)
		}

		// Stopped while waiting: no more attempts.
		cli.Disconnect()
		cli.fails = 1000
		e.reconnect(redial{err: errors.New("lost")})
		synctest.Wait()
		cancel()
		e.wg.Wait()
		n := len(cli.attempts)
		time.Sleep(time.Hour)
		if len(cli.attempts) != n {
			t.Fatal("attempts after the engine stopped")
		}
	})
}

// flaky is a network that fails the first n connections, then reaches the fake.
type flaky struct {
	mu   sync.Mutex
	n    int
	next http.RoundTripper
}

func (f *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	fail := f.n > 0
	f.n--
	f.mu.Unlock()
	if fail {
		return nil, errors.New("dial tcp: connect: network is unreachable")
	}
	return f.next.RoundTrip(r)
}

// A linked session that cannot reach WhatsApp when it starts is not FAILED
// for good: it is DISCONNECTED with the reason, tries again, and is READY
// once the network is back, without anyone restarting it.
func TestReconnectAtBoot(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t)
	first, _ := paired(t, srv)
	first.Disconnect(ctx)

	events := make(chan engine.Event, 64)
	e := New(first.devices, engine.Options{SessionID: "s", Auth: first.opts.Auth, Emit: func(ev engine.Event) { events <- ev }})
	e.transport = &flaky{n: 3, next: srv.Transport()}
	e.retry = backoff{base: 10 * time.Millisecond, max: 40 * time.Millisecond, jitter: 0.2}
	if err := e.Connect(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer e.Disconnect(ctx)
	var disconnected int
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			switch v := ev.(type) {
			case engine.Disconnected:
				disconnected++
				if !strings.Contains(v.Reason, "cannot reach WhatsApp") || !v.WillReconnect {
					t.Fatalf("disconnected: %+v", v)
				}
			case engine.Failed:
				t.Fatalf("failed: %+v", v)
			case engine.Ready:
				if disconnected != 3 {
					t.Fatalf("ready after %d failures, want 3", disconnected)
				}
				return
			}
		case <-deadline:
			t.Fatalf("not ready after %d failures", disconnected)
		}
	}
}
