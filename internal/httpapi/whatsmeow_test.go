package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/openwa/openwa/internal/app"
	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
)

// withFakeWhatsApp starts a fake WhatsApp server, which the real whatsmeow
// client trusts (TestMain set the root key), and an OpenWA on it.
// noFakeErrors fails t if the fake WhatsApp server met anything it did not
// expect from OpenWA (a malformed node, a message it could not decrypt).
func noFakeErrors(t *testing.T, srv *fakewa.Server) {
	t.Helper()
	if errs := srv.Errors(); len(errs) > 0 {
		t.Fatalf("server side: %v", errs)
	}
}

func withFakeWhatsApp(t *testing.T) (*env, *fakewa.Server) {
	srv := fakewa.New()
	t.Cleanup(srv.Close)
	return newEnvWith(t, map[string]string{"ENGINE_TYPE": "whatsmeow", "WEBHOOK_ALLOW_PRIVATE": "true"},
		app.WithWhatsmeowTransport(srv.Transport())), srv
}

// The whole life of a real-engine session through OpenWA's API, against a
// server that speaks WhatsApp's protocol: QR, pairing, READY, a restart that
// needs no QR, a dropped connection, a temporary ban, and the phone unlinking it.
func TestWhatsmeowSessionLife(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()

	r := e.do("POST", "/api/sessions", map[string]any{"id": "wa"})
	e.expect(r, 201, "")
	if r.data()["engine"] != "whatsmeow" {
		t.Fatalf("engine %v", r.data()["engine"])
	}
	e.waitStatus("wa", "QR_READY")
	qr := e.do("GET", "/api/sessions/wa/qr", nil)
	e.expect(qr, 200, "")
	code := qr.data()["qr"].(string)
	if !strings.Contains(code, "2@fakeref1,") {
		t.Fatalf("qr %q", code)
	}

	// The phone scans it.
	if err := srv.Pair(ctx, code, "15557654321"); err != nil {
		t.Fatal(err)
	}
	ready := e.waitStatus("wa", "READY")
	if ready["phone"] != "15557654321" {
		t.Fatalf("ready: %v", ready)
	}
	me := e.do("GET", "/api/sessions/wa/me", nil).data()
	if me["id"] != "15557654321@s.whatsapp.net" || me["lid"] == nil {
		t.Fatalf("me: %v", me)
	}
	statuses := func() []string {
		evs, _ := e.events("after=0&limit=1000&events=session.status")
		var out []string
		for _, ev := range evs {
			out = append(out, ev["data"].(map[string]any)["status"].(string))
		}
		return out
	}
	if got := strings.Join(statuses(), ">"); !strings.HasPrefix(got, "INITIALIZING>QR_READY>AUTHENTICATED>READY") {
		t.Fatalf("statuses %s", got)
	}

	// A restart of OpenWA: READY again from the stored device, no new QR.
	qrsBefore, _ := e.events("after=0&limit=1000&events=session.qr")
	e.restart()
	e.waitStatus("wa", "READY")
	if qrs, _ := e.events("after=0&limit=1000&events=session.qr"); len(qrs) != len(qrsBefore) {
		t.Fatal("the restored session asked for a QR code")
	}

	// The connection drops: whatsmeow reconnects, the session is READY again.
	before := len(statuses())
	srv.Drop()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := statuses()
		if len(s) > before && s[len(s)-1] == "READY" {
			if !strings.Contains(strings.Join(s[before:], ">"), "DISCONNECTED") {
				t.Fatalf("after the drop: %v", s[before:])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect: %v", s[before:])
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A temporary ban at the next login: FAILED, with the reason and its end.
	srv.BanLogins(time.Hour)
	srv.Drop()
	failed := e.waitStatus("wa", "FAILED")
	if reason, _ := failed["lastError"].(string); !strings.Contains(reason, "temporarily banned") || !strings.Contains(reason, "until") {
		t.Fatalf("ban: %v", failed["lastError"])
	}
	srv.BanLogins(0)
	e.expect(e.do("POST", "/api/sessions/wa/restart", nil), 200, "")
	e.waitStatus("wa", "READY")

	// The phone unlinks the device: logged out, pairing forgotten.
	if err := srv.RemoveDevice(ctx); err != nil {
		t.Fatal(err)
	}
	out := e.waitStatus("wa", "DISCONNECTED")
	if out["phone"] != nil || !strings.Contains(out["lastError"].(string), "unlinked") {
		t.Fatalf("after device_removed: %v", out)
	}
	if auth, err := e.app.Store.SessionAuth(ctx, "wa"); err != nil || auth != nil {
		t.Fatalf("pairing kept: %q %v", auth, err)
	}
	// Starting again asks for a QR code.
	e.expect(e.do("POST", "/api/sessions/wa/start", nil), 200, "")
	e.waitStatus("wa", "QR_READY")
}

// Without a network the session is created and says why it is not
// connected: DISCONNECTED, not FAILED, as it keeps trying.
func TestWhatsmeowWithoutNetwork(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, map[string]string{"ENGINE_TYPE": "whatsmeow"}, app.WithWhatsmeowTransport(unreachable{}))
	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "off"}), 201, "")
	off := e.waitStatus("off", "DISCONNECTED")
	if reason, _ := off["lastError"].(string); !strings.Contains(reason, "cannot reach WhatsApp") || !strings.Contains(reason, "trying again in") {
		t.Fatalf("disconnected: %v", off)
	}
	e.expect(e.do("POST", "/api/sessions/off/start", nil), 200, "")
	e.expect(e.do("GET", "/health", nil, noKey()), 200, "")
}

