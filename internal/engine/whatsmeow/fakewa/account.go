package fakewa

import (
	"context"
	"fmt"
	"time"

	"go.mau.fi/libsignal/groups"
	"go.mau.fi/libsignal/protocol"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// What a real account receives besides its contacts' messages: what its own
// phone sends, statuses, channel posts.

// phone is the account's primary device (device 0) of the newest connection,
// with Signal keys of its own: it writes to the linked device as the phone
// does when its user types a message there.
func (s *Server) phone(c *Conn) *Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	user := c.Payload.GetUsername()
	if s.phones == nil {
		s.phones = map[uint64]*Contact{}
	}
	if s.phones[user] == nil {
		s.phones[user] = NewContact(fmt.Sprint(user))
	}
	return s.phones[user]
}

// SendFromPhone plays the account's user typing msg to a contact on the
// phone: WhatsApp copies it to the linked device from the account's LID,
// addressed to the contact's LID, wrapped as a device-sent message; withPN
// adds the contact's phone JID (peer_recipient_pn) as WhatsApp does for most.
func (s *Server) SendFromPhone(ctx context.Context, to *Contact, id string, msg *waE2E.Message, withPN bool) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	wrapped := &waE2E.Message{DeviceSentMessage: &waE2E.DeviceSentMessage{DestinationJID: proto.String(to.JID.String()), Message: msg}}
	enc, err := s.encryptTo(ctx, c, s.phone(c), wrapped)
	if err != nil {
		return err
	}
	me := types.NewJID(lidOf(c.Payload.GetUsername()), types.HiddenUserServer)
	attrs := waBinary.Attrs{"from": me, "recipient": to.LID, "id": id, "t": time.Now().Unix(), "type": "text"}
	if withPN {
		attrs["peer_recipient_pn"] = to.JID
	}
	return c.Send(ctx, waBinary.Node{Tag: "message", Attrs: attrs, Content: []waBinary.Node{enc}})
}

// SendStatus plays a contact posting a status (a story): it reaches the
// linked device in status@broadcast, encrypted with the contact's sender key
// for its statuses, as group messages are.
func (s *Server) SendStatus(ctx context.Context, from *Contact, id string, msg *waE2E.Message) error {
	return s.sendSenderKeyed(ctx, from, types.StatusBroadcastJID, id, msg)
}

// sendSenderKeyed sends msg in a group-like chat (a group, status@broadcast)
// from a contact: its sender key goes to the linked device Signal-encrypted,
// the message encrypted with that sender key.
func (s *Server) sendSenderKeyed(ctx context.Context, from *Contact, chat types.JID, id string, msg *waE2E.Message) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	name := protocol.NewSenderKeyName(chat.String(), from.LID.SignalAddress())
	gb := groups.NewGroupSessionBuilder(from.senderKeys, from.serializer)
	skdm, err := gb.Create(ctx, name)
	if err != nil {
		return err
	}
	dist, err := s.encryptTo(ctx, c, from, &waE2E.Message{SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{
		GroupID: proto.String(chat.String()), AxolotlSenderKeyDistributionMessage: skdm.Serialize()}})
	if err != nil {
		return err
	}
	plain, _ := proto.Marshal(msg)
	sk, err := groups.NewGroupCipher(gb, name, from.senderKeys).Encrypt(ctx, pad(plain))
	if err != nil {
		return err
	}
	typ, enc := "text", waBinary.Node{Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": "skmsg"}, Content: sk.SignedSerialize()}
	if mt := mediaType(msg); mt != "" {
		typ, enc.Attrs["mediatype"] = "media", mt
	}
	return c.Send(ctx, waBinary.Node{Tag: "message",
		Attrs: waBinary.Attrs{"from": chat, "participant": from.LID, "participant_pn": from.JID, "addressing_mode": "lid",
			"id": id, "t": time.Now().Unix(), "type": typ, "notify": "Contact " + from.JID.User},
		Content: []waBinary.Node{dist, enc}})
}

// SendChannelPost plays a channel (newsletter) the account follows posting
// text: channel posts are not end-to-end encrypted, they come in plaintext.
func (s *Server) SendChannelPost(ctx context.Context, channel types.JID, id, text string) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	plain, _ := proto.Marshal(&waE2E.Message{Conversation: proto.String(text)})
	return c.Send(ctx, waBinary.Node{Tag: "message", Attrs: waBinary.Attrs{"from": channel, "id": id, "server_id": "101",
		"t": time.Now().Unix(), "type": "text"}, Content: []waBinary.Node{{Tag: "plaintext", Content: plain}}})
}

// Revoke plays a contact deleting one of its messages for everyone.
func (s *Server) Revoke(ctx context.Context, from *Contact, id, target string) error {
	return s.SendMessage(ctx, from, id, "text", &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_REVOKE.Enum(),
		Key:  &waCommon.MessageKey{RemoteJID: proto.String(from.JID.String()), FromMe: proto.Bool(true), ID: proto.String(target)}}})
}

// HoldMedia makes media downloads wait until the returned release is called
// (a slow media host); it reports each download that starts waiting on started.
func (s *Server) HoldMedia() (started <-chan string, release func()) {
	gate, ch := make(chan struct{}), make(chan string, 16)
	s.mu.Lock()
	s.mediaGate, s.mediaWaiting = gate, ch
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		s.mediaGate, s.mediaWaiting = nil, nil
		s.mu.Unlock()
		close(gate)
	}
}

// Received tells whether the linked device sent a delivery receipt for message id.
func (s *Server) Received(id string) bool {
	for _, n := range s.Seen("receipt") {
		if n.Attrs["id"] == id {
			return true
		}
		list := n.GetChildByTag("list")
		for _, item := range list.GetChildren() {
			if item.Attrs["id"] == id {
				return true
			}
		}
	}
	return false
}
