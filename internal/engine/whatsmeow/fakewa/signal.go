package fakewa

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/tests"
	"go.mau.fi/libsignal/util/keyhelper"
	"go.mau.fi/libsignal/util/optional"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// keysOf is what a client uploads so that others can start Signal sessions with it.
type keysOf struct {
	registration uint32
	identity     [32]byte
	signedID     uint32
	signed       [32]byte
	signature    [64]byte
	preKeys      map[uint32][32]byte
}

func be(b []byte) uint32 {
	var buf [4]byte
	copy(buf[4-len(b):], b)
	return binary.BigEndian.Uint32(buf[:])
}

// parseKeys reads the prekey upload IQ (xmlns encrypt, registration, identity, skey, list).
func parseKeys(n *waBinary.Node) (*keysOf, bool) {
	reg, ok := n.GetOptionalChildByTag("registration")
	if !ok {
		return nil, false
	}
	k := &keysOf{preKeys: map[uint32][32]byte{}}
	b, _ := reg.Content.([]byte)
	k.registration = be(b)
	idn := n.GetChildByTag("identity")
	idb, _ := idn.Content.([]byte)
	copy(k.identity[:], idb)
	sk := n.GetChildByTag("skey")
	skid, _ := sk.GetChildByTag("id").Content.([]byte)
	skv, _ := sk.GetChildByTag("value").Content.([]byte)
	sks, _ := sk.GetChildByTag("signature").Content.([]byte)
	k.signedID = be(skid)
	copy(k.signed[:], skv)
	copy(k.signature[:], sks)
	list := n.GetChildByTag("list")
	for _, key := range list.GetChildren() {
		id, _ := key.GetChildByTag("id").Content.([]byte)
		v, _ := key.GetChildByTag("value").Content.([]byte)
		var pub [32]byte
		copy(pub[:], v)
		k.preKeys[be(id)] = pub
	}
	return k, true
}

// Contact is another WhatsApp user who writes to the linked device.
type Contact struct {
	JID      types.JID
	identity *identity.KeyPair
	reg      uint32
	store    struct {
		sessions *tests.InMemorySession
		prekeys  *tests.InMemoryPreKey
		signed   *tests.InMemorySignedPreKey
		ids      *tests.InMemoryIdentityKey
	}
	serializer *serialize.Serializer
}

// NewContact makes a user with a phone number and Signal keys of its own.
func NewContact(phone string) *Contact {
	c := &Contact{JID: types.NewJID(phone, types.DefaultUserServer), serializer: serialize.NewProtoBufSerializer()}
	c.identity, _ = keyhelper.GenerateIdentityKeyPair()
	c.reg = keyhelper.GenerateRegistrationID()
	c.store.sessions = tests.NewInMemorySession(c.serializer)
	c.store.prekeys = tests.NewInMemoryPreKey()
	c.store.signed = tests.NewInMemorySignedPreKey()
	c.store.ids = tests.NewInMemoryIdentityKey(c.identity, c.reg)
	return c
}

// SendText encrypts a text message to the linked device with the keys it
// uploaded (a new Signal session: a pkmsg) and delivers it.
func (s *Server) SendText(ctx context.Context, from *Contact, id, text string) error {
	conns := s.Conns()
	if len(conns) == 0 {
		return fmt.Errorf("no client connected")
	}
	c := conns[len(conns)-1]
	s.mu.Lock()
	k := s.keys[c.Payload.GetUsername()]
	s.mu.Unlock()
	if k == nil {
		return fmt.Errorf("the client has not uploaded its prekeys")
	}
	var preKeyID uint32
	var preKey [32]byte
	for preKeyID, preKey = range k.preKeys {
		break
	}
	device := types.NewADJID(fmt.Sprint(c.Payload.GetUsername()), 0, uint8(c.Payload.GetDevice()))
	addr := device.SignalAddress()
	bundle := prekey.NewBundle(k.registration, uint32(device.Device), optional.NewOptionalUint32(preKeyID), k.signedID,
		ecc.NewDjbECPublicKey(preKey), ecc.NewDjbECPublicKey(k.signed), k.signature,
		identity.NewKey(ecc.NewDjbECPublicKey(k.identity)))
	b := session.NewBuilder(from.store.sessions, from.store.prekeys, from.store.signed, from.store.ids, addr, from.serializer)
	if err := b.ProcessBundle(ctx, bundle); err != nil {
		return fmt.Errorf("build session: %w", err)
	}
	plain, _ := proto.Marshal(&waE2E.Message{Conversation: proto.String(text)})
	pad := byte(len(text)%15 + 1)
	for range int(pad) {
		plain = append(plain, pad)
	}
	msg, err := session.NewCipher(b, addr).Encrypt(ctx, plain)
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	typ := "msg"
	if msg.Type() == protocol.PREKEY_TYPE {
		typ = "pkmsg"
	}
	return c.Send(ctx, waBinary.Node{Tag: "message",
		Attrs:   waBinary.Attrs{"from": from.JID, "id": id, "t": time.Now().Unix(), "type": "text", "notify": "Contact " + from.JID.User},
		Content: []waBinary.Node{{Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": typ}, Content: msg.Serialize()}}})
}
