package fakewa

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/groups"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/tests"
	"go.mau.fi/libsignal/util/keyhelper"
	"go.mau.fi/libsignal/util/optional"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// Contact is another WhatsApp user, with one device (device 0) and Signal
// keys of its own: it writes to the linked device, and reads what the linked
// device sends it, by real Signal sessions.
type Contact struct {
	JID, LID types.JID
	Status   string // the "about" text usync answers
	Picture  string // the profile picture's URL; empty: none set
	// ByLID makes the contact write as WhatsApp does today: from its LID, with
	// its phone JID in sender_pn. Otherwise it writes from its phone JID.
	ByLID bool
	// HidePN leaves the phone JID out of what it writes by LID (sender_pn),
	// as WhatsApp does for people whose number the account may not see.
	HidePN bool
	// RefuseAdds plays privacy settings that let no one add the contact to a
	// group: an add is answered 403 with an add request.
	RefuseAdds bool
	// linked: the account of a device paired with this server (AddAccount);
	// the server routes between it and other linked accounts.
	linked bool

	device uint16 // the device number: 0, the phone, unless made by NewDevice

	identity   *identity.KeyPair
	reg        uint32
	signed     *record.SignedPreKey
	serializer *serialize.Serializer
	sessions   *sessionStore
	prekeys    *tests.InMemoryPreKey
	signedKeys *tests.InMemorySignedPreKey
	ids        *tests.InMemoryIdentityKey
	senderKeys *senderKeyStore

	mu      sync.Mutex
	unused  []*record.PreKey // one-time prekeys not yet handed out
	inbox   []*Received
	arrived chan struct{} // closed and replaced when a message arrives
}

// Received is a message the linked device sent to a contact, as the contact decrypted it.
type Received struct {
	ID      string
	Chat    types.JID // the node's "to": the contact's LID for a 1:1 message, or the group
	Type    string    // the node's type attribute: text, media, reaction, poll
	Message *waE2E.Message
}

// NewContact makes a user with a phone number and Signal keys of its own.
func NewContact(phone string) *Contact {
	c := &Contact{JID: types.NewJID(phone, types.DefaultUserServer), serializer: serialize.NewProtoBufSerializer(),
		arrived: make(chan struct{})}
	var n uint64
	fmt.Sscan(phone, &n)
	c.LID = types.NewJID(lidOf(n), types.HiddenUserServer)
	c.newKeys()
	return c
}

// newKeys gives the contact a new identity and new Signal keys, forgetting its sessions.
func (c *Contact) newKeys() {
	c.identity, _ = keyhelper.GenerateIdentityKeyPair()
	c.reg = keyhelper.GenerateRegistrationID()
	c.sessions = newSessionStore(c.serializer)
	c.prekeys = tests.NewInMemoryPreKey()
	c.signedKeys = tests.NewInMemorySignedPreKey()
	c.ids = tests.NewInMemoryIdentityKey(c.identity, c.reg)
	c.senderKeys = newSenderKeyStore(c.serializer)
	ctx := context.Background()
	c.signed, _ = keyhelper.GenerateSignedPreKey(c.identity, 1, c.serializer.SignedPreKeyRecord)
	_ = c.signedKeys.StoreSignedPreKey(ctx, 1, c.signed)
	c.unused, _ = keyhelper.GeneratePreKeys(1, 50, c.serializer.PreKeyRecord)
	for _, k := range c.unused {
		_ = c.prekeys.StorePreKey(ctx, k.ID().Value, k)
	}
}

// NewDevice gives the contact another device (a linked computer, say) with
// keys of its own: usync lists it beside device 0, and what the linked
// device sends the contact is encrypted for, and reaches, each device.
func (s *Server) NewDevice(c *Contact, id uint16) *Contact {
	d := &Contact{JID: c.JID, LID: c.LID, Status: c.Status, Picture: c.Picture, ByLID: c.ByLID, device: id,
		serializer: serialize.NewProtoBufSerializer(), arrived: make(chan struct{})}
	d.newKeys()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.devices == nil {
		s.devices = map[string][]*Contact{}
	}
	s.devices[c.JID.User] = append(s.devices[c.JID.User], d)
	s.devices[c.LID.User] = append(s.devices[c.LID.User], d)
	return d
}

