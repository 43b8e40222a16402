package fakewa

import (
	"context"
	"fmt"
	"slices"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// group is a group chat on this WhatsApp. Members are addressed by LID, as
// WhatsApp does for new groups.
type group struct {
	jid            types.JID
	subject, topic string
	topicID        string
	creator        types.JID
	created        time.Time
	members        []types.JID       // LIDs
	roles          map[string]string // LID user → admin / superadmin
	invite         string
}

// Members are the contacts in a group (the linked account is not a contact).
func (s *Server) members(jid types.JID) []*Contact {
	s.mu.Lock()
	g := s.groups[jid.User]
	var users []string
	if g != nil {
		for _, m := range g.members {
			users = append(users, m.User)
		}
	}
	s.mu.Unlock()
	var out []*Contact
	for _, u := range users {
		if ct := s.contact(u); ct != nil {
			out = append(out, ct)
		}
	}
	return out
}

// GroupMembers lists the phone numbers (or, for the linked account, the LID) of a group's members.
func (s *Server) GroupMembers(jid types.JID) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[jid.User]
	if g == nil {
		return nil
	}
	var out []string
	for _, m := range g.members {
		if ct := s.contacts[m.User]; ct != nil {
			out = append(out, ct.JID.User)
		} else {
			out = append(out, m.User)
		}
	}
	return out
}

func iqError(code int, text string) waBinary.Node {
	return waBinary.Node{Tag: "error", Attrs: waBinary.Attrs{"code": code, "text": text}}
}

// groupIQ answers the w:g2 queries: list, info, create, membership, subject,
// description, invite links, leave. It returns the reply's content, or an
// error node.
func (s *Server) groupIQ(c *Conn, n *waBinary.Node) (content []waBinary.Node, errNode *waBinary.Node) {
	to, _ := n.Attrs["to"].(types.JID)
	me := types.NewJID(lidOf(c.Payload.GetUsername()), types.HiddenUserServer)
	children := n.GetChildren()
	if len(children) == 0 {
		e := iqError(400, "bad-request")
		return nil, &e
	}
	q := children[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	if to.User == "" { // the groups server itself
		switch q.Tag {
		case "participating":
			var list []waBinary.Node
			for _, g := range s.groups {
				if slices.Contains(g.members, me) {
					list = append(list, s.groupNode(g))
				}
			}
			return []waBinary.Node{{Tag: "groups", Content: list}}, nil
		case "create":
			subject, _ := q.Attrs["subject"].(string)
			g := s.newGroupLocked(subject, me)
			for _, p := range q.GetChildrenByTag("participant") {
				if lid, ok := s.lidLocked(p.Attrs["jid"]); ok {
					g.members = append(g.members, lid)
				}
			}
			return []waBinary.Node{s.groupNode(g)}, nil
		case "leave":
			for _, gn := range q.GetChildrenByTag("group") {
				jid, _ := gn.Attrs["id"].(types.JID)
				if g := s.groups[jid.User]; g != nil {
					g.members = slices.DeleteFunc(g.members, func(j types.JID) bool { return j == me })
				}
			}
			return nil, nil
		}
		e := iqError(501, "feature-not-implemented")
		return nil, &e
	}
	g := s.groups[to.User]
	if g == nil {
		e := iqError(404, "item-not-found")
		return nil, &e
	}
	if !slices.Contains(g.members, me) {
		e := iqError(403, "forbidden")
		return nil, &e
	}
	switch q.Tag {
	case "query":
		return []waBinary.Node{s.groupNode(g)}, nil
	case "add", "remove", "promote", "demote":
		defer func() { // members hear of the changes made, not of the refused ones
			var made []waBinary.Node
			for _, p := range content[0].GetChildren() {
				if p.Attrs["error"] == nil {
					made = append(made, p)
				}
			}
			c.notifyLater(groupNotification(g, me, waBinary.Node{Tag: q.Tag, Content: made}))
		}()
		var done []waBinary.Node
		for _, p := range q.GetChildrenByTag("participant") {
			lid, ok := s.lidLocked(p.Attrs["jid"])
			if !ok {
				done = append(done, waBinary.Node{Tag: "participant", Attrs: waBinary.Attrs{"jid": p.Attrs["jid"], "error": "404"}})
				continue
			}
			switch q.Tag {
			case "add":
				if slices.Contains(g.members, lid) {
					done = append(done, waBinary.Node{Tag: "participant", Attrs: waBinary.Attrs{"jid": lid, "error": "409",
						"phone_number": s.contacts[lid.User].JID}})
					continue
				}
				if ct := s.contacts[lid.User]; ct != nil && ct.RefuseAdds {
					// Their privacy settings: WhatsApp hands out an add request to invite them with.
					done = append(done, waBinary.Node{Tag: "participant", Attrs: waBinary.Attrs{"jid": lid, "error": "403",
						"phone_number": ct.JID}, Content: []waBinary.Node{{Tag: "add_request", Attrs: waBinary.Attrs{
						"code": "ADDREQ" + lid.User, "expiration": time.Now().Add(72 * time.Hour).Unix()}}}})
					continue
				}
				g.members = append(g.members, lid)
			case "remove":
				g.members = slices.DeleteFunc(g.members, func(j types.JID) bool { return j == lid })
				delete(g.roles, lid.User)
			case "promote":
				g.roles[lid.User] = "admin"
			case "demote":
				delete(g.roles, lid.User)
			}
			a := waBinary.Attrs{"jid": lid}
			if ct := s.contacts[lid.User]; ct != nil {
				a["phone_number"] = ct.JID
			}
			done = append(done, waBinary.Node{Tag: "participant", Attrs: a})
		}
		return []waBinary.Node{{Tag: q.Tag, Content: done}}, nil
	case "subject":
		b, _ := q.Content.([]byte)
		g.subject = string(b)
		c.notifyLater(groupNotification(g, me, waBinary.Node{Tag: "subject", Attrs: waBinary.Attrs{"subject": g.subject,
			"s_o": me, "s_t": time.Now().Unix()}}))
		return nil, nil
	case "description":
		b, _ := q.GetChildByTag("body").Content.([]byte)
		g.topic, g.topicID = string(b), fmt.Sprintf("topic%d", time.Now().UnixNano())
		c.notifyLater(groupNotification(g, me, waBinary.Node{Tag: "description", Attrs: waBinary.Attrs{"id": g.topicID},
			Content: []waBinary.Node{{Tag: "body", Content: []byte(g.topic)}}}))
		return nil, nil
	case "invite":
		if n.Attrs["type"] == "set" { // reset: the old link stops working
			s.groupSeq++
			g.invite = fmt.Sprintf("INVITE%d", s.groupSeq)
		}
		return []waBinary.Node{{Tag: "invite", Attrs: waBinary.Attrs{"code": g.invite}}}, nil
	}
	e := iqError(501, "feature-not-implemented")
	return nil, &e
}

// groupNotification tells members of a change, as WhatsApp does (w:gp2).
func groupNotification(g *group, by types.JID, change waBinary.Node) waBinary.Node {
	return waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{"type": "w:gp2", "id": fmt.Sprintf("gp2-%d", time.Now().UnixNano()),
		"from": g.jid, "participant": by, "t": time.Now().Unix()}, Content: []waBinary.Node{change}}
}

