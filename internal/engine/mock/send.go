package mock

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/stamp"
)

// Send "sends" msg: it gets a WhatsApp id at once, then the acks delivered and
// read, ackDelayMs apart.
func (e *Engine) Send(ctx context.Context, msg *engine.Outgoing) (*engine.SendResult, error) {
	if e.sendDelay > 0 {
		// The simulated round trip to WhatsApp; the connection may drop meanwhile.
		e.mu.Lock()
		connCtx, ready := e.connCtx, e.ready
		e.mu.Unlock()
		if !ready || !sleep(connCtx, e.sendDelay) || ctx.Err() != nil {
			return nil, engine.ErrNotConnected
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.ready {
		return nil, engine.ErrNotConnected
	}
	if engine.IsGroup(msg.ChatID) {
		if _, ok := e.groups[msg.ChatID]; !ok {
			return nil, fmt.Errorf("group %s: %w", msg.ChatID, engine.ErrNotFound)
		}
	}
	id := msg.ID
	if id == "" {
		id = messageID()
	}
	sent := engine.MockSentMessage{ID: id, ChatID: msg.ChatID, Type: string(msg.Type)}
	if msg.Media != nil {
		sent.Mimetype, sent.MediaSize = msg.Media.Mimetype, len(msg.Media.Data)
	}
	if err := e.record(ctx, sent); err != nil {
		return nil, err
	}
	e.sent[id] = msg.ChatID
	if msg.Type != engine.TypeReaction {
		chat, connCtx := msg.ChatID, e.connCtx
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			for _, st := range []engine.AckStatus{engine.AckDelivered, engine.AckRead} {
				if !sleep(connCtx, e.ackDelay) {
					return
				}
				e.emit(connCtx, engine.Ack{ChatID: chat, WAMessageIDs: []string{id}, Status: st, Timestamp: time.Now().UTC()})
			}
		}()
	}
	return &engine.SendResult{WAMessageID: id, Timestamp: time.Now().UTC()}, nil
}

// record adds a delivery to the durable ledger; a known id counts as a
// duplicate, not a second message. e.mu is held.
func (e *Engine) record(ctx context.Context, sent engine.MockSentMessage) error {
	l := &e.auth.Ledger
	known := false
	for _, m := range l.Messages {
		known = known || m.ID == sent.ID
	}
	if known {
		l.Duplicates++
	} else {
		l.Messages = append(l.Messages, sent)
		if len(l.Messages) > ledgerMax {
			l.Messages = l.Messages[len(l.Messages)-ledgerMax:]
		}
	}
	if e.opts.Auth == nil {
		return nil
	}
	b, err := json.Marshal(e.auth)
	if err != nil {
		return err
	}
	return e.opts.Auth.SaveAuth(ctx, b)
}

// MockSent returns a copy of the ledger.
func (e *Engine) MockSent() engine.MockLedger {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.auth == nil {
		return engine.MockLedger{Messages: []engine.MockSentMessage{}}
	}
	l := e.auth.Ledger
	l.Messages = append([]engine.MockSentMessage{}, l.Messages...)
	return l
}

// Revoke deletes a message this engine sent.
func (e *Engine) Revoke(ctx context.Context, chatID, waMessageID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.ready {
		return engine.ErrNotConnected
	}
	if e.sent[waMessageID] != chatID {
		return fmt.Errorf("message %s: %w", waMessageID, engine.ErrNotFound)
	}
	delete(e.sent, waMessageID)
	return nil
}

// MarkRead accepts read receipts.
func (e *Engine) MarkRead(ctx context.Context, chatID, _ string, ids []string) error {
	return e.needReady()
}

// SendPresence accepts chat states.
func (e *Engine) SendPresence(ctx context.Context, chatID string, state engine.Presence) error {
	return e.needReady()
}

func (e *Engine) needReady() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.ready {
		return engine.ErrNotConnected
	}
	return nil
}