type unreachable struct{}

func (unreachable) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp: no route to host")
}

// A contact writes: the message arrives Signal-encrypted (a new session from
// the prekeys the device uploaded), whatsmeow decrypts it, and it is stored,
// listed and delivered to a webhook like any other.
func TestWhatsmeowReceivesEncryptedMessage(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	e.do("POST", "/api/sessions", map[string]any{"id": "wa"})
	e.waitStatus("wa", "QR_READY")
	code := e.do("GET", "/api/sessions/wa/qr", nil).data()["qr"].(string)
	if err := srv.Pair(ctx, code, "15557654321"); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("wa", "READY")
	rcv := newReceiver(t)
	e.restart() // and from the stored device
	e.waitStatus("wa", "READY")
	e.createWebhook("/api/sessions/wa/webhooks", map[string]any{"url": rcv.srv.URL, "events": []string{"message.received"}})

	alice := fakewa.NewContact("6281234567890")
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err = srv.SendText(ctx, alice, "3EB0FROMALICE", "hello over Signal"); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	d := rcv.wait(t, 1)[0]
	var ev struct {
		Event string
		Data  map[string]any
	}
	json.Unmarshal(d.Body, &ev)
	if ev.Event != "message.received" || ev.Data["text"] != "hello over Signal" || ev.Data["from"] != "6281234567890@s.whatsapp.net" ||
		ev.Data["waMessageId"] != "3EB0FROMALICE" || ev.Data["fromMe"] != false {
		t.Fatalf("delivered: %s", d.Body)
	}
	list := e.do("GET", "/api/sessions/wa/messages?direction=in", nil).list()
	if len(list) != 1 || list[0].(map[string]any)["text"] != "hello over Signal" {
		t.Fatalf("stored: %v", list)
	}

	// Unread until the account reads it on the phone: WhatsApp tells the device (read-self).
	unread := func() any {
		return e.do("GET", "/api/sessions/wa/chats", nil).list()[0].(map[string]any)["unreadCount"]
	}
	if u := unread(); u != float64(1) {
		t.Fatalf("unread %v", u)
	}
	if err := srv.ReadOnPhone(ctx, alice, "3EB0FROMALICE"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); unread() != float64(0); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("reading on the phone left the message unread")
		}
	}

	// Bob writes as WhatsApp does today, from his LID with his number beside
	// it: OpenWA names him by phone number and keeps the LID too.
	bob := fakewa.NewContact("6289876543210")
	bob.ByLID = true
	if err := srv.SendText(ctx, bob, "3EB0FROMBOB", "hi from a LID"); err != nil {
		t.Fatal(err)
	}
	d = rcv.wait(t, 2)[1]
	json.Unmarshal(d.Body, &ev)
	if ev.Data["from"] != bob.JID.String() || ev.Data["chatId"] != bob.JID.String() || ev.Data["fromLid"] != bob.LID.String() {
		t.Fatalf("delivered: %s", d.Body)
	}

	// Alice deletes her message for everyone: it is marked revoked, no new message appears.
	if err := srv.SendMessage(ctx, alice, "3EB0REVOKE", "text", &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_REVOKE.Enum(), Key: &waCommon.MessageKey{RemoteJID: proto.String("15557654321@s.whatsapp.net"),
			ID: proto.String("3EB0FROMALICE")}}}); err != nil {
		t.Fatal(err)
	}
	id := list[0].(map[string]any)["id"].(string)
	for deadline := time.Now().Add(10 * time.Second); e.do("GET", "/api/sessions/wa/messages/"+id, nil).data()["type"] != "revoked"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the revoke was not applied")
		}
	}
	if n := len(e.do("GET", "/api/sessions/wa/messages?direction=in", nil).list()); n != 2 {
		t.Fatalf("%d inbound messages, want 2", n)
	}
}