// ChangeIdentity plays the contact reinstalling WhatsApp: a new identity
// key and new Signal keys. With notify, WhatsApp tells the linked device
// (an encrypt notification with an identity child), as it does; without,
// the device finds out from the contact's next message.
func (s *Server) ChangeIdentity(ctx context.Context, c *Contact, notify bool) error {
	s.mu.Lock()
	c.newKeys()
	s.mu.Unlock()
	if !notify {
		return nil
	}
	conn, err := s.last()
	if err != nil {
		return err
	}
	id := fmt.Sprintf("identity-%d", time.Now().UnixNano())
	if err := conn.Send(ctx, waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{"from": c.LID, "type": "encrypt",
		"id": id, "t": time.Now().Unix()}, Content: []waBinary.Node{{Tag: "identity"}}}); err != nil {
		return err
	}
	// The device acknowledges a notification once it handled it.
	for {
		for _, a := range s.Seen("ack") {
			if a.Attrs["id"] == id {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the device did not acknowledge the identity change: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// deviceOf is the contact's device of this id: device 0 is the contact itself.
func (s *Server) deviceOf(user string, id uint16) *Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == 0 {
		return s.contacts[user]
	}
	for _, d := range s.devices[user] {
		if d.device == id {
			return d
		}
	}
	return nil
}

// AddContact registers a user on this WhatsApp: usync, prekey fetches and
// messages for its phone number or LID reach it.
func (s *Server) AddContact(c *Contact) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contacts[c.JID.User] = c
	s.contacts[c.LID.User] = c
}

func (s *Server) contact(user string) *Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.contacts[user]
}

// Next waits for the next message the linked device sent this contact.
func (c *Contact) Next(ctx context.Context) (*Received, error) {
	for {
		c.mu.Lock()
		if len(c.inbox) > 0 {
			r := c.inbox[0]
			c.inbox = c.inbox[1:]
			c.mu.Unlock()
			return r, nil
		}
		ch := c.arrived
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("no message reached %s: %w", c.JID.User, ctx.Err())
		}
	}
}

func (c *Contact) deliver(r *Received) {
	c.mu.Lock()
	c.inbox = append(c.inbox, r)
	close(c.arrived)
	c.arrived = make(chan struct{})
	c.mu.Unlock()
}

// bundle hands out the contact's keys, with a one-time prekey while any is left.
func (c *Contact) bundleNode(jid types.JID) waBinary.Node {
	id3 := func(id uint32) []byte { var b [4]byte; binary.BigEndian.PutUint32(b[:], id); return b[1:] }
	var reg [4]byte
	binary.BigEndian.PutUint32(reg[:], c.reg)
	pub := c.identity.PublicKey().PublicKey().PublicKey()
	spub := c.signed.KeyPair().PublicKey().PublicKey()
	sig := c.signed.Signature()
	content := []waBinary.Node{
		{Tag: "registration", Content: reg[:]},
		{Tag: "type", Content: []byte{ecc.DjbType}},
		{Tag: "identity", Content: pub[:]},
		{Tag: "skey", Content: []waBinary.Node{{Tag: "id", Content: id3(c.signed.ID())}, {Tag: "value", Content: spub[:]},
			{Tag: "signature", Content: sig[:]}}},
	}
	c.mu.Lock()
	if len(c.unused) > 0 {
		k := c.unused[0]
		c.unused = c.unused[1:]
		kpub := k.KeyPair().PublicKey().PublicKey()
		content = append(content, waBinary.Node{Tag: "key", Content: []waBinary.Node{{Tag: "id", Content: id3(k.ID().Value)},
			{Tag: "value", Content: kpub[:]}}})
	}
	c.mu.Unlock()
	return waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: content}
}