// seedDirectory fills the mock address book and group list.
func (e *Engine) seedDirectory() {
	e.contacts = map[string]*engine.Contact{}
	for i, name := range []string{"Alice", "Bob", "Carol"} {
		phone := fmt.Sprintf("1555000000%d", i+1)
		jid := phone + "@" + engine.UserServer
		e.contacts[jid] = &engine.Contact{JID: jid, Phone: phone, Name: name, PushName: name, IsMyContact: true}
	}
	gid := "120363000000000001@" + engine.GroupServer
	e.groups = map[string]*engine.Group{gid: {
		JID: gid, Subject: "Mock group", Description: "A group of the mock engine",
		Participants: []engine.Participant{{JID: "15550000001@" + engine.UserServer, IsSuperAdmin: true, IsAdmin: true}},
		CreatedAt:    stamp.Of(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
	}}
}

// Contacts lists the address book.
func (e *Engine) Contacts(ctx context.Context) ([]engine.Contact, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]engine.Contact, 0, len(e.contacts))
	for _, c := range e.contacts {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID < out[j].JID })
	return out, nil
}

// Contact reads one contact.
func (e *Engine) Contact(ctx context.Context, jid string) (*engine.Contact, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.contacts[jid]
	if !ok {
		return nil, fmt.Errorf("contact %s: %w", jid, engine.ErrNotFound)
	}
	cp := *c
	return &cp, nil
}

// ProfilePictureURL: mock contacts have no pictures.
func (e *Engine) ProfilePictureURL(ctx context.Context, jid string) (string, error) {
	if _, err := e.Contact(ctx, jid); err != nil {
		return "", err
	}
	return "", nil
}

// IsOnWhatsApp: every valid number is, except those ending in 404.
func (e *Engine) IsOnWhatsApp(ctx context.Context, phone string) (bool, string, error) {
	p, err := engine.NormalizePhone(phone)
	if err != nil {
		return false, "", err
	}
	if strings.HasSuffix(p, "404") {
		return false, "", nil
	}
	return true, p + "@" + engine.UserServer, nil
}

// SetBlocked blocks or unblocks a contact.
func (e *Engine) SetBlocked(ctx context.Context, jid string, blocked bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.contacts[jid]
	if !ok {
		phone := engine.PhoneOf(jid)
		if phone == "" {
			return fmt.Errorf("contact %s: %w", jid, engine.ErrNotFound)
		}
		c = &engine.Contact{JID: jid, Phone: phone}
		e.contacts[jid] = c
	}
	c.IsBlocked = blocked
	return nil
}

// Groups lists the groups.
func (e *Engine) Groups(ctx context.Context) ([]engine.Group, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]engine.Group, 0, len(e.groups))
	for _, g := range e.groups {
		out = append(out, copyGroup(g))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID < out[j].JID })
	return out, nil
}

// Group reads one group.
func (e *Engine) Group(ctx context.Context, jid string) (*engine.Group, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, ok := e.groups[jid]
	if !ok {
		return nil, fmt.Errorf("group %s: %w", jid, engine.ErrNotFound)
	}
	cp := copyGroup(g)
	return &cp, nil
}

func copyGroup(g *engine.Group) engine.Group {
	cp := *g
	cp.Participants = append([]engine.Participant(nil), g.Participants...)
	return cp
}

// CreateGroup creates a group owned by the linked account.
func (e *Engine) CreateGroup(ctx context.Context, name string, participants []string) (*engine.Group, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.ready {
		return nil, engine.ErrNotConnected
	}
	jid := e.newGroupJID()
	me := e.auth.Phone + "@" + engine.UserServer
	g := &engine.Group{JID: jid, Subject: name, Owner: me, CreatedAt: stamp.Of(time.Now()),
		Participants: []engine.Participant{{JID: me, IsAdmin: true, IsSuperAdmin: true}}}
	for _, p := range participants {
		g.Participants = append(g.Participants, engine.Participant{JID: p})
	}
	e.groups[jid] = g
	cp := copyGroup(g)
	e.emit(ctx, engine.GroupUpdated{Group: cp, Changed: []string{"joined"}})
	return &cp, nil
}

// newGroupJID is a random group JID shaped like WhatsApp's (120363 and 12
// digits), unused by the groups the engine knows: a counted one would repeat
// after a restart and inherit an old group's messages. e.mu is held.
func (e *Engine) newGroupJID() string {
	for {
		jid := fmt.Sprintf("120363%012d@%s", rand.Int64N(1e12), engine.GroupServer)
		if _, ok := e.groups[jid]; !ok {
			return jid
		}
	}
}