// firstInbound waits for the session's first incoming message.
func (e *env) firstInbound(session string) map[string]any {
	e.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if list := e.do("GET", "/api/sessions/"+session+"/messages?direction=in", nil).list(); len(list) > 0 {
			return list[0].(map[string]any)
		} else if time.Now().After(deadline) {
			e.t.Fatal("no message arrived")
		}
	}
}

// pairWhatsmeow creates a whatsmeow session, plays the phone that scans its
// QR code, and waits for READY and the device's prekeys.
func pairWhatsmeow(t *testing.T, e *env, srv *fakewa.Server, id string) {
	t.Helper()
	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": id}), 201, "")
	e.waitStatus(id, "QR_READY")
	code := e.do("GET", "/api/sessions/"+id+"/qr", nil).data()["qr"].(string)
	if err := srv.Pair(context.Background(), code, "15557654321"); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(id, "READY")
	for deadline := time.Now().Add(10 * time.Second); !srv.HasKeys(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the device uploaded no prekeys")
		}
	}
}

// Sends through OpenWA's API go out Signal-encrypted, the contact decrypts
// them, the server's ack makes them sent and the contact's receipts make them
// delivered and read; media is uploaded encrypted and readable by the
// contact; a revoke reaches the contact; media a contact sends is downloaded
// into OpenWA's media store.
func TestWhatsmeowSendsAndAcks(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	alice := fakewa.NewContact("6281234567890")
	alice.Picture = "https://pps.whatsapp.net/v/alice.jpg"
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

	// Is alice on WhatsApp, and what does she look like.
	if c := e.do("GET", "/api/sessions/wa/contacts/check/6281234567890", nil).data(); c["exists"] != true || c["jid"] != alice.JID.String() {
		t.Fatalf("check: %v", c)
	}
	if c := e.do("GET", "/api/sessions/wa/contacts/check/6280000000000", nil).data(); c["exists"] != false {
		t.Fatalf("check a number nobody has: %v", c)
	}
	if p := e.do("GET", "/api/sessions/wa/contacts/6281234567890/profile-picture", nil).data(); p["url"] != alice.Picture {
		t.Fatalf("picture: %v", p)
	}
	e.expect(e.do("POST", "/api/sessions/wa/chats/6281234567890/presence", map[string]any{"state": "typing"}), 200, "")

	r := e.do("POST", "/api/sessions/wa/messages/send-text", map[string]any{"chatId": "+62 812-3456-7890", "text": "hello from OpenWA"})
	e.expect(r, 201, "")
	sent := r.data()
	if sent["status"] != "sent" || sent["chatId"] != alice.JID.String() {
		t.Fatalf("sent: %v", sent)
	}
	got := next()
	if got.Message.GetConversation() != "hello from OpenWA" || got.ID != sent["waMessageId"] {
		t.Fatalf("alice got %+v, OpenWA says %v", got, sent["waMessageId"])
	}
	id := sent["id"].(string)
	srv.Receipt(ctx, alice, "", got.ID)
	e.waitMessage("wa", id, "delivered")
	srv.Receipt(ctx, alice, "read", got.ID)
	e.waitMessage("wa", id, "read")

	// A reply quotes the message with its sender and text, as WhatsApp shows quotes.
	e.expect(e.do("POST", "/api/sessions/wa/messages/send-text", map[string]any{"chatId": alice.JID.String(), "text": "as I said",
		"replyTo": id}), 201, "")
	if ci := next().Message.GetExtendedTextMessage().GetContextInfo(); ci.GetStanzaID() != got.ID ||
		ci.GetParticipant() != "15557654321@s.whatsapp.net" || ci.GetQuotedMessage().GetConversation() != "hello from OpenWA" {
		t.Fatalf("quote: %v", ci)
	}

	// A number WhatsApp has no account for: failed at once (no retries), saying so.
	r = e.do("POST", "/api/sessions/wa/messages/send-text", map[string]any{"chatId": "6280000000000", "text": "anyone?"})
	e.expect(r, 502, "ENGINE_ERROR")
	failed := e.do("GET", "/api/sessions/wa/messages/"+r.errDetails()["messageId"].(string), nil).data()
	if msg, _ := failed["error"].(string); failed["status"] != "failed" || !strings.Contains(msg, "6280000000000 is not on WhatsApp") {
		t.Fatalf("failed: %v", failed)
	}

	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{9}, 2048)...)
	r = e.do("POST", "/api/sessions/wa/messages/send-image", map[string]any{"chatId": alice.JID.String(), "caption": "a picture",
		"media": map[string]any{"data": base64.StdEncoding.EncodeToString(png)}})
	e.expect(r, 201, "")
	got = next()
	img := got.Message.GetImageMessage()
	if img == nil || img.GetCaption() != "a picture" || img.GetMimetype() != "image/png" {
		t.Fatalf("alice got %v", got.Message)
	}
	if data, err := srv.Media(img); err != nil || !bytes.Equal(data, png) {
		t.Fatalf("alice cannot read the picture: %v", err)
	}

	e.expect(e.do("DELETE", "/api/sessions/wa/messages/"+id, nil), 200, "")
	if pm := next().Message.GetProtocolMessage(); pm.GetType() != waE2E.ProtocolMessage_REVOKE || pm.GetKey().GetID() != sent["waMessageId"] {
		t.Fatalf("revoke: %v", pm)
	}

	// Alice sends a photo of a few MiB: OpenWA streams it from the download
	// into its media store and serves it byte-identical.
	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0}
	for i := range 3 << 20 {
		jpeg = append(jpeg, byte(i*7+i>>11))
	}
	up, err := srv.Upload(jpeg, whatsmeow.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SendMessage(ctx, alice, "3EB0PHOTO", "media", up.Image("image/jpeg", "")); err != nil {
		t.Fatal(err)
	}
	in := e.firstInbound("wa")
	m, _ := in["media"].(map[string]any)
	if in["type"] != "image" || m == nil || m["size"] != float64(len(jpeg)) || m["mimetype"] != "image/jpeg" {
		t.Fatalf("received: %v", in)
	}
	dl := e.do("GET", "/api/sessions/wa/media/"+m["id"].(string), nil)
	if dl.Status != 200 || !bytes.Equal(dl.Raw, jpeg) {
		t.Fatalf("media download: %d, %d bytes", dl.Status, len(dl.Raw))
	}
	noFakeErrors(t, srv)
}

