package whatsmeow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"

	"google.golang.org/protobuf/proto"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
)

// paired is an engine linked to the fake server's phone 15557654321 and READY.
func paired(t *testing.T, srv *fakewa.Server) (*Engine, chan engine.Event) {
	t.Helper()
	return pairedWith(t, srv, func(ev engine.Event) engine.Event { return keepMedia(t, ev) })
}

// pairedWith is paired with each event passed through commit first.
func pairedWith(t *testing.T, srv *fakewa.Server, commit func(engine.Event) engine.Event) (*Engine, chan engine.Event) {
	t.Helper()
	ctx := context.Background()
	events := make(chan engine.Event, 256)
	e := New(testDevices(t), engine.Options{SessionID: "s", Auth: &memAuth{}, Emit: func(ev engine.Event) { events <- commit(ev) }})
	e.transport = srv.Transport()
	if err := e.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Disconnect(ctx) })
	qr := waitFor[engine.QR](t, events)
	if err := srv.Pair(ctx, qr.Code, "15557654321"); err != nil {
		t.Fatal(err)
	}
	waitFor[engine.Ready](t, events)
	// The device uploads its prekeys right after logging in; wait for them,
	// as a contact needs them to write first.
	for deadline := time.Now().Add(10 * time.Second); !srv.HasKeys(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the device uploaded no prekeys")
		}
	}
	return e, events
}

// keepMedia reads a received message's media into Data while the engine
// still keeps it (during the commit, which Emit is here), as the message
// service streams it into storage then.
func keepMedia(t testing.TB, ev engine.Event) engine.Event {
	if rcv, ok := ev.(engine.MessageReceived); ok && rcv.Message.Media != nil && rcv.Message.Media.Open != nil {
		r, n, err := rcv.Message.Media.Body()
		if err != nil {
			t.Errorf("open received media: %v", err)
			return ev
		}
		defer r.Close()
		if rcv.Message.Media.Data, err = io.ReadAll(r); err != nil || int64(len(rcv.Message.Media.Data)) != n {
			t.Errorf("read received media: %d of %d bytes: %v", len(rcv.Message.Media.Data), n, err)
		}
	}
	return ev
}

// waitFor returns the next event of type T, skipping others.
func waitFor[T engine.Event](t testing.TB, events chan engine.Event) T {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			if v, ok := ev.(T); ok {
				return v
			}
		case <-deadline:
			var zero T
			t.Fatalf("no %T event", zero)
		}
	}
}

func next(t *testing.T, c *fakewa.Contact) *fakewa.Received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := c.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func send(t *testing.T, e *Engine, out *engine.Outgoing) *engine.SendResult {
	t.Helper()
	res, err := e.Send(context.Background(), out)
	if err != nil {
		t.Fatalf("send %s: %v", out.Type, err)
	}
	if res.WAMessageID != out.ID || res.Timestamp.IsZero() {
		t.Fatalf("send result %+v", res)
	}
	return res
}

