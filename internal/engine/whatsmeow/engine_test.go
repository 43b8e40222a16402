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

	"go.mau.fi/whatsmeow"
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

// With no network, starting ends in a clear error at once: no hang, no crash,
// nothing left running.
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
		if err == nil || !strings.Contains(err.Error(), "cannot reach WhatsApp") {
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
	if err := e.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 {
		t.Fatal("no Connecting event")
	}
	if _, ok := got[0].(engine.Connecting); !ok {
		t.Fatalf("first event %#v", got[0])
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

// fakeServer starts a fake WhatsApp server that whatsmeow trusts for the length of the test.
func fakeServer(t *testing.T) *fakewa.Server {
	srv := fakewa.New()
	t.Cleanup(srv.Close)
	saved := whatsmeow.WACertPubKey
	whatsmeow.WACertPubKey = *srv.Root.Pub // test only: trust the fake root
	t.Cleanup(func() { whatsmeow.WACertPubKey = saved })
	return srv
}

// WhatsApp's refusals, each a status with its reason: another client took
// the stream over, the client is outdated, a login refused for another
// reason, the account logged out at login (the pairing is forgotten).
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t)
	e, events := paired(t, srv)
	failed := func(want string) {
		t.Helper()
		f := waitFor[engine.Failed](t, events)
		if !strings.Contains(f.Reason, want) {
			t.Fatalf("failed with %q, want %q", f.Reason, want)
		}
		e.Disconnect(ctx)
	}
	if err := srv.ReplaceStream(ctx); err != nil {
		t.Fatal(err)
	}
	failed("stream replaced")
	for _, c := range []struct {
		reason int
		want   string
	}{{405, "outdated"}, {409, "refused the connection"}} {
		srv.RefuseLogins(c.reason)
		if err := e.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		failed(c.want)
	}
	srv.RefuseLogins(401)
	if err := e.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if out := waitFor[engine.LoggedOut](t, events); !strings.Contains(out.Reason, "refused the login") {
		t.Fatalf("logged out: %q", out.Reason)
	}
	if b, _ := e.opts.Auth.LoadAuth(ctx); len(b) != 0 || e.Me() != nil {
		t.Fatalf("the pairing is kept: %s", b)
	}
}