// decrypt opens what the linked device (peer) encrypted for this contact:
// a Signal message, or a group message with the sender key it distributed.
func (c *Contact) decrypt(ctx context.Context, peer *protocol.SignalAddress, group string, enc waBinary.Node) ([]byte, error) {
	data, _ := enc.Content.([]byte)
	b := session.NewBuilder(c.sessions, c.prekeys, c.signedKeys, c.ids, peer, c.serializer)
	var plain []byte
	var err error
	switch enc.Attrs["type"] {
	case "pkmsg":
		var m *protocol.PreKeySignalMessage
		if m, err = protocol.NewPreKeySignalMessageFromBytes(data, c.serializer.PreKeySignalMessage, c.serializer.SignalMessage); err == nil {
			plain, err = session.NewCipher(b, peer).DecryptMessage(ctx, m)
		}
	case "msg":
		var m *protocol.SignalMessage
		if m, err = protocol.NewSignalMessageFromBytes(data, c.serializer.SignalMessage); err == nil {
			plain, err = session.NewCipher(b, peer).Decrypt(ctx, m)
		}
	case "skmsg":
		var m *protocol.SenderKeyMessage
		if m, err = protocol.NewSenderKeyMessageFromBytes(data, c.serializer.SenderKeyMessage); err == nil {
			gb := groups.NewGroupSessionBuilder(c.senderKeys, c.serializer)
			plain, err = groups.NewGroupCipher(gb, protocol.NewSenderKeyName(group, peer), c.senderKeys).Decrypt(ctx, m)
		}
	default:
		return nil, fmt.Errorf("enc type %v", enc.Attrs["type"])
	}
	if err != nil {
		return nil, err
	}
	if len(plain) == 0 || int(plain[len(plain)-1]) > len(plain) {
		return nil, fmt.Errorf("bad padding")
	}
	return plain[:len(plain)-int(plain[len(plain)-1])], nil
}

// takeSenderKey processes a sender key distribution the linked device sent in a group.
func (c *Contact) takeSenderKey(ctx context.Context, peer *protocol.SignalAddress, skdm *waE2E.SenderKeyDistributionMessage) error {
	m, err := protocol.NewSenderKeyDistributionMessageFromBytes(skdm.GetAxolotlSenderKeyDistributionMessage(),
		c.serializer.SenderKeyDistributionMessage)
	if err != nil {
		return err
	}
	return groups.NewGroupSessionBuilder(c.senderKeys, c.serializer).Process(ctx,
		protocol.NewSenderKeyName(skdm.GetGroupID(), peer), m)
}

// SendText encrypts a text message to the linked device with the keys it
// uploaded (a new Signal session, a pkmsg, the first time) and delivers it.
func (s *Server) SendText(ctx context.Context, from *Contact, id, text string) error {
	return s.SendMessage(ctx, from, id, "text", &waE2E.Message{Conversation: proto.String(text)})
}

// SendMessage encrypts msg to the linked device and delivers it from the contact.
func (s *Server) SendMessage(ctx context.Context, from *Contact, id, typ string, msg *waE2E.Message) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	enc, err := s.encryptTo(ctx, c, from, msg)
	if err != nil {
		return err
	}
	if mt := mediaType(msg); mt != "" {
		enc.Attrs["mediatype"] = mt
	}
	attrs := waBinary.Attrs{"from": from.JID, "sender_lid": from.LID, "id": id, "t": time.Now().Unix(), "type": typ,
		"notify": "Contact " + from.JID.User}
	if from.ByLID {
		delete(attrs, "sender_lid")
		attrs["from"], attrs["sender_pn"] = from.LID, from.JID
		if from.HidePN {
			delete(attrs, "sender_pn")
		}
	}
	s.mu.Lock()
	s.sent[id] = sentMessage{from: from, typ: typ, msg: msg}
	s.mu.Unlock()
	// Kept until the device acknowledges it; sent now when it is connected.
	return s.enqueue(ctx, c.Payload.GetUsername(), id, waBinary.Node{Tag: "message", Attrs: attrs, Content: []waBinary.Node{enc}})
}