// Every send type of the contract goes out through whatsmeow, Signal-encrypted
// for the contact's device, which decrypts it; the server acknowledges each,
// and the contact's receipts come back as acks.
func TestSendEveryType(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t)
	alice := fakewa.NewContact("6281234567890")
	bob := fakewa.NewContact("6289876543210")
	srv.AddContact(alice)
	srv.AddContact(bob)
	e, events := paired(t, srv)
	chat := alice.JID.String()

	// The first message: whatsmeow looks up alice's LID and devices, fetches
	// her prekeys and starts a session (pkmsg).
	send(t, e, &engine.Outgoing{ID: "3EB0TEXT1", ChatID: chat, Type: engine.TypeText, Content: engine.Content{Text: "hello alice"}})
	got := next(t, alice)
	if got.ID != "3EB0TEXT1" || got.Message.GetConversation() != "hello alice" || got.Chat != alice.LID {
		t.Fatalf("alice got %+v", got)
	}
	// The second rides the same session (msg).
	send(t, e, &engine.Outgoing{ID: "3EB0TEXT2", ChatID: chat, Type: engine.TypeText, Content: engine.Content{Text: "a reply",
		ReplyTo: "3EB0TEXT1", Mentions: []string{bob.JID.String()}},
		Quoted: &engine.Quoted{Sender: "15557654321@s.whatsapp.net", Text: "hello alice"}})
	got = next(t, alice)
	ext := got.Message.GetExtendedTextMessage()
	if ci := ext.GetContextInfo(); ci.GetParticipant() != "15557654321@s.whatsapp.net" || ci.GetQuotedMessage().GetConversation() != "hello alice" {
		t.Fatalf("quote: %v", ci)
	}
	if ext.GetText() != "a reply" || ext.GetContextInfo().GetStanzaID() != "3EB0TEXT1" ||
		len(ext.GetContextInfo().GetMentionedJID()) != 1 || ext.GetContextInfo().GetMentionedJID()[0] != bob.JID.String() {
		t.Fatalf("reply: %v", got.Message)
	}

	// Receipts: delivered, then read, for both.
	if err := srv.Receipt(ctx, alice, "", "3EB0TEXT1", "3EB0TEXT2"); err != nil {
		t.Fatal(err)
	}
	ack := waitFor[engine.Ack](t, events)
	if ack.Status != engine.AckDelivered || strings.Join(ack.WAMessageIDs, ",") != "3EB0TEXT1,3EB0TEXT2" || ack.ChatID != chat {
		t.Fatalf("delivered: %+v", ack)
	}
	srv.Receipt(ctx, alice, "read", "3EB0TEXT1")
	if ack = waitFor[engine.Ack](t, events); ack.Status != engine.AckRead || ack.WAMessageIDs[0] != "3EB0TEXT1" {
		t.Fatalf("read: %+v", ack)
	}

	send(t, e, &engine.Outgoing{ID: "3EB0LOC", ChatID: chat, Type: engine.TypeLocation,
		Content: engine.Content{Location: &engine.Location{Latitude: -6.2, Longitude: 106.8, Name: "Monas"}}})
	if l := next(t, alice).Message.GetLocationMessage(); l.GetDegreesLatitude() != -6.2 || l.GetName() != "Monas" {
		t.Fatalf("location: %v", l)
	}
	send(t, e, &engine.Outgoing{ID: "3EB0VCARD", ChatID: chat, Type: engine.TypeContact,
		Content: engine.Content{Contacts: []engine.ContactCard{{Name: "Bob", Phone: bob.JID.User}}}})
	if c := next(t, alice).Message.GetContactMessage(); c.GetDisplayName() != "Bob" || !strings.Contains(c.GetVcard(), "waid="+bob.JID.User) {
		t.Fatalf("contact: %v", c)
	}
	send(t, e, &engine.Outgoing{ID: "3EB0REACT", ChatID: chat, Type: engine.TypeReaction,
		Content: engine.Content{Reaction: &engine.Reaction{MessageID: "3EB0TEXT1", Emoji: "👍", FromMe: true}}})
	got = next(t, alice)
	if r := got.Message.GetReactionMessage(); r.GetText() != "👍" || r.GetKey().GetID() != "3EB0TEXT1" || !r.GetKey().GetFromMe() || got.Type != "reaction" {
		t.Fatalf("reaction: %v %s", r, got.Type)
	}
	send(t, e, &engine.Outgoing{ID: "3EB0POLL", ChatID: chat, Type: engine.TypePoll,
		Content: engine.Content{Poll: &engine.Poll{Name: "Lunch?", Options: []string{"yes", "no"}}}})
	got = next(t, alice)
	p := got.Message.GetPollCreationMessageV3()
	if p == nil {
		p = got.Message.GetPollCreationMessage()
	}
	if p.GetName() != "Lunch?" || len(p.GetOptions()) != 2 || p.GetSelectableOptionsCount() != 1 || got.Type != "poll" {
		t.Fatalf("poll: %v (%s)", got.Message, got.Type)
	}

	// Media: uploaded encrypted to the media host, the contact downloads and decrypts it.
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 3000)...)
	for _, m := range []struct {
		typ  engine.MessageType
		mime string
		get  func(*waE2E.Message) fakewa.Downloadable
	}{
		{engine.TypeImage, "image/png", func(m *waE2E.Message) fakewa.Downloadable { return m.GetImageMessage() }},
		{engine.TypeVoice, "audio/ogg; codecs=opus", func(m *waE2E.Message) fakewa.Downloadable { return m.GetAudioMessage() }},
		{engine.TypeDocument, "application/pdf", func(m *waE2E.Message) fakewa.Downloadable { return m.GetDocumentMessage() }},
		{engine.TypeSticker, "image/webp", func(m *waE2E.Message) fakewa.Downloadable { return m.GetStickerMessage() }},
		{engine.TypeVideo, "video/mp4", func(m *waE2E.Message) fakewa.Downloadable { return m.GetVideoMessage() }},
	} {
		id := "3EB0MEDIA" + strings.ToUpper(string(m.typ))
		send(t, e, &engine.Outgoing{ID: id, ChatID: chat, Type: m.typ, Content: engine.Content{Caption: "see",
			Media: &engine.Media{Data: png, Mimetype: m.mime, Filename: "file.bin"}}})
		got = next(t, alice)
		media := m.get(got.Message)
		if media == nil || got.ID != id {
			t.Fatalf("%s: got %v", m.typ, got.Message)
		}
		data, err := srv.Media(media)
		if err != nil || !bytes.Equal(data, png) {
			t.Fatalf("%s: the contact cannot read the media: %v", m.typ, err)
		}
		if m.typ == engine.TypeVoice && !got.Message.GetAudioMessage().GetPTT() {
			t.Fatal("a voice note is sent as a plain audio file")
		}
		if m.typ == engine.TypeDocument && got.Message.GetDocumentMessage().GetFileName() != "file.bin" {
			t.Fatalf("document name %q", got.Message.GetDocumentMessage().GetFileName())
		}
	}

	// Revoke: a protocol message naming the first text.
	if err := e.Revoke(ctx, chat, "3EB0TEXT1"); err != nil {
		t.Fatal(err)
	}
	pm := next(t, alice).Message.GetProtocolMessage()
	if pm.GetType() != waE2E.ProtocolMessage_REVOKE || pm.GetKey().GetID() != "3EB0TEXT1" || !pm.GetKey().GetFromMe() {
		t.Fatalf("revoke: %v", pm)
	}
	if errs := srv.Errors(); len(errs) > 0 {
		t.Fatalf("server side: %v", errs)
	}
}

