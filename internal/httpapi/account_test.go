package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
	"github.com/openwa/openwa/internal/testutil"
)

// What a real account receives besides its contacts' messages, through
// OpenWA's API against the fake WhatsApp: messages typed on its own phone,
// statuses, channel posts, and messages whose order matters.

// waitWA waits for the stored message with a WhatsApp id, in the list at path.
func (e *env) waitWA(path, waID string) map[string]any {
	e.t.Helper()
	var found map[string]any
	testutil.Eventually(e.t, 15*time.Second, func() bool {
		for _, m := range e.do("GET", path+"?limit=100", nil).list() {
			if m := m.(map[string]any); m["waMessageId"] == waID {
				found = m
				return true
			}
		}
		return false
	}, "message %s in %s", waID, path)
	return found
}

// eventFor finds the event of a name whose data names a WhatsApp id; nil when there is none.
func eventFor(evs []map[string]any, name, waID string) map[string]any {
	for _, ev := range evs {
		if ev["event"] == name && ev["data"].(map[string]any)["waMessageId"] == waID {
			return ev
		}
	}
	return nil
}

// A message typed on the account's own phone arrives addressed by LID; it is
// stored in the same chat as the API's sends to that person, named by phone
// JID, with the LID beside it; mentions by LID become phone JIDs; a person
// whose number OpenWA does not know stays under the LID. The LID lookups
// answer both forms.
func TestWhatsmeowMessagesTypedOnThePhone(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	pairWhatsmeow(t, e, srv, "wa")

	r := e.do("POST", "/api/sessions/wa/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "from the API"})
	e.expect(r, 201, "")
	if d := r.data(); d["chatId"] != alice.JID.String() || d["chatLid"] != alice.LID.String() {
		t.Fatalf("send answer: %v", d)
	}
	if err := srv.Receipt(ctx, alice, "", r.data()["waMessageId"].(string)); err != nil {
		t.Fatal(err)
	}
	if d := waitEvents(t, e, "message.ack", 1)[0]["data"].(map[string]any); d["chatId"] != alice.JID.String() || d["chatLid"] != alice.LID.String() {
		t.Fatalf("ack event: %v", d)
	}

	// Typed on the phone, with the recipient's number beside the LID.
	typed := &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("typed on the phone"),
		ContextInfo: &waE2E.ContextInfo{MentionedJID: []string{alice.LID.String()}}}}
	if err := srv.SendFromPhone(ctx, alice, "3EB0PHONE1", typed, true); err != nil {
		t.Fatal(err)
	}
	m := e.waitWA("/api/sessions/wa/messages", "3EB0PHONE1")
	if m["chatId"] != alice.JID.String() || m["chatLid"] != alice.LID.String() || m["fromMe"] != true ||
		m["from"] != "15557654321@s.whatsapp.net" || fmt.Sprint(m["mentions"]) != "["+alice.JID.String()+"]" {
		t.Fatalf("typed on the phone: %v", m)
	}
	// Without the number: the device store's LID map knows it.
	if err := srv.SendFromPhone(ctx, alice, "3EB0PHONE2", &waE2E.Message{Conversation: proto.String("again")}, false); err != nil {
		t.Fatal(err)
	}
	if m := e.waitWA("/api/sessions/wa/messages", "3EB0PHONE2"); m["chatId"] != alice.JID.String() || m["chatLid"] != alice.LID.String() {
		t.Fatalf("typed on the phone, LID only: %v", m)
	}
	chats := e.do("GET", "/api/sessions/wa/chats", nil).list()
	if len(chats) != 1 || chats[0].(map[string]any)["id"] != alice.JID.String() || chats[0].(map[string]any)["messageCount"] != float64(3) {
		t.Fatalf("chats: %v", chats)
	}
	ev := eventFor(waitEvents(t, e, "message.received", 2), "message.received", "3EB0PHONE2")
	if d := ev["data"].(map[string]any); d["chatLid"] != alice.LID.String() || d["chatId"] != alice.JID.String() {
		t.Fatalf("event: %v", ev)
	}

	// Someone OpenWA never saw a number for: the LID stays the id.
	stranger := fakewa.NewContact("6285550001111")
	if err := srv.SendFromPhone(ctx, stranger, "3EB0PHONE3", &waE2E.Message{Conversation: proto.String("hi stranger")}, false); err != nil {
		t.Fatal(err)
	}
	if m := e.waitWA("/api/sessions/wa/messages", "3EB0PHONE3"); m["chatId"] != stranger.LID.String() || m["chatLid"] != stranger.LID.String() {
		t.Fatalf("a LID-only contact: %v", m)
	}

	// Someone who writes by LID without a number: a LID-only contact, kept
	// as such in the chat and the contact list.
	hidden := fakewa.NewContact("6286660002222")
	hidden.ByLID, hidden.HidePN = true, true
	if err := srv.SendText(ctx, hidden, "3EB0HIDDEN", "guess who"); err != nil {
		t.Fatal(err)
	}
	if m := e.waitWA("/api/sessions/wa/messages", "3EB0HIDDEN"); m["chatId"] != hidden.LID.String() || m["from"] != hidden.LID.String() ||
		m["fromLid"] != hidden.LID.String() {
		t.Fatalf("from a LID-only contact: %v", m)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		contacts := string(e.do("GET", "/api/sessions/wa/contacts", nil).Raw)
		return strings.Contains(contacts, `"id":"`+hidden.LID.String()+`","phone":"","lid":"`+hidden.LID.String()+`"`)
	}, "the LID-only contact is listed")

	// The lookups.
	want := fmt.Sprintf("%s %s", alice.LID, alice.JID)
	for _, path := range []string{"/lids/" + alice.LID.User, "/lids/" + alice.LID.String(), "/lids/pn/6281234567890", "/lids/pn/" + alice.JID.String()} {
		r := e.do("GET", "/api/sessions/wa"+path, nil)
		e.expect(r, 200, "")
		if got := fmt.Sprint(r.data()["lid"], " ", r.data()["pn"]); got != want {
			t.Fatalf("%s: %s", path, r.Raw)
		}
	}
	e.expect(e.do("GET", "/api/sessions/wa/lids/"+stranger.LID.User, nil), 404, "NOT_FOUND")
	e.expect(e.do("GET", "/api/sessions/wa/lids/pn/6285550001111", nil), 404, "NOT_FOUND")
	e.expect(e.do("GET", "/api/sessions/wa/lids/abc", nil), 400, "VALIDATION_ERROR")
	e.expect(e.do("GET", "/api/sessions/wa/lids/123@g.us", nil), 400, "VALIDATION_ERROR")
	e.expect(e.do("GET", "/api/sessions/wa/lids/pn/12", nil), 400, "VALIDATION_ERROR")
	e.expect(e.do("GET", "/api/sessions/nope/lids/pn/6281234567890", nil), 404, "SESSION_NOT_FOUND")
	noFakeErrors(t, srv)
}

