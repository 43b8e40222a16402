package webhook

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/openwa/openwa/internal/store"
)

// answer is what the fake receiver does with one request.
type answer struct {
	status     int
	retryAfter string
	body       string
	err        error // no response at all
}

// receiver is an in-memory http.RoundTripper: it answers from a script (then
// 200) and records when each request came, in the bubble's time.
type receiver struct {
	mu     sync.Mutex
	script []answer
	at     []time.Time
}

func (r *receiver) RoundTrip(req *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = append(r.at, time.Now())
	a := answer{status: http.StatusOK}
	if len(r.script) > 0 {
		a, r.script = r.script[0], r.script[1:]
	}
	if a.err != nil {
		return nil, a.err
	}
	h := http.Header{}
	if a.retryAfter != "" {
		h.Set("Retry-After", a.retryAfter)
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(strings.NewReader(a.body)), Request: req}, nil
}

// gaps are the waits between consecutive requests.
func (r *receiver) gaps() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(r.at); i++ {
		out = append(out, r.at[i].Sub(r.at[i-1]))
	}
	return out
}

type publicResolver struct{}

func (publicResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
}

// withService runs f in a synctest bubble with a webhook service on SQLite
// whose deliveries go to rcv; time passes only when everything waits.
func withService(t *testing.T, rcv *receiver, f func(ctx context.Context, s *Service)) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "openwa.db"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		s, err := New(Options{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), UserAgent: "OpenWA/test",
			Client: &http.Client{Transport: rcv}, Resolver: publicResolver{}})
		if err != nil {
			t.Fatal(err)
		}
		st.SetOnCommit(s.Committed)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = s.Run(ctx)
		}()
		f(ctx, s)
		cancel()
		<-done
		st.Close()
	})
}

func create(t *testing.T, ctx context.Context, s *Service, in Input) *Webhook {
	t.Helper()
	u := "https://receiver.example/hook"
	in.URL = &u
	w, err := s.Create(ctx, "", in)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func latest(t *testing.T, ctx context.Context, s *Service, webhookID string) *Delivery {
	t.Helper()
	l, _, err := s.Deliveries(ctx, "", webhookID, "", 10, 0)
	if err != nil || len(l) == 0 {
		t.Fatalf("deliveries: %v %v", l, err)
	}
	return l[0]
}

// within fails unless got is want ±20 %.
func within(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if got < want*8/10 || got > want*12/10 {
		t.Errorf("%s: waited %v, want %v ±20%%", what, got, want)
	}
}

// A receiver that answers 404 while it starts (n8n does) loses nothing: the
// delivery is retried on the schedule and arrives on attempt 6.
func TestRetriesFollowTheSchedule(t *testing.T) {
	nf := answer{status: http.StatusNotFound, body: strings.Repeat("Cannot POST /hook\n", 1000)}
	rcv := &receiver{script: []answer{nf, nf, nf, nf, nf}}
	withService(t, rcv, func(ctx context.Context, s *Service) {
		w := create(t, ctx, s, Input{})
		if w.RetryCount != 8 {
			t.Fatalf("default retryCount %d, want 8", w.RetryCount)
		}
		first, err := s.Test(ctx, "", w.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The delivery says why the attempt failed, with a bounded excerpt of the answer.
		if first.Status != "pending" || first.LastStatusCode == nil || *first.LastStatusCode != 404 || first.LastError == nil ||
			!strings.HasPrefix(*first.LastError, "receiver answered 404 Not Found: Cannot POST /hook") || len(*first.LastError) > 300 {
			t.Fatalf("first attempt: %+v %v", first, *first.LastError)
		}
		time.Sleep(4 * time.Hour) // the five waits are at most 2 h 35 min + 20 %
		synctest.Wait()
		d := latest(t, ctx, s, w.ID)
		if d.Status != "delivered" || d.Attempts != 6 {
			t.Fatalf("delivery %s after %d attempts, want delivered on attempt 6", d.Status, d.Attempts)
		}
		gaps := rcv.gaps()
		if len(gaps) != 5 || gaps[0] != 0 {
			t.Fatalf("waits %v: want 5, the first at once", gaps)
		}
		for i, want := range []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour} {
			within(t, "retry "+string(rune('2'+i)), gaps[i+1], want)
		}
		// The delivery's log says why each attempt failed, and when.
		if len(d.AttemptLog) != 6 {
			t.Fatalf("attempt log %+v, want 6 attempts", d.AttemptLog)
		}
		for i, a := range d.AttemptLog {
			if a.Attempt != i+1 || i > 0 && a.At.Sub(d.AttemptLog[i-1].At.Time) != gaps[i-1].Truncate(time.Millisecond) {
				t.Errorf("attempt %d: %+v", i+1, a)
			}
			if i == 5 {
				if a.StatusCode == nil || *a.StatusCode != 200 || a.Error != nil {
					t.Errorf("the delivered attempt: %+v", a)
				}
				continue
			}
			if a.StatusCode == nil || *a.StatusCode != 404 || a.Error == nil || len(*a.Error) > 260 ||
				!strings.HasPrefix(*a.Error, "receiver answered 404 Not Found: Cannot POST /hook Cannot POST") || !strings.HasSuffix(*a.Error, "…") {
				t.Errorf("attempt %d: %+v", i+1, a)
			}
		}
	})
}

// Retries past the schedule wait its last interval; then the delivery fails.
func TestRetriesPastTheSchedule(t *testing.T) {
	var script []answer
	for range 11 {
		script = append(script, answer{status: http.StatusInternalServerError})
	}
	rcv := &receiver{script: script}
	withService(t, rcv, func(ctx context.Context, s *Service) {
		n := 10
		w := create(t, ctx, s, Input{RetryCount: &n})
		if _, err := s.Test(ctx, "", w.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Hour)
		synctest.Wait()
		d := latest(t, ctx, s, w.ID)
		if d.Status != "failed" || d.Attempts != 11 || *d.LastError != "receiver answered 500 Internal Server Error" {
			t.Fatalf("delivery %s after %d attempts (%v), want failed after 11", d.Status, d.Attempts, *d.LastError)
		}
		gaps := rcv.gaps()
		for i, want := range []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
			5 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour} {
			within(t, "retry "+string(rune('a'+i)), gaps[i], want)
		}
	})
}

