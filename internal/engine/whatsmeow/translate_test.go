package whatsmeow

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/openwa/openwa/internal/engine"
)

func TestConnectionEvents(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	me := engine.Account{JID: "15550001111@s.whatsapp.net", Phone: "15550001111"}
	jid := types.NewADJID("15550001111", 0, 9)
	lid := types.NewJID("123456789", types.HiddenUserServer)
	for _, c := range []struct {
		name string
		in   any
		want engine.Event
	}{
		{"connected", &events.Connected{}, engine.Ready{Account: me}},
		{"keep-alive restored", &events.KeepAliveRestored{}, engine.Ready{Account: me}},
		{"paired", &events.PairSuccess{ID: jid, LID: lid, BusinessName: "Shop"},
			engine.Paired{Account: engine.Account{JID: "15550001111@s.whatsapp.net", Phone: "15550001111", PushName: "Shop", LID: "123456789@lid"}}},
		{"disconnected", &events.Disconnected{}, engine.Disconnected{Reason: "connection to WhatsApp lost", WillReconnect: true}},
		{"logged out from the phone", &events.LoggedOut{}, engine.LoggedOut{Reason: "the device was unlinked from the phone"}},
		{"stream replaced", &events.StreamReplaced{}, engine.Failed{Reason: "stream replaced: another client connected with this device's keys"}},
		{"client outdated", &events.ClientOutdated{}, engine.Failed{Reason: "WhatsApp says this client is outdated: update OpenWA"}},
		{"temporary ban", &events.TemporaryBan{Code: events.TempBanSentToTooManyPeople, Expire: time.Hour},
			engine.Failed{Reason: "temporarily banned by WhatsApp: " + events.TempBanSentToTooManyPeople.String(), Until: now.Add(time.Hour)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := connectionEvent(c.in, me, now)
			if !ok || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %#v, want %#v", got, c.want)
			}
		})
	}
	if ev, ok := connectionEvent(&events.KeepAliveTimeout{ErrorCount: 3, LastSuccess: now}, me, now); !ok ||
		!ev.(engine.Disconnected).WillReconnect || !strings.Contains(ev.(engine.Disconnected).Reason, "3 in a row") {
		t.Fatalf("keep-alive timeout: %#v", ev)
	}
	if ev, ok := connectionEvent(&events.LoggedOut{OnConnect: true, Reason: events.ConnectFailureLoggedOut}, me, now); !ok ||
		!strings.HasPrefix(ev.(engine.LoggedOut).Reason, "WhatsApp refused the login") {
		t.Fatalf("logged out on connect: %#v", ev)
	}
	if ev, ok := connectionEvent(&events.ConnectFailure{Reason: events.ConnectFailureReason(402), Message: "banned"}, me, now); !ok ||
		!strings.Contains(ev.(engine.Failed).Reason, "banned") {
		t.Fatalf("connect failure 402: %#v", ev)
	}
	if _, ok := connectionEvent(&events.Message{}, me, now); ok {
		t.Fatal("a message is not a connection event")
	}
}

func TestAckStatus(t *testing.T) {
	for in, want := range map[types.ReceiptType]engine.AckStatus{types.ReceiptTypeDelivered: engine.AckDelivered,
		types.ReceiptTypeRead: engine.AckRead, types.ReceiptTypeReadSelf: engine.AckRead, types.ReceiptTypePlayed: engine.AckPlayed} {
		if got, ok := ackStatus(in); !ok || got != want {
			t.Errorf("%q: %v %v", in, got, ok)
		}
	}
	for _, in := range []types.ReceiptType{types.ReceiptTypeRetry, types.ReceiptTypeSender, types.ReceiptTypeServerError} {
		if _, ok := ackStatus(in); ok {
			t.Errorf("%q is not an ack", in)
		}
	}
}

