package httpapi_test

import (
	"context"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
)

// A contact that could not decrypt a message OpenWA sent asks for it again
// with a retry receipt, after OpenWA restarted (the message is in no memory
// any more): the device sends it again from the device store, and the
// contact reads it.
func TestWhatsmeowAnswersRetryReceiptAfterRestart(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	pairWhatsmeow(t, e, srv, "wa")
	next := func() *fakewa.Received {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		r, err := alice.Next(c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := e.do("POST", "/api/sessions/wa/messages/send-text", map[string]any{"chatId": alice.JID.String(), "text": "say again?"})
	e.expect(r, 201, "")
	first := next()
	if first.Message.GetConversation() != "say again?" {
		t.Fatalf("alice got %+v", first)
	}

	e.restart()
	e.waitStatus("wa", "READY")
	if err := srv.RetryReceipt(ctx, alice, first.ID); err != nil {
		t.Fatal(err)
	}
	again := next()
	if again.ID != first.ID || again.Message.GetConversation() != "say again?" {
		t.Fatalf("resent: %+v", again)
	}
	noFakeErrors(t, srv)
}

// A message the device cannot decrypt leaves a trace: a message.undecryptable
// event and a placeholder; the device asks the sender again (retry receipt),
// the sender resends it, and the placeholder becomes the message: one row,
// one message.received.
func TestWhatsmeowUndecryptableMessage(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	pairWhatsmeow(t, e, srv, "wa")

	if err := srv.SendUndecryptable(ctx, alice, "3EB0GARBLED", "text", &waE2E.Message{Conversation: proto.String("readable now")}); err != nil {
		t.Fatal(err)
	}
	var undecryptable, received []map[string]any
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		undecryptable, _ = e.events("after=0&limit=100&events=message.undecryptable")
		received, _ = e.events("after=0&limit=100&events=message.received")
		if len(undecryptable) > 0 && len(received) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("undecryptable %v, received %v", undecryptable, received)
		}
	}
	u := undecryptable[0]["data"].(map[string]any)
	if u["waMessageId"] != "3EB0GARBLED" || u["type"] != "undecryptable" || u["from"] != alice.JID.String() || u["reason"] == "" {
		t.Fatalf("message.undecryptable: %v", u)
	}
	got := received[0]["data"].(map[string]any)
	if got["waMessageId"] != "3EB0GARBLED" || got["text"] != "readable now" || got["id"] != u["id"] {
		t.Fatalf("message.received: %v (the placeholder was %v)", got, u["id"])
	}
	list := e.do("GET", "/api/sessions/wa/messages?direction=in", nil).list()
	if len(list) != 1 || list[0].(map[string]any)["type"] != "text" || list[0].(map[string]any)["text"] != "readable now" {
		t.Fatalf("stored: %v", list)
	}
	if len(undecryptable) != 1 || len(received) != 1 {
		t.Fatalf("%d undecryptable and %d received events", len(undecryptable), len(received))
	}
	noFakeErrors(t, srv)
}

// An image whose bytes cannot be fetched (gone from the media host) is
// stored and forwarded all the same, its media marked missing, rather than
// lost or left unacknowledged.
func TestWhatsmeowMediaThatCannotBeFetched(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	pairWhatsmeow(t, e, srv, "wa")

	up, err := srv.Upload([]byte{0xff, 0xd8, 0xff, 0xe0, 1, 2, 3}, whatsmeow.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	srv.Expire(up)
	if err := srv.SendMessage(ctx, alice, "3EB0GONE", "media", up.Image("image/jpeg", "gone")); err != nil {
		t.Fatal(err)
	}
	m := e.firstInbound("wa")
	media, _ := m["media"].(map[string]any)
	if m["type"] != "image" || m["caption"] != "gone" || media == nil || media["missing"] != true || media["mimetype"] != "image/jpeg" {
		t.Fatalf("stored: %v", m)
	}
	for deadline := time.Now().Add(10 * time.Second); len(srv.Unacknowledged()) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("left unacknowledged: %v", srv.Unacknowledged())
		}
	}
	if evs, _ := e.events("after=0&limit=100&events=message.received"); len(evs) != 1 {
		t.Fatalf("%d message.received events", len(evs))
	}
}
