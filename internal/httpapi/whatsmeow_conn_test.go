package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
)

// WhatsApp refuses a first message to a new contact (ack error 463): the
// message fails once, saying why, and is not sent again.
func TestWhatsmeowSendRefused463(t *testing.T) {
	e, srv := withFakeWhatsApp(t)
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	pairWhatsmeow(t, e, srv, "wa")

	srv.RefuseSends(463, 1)
	r := e.do("POST", "/api/sessions/wa/messages/send-text", map[string]any{"chatId": alice.JID.String(), "text": "hello, new friend"})
	e.expect(r, 502, "ENGINE_ERROR")
	id := r.errDetails()["messageId"].(string)
	failed := e.waitMessage("wa", id, "failed")
	if msg, _ := failed["error"].(string); !strings.Contains(msg, "refused a first message to a new contact") || !strings.Contains(msg, "463") {
		t.Fatalf("failed: %v", failed)
	}
	if n := srv.Sends(failed["waMessageId"].(string)); n != 1 {
		t.Fatalf("WhatsApp saw %d sends of the message, want 1", n)
	}
	evs, _ := e.events("after=0&limit=100&events=message.failed")
	if len(evs) != 1 {
		t.Fatalf("%d message.failed events", len(evs))
	}

	// The next message goes through.
	e.expect(e.do("POST", "/api/sessions/wa/messages/send-text", map[string]any{"chatId": alice.JID.String(), "text": "again"}), 201, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if got, err := alice.Next(ctx); err != nil || got.Message.GetConversation() != "again" {
		t.Fatalf("alice got %v, %v", got, err)
	}
}
