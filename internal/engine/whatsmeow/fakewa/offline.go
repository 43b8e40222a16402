package fakewa

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
)

// WhatsApp's offline queue, as the fake plays it: a message for a linked
// device is kept until the device acknowledges it (a receipt or an ack naming
// its id); what is not acknowledged is sent again at the device's next login,
// between an <ib><offline_preview/></ib> and an <ib><offline/></ib>. What a
// contact sent is remembered, so that a retry receipt from the device (it
// could not decrypt) is answered with the message encrypted again.

// pendingMessage is a message waiting for the device's acknowledgement.
type pendingMessage struct {
	id   string
	node waBinary.Node
}

// sentMessage is what a contact sent, for answering retry receipts.
type sentMessage struct {
	from *Contact
	typ  string
	msg  *waE2E.Message
}

// enqueue keeps n for the account until acknowledged and sends it to the
// account's live connection, if any. A send that fails leaves it queued.
func (s *Server) enqueue(ctx context.Context, account uint64, id string, n waBinary.Node) error {
	s.mu.Lock()
	s.pending[account] = append(s.pending[account], pendingMessage{id: id, node: n})
	s.mu.Unlock()
	c := s.live(account)
	if c == nil {
		return nil // offline: delivered at the next login
	}
	_ = c.Send(ctx, n)
	return nil
}

// live is the newest open connection of the account, nil when none is.
func (s *Server) live(account uint64) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.conns) - 1; i >= 0; i-- {
		c := s.conns[i]
		if c.Payload.GetUsername() == account && !c.isClosed() {
			return c
		}
	}
	return nil
}

// acknowledged takes a node the device sent: a receipt (other than a retry
// receipt, which asks for the message again) or an ack of a message
// acknowledges the ids it names.
func (s *Server) acknowledged(c *Conn, n *waBinary.Node) {
	switch {
	case n.Tag == "receipt" && n.Attrs["type"] != "retry":
	case n.Tag == "ack" && n.Attrs["class"] == "message":
	default:
		return
	}
	ids := []string{}
	if id, ok := n.Attrs["id"].(string); ok {
		ids = append(ids, id)
	}
	if list, ok := n.GetOptionalChildByTag("list"); ok {
		for _, item := range list.GetChildren() {
			if id, ok := item.Attrs["id"].(string); ok {
				ids = append(ids, id)
			}
		}
	}
	account := c.Payload.GetUsername()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending[account] = slices.DeleteFunc(s.pending[account], func(p pendingMessage) bool { return slices.Contains(ids, p.id) })
}

// Unacknowledged lists the ids of messages for the newest connection's
// account that its device has not acknowledged yet, oldest first.
func (s *Server) Unacknowledged() []string {
	c, err := s.last()
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, p := range s.pending[c.Payload.GetUsername()] {
		ids = append(ids, p.id)
	}
	return ids
}

// redeliver sends a device that logged in what it has not acknowledged, as
// WhatsApp's offline queue does.
func (s *Server) redeliver(ctx context.Context, c *Conn) {
	s.mu.Lock()
	queued := slices.Clone(s.pending[c.Payload.GetUsername()])
	s.mu.Unlock()
	n := len(queued)
	_ = c.Send(ctx, waBinary.Node{Tag: "ib", Content: []waBinary.Node{{Tag: "offline_preview",
		Attrs: waBinary.Attrs{"count": n, "message": n, "notification": 0, "receipt": 0, "appdata": 0}}}})
	for _, p := range queued {
		node := p.node
		attrs := waBinary.Attrs{"offline": "1"}
		for k, v := range node.Attrs {
			attrs[k] = v
		}
		node.Attrs = attrs
		_ = c.Send(ctx, node)
	}
	_ = c.Send(ctx, waBinary.Node{Tag: "ib", Content: []waBinary.Node{{Tag: "offline", Attrs: waBinary.Attrs{"count": n}}}})
}

// SendUndecryptable delivers a message from the contact that the device
// cannot decrypt (its ciphertext is noise), as happens when a contact's
// session is out of step. The contact keeps msg: when the device asks again
// with a retry receipt, the contact sends it properly encrypted.
func (s *Server) SendUndecryptable(ctx context.Context, from *Contact, id, typ string, msg *waE2E.Message) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	noise := make([]byte, 64)
	_, _ = rand.Read(noise)
	s.mu.Lock()
	s.sent[id] = sentMessage{from: from, typ: typ, msg: msg}
	s.mu.Unlock()
	attrs := waBinary.Attrs{"from": from.JID, "sender_lid": from.LID, "id": id, "t": time.Now().Unix(), "type": typ,
		"notify": "Contact " + from.JID.User}
	return s.enqueue(ctx, c.Payload.GetUsername(), id, waBinary.Node{Tag: "message", Attrs: attrs,
		Content: []waBinary.Node{{Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": "msg"}, Content: noise}}})
}

// resend answers a retry receipt from the device: the message it names is
// encrypted again and sent, with the retry count.
func (s *Server) resend(ctx context.Context, c *Conn, n *waBinary.Node) {
	retry, ok := n.GetOptionalChildByTag("retry")
	if !ok {
		return
	}
	id, _ := retry.Attrs["id"].(string)
	s.mu.Lock()
	sm, ok := s.sent[id]
	s.mu.Unlock()
	if !ok {
		s.failed(fmt.Errorf("retry receipt for %s, which no contact sent", id))
		return
	}
	enc, err := s.encryptTo(ctx, c, sm.from, sm.msg)
	if err != nil {
		s.failed(fmt.Errorf("resend %s: %w", id, err))
		return
	}
	enc.Attrs["count"] = retry.Attrs["count"]
	attrs := waBinary.Attrs{"from": sm.from.JID, "sender_lid": sm.from.LID, "id": id, "t": time.Now().Unix(),
		"type": sm.typ, "notify": "Contact " + sm.from.JID.User}
	_ = s.enqueue(ctx, c.Payload.GetUsername(), id, waBinary.Node{Tag: "message", Attrs: attrs, Content: []waBinary.Node{enc}})
}

// RetryReceipt plays a contact that could not decrypt message id the device
// sent it: WhatsApp hands the device a retry receipt, and the device is to
// send the message again (the contact's Next then returns it a second time).
func (s *Server) RetryReceipt(ctx context.Context, from *Contact, id string) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	reg := []byte{byte(from.reg >> 24), byte(from.reg >> 16), byte(from.reg >> 8), byte(from.reg)}
	t := time.Now().Unix()
	return c.Send(ctx, waBinary.Node{Tag: "receipt", Attrs: waBinary.Attrs{"from": from.LID, "id": id, "type": "retry", "t": t},
		Content: []waBinary.Node{
			{Tag: "retry", Attrs: waBinary.Attrs{"count": 1, "id": id, "t": t, "v": 1}},
			{Tag: "registration", Content: reg},
		}})
}
