package whatsmeow

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCompanionReg"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
)

// The phone's list of linked devices shows the configured name (sent with
// the pairing request), and once the account has a push name, each login
// tells WhatsApp the account is available under that name, so that
// recipients see it instead of "-".
func TestDeviceNameAndPresence(t *testing.T) {
	ctx := context.Background()
	saved := store.DeviceProps.GetOs()
	t.Cleanup(func() { store.DeviceProps.Os = proto.String(saved) })
	srv := fakeServer(t)
	devices := testDevices(t)
	auth := &memAuth{}
	factory := Factory(devices, Config{DeviceName: "Shop desk", Transport: srv.Transport()})
	start := func() (*Engine, chan engine.Event) {
		events := make(chan engine.Event, 64)
		eng, err := factory(engine.Options{SessionID: "s", Auth: auth, Emit: func(ev engine.Event) { events <- ev }})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Disconnect(ctx) })
		return eng.(*Engine), events
	}
	e, events := start()
	qr := waitFor[engine.QR](t, events)
	var props waCompanionReg.DeviceProps
	if err := proto.Unmarshal(srv.Conns()[0].Payload.GetDevicePairingData().GetDeviceProps(), &props); err != nil || props.GetOs() != "Shop desk" {
		t.Fatalf("the phone would list the device as %q (%v)", props.GetOs(), err)
	}
	if err := srv.Pair(ctx, qr.Code, "15557654321"); err != nil {
		t.Fatal(err)
	}
	waitFor[engine.Ready](t, events)
	if p := srv.Seen("presence"); len(p) != 0 {
		t.Fatalf("presence without a push name: %v", p)
	}
	e.Disconnect(ctx)

	// The push name arrived from the phone (as app-state sync stores it).
	jid, _ := types.ParseJID("15557654321.0:5@s.whatsapp.net")
	dev, err := devices.GetDevice(ctx, jid)
	if err != nil || dev == nil {
		t.Fatalf("device: %v", err)
	}
	dev.PushName = "Shop"
	if err := dev.Save(ctx); err != nil {
		t.Fatal(err)
	}
	_, events = start()
	waitFor[engine.Ready](t, events)
	for deadline := time.Now().Add(10 * time.Second); len(srv.Seen("presence")) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no presence after login")
		}
	}
	p := srv.Seen("presence")[0]
	if p.Attrs["type"] != "available" || p.Attrs["name"] != "Shop" {
		t.Fatalf("presence %v", p.Attrs)
	}
}

// WhatsApp refuses the pinned WhatsApp Web version as outdated (405): the
// engine fetches the current version (from web.whatsapp.com, here the fake)
// and logs in again with it, READY without anyone acting.
func TestClientOutdatedRefreshesVersion(t *testing.T) {
	saved := store.GetWAVersion()
	t.Cleanup(func() { store.SetWAVersion(saved) })
	srv := fakeServer(t)
	e, events := paired(t, srv)
	e.mu.Lock()
	e.retry = backoff{base: 10 * time.Millisecond, max: 10 * time.Millisecond}
	e.mu.Unlock()
	newer := saved[2] + 7
	srv.SetWebVersion(newer)
	srv.Drop()
	d := waitFor[engine.Disconnected](t, events)
	for !strings.Contains(d.Reason, "outdated") {
		d = waitFor[engine.Disconnected](t, events)
	}
	if !d.WillReconnect || !strings.Contains(d.Reason, "fetching the current one") {
		t.Fatalf("disconnected: %+v", d)
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			switch v := ev.(type) {
			case engine.Failed:
				t.Fatalf("failed: %+v", v)
			case engine.Ready:
				if got := store.GetWAVersion(); got[2] != newer {
					t.Fatalf("version %s, want revision %d", got, newer)
				}
				conns := srv.Conns()
				if last := conns[len(conns)-1].Payload.GetUserAgent().GetAppVersion().GetTertiary(); last != newer {
					t.Fatalf("logged in with revision %d", last)
				}
				return
			}
		case <-deadline:
			t.Fatal("not READY after the version refresh")
		}
	}
}

// syncLog collects log lines for a test.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *syncLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// A history sync from the phone is downloaded from the media host and
// handled: the engine says what it held and that it was not imported, and
// none of its messages comes out as a received message.
func TestHistorySyncNotImported(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t)
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	logs := &syncLog{}
	events := make(chan engine.Event, 256)
	e := New(testDevices(t), engine.Options{SessionID: "s", Auth: &memAuth{}, Emit: func(ev engine.Event) { events <- ev },
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	e.transport = srv.Transport()
	if err := e.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Disconnect(ctx) })
	if err := srv.Pair(ctx, waitFor[engine.QR](t, events).Code, "15557654321"); err != nil {
		t.Fatal(err)
	}
	waitFor[engine.Ready](t, events)
	for deadline := time.Now().Add(10 * time.Second); !srv.HasKeys(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no prekeys")
		}
	}
	convs := []fakewa.HistoryConversation{{ChatID: alice.JID, Messages: []fakewa.HistoryMessage{
		{ID: "3EB0OLD1", Text: "one", Time: time.Now().Add(-time.Hour)}, {ID: "3EB0OLD2", Text: "two", Time: time.Now().Add(-time.Hour)}}}}
	if err := srv.SendHistorySync(ctx, "3EB0HIST", convs, nil); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(logs.String(), "history sync from the phone"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no word of the history sync: %s", logs.String())
		}
	}
	if l := logs.String(); !strings.Contains(l, "not imported") || !strings.Contains(l, "conversations=1 messages=2") {
		t.Fatalf("log: %s", l)
	}
	for len(events) > 0 {
		if m, ok := (<-events).(engine.MessageReceived); ok {
			t.Fatalf("history came out as a message: %+v", m.Message)
		}
	}
}