// A photo, then a text, then the photo deleted for everyone, while the
// photo's download is slow: the events leave in WhatsApp's order (the text
// waits for the photo), and the photo ends revoked. A revoke that comes
// before its message wins when the message arrives: it is never stored or
// forwarded with its content.
func TestWhatsmeowChatOrderAndRevokes(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	pairWhatsmeow(t, e, srv, "wa")

	jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte{3}, 4096)...)
	up, err := srv.Upload(jpeg, whatsmeow.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	started, release := srv.HoldMedia()
	if err := srv.SendMessage(ctx, alice, "3EB0PHOTO", "media", up.Image("image/jpeg", "a secret")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started: // the photo is being downloaded, and held there
	case <-time.After(15 * time.Second):
		t.Fatal("the photo's download did not start")
	}
	if err := srv.SendText(ctx, alice, "3EB0AFTER", "sent after the photo"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Revoke(ctx, alice, "3EB0UNDO", "3EB0PHOTO"); err != nil {
		t.Fatal(err)
	}
	release()

	e.waitWA("/api/sessions/wa/messages", "3EB0AFTER")
	testutil.Eventually(t, 15*time.Second, func() bool {
		return e.waitWA("/api/sessions/wa/messages", "3EB0PHOTO")["type"] == "revoked"
	}, "the photo is revoked")
	evs, _ := e.events("after=0&limit=1000&events=message.received,message.revoked")
	var order []string
	for _, ev := range evs {
		order = append(order, fmt.Sprint(ev["event"], " ", ev["data"].(map[string]any)["waMessageId"]))
	}
	if got := strings.Join(order, ", "); got != "message.received 3EB0PHOTO, message.received 3EB0AFTER, message.revoked 3EB0PHOTO" {
		t.Fatalf("events: %s", got)
	}

	// A revoke before its message (WhatsApp's offline queue does that): the
	// message arrives revoked.
	if err := srv.Revoke(ctx, alice, "3EB0UNDO2", "3EB0LATER"); err != nil {
		t.Fatal(err)
	}
	if m := e.waitWA("/api/sessions/wa/messages", "3EB0LATER"); m["type"] != "revoked" || m["chatId"] != alice.JID.String() {
		t.Fatalf("tombstone: %v", m)
	}
	if err := srv.SendText(ctx, alice, "3EB0LATER", "too late"); err != nil {
		t.Fatal(err)
	}
	if err := srv.SendText(ctx, alice, "3EB0LAST", "the last one"); err != nil {
		t.Fatal(err)
	}
	e.waitWA("/api/sessions/wa/messages", "3EB0LAST")
	if m := e.waitWA("/api/sessions/wa/messages", "3EB0LATER"); m["type"] != "revoked" || m["text"] != nil {
		t.Fatalf("the revoked message came back: %v", m)
	}
	evs, _ = e.events("after=0&limit=1000&events=message.received")
	if eventFor(evs, "message.received", "3EB0LATER") != nil {
		t.Fatalf("a revoked message was forwarded: %v", evs)
	}
}

// Statuses are not chats: status.received, listed apart, media not
// downloaded unless the session asks for it. Channel posts are flagged.
func TestWhatsmeowStatusesAndChannels(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	pairWhatsmeow(t, e, srv, "wa")

	jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte{5}, 2048)...)
	up, err := srv.Upload(jpeg, whatsmeow.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SendStatus(ctx, alice, "3EB0STORY1", up.Image("image/jpeg", "my day")); err != nil {
		t.Fatal(err)
	}
	st := e.waitWA("/api/sessions/wa/statuses", "3EB0STORY1")
	if md, _ := st["media"].(map[string]any); st["chatId"] != "status@broadcast" || st["from"] != alice.JID.String() ||
		st["caption"] != "my day" || md["missing"] != true || md["id"] != "" {
		t.Fatalf("status: %v", st)
	}
	evs := waitEvents(t, e, "status.received", 1)
	if d := evs[0]["data"].(map[string]any); d["waMessageId"] != "3EB0STORY1" {
		t.Fatalf("status event: %v", evs)
	}
	channel := types.NewJID("120363111111111111", types.NewsletterServer)
	if err := srv.SendChannelPost(ctx, channel, "CHPOST1", "news of the day"); err != nil {
		t.Fatal(err)
	}
	post := e.waitWA("/api/sessions/wa/messages", "CHPOST1")
	if post["chatId"] != channel.String() || post["isChannel"] != true || post["text"] != "news of the day" {
		t.Fatalf("channel post: %v", post)
	}
	if evs, _ := e.events("after=0&limit=1000&events=message.received"); len(evs) != 1 || eventFor(evs, "message.received", "CHPOST1") == nil {
		t.Fatalf("message.received events: %v", evs)
	}
	for _, m := range e.do("GET", "/api/sessions/wa/messages", nil).list() {
		if m.(map[string]any)["chatId"] == "status@broadcast" {
			t.Fatal("a status in the message list")
		}
	}
	chats := e.do("GET", "/api/sessions/wa/chats", nil)
	if strings.Contains(string(chats.Raw), "status@broadcast") || len(chats.list()) != 1 {
		t.Fatalf("chats: %s", chats.Raw)
	}

	// Asked for: status media is downloaded.
	e.expect(e.do("PUT", "/api/sessions/wa", map[string]any{"config": map[string]any{"downloadStatusMedia": true}}), 200, "")
	e.expect(e.do("POST", "/api/sessions/wa/restart", nil), 200, "")
	e.waitStatus("wa", "READY")
	if err := srv.SendStatus(ctx, alice, "3EB0STORY2", up.Image("image/jpeg", "")); err != nil {
		t.Fatal(err)
	}
	st = e.waitWA("/api/sessions/wa/statuses", "3EB0STORY2")
	md, _ := st["media"].(map[string]any)
	if md == nil {
		t.Fatalf("status media not downloaded: %v", st)
	}
	if dl := e.do("GET", "/api/sessions/wa/media/"+md["id"].(string), nil); !bytes.Equal(dl.Raw, jpeg) {
		t.Fatalf("status media: %d bytes", len(dl.Raw))
	}
}