// A group through OpenWA's API: a send reaches every member (sender keys),
// and a member's message arrives with the group as its chat and the member,
// by phone number, as its sender.
func TestWhatsmeowGroupMessages(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	alice, bob := fakewa.NewContact("6281234567890"), fakewa.NewContact("6289876543210")
	srv.AddContact(alice)
	srv.AddContact(bob)
	pairWhatsmeow(t, e, srv, "wa")
	group, err := srv.NewGroup("Team", alice, bob)
	if err != nil {
		t.Fatal(err)
	}

	// The group as WhatsApp describes it, members by phone number.
	gs := e.do("GET", "/api/sessions/wa/groups", nil).list()
	if len(gs) != 1 || gs[0].(map[string]any)["id"] != group.String() || gs[0].(map[string]any)["subject"] != "Team" ||
		len(gs[0].(map[string]any)["participants"].([]any)) != 3 {
		t.Fatalf("groups: %v", gs)
	}
	link := e.do("GET", "/api/sessions/wa/groups/"+group.String()+"/invite-link", nil).data()["url"]
	if l, _ := link.(string); !strings.HasPrefix(l, "https://chat.whatsapp.com/") {
		t.Fatalf("invite link %v", link)
	}
	e.expect(e.do("GET", "/api/sessions/wa/groups/120363999999999999@g.us", nil), 404, "GROUP_NOT_FOUND")

	// Changes, ours and a member's, come back from WhatsApp as group.updated with the group as it is after.
	r := e.do("PUT", "/api/sessions/wa/groups/"+group.String(), map[string]any{"subject": "Team A"})
	e.expect(r, 200, "")
	if r.data()["subject"] != "Team A" {
		t.Fatalf("renamed: %v", r.data())
	}
	waitEvents(t, e, "group.updated", 1)
	if err := srv.ChangeSubject(ctx, group, bob, "Bob's team"); err != nil {
		t.Fatal(err)
	}
	evs := waitEvents(t, e, "group.updated", 2)
	for i, want := range []string{"Team A", "Bob's team"} {
		d := evs[i]["data"].(map[string]any)
		if d["id"] != group.String() || d["subject"] != want || d["changed"].([]any)[0] != "subject" || len(d["participants"].([]any)) != 3 {
			t.Fatalf("group.updated %d: %v", i, d)
		}
	}

	r = e.do("POST", "/api/sessions/wa/messages/send-text", map[string]any{"chatId": group.String(), "text": "hello team"})
	e.expect(r, 201, "")
	for _, c := range []*fakewa.Contact{alice, bob} {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		got, err := c.Next(cctx)
		cancel()
		if err != nil || got.Message.GetConversation() != "hello team" || got.Chat != group {
			t.Fatalf("%s: %+v %v", c.JID.User, got, err)
		}
	}

	if err := srv.SendGroupText(ctx, bob, group, "3EB0BOBINGROUP", "hi all"); err != nil {
		t.Fatal(err)
	}
	in := e.firstInbound("wa")
	if in["chatId"] != group.String() || in["from"] != bob.JID.String() || in["fromLid"] != bob.LID.String() || in["text"] != "hi all" {
		t.Fatalf("received: %v", in)
	}

	// Reading it: the receipt names bob as WhatsApp named him, and the chat has nothing unread.
	e.expect(e.do("POST", "/api/sessions/wa/chats/"+group.String()+"/read", map[string]any{"messageIds": []string{in["id"].(string)}}), 200, "")
	var receipt *waBinary.Node
	for deadline := time.Now().Add(10 * time.Second); receipt == nil; time.Sleep(10 * time.Millisecond) {
		for _, n := range srv.Seen("receipt") {
			if ag := n.AttrGetter(); ag.OptionalString("type") == "read" && ag.OptionalString("id") == "3EB0BOBINGROUP" {
				receipt = n
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("WhatsApp got no read receipt")
		}
	}
	if p := receipt.AttrGetter().OptionalJIDOrEmpty("participant"); p != bob.LID {
		t.Fatalf("receipt names %v, want %v", p, bob.LID)
	}

	// A group that addresses its members by phone number: the API shows the
	// same sender fields, and the read receipt names alice by phone number.
	if err := srv.SendGroupTextByPN(ctx, alice, group, "3EB0ALICEBYPN", "hi by number"); err != nil {
		t.Fatal(err)
	}
	byPN := e.waitWA("/api/sessions/wa/messages", "3EB0ALICEBYPN")
	if byPN["from"] != alice.JID.String() || byPN["fromLid"] != alice.LID.String() || byPN["senderAs"] != nil {
		t.Fatalf("received by phone number: %v", byPN)
	}
	e.expect(e.do("POST", "/api/sessions/wa/chats/"+group.String()+"/read", map[string]any{"messageIds": []string{byPN["id"].(string)}}), 200, "")
	receipt = nil
	for deadline := time.Now().Add(10 * time.Second); receipt == nil; time.Sleep(10 * time.Millisecond) {
		for _, n := range srv.Seen("receipt") {
			if ag := n.AttrGetter(); ag.OptionalString("type") == "read" && ag.OptionalString("id") == "3EB0ALICEBYPN" {
				receipt = n
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("WhatsApp got no read receipt for the phone-addressed message")
		}
	}
	if p := receipt.AttrGetter().OptionalJIDOrEmpty("participant"); p != alice.JID {
		t.Fatalf("receipt names %v, want %v", p, alice.JID)
	}
	if chats := e.do("GET", "/api/sessions/wa/chats", nil).list(); chats[0].(map[string]any)["unreadCount"] != float64(0) {
		t.Fatalf("chats: %v", chats)
	}
	noFakeErrors(t, srv)
}

// Pairing by phone number: OpenWA asks WhatsApp for a code, the user types it
// on the phone, the device is linked to that number; a wrong code links nothing.
func TestWhatsmeowPairingCode(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "code"}), 201, "")
	e.waitStatus("code", "QR_READY")
	r := e.do("POST", "/api/sessions/code/pairing-code", map[string]any{"phoneNumber": "+62 812-3456-7890"})
	e.expect(r, 200, "")
	code, _ := r.data()["code"].(string)
	if len(code) != 9 || code[4] != '-' {
		t.Fatalf("code %q", code)
	}
	if err := srv.EnterCode(ctx, "AAAA-AAAA"); err != nil { // a typo: the key bundle does not open
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); len(srv.Errors()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the client never answered the typed code")
		}
	}
	if s := e.do("GET", "/api/sessions/code", nil).data(); s["status"] != "QR_READY" {
		t.Fatalf("a wrong code: %v", s["status"])
	}
	if err := srv.EnterCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	if ready := e.waitStatus("code", "READY"); ready["phone"] != "6281234567890" {
		t.Fatalf("ready: %v", ready)
	}

	// Logout tells WhatsApp to unlink the device and forgets it here.
	r = e.do("POST", "/api/sessions/code/logout", nil)
	e.expect(r, 200, "")
	if r.data()["status"] != "DISCONNECTED" || r.data()["phone"] != nil {
		t.Fatalf("after logout: %v", r.data())
	}
	if u := srv.Unlinked(); len(u) != 1 || !strings.HasPrefix(u[0], "6281234567890:") {
		t.Fatalf("WhatsApp was asked to unlink %v", u)
	}
	if auth, err := e.app.Store.SessionAuth(ctx, "code"); err != nil || auth != nil {
		t.Fatalf("pairing kept: %q %v", auth, err)
	}
	var devices int
	if err := e.rawDB().QueryRow(`SELECT COUNT(*) FROM whatsmeow_device`).Scan(&devices); err != nil || devices != 0 {
		t.Fatalf("%d devices left in the device store (%v)", devices, err)
	}
}
