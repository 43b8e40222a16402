package whatsmeow

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
)

// A message OpenWA could not commit is not acknowledged to WhatsApp, which
// delivers it again at the next login; once committed it is acknowledged.
func TestUnstoredMessageIsNotAcknowledged(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t)
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	events := make(chan engine.Event, 256)
	var refuse atomic.Bool
	var refused atomic.Int32
	e := New(testDevices(t), engine.Options{SessionID: "s", Auth: &memAuth{},
		Emit: func(ev engine.Event) { events <- ev },
		Deliver: func(_ context.Context, ev engine.Event) error {
			if refuse.Load() {
				refused.Add(1)
				return errors.New("the database is away")
			}
			events <- ev
			return nil
		}})
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
			t.Fatal("the device uploaded no prekeys")
		}
	}
	acked := func(id string) bool { return !slices.Contains(srv.Unacknowledged(), id) }
	waitAcked := func(id string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !acked(id); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s not acknowledged: %v", id, srv.Unacknowledged())
			}
		}
	}

	refuse.Store(true)
	if err := srv.SendText(ctx, alice, "3EB0NOTSTORED", "first"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); refused.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the message was never handed on")
		}
	}
	// Messages are handled in order: once the next one is acknowledged, the
	// first had its answer.
	refuse.Store(false)
	if err := srv.SendText(ctx, alice, "3EB0STORED", "second"); err != nil {
		t.Fatal(err)
	}
	if m := waitFor[engine.MessageReceived](t, events).Message; m.WAMessageID != "3EB0STORED" {
		t.Fatalf("received %s first", m.WAMessageID)
	}
	waitAcked("3EB0STORED")
	if acked("3EB0NOTSTORED") {
		t.Fatal("a message OpenWA did not store was acknowledged to WhatsApp")
	}

	// The connection drops; at the next login WhatsApp delivers it again.
	srv.Drop()
	if m := waitFor[engine.MessageReceived](t, events).Message; m.WAMessageID != "3EB0NOTSTORED" || m.Text != "first" {
		t.Fatalf("redelivered: %+v", m)
	}
	waitAcked("3EB0NOTSTORED")
}