// A contact sends images, more at once than the engine downloads in
// parallel: the engine downloads and decrypts each before handing it on,
// and every message carries its bytes.
func TestReceiveMedia(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t)
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	_, events := paired(t, srv)
	want := map[string][]byte{}
	for i := range 2 * parallelDownloads {
		jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte{byte(i)}, 5000+i)...)
		up, err := srv.Upload(jpeg, whatsmeow.MediaImage)
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("3EB0IMGIN%d", i)
		want[id] = jpeg
		if err := srv.SendMessage(ctx, alice, id, "media", up.Image("image/jpeg", "look")); err != nil {
			t.Fatal(err)
		}
	}
	for len(want) > 0 {
		m := waitFor[engine.MessageReceived](t, events).Message
		if m.Type != engine.TypeImage || m.Caption != "look" || m.Media == nil || !bytes.Equal(m.Media.Data, want[m.WAMessageID]) ||
			m.Media.Mimetype != "image/jpeg" || m.From != alice.JID.String() {
			t.Fatalf("received %+v", m)
		}
		delete(want, m.WAMessageID)
	}
}

// Contacts, profile pictures, "is this number on WhatsApp", blocking.
func TestDirectory(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t)
	alice := fakewa.NewContact("6281234567890")
	alice.Picture = "https://pps.whatsapp.net/v/alice.jpg"
	bob := fakewa.NewContact("6289876543210")
	srv.AddContact(alice)
	srv.AddContact(bob)
	e, events := paired(t, srv)

	if ok, jid, err := e.IsOnWhatsApp(ctx, "+62 812-3456-7890"); err != nil || !ok || jid != alice.JID.String() {
		t.Fatalf("alice on WhatsApp: %v %q %v", ok, jid, err)
	}
	if ok, jid, err := e.IsOnWhatsApp(ctx, "6280000000000"); err != nil || ok || jid != "" {
		t.Fatalf("a number nobody has: %v %q %v", ok, jid, err)
	}
	if url, err := e.ProfilePictureURL(ctx, alice.JID.String()); err != nil || url != alice.Picture {
		t.Fatalf("alice's picture: %q %v", url, err)
	}
	if url, err := e.ProfilePictureURL(ctx, bob.JID.String()); err != nil || url != "" {
		t.Fatalf("bob has no picture: %q %v", url, err)
	}

	// Alice writes: her push name makes her a known contact (whatsmeow
	// stores it on a goroutine of its own, so it may come after the message).
	if err := srv.SendText(ctx, alice, "3EB0HI", "hi"); err != nil {
		t.Fatal(err)
	}
	waitFor[engine.MessageReceived](t, events)
	c, err := e.Contact(ctx, alice.JID.String())
	for deadline := time.Now().Add(10 * time.Second); errors.Is(err, engine.ErrNotFound) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		c, err = e.Contact(ctx, alice.JID.String())
	}
	if err != nil || c.PushName != "Contact "+alice.JID.User || c.Phone != alice.JID.User {
		t.Fatalf("alice as a contact: %+v %v", c, err)
	}
	if _, err := e.Contact(ctx, "6280000000000@s.whatsapp.net"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("unknown contact: %v", err)
	}

	if err := e.SetBlocked(ctx, alice.JID.String(), true); err != nil || !srv.Blocked(alice) {
		t.Fatalf("block: %v", err)
	}
	all, err := e.Contacts(ctx)
	if err != nil || len(all) != 1 || all[0].JID != alice.JID.String() || !all[0].IsBlocked {
		t.Fatalf("contacts: %+v %v", all, err)
	}
	if err := e.SetBlocked(ctx, alice.JID.String(), false); err != nil || srv.Blocked(alice) {
		t.Fatalf("unblock: %v", err)
	}
	for _, p := range []engine.Presence{engine.PresenceTyping, engine.PresenceRecording, engine.PresencePaused} {
		if err := e.SendPresence(ctx, alice.JID.String(), p); err != nil {
			t.Fatalf("presence %s: %v", p, err)
		}
	}
	if err := e.MarkRead(ctx, alice.JID.String(), "", []string{"3EB0HI"}); err != nil {
		t.Fatal(err)
	}
	// What reached WhatsApp: the three chat states and the read receipt.
	want := "composing,composing audio,paused,read 3EB0HI"
	var seen []string
	for deadline := time.Now().Add(10 * time.Second); strings.Join(seen, ",") != want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("WhatsApp saw %q, want %q", seen, want)
		}
		seen = nil
		for _, n := range srv.Seen("chatstate") {
			for _, st := range n.GetChildren() {
				seen = append(seen, strings.TrimSpace(st.Tag+" "+st.AttrGetter().OptionalString("media")))
			}
		}
		for _, n := range srv.Seen("receipt") {
			if ag := n.AttrGetter(); ag.OptionalString("type") == "read" {
				seen = append(seen, "read "+ag.OptionalString("id"))
			}
		}
	}
}

