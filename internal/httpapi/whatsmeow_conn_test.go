package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/openwa/openwa/internal/app"
	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
)

// WhatsApp refuses a first message to a new contact (ack error 463): the
// message fails once, saying why, and is not sent again.
func TestWhatsmeowSendRefused463(t *testing.T) {
	t.Parallel()
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

// A logout WhatsApp does not confirm (its side fails) still logs the session
// out here: the pairing and the device's keys are gone.
func TestWhatsmeowLogoutUnconfirmed(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	pairWhatsmeow(t, e, srv, "wa")
	srv.FailUnlinks(true)
	r := e.do("POST", "/api/sessions/wa/logout", nil)
	e.expect(r, 200, "")
	if r.data()["status"] != "DISCONNECTED" || r.data()["phone"] != nil {
		t.Fatalf("after logout: %v", r.data())
	}
	if u := srv.Unlinked(); len(u) != 0 {
		t.Fatalf("WhatsApp unlinked %v", u)
	}
	if auth, err := e.app.Store.SessionAuth(context.Background(), "wa"); err != nil || auth != nil {
		t.Fatalf("pairing kept: %q %v", auth, err)
	}
	var devices, identities int
	db := e.rawDB()
	if err := db.QueryRow(`SELECT COUNT(*) FROM whatsmeow_device`).Scan(&devices); err != nil || devices != 0 {
		t.Fatalf("%d devices left in the device store (%v)", devices, err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM whatsmeow_pre_keys`).Scan(&identities); err != nil || identities != 0 {
		t.Fatalf("%d prekeys left in the device store (%v)", identities, err)
	}
}

// After linking, the phone hands over its history and its contacts' push
// names (history sync notifications; the blobs on the media host): the push
// names show in the contacts, and the old messages do not flood in as new
// received messages.
func TestWhatsmeowHistorySync(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	pairWhatsmeow(t, e, srv, "wa")
	old := time.Now().Add(-48 * time.Hour)
	convs := []fakewa.HistoryConversation{{ChatID: alice.JID, Name: "Alice", Messages: []fakewa.HistoryMessage{
		{ID: "3EB0OLD1", Text: "last week", Time: old}, {ID: "3EB0OLD2", FromMe: true, Text: "indeed", Time: old.Add(time.Minute)},
		{ID: "3EB0OLD3", Text: "bye", Time: old.Add(2 * time.Minute)}}}}
	if err := srv.SendHistorySync(ctx, "3EB0HIST1", convs, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.SendHistorySync(ctx, "3EB0HIST2", nil, map[types.JID]string{alice.JID: "Alice A."}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var name any
		for _, c := range e.do("GET", "/api/sessions/wa/contacts", nil).list() {
			if c := c.(map[string]any); c["id"] == alice.JID.String() {
				name = c["pushName"]
			}
		}
		if name == "Alice A." {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's push name: %v", name)
		}
	}
	if msgs := e.do("GET", "/api/sessions/wa/messages", nil).list(); len(msgs) != 0 {
		t.Fatalf("history stored as messages: %v", msgs)
	}
	if evs, _ := e.events("after=0&limit=100&events=message.received"); len(evs) != 0 {
		t.Fatalf("%d message.received events", len(evs))
	}
	noFakeErrors(t, srv)
}

// After linking, the phone shares the app-state key and WhatsApp holds the
// account's app state: the device fetches and decrypts it. The address-book
// names show in the contacts, the archived chat is kept as archived, and
// with the push name known the account announces itself under it.
func TestWhatsmeowAppState(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	alice, bob := fakewa.NewContact("6281234567890"), fakewa.NewContact("6289876543210")
	srv.AddContact(alice)
	srv.AddContact(bob)
	pairWhatsmeow(t, e, srv, "wa")
	if p := srv.Seen("presence"); len(p) != 0 {
		t.Fatalf("presence before the push name is known: %v", p)
	}
	if err := srv.SetAppState(ctx, fakewa.AppState{PushName: "Shop", Contacts: map[types.JID]string{alice.JID: "Alice Example"},
		Archived: []types.JID{bob.JID}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var name any
		for _, c := range e.do("GET", "/api/sessions/wa/contacts", nil).list() {
			if c := c.(map[string]any); c["id"] == alice.JID.String() {
				name = c["name"]
			}
		}
		if name == "Alice Example" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's name: %v", name)
		}
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if p := srv.Seen("presence"); len(p) > 0 {
			if p[0].Attrs["type"] != "available" || p[0].Attrs["name"] != "Shop" {
				t.Fatalf("presence %v", p[0].Attrs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no presence after the push name arrived")
		}
	}
	q := `SELECT archived FROM whatsmeow_chat_settings WHERE chat_jid = ?`
	if e.cfg.DatabaseType == "postgres" {
		q = strings.Replace(q, "?", "$1", 1)
	}
	db := e.rawDB()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var archived bool
		err := db.QueryRow(q, bob.JID.String()).Scan(&archived)
		if err == nil && archived {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob's chat not archived: %v", err)
		}
	}
	noFakeErrors(t, srv)
}

// A contact with two devices gets every message on both (whatsmeow lists
// both, encrypts for each); when the contact's identity key changes,
// notified by WhatsApp or found in the contact's next message, sends and
// receipts go on under the new key.
func TestWhatsmeowTwoDevicesAndIdentityChange(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	laptop := srv.NewDevice(alice, 7)
	pairWhatsmeow(t, e, srv, "wa")
	next := func(c *fakewa.Contact) *fakewa.Received {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		r, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("%v; server side: %v", err, srv.Errors())
		}
		return r
	}
	send := func(text string) string {
		t.Helper()
		r := e.do("POST", "/api/sessions/wa/messages/send-text", map[string]any{"chatId": alice.JID.String(), "text": text})
		e.expect(r, 201, "")
		return r.data()["waMessageId"].(string)
	}

	id := send("to both of you")
	for _, d := range []*fakewa.Contact{alice, laptop} {
		if got := next(d); got.ID != id || got.Message.GetConversation() != "to both of you" {
			t.Fatalf("a device got %+v", got)
		}
	}

	// Alice reinstalls WhatsApp on her phone; WhatsApp tells the device.
	if err := srv.ChangeIdentity(ctx, alice, true); err != nil {
		t.Fatal(err)
	}
	id = send("after the change")
	for _, d := range []*fakewa.Contact{alice, laptop} {
		if got := next(d); got.ID != id || got.Message.GetConversation() != "after the change" {
			t.Fatalf("a device got %+v", got)
		}
	}

	// Again, unannounced: her next message carries the new key.
	if err := srv.ChangeIdentity(ctx, alice, false); err != nil {
		t.Fatal(err)
	}
	if err := srv.SendText(ctx, alice, "3EB0NEWKEY", "new phone, same me"); err != nil {
		t.Fatal(err)
	}
	if in := e.firstInbound("wa"); in["text"] != "new phone, same me" {
		t.Fatalf("received %v", in)
	}
	noFakeErrors(t, srv)
}

// flakyNet fails the next n connections, then carries them to the fake.
type flakyNet struct {
	mu   sync.Mutex
	n    int
	next http.RoundTripper
}

func (f *flakyNet) failNext(n int) { f.mu.Lock(); f.n = n; f.mu.Unlock() }

func (f *flakyNet) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	fail := f.n > 0
	f.n--
	f.mu.Unlock()
	if fail {
		return nil, errors.New("dial tcp: connect: network is unreachable")
	}
	return f.next.RoundTrip(r)
}

// OpenWA boots while the network is down: the linked session is
// DISCONNECTED with the reason (not FAILED), tries again by itself, and is
// READY once WhatsApp answers, without anyone starting it.
func TestWhatsmeowReconnectsAtBoot(t *testing.T) {
	t.Parallel()
	srv := fakewa.New()
	t.Cleanup(srv.Close) // TestMain set the root key the client trusts
	netw := &flakyNet{next: srv.Transport()}
	e := newEnvWith(t, map[string]string{"ENGINE_TYPE": "whatsmeow"}, app.WithWhatsmeowTransport(netw))
	pairWhatsmeow(t, e, srv, "wa")

	e.stop()
	netw.failNext(2)
	e.boot()
	off := e.waitStatus("wa", "DISCONNECTED")
	if reason, _ := off["lastError"].(string); !strings.Contains(reason, "cannot reach WhatsApp") || !strings.Contains(reason, "trying again in") {
		t.Fatalf("at boot: %v", off)
	}
	e.waitStatus("wa", "READY")
	evs, _ := e.events("after=0&limit=1000&events=session.status")
	for _, ev := range evs {
		if ev["data"].(map[string]any)["status"] == "FAILED" {
			t.Fatalf("FAILED on the way: %v", ev["data"])
		}
	}
}

// WhatsApp retires the WhatsApp Web version OpenWA presents (405 at login):
// OpenWA fetches the current one and the session is READY again by itself.
func TestWhatsmeowClientOutdated(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	pairWhatsmeow(t, e, srv, "wa")
	saved := store.GetWAVersion()
	t.Cleanup(func() { store.SetWAVersion(saved) })
	srv.SetWebVersion(saved[2] + 3)
	srv.Drop()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s := e.do("GET", "/api/sessions/wa", nil).data()
		if reason, _ := s["lastError"].(string); strings.Contains(reason, "outdated") {
			break
		}
		if s["status"] == "FAILED" || time.Now().After(deadline) {
			t.Fatalf("no word of the outdated version: %v", s)
		}
	}
	e.waitStatus("wa", "READY")
	if v := store.GetWAVersion(); v[2] != saved[2]+3 {
		t.Fatalf("version %s", v)
	}
}