func TestRetryOutcomes(t *testing.T) {
	t.Run("410 disables the webhook", func(t *testing.T) {
		rcv := &receiver{script: []answer{{status: http.StatusGone}}}
		withService(t, rcv, func(ctx context.Context, s *Service) {
			w := create(t, ctx, s, Input{})
			d, err := s.Test(ctx, "", w.ID)
			if err != nil || d.Status != "failed" || d.Attempts != 1 {
				t.Fatalf("410: %+v %v", d, err)
			}
			time.Sleep(time.Hour)
			synctest.Wait()
			if got, _ := s.Get(ctx, "", w.ID); got.Active || len(rcv.gaps()) != 0 {
				t.Fatalf("after 410: active %v, %d more requests", got.Active, len(rcv.gaps()))
			}
		})
	})
	t.Run("a network error is retried, and named", func(t *testing.T) {
		refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		rcv := &receiver{script: []answer{{err: refused}, {err: context.DeadlineExceeded}}}
		withService(t, rcv, func(ctx context.Context, s *Service) {
			w := create(t, ctx, s, Input{})
			d, err := s.Test(ctx, "", w.ID)
			if err != nil || d.Status != "pending" || d.LastStatusCode != nil || *d.LastError != "no response: connection refused" {
				t.Fatalf("first attempt: %+v %v", d, err)
			}
			time.Sleep(time.Minute)
			synctest.Wait()
			d = latest(t, ctx, s, w.ID)
			if d.Status != "delivered" || d.Attempts != 3 || len(d.AttemptLog) != 3 {
				t.Fatalf("delivery %s after %d attempts, want delivered on attempt 3", d.Status, d.Attempts)
			}
			for i, want := range []string{"no response: connection refused", "no response: timeout"} {
				if a := d.AttemptLog[i]; a.StatusCode != nil || a.Error == nil || *a.Error != want {
					t.Errorf("attempt %d: %+v, want %q", i+1, a, want)
				}
			}
		})
	})
	for _, code := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(code)+" honours Retry-After", func(t *testing.T) {
			rcv := &receiver{script: []answer{{status: code}, {status: code, retryAfter: "120"}}}
			withService(t, rcv, func(ctx context.Context, s *Service) {
				w := create(t, ctx, s, Input{})
				if _, err := s.Test(ctx, "", w.ID); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Hour)
				synctest.Wait()
				gaps := rcv.gaps()
				if len(gaps) != 2 || gaps[0] != 0 || gaps[1] != 120*time.Second {
					t.Fatalf("waits %v, want [0s 2m0s]", gaps)
				}
			})
		})
	}
}