// What OpenWA sends reads back, through the receiving side, as what was asked.
func TestMessagesRoundTrip(t *testing.T) {
	chat := "6281234567890@s.whatsapp.net"
	for _, out := range []*engine.Outgoing{
		{ChatID: chat, Type: engine.TypeText, Content: engine.Content{Text: "hello"}},
		{ChatID: chat, Type: engine.TypeText, Content: engine.Content{Text: "re @15550000001", ReplyTo: "3EB0ABC", Mentions: []string{"15550000001@s.whatsapp.net"}}},
		{ChatID: chat, Type: engine.TypeLocation, Content: engine.Content{Location: &engine.Location{Latitude: -6.2, Longitude: 106.8, Name: "Monas", Address: "Jakarta"}}},
		{ChatID: chat, Type: engine.TypeContact, Content: engine.Content{Contacts: []engine.ContactCard{{Name: "Alice", Phone: "15550000001"}}}},
		{ChatID: chat, Type: engine.TypeContact, Content: engine.Content{Contacts: []engine.ContactCard{{Name: "Alice", Phone: "15550000001"}, {Name: "Bob", Phone: "15550000002"}}}},
	} {
		t.Run(string(out.Type)+" "+out.Text, func(t *testing.T) {
			msg, err := textual(out)
			if err != nil {
				t.Fatal(err)
			}
			got := receivedMessage(&events.Message{Info: info(chat), Message: msg}, nil)
			if got.Type != out.Type || got.Text != out.Text || got.ReplyTo != out.ReplyTo ||
				!reflect.DeepEqual(got.Mentions, out.Mentions) || !reflect.DeepEqual(got.Location, out.Location) ||
				!reflect.DeepEqual(got.Contacts, out.Contacts) {
				t.Fatalf("sent %+v, read back %+v", out, got)
			}
		})
	}
	if _, err := textual(&engine.Outgoing{Type: engine.TypeImage}); err == nil {
		t.Fatal("media messages are built after their upload")
	}
}

func info(chat string) types.MessageInfo {
	c, _ := types.ParseJID(chat)
	return types.MessageInfo{MessageSource: types.MessageSource{Chat: c, Sender: c}, ID: "3EB0XYZ", PushName: "Ann",
		Timestamp: time.Unix(1767261600, 0)}
}