// SendGroupText writes text in a group from the contact, as WhatsApp clients
// do: its sender key goes to the linked device Signal-encrypted, the text
// encrypted with that sender key. The group addresses its members by LID.
func (s *Server) SendGroupText(ctx context.Context, from *Contact, group types.JID, id, text string) error {
	return s.sendGroupText(ctx, from, group, id, text, false)
}

// SendGroupTextByPN is SendGroupText in a group that addresses its members by
// phone number (the LID beside it), as older groups do.
func (s *Server) SendGroupTextByPN(ctx context.Context, from *Contact, group types.JID, id, text string) error {
	return s.sendGroupText(ctx, from, group, id, text, true)
}

func (s *Server) sendGroupText(ctx context.Context, from *Contact, group types.JID, id, text string, byPN bool) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	name := protocol.NewSenderKeyName(group.String(), from.LID.SignalAddress())
	gb := groups.NewGroupSessionBuilder(from.senderKeys, from.serializer)
	skdm, err := gb.Create(ctx, name)
	if err != nil {
		return err
	}
	dist, err := s.encryptTo(ctx, c, from, &waE2E.Message{SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{
		GroupID: proto.String(group.String()), AxolotlSenderKeyDistributionMessage: skdm.Serialize()}})
	if err != nil {
		return err
	}
	plain, _ := proto.Marshal(&waE2E.Message{Conversation: proto.String(text)})
	sk, err := groups.NewGroupCipher(gb, name, from.senderKeys).Encrypt(ctx, pad(plain))
	if err != nil {
		return err
	}
	attrs := waBinary.Attrs{"from": group, "participant": from.LID, "participant_pn": from.JID, "addressing_mode": "lid",
		"id": id, "t": time.Now().Unix(), "type": "text", "notify": "Contact " + from.JID.User}
	if byPN {
		delete(attrs, "participant_pn")
		attrs["participant"], attrs["participant_lid"], attrs["addressing_mode"] = from.JID, from.LID, "pn"
	}
	return c.Send(ctx, waBinary.Node{Tag: "message", Attrs: attrs,
		Content: []waBinary.Node{dist, {Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": "skmsg"}, Content: sk.SignedSerialize()}}})
}

// encryptTo encrypts msg from a contact to the linked device of c: a new
// Signal session from the prekeys the device uploaded (pkmsg) the first time.
func (s *Server) encryptTo(ctx context.Context, c *Conn, from *Contact, msg *waE2E.Message) (waBinary.Node, error) {
	addr := c.address()
	b := session.NewBuilder(from.sessions, from.prekeys, from.signedKeys, from.ids, addr, from.serializer)
	if ok, _ := from.sessions.ContainsSession(ctx, addr); !ok {
		// Each one-time prekey is handed out once, as WhatsApp does: the
		// device deletes it when it is used, so two writers must not share one.
		s.mu.Lock()
		k := s.keys[c.Payload.GetUsername()]
		var preKeyID uint32
		var preKey [32]byte
		if k != nil {
			for preKeyID, preKey = range k.preKeys {
				break
			}
			delete(k.preKeys, preKeyID)
		}
		s.mu.Unlock()
		if k == nil {
			return waBinary.Node{}, fmt.Errorf("the client has not uploaded its prekeys")
		}
		bundle := prekey.NewBundle(k.registration, addr.DeviceID(), optional.NewOptionalUint32(preKeyID), k.signedID,
			ecc.NewDjbECPublicKey(preKey), ecc.NewDjbECPublicKey(k.signed), k.signature,
			identity.NewKey(ecc.NewDjbECPublicKey(k.identity)))
		if err := b.ProcessBundle(ctx, bundle); err != nil {
			return waBinary.Node{}, fmt.Errorf("build session: %w", err)
		}
	}
	plain, _ := proto.Marshal(msg)
	enc, err := session.NewCipher(b, addr).Encrypt(ctx, pad(plain))
	if err != nil {
		return waBinary.Node{}, fmt.Errorf("encrypt: %w", err)
	}
	encType := "msg"
	if enc.Type() == protocol.PREKEY_TYPE {
		encType = "pkmsg"
	}
	return waBinary.Node{Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": encType}, Content: enc.Serialize()}, nil
}

// pad adds the padding WhatsApp puts on every plaintext (1 to 15 bytes, each the pad length).
func pad(plain []byte) []byte {
	n := byte(len(plain)%15 + 1)
	for range int(n) {
		plain = append(plain, n)
	}
	return plain
}

// NewGroup makes a group with the linked account (of the newest connection)
// as its owner and the contacts as members, as if created on the phone.
func (s *Server) NewGroup(subject string, members ...*Contact) (types.JID, error) {
	c, err := s.last()
	if err != nil {
		return types.JID{}, err
	}
	me := types.NewJID(lidOf(c.Payload.GetUsername()), types.HiddenUserServer)
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.newGroupLocked(subject, me)
	for _, m := range members {
		g.members = append(g.members, m.LID)
	}
	return g.jid, nil
}

func mediaType(m *waE2E.Message) string {
	switch {
	case m.ImageMessage != nil:
		return "image"
	case m.VideoMessage != nil:
		return "video"
	case m.AudioMessage != nil:
		if m.GetAudioMessage().GetPTT() {
			return "ptt"
		}
		return "audio"
	case m.DocumentMessage != nil:
		return "document"
	case m.StickerMessage != nil:
		return "sticker"
	}
	return ""
}

// Receipt tells the linked device that contact got (typ "") or read (typ "read") the messages ids.
func (s *Server) Receipt(ctx context.Context, from *Contact, typ string, ids ...string) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	attrs := waBinary.Attrs{"from": from.LID}
	if typ != "" {
		attrs["type"] = typ
	}
	return c.Send(ctx, receipt(attrs, ids))
}

// receipt is a receipt node for ids: the first in the id attribute, the rest in a list.
func receipt(attrs waBinary.Attrs, ids []string) waBinary.Node {
	attrs["id"], attrs["t"] = ids[0], time.Now().Unix()
	n := waBinary.Node{Tag: "receipt", Attrs: attrs}
	if len(ids) > 1 {
		items := make([]waBinary.Node, 0, len(ids)-1)
		for _, id := range ids[1:] {
			items = append(items, waBinary.Node{Tag: "item", Attrs: waBinary.Attrs{"id": id}})
		}
		n.Content = []waBinary.Node{{Tag: "list", Content: items}}
	}
	return n
}

// ReadOnPhone plays the account's phone reading messages a contact sent:
// WhatsApp tells the linked device with a read-self receipt.
func (s *Server) ReadOnPhone(ctx context.Context, from *Contact, ids ...string) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	own := types.NewJID(fmt.Sprint(c.Payload.GetUsername()), types.DefaultUserServer)
	return c.Send(ctx, receipt(waBinary.Attrs{"from": own, "recipient": from.JID, "type": "read-self"}, ids))
}

// last is the newest connection that completed the handshake.
func (s *Server) last() (*Conn, error) {
	conns := s.Conns()
	if len(conns) == 0 {
		return nil, fmt.Errorf("no client connected")
	}
	return conns[len(conns)-1], nil
}

// address is the linked device's Signal address, as contacts know it.
func (c *Conn) address() *protocol.SignalAddress {
	return types.NewADJID(fmt.Sprint(c.Payload.GetUsername()), 0, uint8(c.Payload.GetDevice())).SignalAddress()
}

// own tells whether user is the account of this connection (its phone number or LID).
func (c *Conn) own(user string) bool {
	u := c.Payload.GetUsername()
	return user == fmt.Sprint(u) || user == lidOf(u)
}

// usync answers a user query: devices, LIDs, whether numbers are on WhatsApp, about texts.
func (s *Server) usync(c *Conn, n *waBinary.Node) []waBinary.Node {
	us := n.GetChildByTag("usync")
	var asked []string
	query, list := us.GetChildByTag("query"), us.GetChildByTag("list")
	for _, q := range query.GetChildren() {
		asked = append(asked, q.Tag)
	}
	var users []waBinary.Node
	for _, u := range list.GetChildren() {
		jid, isJID := u.Attrs["jid"].(types.JID)
		var query string
		if !isJID {
			b, _ := u.GetChildByTag("contact").Content.([]byte)
			query = string(b)
			jid = types.NewJID(strings.TrimPrefix(strings.TrimSuffix(query, "@"+types.LegacyUserServer), "+"), types.DefaultUserServer)
		}
		ct := s.contact(jid.User)
		out := waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}}
		var content []waBinary.Node
		for _, tag := range asked {
			switch tag {
			case "contact":
				if ct == nil {
					content = append(content, waBinary.Node{Tag: "contact", Attrs: waBinary.Attrs{"type": "out"}, Content: []byte(query)})
					continue
				}
				out.Attrs = waBinary.Attrs{"jid": ct.LID, "pn_jid": ct.JID}
				content = append(content, waBinary.Node{Tag: "contact", Attrs: waBinary.Attrs{"type": "in"}, Content: []byte(query)})
			case "devices":
				devs := []waBinary.Node{{Tag: "device", Attrs: waBinary.Attrs{"id": "0"}}}
				if c.own(jid.User) { // the linked device itself: no other devices of the account here
					devs[0].Attrs["id"] = fmt.Sprint(c.Payload.GetDevice())
				} else if ct == nil {
					continue
				} else if ct.linked { // its linked device is the account's only device here
					lc := s.linkedConn(ct)
					if lc == nil {
						continue
					}
					devs[0].Attrs["id"] = fmt.Sprint(lc.Payload.GetDevice())
				}
				s.mu.Lock()
				for _, d := range s.devices[jid.User] {
					devs = append(devs, waBinary.Node{Tag: "device", Attrs: waBinary.Attrs{"id": fmt.Sprint(d.device)}})
				}
				s.mu.Unlock()
				content = append(content, waBinary.Node{Tag: "devices", Content: []waBinary.Node{{Tag: "device-list",
					Content: devs}}})
			case "lid":
				if ct != nil && jid.Server == types.DefaultUserServer {
					content = append(content, waBinary.Node{Tag: "lid", Attrs: waBinary.Attrs{"val": ct.LID}})
				}
			case "status":
				if ct != nil {
					content = append(content, waBinary.Node{Tag: "status", Content: []byte(ct.Status)})
				}
			}
		}
		out.Content = content
		users = append(users, out)
	}
	return []waBinary.Node{{Tag: "usync", Content: []waBinary.Node{{Tag: "list", Content: users}}}}
}