// UpdateParticipants adds, removes, promotes or demotes members and reports
// each one's outcome as the whatsmeow engine does: a number ending in 404 has
// no account, one ending in 403 refuses being added (invited instead, with
// the invite link), adding a member is 409, changing a non-member 404.
func (e *Engine) UpdateParticipants(ctx context.Context, jid string, action engine.ParticipantAction, participants []string) ([]engine.ParticipantResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, ok := e.groups[jid]
	if !ok {
		return nil, fmt.Errorf("group %s: %w", jid, engine.ErrNotFound)
	}
	done := map[engine.ParticipantAction]string{engine.ParticipantAdd: "added", engine.ParticipantRemove: "removed",
		engine.ParticipantPromote: "promoted", engine.ParticipantDemote: "demoted"}[action]
	out := make([]engine.ParticipantResult, 0, len(participants))
	for _, p := range participants {
		idx := -1
		for i, m := range g.Participants {
			if m.JID == p {
				idx = i
			}
		}
		r := engine.ParticipantResult{Participant: p, Status: done, Code: 200}
		phone := engine.PhoneOf(p)
		switch {
		case strings.HasSuffix(phone, "404"):
			r.Status, r.Code, r.Reason = "failed", 404, "no WhatsApp account, or not a member of the group"
		case action == engine.ParticipantAdd && idx >= 0:
			r.Status, r.Code, r.Reason = "failed", 409, "already a member of the group"
		case action == engine.ParticipantAdd && strings.HasSuffix(phone, "403"):
			r.Status, r.Code, r.Reason = "invited", 403, "WhatsApp refused to add them (their privacy settings): an invitation to join was sent to them"
			r.InviteLink = fmt.Sprintf("https://chat.whatsapp.com/MOCK%s%d", strings.Split(jid, "@")[0], e.seq)
		case action == engine.ParticipantAdd:
			g.Participants = append(g.Participants, engine.Participant{JID: p})
		case idx < 0:
			r.Status, r.Code, r.Reason = "failed", 404, "no WhatsApp account, or not a member of the group"
		case action == engine.ParticipantRemove:
			g.Participants = append(g.Participants[:idx], g.Participants[idx+1:]...)
		case action == engine.ParticipantPromote:
			g.Participants[idx].IsAdmin = true
		case action == engine.ParticipantDemote:
			g.Participants[idx].IsAdmin = false
		}
		out = append(out, r)
	}
	e.emit(ctx, engine.GroupUpdated{Group: copyGroup(g), Changed: []string{"participants"}})
	return out, nil
}

// LID: the mock's users have no LIDs.
func (e *Engine) LID(ctx context.Context, jid string) (engine.LIDPair, error) {
	return engine.LIDPair{}, fmt.Errorf("no LID known for %s: %w", jid, engine.ErrNotFound)
}

// SetGroupInfo changes the subject and/or description.
func (e *Engine) SetGroupInfo(ctx context.Context, jid string, subject, description *string) (*engine.Group, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, ok := e.groups[jid]
	if !ok {
		return nil, fmt.Errorf("group %s: %w", jid, engine.ErrNotFound)
	}
	var changed []string
	if subject != nil {
		g.Subject = *subject
		changed = append(changed, "subject")
	}
	if description != nil {
		g.Description = *description
		changed = append(changed, "description")
	}
	cp := copyGroup(g)
	e.emit(ctx, engine.GroupUpdated{Group: cp, Changed: changed})
	return &cp, nil
}

// InviteLink returns (or, with revoke, replaces) the group's invite link.
func (e *Engine) InviteLink(ctx context.Context, jid string, revoke bool) (string, error) {
	if _, err := e.Group(ctx, jid); err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if revoke {
		e.seq++
	}
	return fmt.Sprintf("https://chat.whatsapp.com/MOCK%s%d", strings.Split(jid, "@")[0], e.seq), nil
}

// LeaveGroup leaves (and forgets) a group.
func (e *Engine) LeaveGroup(ctx context.Context, jid string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.groups[jid]; !ok {
		return fmt.Errorf("group %s: %w", jid, engine.ErrNotFound)
	}
	delete(e.groups, jid)
	return nil
}