// Group details: adding members reports each one's outcome (added, 409
// already there, 403 invited instead with the invitation sent, 404 no
// account); a reaction to a member's message names that member in its key.
func TestWhatsmeowGroupParticipantResultsAndReactions(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	alice, bob, carol, dave := fakewa.NewContact("6281111111111"), fakewa.NewContact("6282222222222"),
		fakewa.NewContact("6283333333333"), fakewa.NewContact("6284444444444")
	carol.RefuseAdds = true
	for _, c := range []*fakewa.Contact{alice, bob, carol, dave} {
		srv.AddContact(c)
	}
	pairWhatsmeow(t, e, srv, "wa")
	r := e.do("POST", "/api/sessions/wa/groups", map[string]any{"name": "Team", "participants": []string{"6281111111111"}})
	e.expect(r, 201, "")
	gid := r.data()["id"].(string)

	r = e.do("POST", "/api/sessions/wa/groups/"+gid+"/participants/add",
		map[string]any{"participants": []string{"6282222222222", "6281111111111", "6283333333333", "6280000000404"}})
	e.expect(r, 200, "")
	res := r.list()
	line := func(i int) string {
		p := res[i].(map[string]any)
		return fmt.Sprint(p["participant"], " ", p["status"], " ", p["code"])
	}
	if len(res) != 4 || line(0) != bob.JID.String()+" added 200" || line(1) != alice.JID.String()+" failed 409" ||
		line(2) != carol.JID.String()+" invited 403" || !strings.HasPrefix(fmt.Sprint(res[2].(map[string]any)["inviteLink"]), "https://chat.whatsapp.com/") ||
		line(3) != "6280000000404@s.whatsapp.net failed 404" {
		t.Fatalf("add: %s", r.Raw)
	}
	next := func(c *fakewa.Contact) *fakewa.Received {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		got, err := c.Next(cctx)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if inv := next(carol).Message.GetGroupInviteMessage(); inv.GetGroupJID() != gid || inv.GetInviteCode() != "ADDREQ"+carol.LID.User ||
		inv.GetGroupName() != "Team" {
		t.Fatalf("carol's invitation: %v", inv)
	}

	// Bob writes in the group; OpenWA reacts to his message.
	if err := srv.SendGroupText(ctx, bob, types.NewJID(strings.TrimSuffix(gid, "@g.us"), types.GroupServer), "3EB0BOBSAYS", "hello team"); err != nil {
		t.Fatal(err)
	}
	bobs := e.waitWA("/api/sessions/wa/messages", "3EB0BOBSAYS")
	e.expect(e.do("POST", "/api/sessions/wa/messages/send-reaction", map[string]any{"chatId": gid, "messageId": bobs["id"], "emoji": "👍"}), 201, "")
	for {
		got := next(alice)
		re := got.Message.GetReactionMessage()
		if re == nil {
			continue // the sender key distribution and other traffic first
		}
		if k := re.GetKey(); k.GetID() != "3EB0BOBSAYS" || k.GetFromMe() || k.GetParticipant() != bob.LID.String() ||
			k.GetRemoteJID() != gid || re.GetText() != "👍" {
			t.Fatalf("reaction key: %v", re)
		}
		break
	}

	// In a group that addresses members by phone number, the key names the
	// member by phone number, as WhatsApp named them in the message.
	if err := srv.SendGroupTextByPN(ctx, alice, types.NewJID(strings.TrimSuffix(gid, "@g.us"), types.GroupServer), "3EB0ALICEBYPN", "hi"); err != nil {
		t.Fatal(err)
	}
	alices := e.waitWA("/api/sessions/wa/messages", "3EB0ALICEBYPN")
	e.expect(e.do("POST", "/api/sessions/wa/messages/send-reaction", map[string]any{"chatId": gid, "messageId": alices["id"], "emoji": "🎉"}), 201, "")
	for {
		re := next(bob).Message.GetReactionMessage()
		if re == nil || re.GetText() != "🎉" {
			continue
		}
		if k := re.GetKey(); k.GetID() != "3EB0ALICEBYPN" || k.GetFromMe() || k.GetParticipant() != alice.JID.String() || k.GetRemoteJID() != gid {
			t.Fatalf("reaction key in a phone-addressed group: %v", re)
		}
		break
	}
	noFakeErrors(t, srv)
}
