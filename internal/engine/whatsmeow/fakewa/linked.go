package fakewa

import (
	"context"
	"encoding/binary"
	"strconv"
	"time"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// Accounts whose devices pair with this server (two OpenWA sessions, say)
// can write to each other when both are added with AddAccount: the server
// then plays WhatsApp's routing between them. It answers usync and prekey
// fetches for an account with its linked device and the keys that device
// uploaded, relays what one device encrypted for the other (1:1 and group
// messages, ciphertext untouched: the real clients decrypt), and relays the
// receiving device's receipts to the sender. The account's "phone" (device
// 0) does not exist here: the linked device is the account's only device.

// AddAccount registers the account of phone, whose device pairs with this
// server (Pair with the same phone), as reachable by the other accounts:
// they find it on WhatsApp, can make groups with it and write to it.
func (s *Server) AddAccount(phone string) *Contact {
	c := NewContact(phone)
	c.linked = true
	s.AddContact(c)
	return c
}

// HasKeysOf tells whether the device of phone's account uploaded its prekeys.
func (s *Server) HasKeysOf(phone string) bool {
	user, err := strconv.ParseUint(phone, 10, 64)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[user] != nil
}

// linkedConn is the newest connection of an account added with AddAccount.
func (s *Server) linkedConn(ct *Contact) *Conn {
	user, err := strconv.ParseUint(ct.JID.User, 10, 64)
	if err != nil {
		return nil
	}
	conns := s.Conns()
	for i := len(conns) - 1; i >= 0; i-- {
		if conns[i].Payload.GetUsername() == user {
			return conns[i]
		}
	}
	return nil
}

// deviceLID is the linked device's own address, as other accounts see it.
func (c *Conn) deviceLID() types.JID {
	return types.JID{User: lidOf(c.Payload.GetUsername()), Server: types.HiddenUserServer, Device: uint16(c.Payload.GetDevice())}
}

// linkedBundle hands out the keys a linked device uploaded, with one of its
// one-time prekeys (each given once, as WhatsApp does).
func (s *Server) linkedBundle(ct *Contact, jid types.JID) (waBinary.Node, bool) {
	lc := s.linkedConn(ct)
	if lc == nil {
		return waBinary.Node{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[lc.Payload.GetUsername()]
	if k == nil {
		return waBinary.Node{}, false
	}
	id3 := func(id uint32) []byte { var b [4]byte; binary.BigEndian.PutUint32(b[:], id); return b[1:] }
	var reg [4]byte
	binary.BigEndian.PutUint32(reg[:], k.registration)
	content := []waBinary.Node{
		{Tag: "registration", Content: reg[:]},
		{Tag: "type", Content: []byte{ecc.DjbType}},
		{Tag: "identity", Content: k.identity[:]},
		{Tag: "skey", Content: []waBinary.Node{{Tag: "id", Content: id3(k.signedID)}, {Tag: "value", Content: k.signed[:]},
			{Tag: "signature", Content: k.signature[:]}}},
	}
	for id, pub := range k.preKeys {
		delete(k.preKeys, id)
		content = append(content, waBinary.Node{Tag: "key", Content: []waBinary.Node{{Tag: "id", Content: id3(id)},
			{Tag: "value", Content: pub[:]}}})
		break
	}
	return waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: content}, true
}

// relay forwards a message a device sent to every linked account it was
// encrypted for: in a 1:1 chat its own copy; in a group its copy of the
// sender key (if any) with the group-encrypted message.
func (s *Server) relay(ctx context.Context, c *Conn, n *waBinary.Node) {
	to, _ := n.Attrs["to"].(types.JID)
	group := to.Server == types.GroupServer
	own := map[*Contact]*waBinary.Node{} // each linked recipient's own enc
	parts := n.GetChildByTag("participants")
	for _, p := range parts.GetChildren() {
		jid, _ := p.Attrs["jid"].(types.JID)
		// The sender's own other devices are not modelled (the account's phone is not here).
		if ct := s.contact(jid.User); ct != nil && ct.linked && !c.own(ct.JID.User) {
			enc := p.GetChildByTag("enc")
			own[ct] = &enc
		}
	}
	var shared []waBinary.Node // the group message and the sender's device identity
	for _, child := range n.GetChildren() {
		if child.Tag != "participants" {
			shared = append(shared, child)
		}
	}
	recipients := map[*Contact]bool{}
	for ct := range own {
		recipients[ct] = true
	}
	if group {
		for _, ct := range s.members(to) {
			if ct.linked && !c.own(ct.JID.User) {
				recipients[ct] = true
			}
		}
	}
	sender := c.deviceLID()
	pn := types.NewJID(strconv.FormatUint(c.Payload.GetUsername(), 10), types.DefaultUserServer)
	for ct := range recipients {
		lc := s.linkedConn(ct)
		if lc == nil {
			continue
		}
		attrs := waBinary.Attrs{"from": sender, "sender_pn": pn, "id": n.Attrs["id"], "t": time.Now().Unix(),
			"type": n.Attrs["type"], "notify": "Account " + pn.User}
		if group {
			attrs = waBinary.Attrs{"from": to, "participant": sender, "participant_pn": pn, "addressing_mode": "lid",
				"id": n.Attrs["id"], "t": time.Now().Unix(), "type": n.Attrs["type"], "notify": "Account " + pn.User}
		}
		var content []waBinary.Node
		if enc := own[ct]; enc != nil {
			content = append(content, *enc)
		}
		content = append(content, shared...)
		if len(content) == 0 {
			continue
		}
		_ = lc.Send(ctx, waBinary.Node{Tag: "message", Attrs: attrs, Content: content})
	}
}

// relayReceipt forwards a linked device's receipt for a message of another
// linked account to that account's device. A receipt of an inactive client
// is a delivery receipt to the sender, as WhatsApp reports it; retry
// receipts are not modelled.
func (s *Server) relayReceipt(ctx context.Context, c *Conn, n *waBinary.Node) {
	to, _ := n.Attrs["to"].(types.JID)
	typ, _ := n.Attrs["type"].(string)
	if typ != "" && typ != "inactive" && typ != "read" && typ != "played" {
		return
	}
	attrs := waBinary.Attrs{"from": c.deviceLID(), "id": n.Attrs["id"], "t": time.Now().Unix()}
	target := to
	if to.Server == types.GroupServer {
		p, _ := n.Attrs["participant"].(types.JID)
		attrs["from"], attrs["participant"], target = to, c.deviceLID(), p
	}
	if typ == "read" || typ == "played" {
		attrs["type"] = typ
	}
	ct := s.contact(target.User)
	if ct == nil || !ct.linked {
		return
	}
	if lc := s.linkedConn(ct); lc != nil {
		_ = lc.Send(ctx, waBinary.Node{Tag: "receipt", Attrs: attrs, Content: n.Content})
	}
}
