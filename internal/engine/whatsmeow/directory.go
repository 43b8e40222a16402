package whatsmeow

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/openwa/openwa/internal/engine"
)

// Contacts are the users whatsmeow's store knows: the address book synced from
// the phone, and everyone whose push name was seen.
func (e *Engine) Contacts(ctx context.Context) ([]engine.Contact, error) {
	cli, err := e.conn()
	if err != nil {
		return nil, err
	}
	all, err := cli.Store.Contacts.GetAllContacts(ctx)
	if err != nil {
		return nil, err
	}
	blocked := map[types.JID]bool{}
	if bl, err := cli.GetBlocklist(ctx); err == nil {
		for _, j := range bl.JIDs {
			blocked[e.phoneJID(j)] = true
		}
	}
	seen := map[types.JID]bool{}
	out := make([]engine.Contact, 0, len(all))
	for jid, info := range all {
		id := e.phoneJID(jid) // the phone JID where known; a LID-only contact keeps its LID
		if seen[id] || (id.Server != types.DefaultUserServer && id.Server != types.HiddenUserServer) {
			continue // the same person under both ids
		}
		seen[id] = true
		c := contact(id, info, blocked[id])
		if id.Server == types.DefaultUserServer {
			if lid, err := cli.Store.LIDs.GetLIDForPN(ctx, id); err == nil && !lid.IsEmpty() {
				c.LID = lid.ToNonAD().String()
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// contact describes a user by phone JID, or by LID when no phone is known.
func contact(id types.JID, info types.ContactInfo, blocked bool) engine.Contact {
	c := engine.Contact{JID: id.String(), Phone: id.User, Name: info.FullName, PushName: info.PushName,
		IsBusiness: info.BusinessName != "", IsBlocked: blocked, IsMyContact: info.FullName != ""}
	if id.Server == types.HiddenUserServer {
		c.Phone, c.LID = "", id.String()
	}
	return c
}

// Contact is one user the store knows, by phone JID.
func (e *Engine) Contact(ctx context.Context, jid string) (*engine.Contact, error) {
	cli, pn, err := e.target(jid, parseJID)
	if err != nil {
		return nil, err
	}
	info, err := cli.Store.Contacts.GetContact(ctx, pn)
	if err == nil && !info.Found {
		if lid, lerr := cli.Store.LIDs.GetLIDForPN(ctx, pn); lerr == nil && !lid.IsEmpty() {
			info, err = cli.Store.Contacts.GetContact(ctx, lid)
		}
	}
	if err != nil {
		return nil, err
	}
	if !info.Found {
		return nil, fmt.Errorf("contact %s: %w", jid, engine.ErrNotFound)
	}
	c := contact(pn, info, false)
	if pn.Server == types.DefaultUserServer {
		if lid, err := cli.Store.LIDs.GetLIDForPN(ctx, pn); err == nil && !lid.IsEmpty() {
			c.LID = lid.ToNonAD().String()
		}
	}
	return &c, nil
}

// ProfilePictureURL is the URL of a user's or group's picture, "" when none is set.
func (e *Engine) ProfilePictureURL(ctx context.Context, jid string) (string, error) {
	cli, j, err := e.target(jid, parseJID)
	if err != nil {
		return "", err
	}
	info, err := cli.GetProfilePictureInfo(ctx, j, nil)
	if errors.Is(err, whatsmeow.ErrProfilePictureNotSet) || (err == nil && info == nil) {
		return "", nil
	}
	if err != nil {
		return "", notFound(err)
	}
	return info.URL, nil
}

// IsOnWhatsApp asks WhatsApp whether a phone number has an account.
func (e *Engine) IsOnWhatsApp(ctx context.Context, phone string) (bool, string, error) {
	cli, err := e.conn()
	if err != nil {
		return false, "", err
	}
	p, err := engine.NormalizePhone(phone)
	if err != nil {
		return false, "", err
	}
	res, err := cli.IsOnWhatsApp(ctx, []string{"+" + p})
	if err != nil {
		return false, "", err
	}
	for _, r := range res {
		if !r.IsIn {
			continue
		}
		jid := r.PhoneNumber
		if jid.IsEmpty() {
			jid = r.JID
		}
		return true, jid.ToNonAD().String(), nil
	}
	return false, "", nil
}

// SetBlocked blocks or unblocks a user.
func (e *Engine) SetBlocked(ctx context.Context, jid string, blocked bool) error {
	cli, j, err := e.target(jid, parseJID)
	if err != nil {
		return err
	}
	action := events.BlocklistChangeActionUnblock
	if blocked {
		action = events.BlocklistChangeActionBlock
	}
	_, err = cli.UpdateBlocklist(ctx, j, action)
	return err
}

// LID pairs a user's LID and phone JID from the device store (whatsmeow's
// LID map, filled from messages, usync answers and groups).
func (e *Engine) LID(ctx context.Context, jid string) (engine.LIDPair, error) {
	cli, err := e.conn()
	if err != nil {
		return engine.LIDPair{}, err
	}
	j, err := parseJID(jid)
	if err != nil {
		return engine.LIDPair{}, err
	}
	var other types.JID
	switch j.Server {
	case types.HiddenUserServer:
		other, err = cli.Store.LIDs.GetPNForLID(ctx, j)
	case types.DefaultUserServer:
		other, err = cli.Store.LIDs.GetLIDForPN(ctx, j)
	default:
		return engine.LIDPair{}, fmt.Errorf("%s is not a user: %w", jid, engine.ErrNotFound)
	}
	if err != nil {
		return engine.LIDPair{}, err
	}
	if other.IsEmpty() {
		return engine.LIDPair{}, fmt.Errorf("no LID known for %s: %w", jid, engine.ErrNotFound)
	}
	if j.Server == types.HiddenUserServer {
		return engine.LIDPair{LID: j.ToNonAD().String(), PN: other.ToNonAD().String()}, nil
	}
	return engine.LIDPair{LID: other.ToNonAD().String(), PN: j.ToNonAD().String()}, nil
}

// Groups are the groups the linked account is in.
func (e *Engine) Groups(ctx context.Context) ([]engine.Group, error) {
	cli, err := e.conn()
	if err != nil {
		return nil, err
	}
	gs, err := cli.GetJoinedGroups(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]engine.Group, 0, len(gs))
	for _, g := range gs {
		out = append(out, *group(g))
	}
	return out, nil
}

// groupJID parses a group id.
func groupJID(s string) (types.JID, error) {
	j, err := parseJID(s)
	if err == nil && j.Server != types.GroupServer {
		err = fmt.Errorf("not a group: %q", s)
	}
	return j, err
}

// Group is one group, fresh from WhatsApp.
func (e *Engine) Group(ctx context.Context, jid string) (*engine.Group, error) {
	cli, j, err := e.target(jid, groupJID)
	if err != nil {
		return nil, err
	}
	g, err := cli.GetGroupInfo(ctx, j)
	if err != nil {
		return nil, notFound(err)
	}
	return group(g), nil
}

func jids(ids []string) ([]types.JID, error) {
	out := make([]types.JID, len(ids))
	for i, s := range ids {
		j, err := parseJID(s)
		if err != nil {
			return nil, err
		}
		out[i] = j
	}
	return out, nil
}

// CreateGroup creates a group with the linked account as its owner.
func (e *Engine) CreateGroup(ctx context.Context, name string, participants []string) (*engine.Group, error) {
	cli, err := e.conn()
	if err != nil {
		return nil, err
	}
	ps, err := jids(participants)
	if err != nil {
		return nil, err
	}
	g, err := cli.CreateGroup(ctx, whatsmeow.ReqCreateGroup{Name: name, Participants: ps})
	if err != nil {
		return nil, err
	}
	return group(g), nil
}

// UpdateParticipants adds, removes, promotes or demotes members and reports
// what WhatsApp answered for each. A person whose privacy settings refuse
// being added (403 with an add request) is sent an invitation to join
// instead, as the phone does, and the group's invite link is reported too.
func (e *Engine) UpdateParticipants(ctx context.Context, jid string, action engine.ParticipantAction, participants []string) ([]engine.ParticipantResult, error) {
	cli, j, err := e.target(jid, groupJID)
	if err != nil {
		return nil, err
	}
	ps, err := jids(participants)
	if err != nil {
		return nil, err
	}
	answers, err := cli.UpdateGroupParticipants(ctx, j, ps, whatsmeow.ParticipantChange(action))
	if err != nil {
		return nil, notFound(err)
	}
	out := make([]engine.ParticipantResult, 0, len(answers))
	var link string
	for _, a := range answers {
		who, _ := phoneOf(cmp.Or(a.PhoneNumber, a.JID), a.LID, e.pnOf)
		r := participantResult(action, who.String(), a.Error)
		if a.Error == 403 && a.AddRequest != nil && action == engine.ParticipantAdd {
			if link == "" {
				link, _ = cli.GetGroupInviteLink(ctx, j, false)
			}
			if err := e.sendAddRequest(ctx, cli, j, a); err != nil {
				e.log().Warn("cannot send group invitation", "group", j.String(), "err", err)
				r.Reason = "WhatsApp refused to add them (their privacy settings) and the invitation could not be sent: share the invite link"
			} else {
				r.Status, r.Reason = "invited", "WhatsApp refused to add them (their privacy settings): an invitation to join was sent to them"
			}
			r.InviteLink = link
		}
		out = append(out, r)
	}
	return out, nil
}

// sendAddRequest sends the invitation WhatsApp's add request allows: a
// message with the request's code, which lets its recipient join.
func (e *Engine) sendAddRequest(ctx context.Context, cli *whatsmeow.Client, group types.JID, a types.GroupParticipant) error {
	var subject string
	if info, err := cli.GetGroupInfo(ctx, group); err == nil {
		subject = info.Name
	}
	_, err := cli.SendMessage(ctx, a.JID.ToNonAD(), groupInvite(group, subject, a.AddRequest))
	return err
}

// SetGroupInfo changes the subject and/or the description.
func (e *Engine) SetGroupInfo(ctx context.Context, jid string, subject, description *string) (*engine.Group, error) {
	cli, j, err := e.target(jid, groupJID)
	if err != nil {
		return nil, err
	}
	if subject != nil {
		if err := cli.SetGroupName(ctx, j, *subject); err != nil {
			return nil, notFound(err)
		}
	}
	if description != nil {
		if err := cli.SetGroupTopic(ctx, j, "", "", *description); err != nil {
			return nil, notFound(err)
		}
	}
	return e.Group(ctx, jid)
}

// InviteLink is the group's invite link; revoke makes a new one and kills the old.
func (e *Engine) InviteLink(ctx context.Context, jid string, revoke bool) (string, error) {
	cli, j, err := e.target(jid, groupJID)
	if err != nil {
		return "", err
	}
	link, err := cli.GetGroupInviteLink(ctx, j, revoke)
	return link, notFound(err)
}

// LeaveGroup leaves a group.
func (e *Engine) LeaveGroup(ctx context.Context, jid string) error {
	cli, j, err := e.target(jid, groupJID)
	if err != nil {
		return err
	}
	return notFound(cli.LeaveGroup(ctx, j))
}