// ChangeSubject plays a member renaming the group: every linked device hears of it.
func (s *Server) ChangeSubject(ctx context.Context, jid types.JID, by *Contact, subject string) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	s.mu.Lock()
	g := s.groups[jid.User]
	if g != nil {
		g.subject = subject
	}
	s.mu.Unlock()
	if g == nil {
		return fmt.Errorf("no group %s", jid)
	}
	return c.Send(ctx, groupNotification(g, by.LID, waBinary.Node{Tag: "subject", Attrs: waBinary.Attrs{"subject": subject,
		"s_o": by.LID, "s_t": time.Now().Unix()}}))
}

// newGroupLocked makes a group owned by owner; s.mu is held.
func (s *Server) newGroupLocked(subject string, owner types.JID) *group {
	s.groupSeq++
	g := &group{jid: types.NewJID(fmt.Sprintf("1203630%08d", s.groupSeq), types.GroupServer), subject: subject,
		creator: owner, created: time.Now(), members: []types.JID{owner}, roles: map[string]string{owner.User: "superadmin"},
		invite: fmt.Sprintf("INVITE%d", s.groupSeq)}
	s.groups[g.jid.User] = g
	return g
}

// lidLocked finds the LID of a participant named by phone JID or LID; s.mu is held.
func (s *Server) lidLocked(v any) (types.JID, bool) {
	jid, ok := v.(types.JID)
	if !ok {
		return types.JID{}, false
	}
	if ct := s.contacts[jid.User]; ct != nil {
		return ct.LID, true
	}
	return types.JID{}, false
}

func (s *Server) groupNode(g *group) waBinary.Node {
	var parts []waBinary.Node
	for _, m := range g.members {
		a := waBinary.Attrs{"jid": m}
		if ct := s.contacts[m.User]; ct != nil {
			a["phone_number"] = ct.JID
		}
		if r := g.roles[m.User]; r != "" {
			a["type"] = r
		}
		parts = append(parts, waBinary.Node{Tag: "participant", Attrs: a})
	}
	if g.topic != "" {
		parts = append(parts, waBinary.Node{Tag: "description", Attrs: waBinary.Attrs{"id": g.topicID, "t": time.Now().Unix()},
			Content: []waBinary.Node{{Tag: "body", Content: []byte(g.topic)}}})
	}
	return waBinary.Node{Tag: "group", Attrs: waBinary.Attrs{"id": g.jid.User, "subject": g.subject, "creator": g.creator,
		"creation": g.created.Unix(), "s_t": g.created.Unix(), "addressing_mode": "lid", "size": len(g.members)},
		Content: parts}
}