func TestReceivedMessages(t *testing.T) {
	chat := "6281234567890@s.whatsapp.net"
	t.Run("voice note", func(t *testing.T) {
		m := receivedMessage(&events.Message{Info: info(chat), Message: &waE2E.Message{AudioMessage: &waE2E.AudioMessage{
			PTT: proto.Bool(true), Mimetype: proto.String("audio/ogg; codecs=opus")}}}, nil)
		if m.Type != engine.TypeVoice || m.Media.Mimetype != "audio/ogg; codecs=opus" || m.PushName != "Ann" ||
			m.From != chat || m.WAMessageID != "3EB0XYZ" || !m.Timestamp.Equal(time.Unix(1767261600, 0)) {
			t.Fatalf("%+v", m)
		}
	})
	t.Run("document with caption", func(t *testing.T) {
		m := receivedMessage(&events.Message{Info: info(chat), Message: &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
			Caption: proto.String("invoice"), FileName: proto.String("a.pdf"), Mimetype: proto.String("application/pdf")}}}, nil)
		if m.Type != engine.TypeDocument || m.Caption != "invoice" || m.Media.Filename != "a.pdf" {
			t.Fatalf("%+v", m)
		}
	})
	t.Run("reaction", func(t *testing.T) {
		m := receivedMessage(&events.Message{Info: info(chat), Message: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
			Key: &waCommon.MessageKey{ID: proto.String("3EB0TARGET")}, Text: proto.String("👍")}}}, nil)
		if m.Type != engine.TypeReaction || m.Reaction.MessageID != "3EB0TARGET" || m.Reaction.Emoji != "👍" {
			t.Fatalf("%+v", m)
		}
	})
	t.Run("revoke", func(t *testing.T) {
		ev := incoming(&events.Message{Info: info(chat), Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type: waE2E.ProtocolMessage_REVOKE.Enum(), Key: &waCommon.MessageKey{ID: proto.String("3EB0GONE")}}}}, nil)
		if r, ok := ev.(engine.Revoked); !ok || r.WAMessageID != "3EB0GONE" || r.ChatID != chat {
			t.Fatalf("%+v", ev)
		}
	})
	t.Run("protocol traffic is not a message", func(t *testing.T) {
		for _, msg := range []*waE2E.Message{
			{SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{GroupID: proto.String("1@g.us")},
				MessageContextInfo: &waE2E.MessageContextInfo{}},
			{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_HISTORY_SYNC_NOTIFICATION.Enum()}},
		} {
			if ev := incoming(&events.Message{Info: info(chat), Message: msg}, nil); ev != nil {
				t.Fatalf("%v became %+v", msg, ev)
			}
		}
		if _, ok := incoming(&events.Message{Info: info(chat), Message: &waE2E.Message{Conversation: proto.String("hi"),
			SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{}}}, nil).(engine.MessageReceived); !ok {
			t.Fatal("a text that carries a sender key was dropped")
		}
	})
	t.Run("poll", func(t *testing.T) {
		m := receivedMessage(&events.Message{Info: info(chat), Message: &waE2E.Message{PollCreationMessage: &waE2E.PollCreationMessage{
			Name: proto.String("Lunch?"), SelectableOptionsCount: proto.Uint32(1),
			Options: []*waE2E.PollCreationMessage_Option{{OptionName: proto.String("yes")}, {OptionName: proto.String("no")}}}}}, nil)
		if m.Type != engine.TypePoll || m.Poll.Name != "Lunch?" || m.Poll.MultipleAnswers || len(m.Poll.Options) != 2 {
			t.Fatalf("%+v", m)
		}
	})
	t.Run("a LID sender is named by phone JID when known", func(t *testing.T) {
		in := info(chat)
		in.Chat = types.NewJID("987654321", types.HiddenUserServer)
		in.Sender = in.Chat
		in.SenderAlt = types.NewJID("6281234567890", types.DefaultUserServer)
		m := receivedMessage(&events.Message{Info: in, Message: &waE2E.Message{Conversation: proto.String("hi")}}, nil)
		if m.From != chat || m.ChatID != chat || m.FromLID != "987654321@lid" {
			t.Fatalf("%+v", m)
		}
		in.SenderAlt = types.EmptyJID // the phone is not known: the LID is all there is
		m = receivedMessage(&events.Message{Info: in, Message: &waE2E.Message{Conversation: proto.String("hi")}}, nil)
		if m.From != "987654321@lid" || m.ChatID != "987654321@lid" || m.FromLID != "987654321@lid" {
			t.Fatalf("%+v", m)
		}
	})
	t.Run("typed on the own phone: the chat is the recipient, by phone JID", func(t *testing.T) {
		in := info(chat)
		in.IsFromMe = true
		in.Sender = types.NewJID("911111", types.HiddenUserServer)
		in.Chat = types.NewJID("987654321", types.HiddenUserServer)
		known := func(lid types.JID) types.JID {
			return map[string]types.JID{"911111": types.NewJID("15557654321", types.DefaultUserServer)}[lid.User]
		}
		in.RecipientAlt = types.NewJID("6281234567890", types.DefaultUserServer)
		msg := &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("hi"),
			ContextInfo: &waE2E.ContextInfo{MentionedJID: []string{"911111@lid", "555@lid"}}}}
		m := receivedMessage(&events.Message{Info: in, Message: msg}, known)
		if m.ChatID != chat || m.ChatLID != "987654321@lid" || m.From != "15557654321@s.whatsapp.net" || m.FromLID != "911111@lid" ||
			strings.Join(m.Mentions, ",") != "15557654321@s.whatsapp.net,555@lid" {
			t.Fatalf("%+v", m)
		}
		in.RecipientAlt = types.EmptyJID // nothing known: the LID stays the chat
		if m := receivedMessage(&events.Message{Info: in, Message: msg}, known); m.ChatID != "987654321@lid" || m.ChatLID != "987654321@lid" {
			t.Fatalf("%+v", m)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if m := receivedMessage(&events.Message{Info: info(chat), Message: &waE2E.Message{}}, nil); m.Type != engine.TypeUnknown {
			t.Fatalf("%+v", m)
		}
	})
}

func TestGroupChanges(t *testing.T) {
	name := "x"
	for _, c := range []struct {
		in   events.GroupInfo
		want string
	}{
		{events.GroupInfo{Name: &types.GroupName{Name: "x"}, Topic: &types.GroupTopic{}}, "subject,description"},
		{events.GroupInfo{Join: []types.JID{{User: "1"}}}, "participants"},
		{events.GroupInfo{Demote: []types.JID{{User: "1"}}, Locked: &types.GroupLocked{}}, "participants,settings"},
		{events.GroupInfo{NewInviteLink: &name}, "inviteLink"},
		{events.GroupInfo{Delete: &types.GroupDelete{}}, "deleted"},
		{events.GroupInfo{}, "other"},
	} {
		if got := strings.Join(groupChanges(&c.in), ","); got != c.want {
			t.Errorf("%+v: %s, want %s", c.in, got, c.want)
		}
	}
}