// Groups: create, list, read, change members, subject and description,
// invite link, a message every member decrypts (sender keys), leave.
func TestGroups(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t)
	alice := fakewa.NewContact("6281234567890")
	bob := fakewa.NewContact("6289876543210")
	carol := fakewa.NewContact("6285550001111")
	for _, c := range []*fakewa.Contact{alice, bob, carol} {
		srv.AddContact(c)
	}
	e, _ := paired(t, srv)

	g, err := e.CreateGroup(ctx, "Team", []string{alice.JID.String(), bob.JID.String()})
	if err != nil {
		t.Fatal(err)
	}
	if g.Subject != "Team" || len(g.Participants) != 3 || !strings.HasSuffix(g.JID, "@g.us") {
		t.Fatalf("created %+v", g)
	}
	var owner engine.Participant
	for _, p := range g.Participants {
		if p.IsSuperAdmin {
			owner = p
		}
	}
	if owner.JID == "" || owner.JID == alice.JID.String() {
		t.Fatalf("the creator is not the owner: %+v", g.Participants)
	}
	list, err := e.Groups(ctx)
	if err != nil || len(list) != 1 || list[0].JID != g.JID {
		t.Fatalf("groups: %+v %v", list, err)
	}

	// A message to the group: every member decrypts it with the sender key
	// the device distributed to them.
	send(t, e, &engine.Outgoing{ID: "3EB0GROUP1", ChatID: g.JID, Type: engine.TypeText, Content: engine.Content{Text: "hello team"}})
	for _, c := range []*fakewa.Contact{alice, bob} {
		got := next(t, c)
		if got.Message.GetConversation() != "hello team" || got.Chat.String() != g.JID {
			t.Fatalf("%s got %+v", c.JID.User, got)
		}
	}

	change := func(action engine.ParticipantAction, who *fakewa.Contact, want string) *engine.Group {
		t.Helper()
		res, err := e.UpdateParticipants(ctx, g.JID, action, []string{who.JID.String()})
		if err != nil || len(res) != 1 || res[0].Status != want || res[0].Participant != who.JID.String() {
			t.Fatalf("%s: %+v %v", action, res, err)
		}
		g, err := e.Group(ctx, g.JID)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	if g = change(engine.ParticipantAdd, carol, "added"); len(g.Participants) != 4 {
		t.Fatalf("add: %+v", g)
	}
	if g = change(engine.ParticipantPromote, carol, "promoted"); !isAdmin(g, carol.JID.String()) {
		t.Fatalf("promote: %+v", g)
	}
	if g = change(engine.ParticipantRemove, bob, "removed"); len(g.Participants) != 3 || strings.Contains(strings.Join(srv.GroupMembers(types.NewJID(strings.TrimSuffix(g.JID, "@g.us"), types.GroupServer)), ","), bob.JID.User) {
		t.Fatalf("remove: %+v", g)
	}
	subject, desc := "Team B", "Our plans"
	if g, err = e.SetGroupInfo(ctx, g.JID, &subject, &desc); err != nil || g.Subject != subject || g.Description != desc {
		t.Fatalf("info: %+v %v", g, err)
	}
	link, err := e.InviteLink(ctx, g.JID, false)
	if err != nil || !strings.HasPrefix(link, "https://chat.whatsapp.com/") {
		t.Fatalf("invite: %q %v", link, err)
	}
	if again, _ := e.InviteLink(ctx, g.JID, true); again == link {
		t.Fatal("revoking kept the link")
	}
	if err := e.LeaveGroup(ctx, g.JID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Group(ctx, g.JID); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("a group left: %v", err)
	}
	if _, err := e.Group(ctx, "1203639999@g.us"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("no such group: %v", err)
	}
	if errs := srv.Errors(); len(errs) > 0 {
		t.Fatalf("server side: %v", errs)
	}
}