// preKeys answers a prekey fetch for contacts' devices.
func (s *Server) preKeys(n *waBinary.Node) []waBinary.Node {
	var users []waBinary.Node
	key := n.GetChildByTag("key")
	for _, u := range key.GetChildren() {
		jid, _ := u.Attrs["jid"].(types.JID)
		if ct := s.contact(jid.User); ct != nil && ct.linked {
			if b, ok := s.linkedBundle(ct, jid); ok {
				users = append(users, b)
			}
		} else if ct := s.deviceOf(jid.User, jid.Device); ct != nil {
			users = append(users, ct.bundleNode(jid))
		} else {
			users = append(users, waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid},
				Content: []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{"code": "404", "text": "item-not-found"}}}})
		}
	}
	return []waBinary.Node{{Tag: "list", Content: users}}
}

// message takes a message the linked device sent: every contact it was
// encrypted for decrypts its copy; the server acknowledges it.
func (s *Server) message(ctx context.Context, c *Conn, n *waBinary.Node) {
	id, _ := n.Attrs["id"].(string)
	to, _ := n.Attrs["to"].(types.JID)
	typ, _ := n.Attrs["type"].(string)
	peer := c.address()
	s.mu.Lock()
	s.sends[id]++
	refused := s.ackErrN > 0
	s.mu.Unlock()
	deliver := func(ct *Contact, plain []byte) {
		if refused {
			return
		}
		var m waE2E.Message
		if err := proto.Unmarshal(plain, &m); err != nil {
			s.failed(fmt.Errorf("%s got a message %s that is no protobuf: %w", ct.JID.User, id, err))
			return
		}
		if skdm := m.GetSenderKeyDistributionMessage(); skdm != nil {
			_ = ct.takeSenderKey(ctx, peer, skdm)
			if to.Server == types.GroupServer {
				return // in a group, the content comes in the skmsg
			}
		}
		ct.deliver(&Received{ID: id, Chat: to, Type: typ, Message: &m})
	}
	s.relay(ctx, c, n)
	parts := n.GetChildByTag("participants")
	for _, p := range parts.GetChildren() {
		jid, _ := p.Attrs["jid"].(types.JID)
		ct := s.deviceOf(jid.User, jid.Device)
		if ct == nil || ct.linked {
			continue
		}
		if plain, err := ct.decrypt(ctx, peer, "", p.GetChildByTag("enc")); err == nil {
			deliver(ct, plain)
		} else {
			s.failed(fmt.Errorf("%s cannot decrypt message %s: %w", ct.JID.User, id, err))
		}
	}
	if enc, ok := n.GetOptionalChildByTag("enc"); ok && to.Server != types.GroupServer {
		// One device's copy, not in a participants list: a resend answering a retry receipt.
		if ct := s.contact(to.User); ct != nil {
			if plain, err := ct.decrypt(ctx, peer, "", enc); err == nil {
				deliver(ct, plain)
			} else {
				s.failed(fmt.Errorf("%s cannot decrypt resent message %s: %w", ct.JID.User, id, err))
			}
		}
	}
	if sk, ok := n.GetOptionalChildByTag("enc"); ok && to.Server == types.GroupServer {
		for _, ct := range s.members(to) {
			if ct.linked {
				continue
			}
			if plain, err := ct.decrypt(ctx, peer, to.String(), sk); err == nil {
				deliver(ct, plain)
			} else {
				s.failed(fmt.Errorf("%s cannot decrypt group message %s: %w", ct.JID.User, id, err))
			}
		}
	}
	ack := waBinary.Attrs{"class": "message", "id": id, "from": to, "t": time.Now().Unix()}
	if code := s.ackError(); code != 0 {
		ack["error"] = code
	}
	_ = c.Send(ctx, waBinary.Node{Tag: "ack", Attrs: ack})
}

// RefuseSends makes the server answer the next n messages the linked device
// sends with an ack carrying error code (463: the limit on first messages to
// new contacts); they reach nobody.
func (s *Server) RefuseSends(code, n int) {
	s.mu.Lock()
	s.ackErr, s.ackErrN = code, n
	s.mu.Unlock()
}

// ackError is the error code for the ack of the message being taken, 0 for none.
func (s *Server) ackError() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ackErrN <= 0 {
		return 0
	}
	s.ackErrN--
	return s.ackErr
}

// Sends counts the messages with id the linked device sent (each attempt).
func (s *Server) Sends(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sends[id]
}

// Errors are what went wrong on the server's side (a message no contact could decrypt).
func (s *Server) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

func (s *Server) failed(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

// HasKeys tells whether the newest connection's device uploaded its prekeys.
func (s *Server) HasKeys() bool {
	c, err := s.last()
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[c.Payload.GetUsername()] != nil
}
