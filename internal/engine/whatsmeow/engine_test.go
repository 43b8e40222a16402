package whatsmeow

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/store/sqlstore"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
	"github.com/openwa/openwa/internal/store"
)

type memAuth struct {
	mu sync.Mutex
	b  []byte
}

func (a *memAuth) LoadAuth(context.Context) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.b, nil
}
func (a *memAuth) SaveAuth(_ context.Context, b []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.b = b
	return nil
}
func (a *memAuth) ClearAuth(context.Context) error { return a.SaveAuth(context.Background(), nil) }

// unreachable is a network where nothing answers.
type unreachable struct{}

func (unreachable) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp: no route to host")
}

// With no network, starting does not hang or crash: the session is
// DISCONNECTED with the reason and keeps trying; stopping it leaves nothing running.
func TestConnectWithoutNetwork(t *testing.T) {
	ctx := context.Background()
	devices := testDevices(t)
	var mu sync.Mutex
	var got []engine.Event
	e := New(devices, engine.Options{SessionID: "s", Auth: &memAuth{}, Emit: func(ev engine.Event) {
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	}})
	e.transport = unreachable{}
	done := make(chan error, 1)
	go func() { done <- e.Connect(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("connect hangs without a network")
	}
	if e.Me() != nil {
		t.Fatal("an unpaired engine has an account")
	}
	if _, err := e.PairPhone(ctx, "6281234567890"); !errors.Is(err, engine.ErrNotConnected) {
		t.Fatalf("pairing code without a connection: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no event")
		}
	}
	if err := e.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, ok := got[0].(engine.Connecting); !ok {
		t.Fatalf("first event %#v", got[0])
	}
	if d, ok := got[1].(engine.Disconnected); !ok || !d.WillReconnect || !strings.Contains(d.Reason, "cannot reach WhatsApp") {
		t.Fatalf("second event %#v", got[1])
	}
}

// Against the fake WhatsApp server the real whatsmeow client completes the
// Noise handshake, checks the server's certificate chain, and turns the
// server's pairing refs into QR codes: the engine reports them.
func TestQRFromTheFakeServer(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t)

	devices := testDevices(t)
	events := make(chan engine.Event, 16)
	e := New(devices, engine.Options{SessionID: "s", Auth: &memAuth{}, Emit: func(ev engine.Event) { events <- ev }})
	e.transport = srv.Transport()
	if err := e.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Disconnect(ctx)
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-events:
			if qr, ok := ev.(engine.QR); ok {
				if !strings.Contains(qr.Code, "2@fakeref1,") || qr.ExpiresAt.Before(time.Now()) {
					t.Fatalf("QR %+v", qr)
				}
				if conns := srv.Conns(); len(conns) != 1 || conns[0].Payload.GetUsername() != 0 {
					t.Fatalf("the server saw %d connections", len(conns))
				}
				return
			}
		case <-deadline:
			t.Fatal("no QR code from the fake server")
		}
	}
}

// The phone scans the QR code: the device is linked (AUTHENTICATED), the
// stream restarts, the client logs in (READY); a new engine on the same
// stored pairing comes back READY with no QR code.
func TestPairAndRestore(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t)
	devices := testDevices(t)
	auth := &memAuth{}
	start := func() (*Engine, chan engine.Event) {
		events := make(chan engine.Event, 64)
		e := New(devices, engine.Options{SessionID: "s", Auth: auth, Emit: func(ev engine.Event) { events <- ev }})
		e.transport = srv.Transport()
		if err := e.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		return e, events
	}
	next := func(events chan engine.Event, want func(engine.Event) bool, what string) engine.Event {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case ev := <-events:
				if want(ev) {
					return ev
				}
				if _, qr := ev.(engine.QR); qr && what == "ready again" {
					t.Fatal("a restored device was shown a QR code")
				}
			case <-deadline:
				t.Fatalf("no %s", what)
			}
		}
	}
	e, events := start()
	qr := next(events, func(ev engine.Event) bool { _, ok := ev.(engine.QR); return ok }, "QR").(engine.QR)
	if err := srv.Pair(ctx, qr.Code, "15557654321"); err != nil {
		t.Fatal(err)
	}
	paired := next(events, func(ev engine.Event) bool { _, ok := ev.(engine.Paired); return ok }, "pairing").(engine.Paired)
	if paired.Account.Phone != "15557654321" || paired.Account.LID == "" {
		t.Fatalf("paired as %+v", paired.Account)
	}
	ready := next(events, func(ev engine.Event) bool { _, ok := ev.(engine.Ready); return ok }, "ready").(engine.Ready)
	if ready.Account.Phone != "15557654321" || e.Me() == nil {
		t.Fatalf("ready as %+v", ready.Account)
	}
	if b, _ := auth.LoadAuth(ctx); !strings.Contains(string(b), "15557654321") {
		t.Fatalf("pairing not stored: %s", b)
	}
	e.Disconnect(ctx)

	e2, events2 := start()
	defer e2.Disconnect(ctx)
	next(events2, func(ev engine.Event) bool { _, ok := ev.(engine.Ready); return ok }, "ready again")
}

// testDevices is a device store on SQLite in the test's folder.
func testDevices(t testing.TB) *sqlstore.Container {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	devices, err := OpenDevices(ctx, st.DB(), st.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	return devices
}

// fakeServer starts a fake WhatsApp server; TestMain made whatsmeow trust its root.
func fakeServer(t *testing.T) *fakewa.Server {
	srv := fakewa.New()
	t.Cleanup(srv.Close)
	return srv
}

// Nobody scans: each pairing ref WhatsApp offered becomes a new QR code when
// the one before expires (whatsmeow shows each for 20 s; the first for 60 s
// when WhatsApp sent the usual six), and when they run out the session fails
// with the reason. Two refs: about 40 s, so in parallel with the rest.
func TestQRRefreshAndTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := fakeServer(t)
	srv.SetRefs("2@first", "2@second")
	events := make(chan engine.Event, 16)
	e := New(testDevices(t), engine.Options{SessionID: "s", Auth: &memAuth{}, Emit: func(ev engine.Event) { events <- ev }})
	e.transport = srv.Transport()
	if err := e.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Disconnect(ctx)
	var codes []string
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case ev := <-events:
			switch v := ev.(type) {
			case engine.QR:
				codes = append(codes, v.Code)
			case engine.Failed:
				if len(codes) != 2 || !strings.Contains(codes[0], "2@first,") || !strings.Contains(codes[1], "2@second,") {
					t.Fatalf("QR codes %q", codes)
				}
				if !strings.Contains(v.Reason, "no QR code was scanned in time") {
					t.Fatalf("failed: %q", v.Reason)
				}
				return
			}
		case <-deadline:
			t.Fatalf("no timeout; QR codes %q", codes)
		}
	}
}

// A connection that stops answering keepalive pings is DISCONNECTED with the
// reason; when the answers come back, it is READY again.
func TestKeepAliveTimeout(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	_, events := paired(t, srv)
	srv.IgnorePings(true)
	d := waitFor[engine.Disconnected](t, events)
	if !strings.Contains(d.Reason, "stopped answering keep-alives") || !d.WillReconnect {
		t.Fatalf("disconnected: %+v", d)
	}
	srv.IgnorePings(false)
	waitFor[engine.Connecting](t, events)
	waitFor[engine.Ready](t, events)
}