func isAdmin(g *engine.Group, jid string) bool {
	for _, p := range g.Participants {
		if p.JID == jid {
			return p.IsAdmin
		}
	}
	return false
}

// Operations need a live connection.
func TestOperationsNeedAConnection(t *testing.T) {
	ctx := context.Background()
	e := New(testDevices(t), engine.Options{SessionID: "s", Auth: &memAuth{}})
	if _, err := e.Send(ctx, &engine.Outgoing{ID: "x", ChatID: "1@s.whatsapp.net", Type: engine.TypeText, Content: engine.Content{Text: "x"}}); !errors.Is(err, engine.ErrNotConnected) {
		t.Fatalf("send: %v", err)
	}
	if _, err := e.Groups(ctx); !errors.Is(err, engine.ErrNotConnected) {
		t.Fatalf("groups: %v", err)
	}
	if _, _, err := e.IsOnWhatsApp(ctx, "6281234567890"); !errors.Is(err, engine.ErrNotConnected) {
		t.Fatalf("check: %v", err)
	}
}

// A contact sends one message of each kind without media: each arrives
// decrypted and translated.
func TestReceiveEveryType(t *testing.T) {
	ctx := context.Background()
	srv := fakeServer(t)
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	_, events := paired(t, srv)
	for _, c := range []struct {
		msg   *waE2E.Message
		check func(*engine.Message) bool
	}{
		{&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("re"),
			ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("3EB0OLD")}}},
			func(m *engine.Message) bool {
				return m.Type == engine.TypeText && m.Text == "re" && m.ReplyTo == "3EB0OLD"
			}},
		{&waE2E.Message{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(1.5), DegreesLongitude: proto.Float64(2.5)}},
			func(m *engine.Message) bool { return m.Type == engine.TypeLocation && m.Location.Latitude == 1.5 }},
		{&waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String("Bob"),
			Vcard: proto.String("BEGIN:VCARD\nTEL;waid=6289876543210:+62 898\nEND:VCARD")}},
			func(m *engine.Message) bool {
				return m.Type == engine.TypeContact && m.Contacts[0].Phone == "6289876543210"
			}},
		{&waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Key: &waCommon.MessageKey{ID: proto.String("3EB0MINE")}, Text: proto.String("❤")}},
			func(m *engine.Message) bool {
				return m.Type == engine.TypeReaction && m.Reaction.MessageID == "3EB0MINE"
			}},
		{&waE2E.Message{PollCreationMessageV3: &waE2E.PollCreationMessage{Name: proto.String("When?"), SelectableOptionsCount: proto.Uint32(0),
			Options: []*waE2E.PollCreationMessage_Option{{OptionName: proto.String("now")}, {OptionName: proto.String("later")}}}},
			func(m *engine.Message) bool {
				return m.Type == engine.TypePoll && m.Poll.MultipleAnswers && len(m.Poll.Options) == 2
			}},
	} {
		id := fmt.Sprintf("3EB0IN%p", c.msg)
		if err := srv.SendMessage(ctx, alice, id, "text", c.msg); err != nil {
			t.Fatal(err)
		}
		if m := waitFor[engine.MessageReceived](t, events).Message; m.WAMessageID != id || !c.check(m) {
			t.Fatalf("received %+v", m)
		}
	}
}
