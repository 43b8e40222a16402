package directory

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/message"
	"github.com/openwa/openwa/internal/session"
)

// Sessions finds sessions and the engines of READY ones.
type Sessions interface {
	Get(ctx context.Context, id string) (*session.Session, error)
	Ready(ctx context.Context, id string) (engine.Engine, *session.Session, error)
}

// Messages reads OpenWA's stored messages and chats.
type Messages interface {
	Chats(ctx context.Context, sessionID string, limit, offset int) ([]message.Chat, int, error)
	List(ctx context.Context, f message.ListFilter) ([]*message.Message, int, error)
	Read(ctx context.Context, sessionID, chatID string, refs []string, send func(sender string, waIDs []string) error) error
}

// Service is the directory of the sessions' accounts.
type Service struct {
	sessions Sessions
	messages Messages
}

// New returns the directory over sessions and their stored messages.
func New(sessions Sessions, messages Messages) *Service {
	return &Service{sessions: sessions, messages: messages}
}

// Page is one page of a list: the items from Offset, at most Limit.
type Page struct {
	Limit, Offset int
}

// cut returns the page of all and the total.
func cut[T any](all []T, p Page) ([]T, int) {
	end := min(p.Offset+p.Limit, len(all))
	return all[min(p.Offset, end):end], len(all)
}

// ready returns the engine of the READY session id.
func (s *Service) ready(ctx context.Context, sessionID string) (engine.Engine, error) {
	eng, _, err := s.sessions.Ready(ctx, sessionID)
	return eng, err
}

// Contacts lists a session's contacts ordered by JID; search keeps those
// whose name, push name or phone contains it (any case).
func (s *Service) Contacts(ctx context.Context, sessionID, search string, p Page) ([]engine.Contact, int, error) {
	eng, err := s.ready(ctx, sessionID)
	if err != nil {
		return nil, 0, err
	}
	all, err := eng.Contacts(ctx)
	if err != nil {
		return nil, 0, EngineError(err)
	}
	slices.SortFunc(all, func(a, b engine.Contact) int { return strings.Compare(a.JID, b.JID) })
	q := strings.ToLower(search)
	var hits []engine.Contact
	for _, c := range all {
		if q == "" || strings.Contains(strings.ToLower(c.Name+"\x00"+c.PushName+"\x00"+c.Phone), q) {
			hits = append(hits, c)
		}
	}
	page, total := cut(hits, p)
	return page, total, nil
}

// CheckPhone says whether phone has a WhatsApp account, and its JID if so.
func (s *Service) CheckPhone(ctx context.Context, sessionID, phone string) (bool, string, error) {
	p, err := engine.NormalizePhone(phone)
	if err != nil {
		return false, "", apperr.Field("phone", "want an international phone number with country code, 7 to 15 digits")
	}
	eng, err := s.ready(ctx, sessionID)
	if err != nil {
		return false, "", err
	}
	ok, jid, err := eng.IsOnWhatsApp(ctx, p)
	if err != nil {
		return false, "", EngineError(err)
	}
	return ok, jid, nil
}

// Contact returns one contact.
func (s *Service) Contact(ctx context.Context, sessionID, contactID string) (*engine.Contact, error) {
	jid, err := UserJID("contactId", contactID)
	if err != nil {
		return nil, err
	}
	eng, err := s.ready(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	c, err := eng.Contact(ctx, jid)
	if err != nil {
		return nil, notFoundAs(apperr.ContactNotFound, "contact "+jid, err)
	}
	return c, nil
}

// ProfilePictureURL returns where a contact's or group's picture is, or ""
// when none is set or it is hidden from this account.
func (s *Service) ProfilePictureURL(ctx context.Context, sessionID, contactID string) (string, error) {
	jid, err := ChatJID("contactId", contactID)
	if err != nil {
		return "", err
	}
	eng, err := s.ready(ctx, sessionID)
	if err != nil {
		return "", err
	}
	url, err := eng.ProfilePictureURL(ctx, jid)
	if err != nil {
		return "", notFoundAs(apperr.ContactNotFound, "contact "+jid, err)
	}
	return url, nil
}

// SetBlocked blocks or unblocks a contact.
func (s *Service) SetBlocked(ctx context.Context, sessionID, contactID string, blocked bool) error {
	jid, err := UserJID("contactId", contactID)
	if err != nil {
		return err
	}
	eng, err := s.ready(ctx, sessionID)
	if err != nil {
		return err
	}
	if err := eng.SetBlocked(ctx, jid, blocked); err != nil {
		return notFoundAs(apperr.ContactNotFound, "contact "+jid, err)
	}
	return nil
}

// LID returns the phone JID of a LID (digits, with or without @lid), from
// what the session's engine has learned.
func (s *Service) LID(ctx context.Context, sessionID, lid string) (engine.LIDPair, error) {
	v := lid
	if !strings.Contains(v, "@") {
		v += "@" + engine.LIDServer
	}
	jid, err := engine.NormalizeChatID(v)
	if err != nil || !strings.HasSuffix(jid, "@"+engine.LIDServer) {
		return engine.LIDPair{}, apperr.Field("lid", "want a LID: digits, with or without @lid")
	}
	return s.lidPair(ctx, sessionID, jid)
}

// LIDByPhone returns the LID of a phone number (or user JID).
func (s *Service) LIDByPhone(ctx context.Context, sessionID, phone string) (engine.LIDPair, error) {
	jid, err := engine.NormalizeChatID(phone)
	if err != nil || engine.PhoneOf(jid) == "" {
		return engine.LIDPair{}, apperr.Field("phone", "want a phone number with country code or a …@s.whatsapp.net JID")
	}
	return s.lidPair(ctx, sessionID, jid)
}

func (s *Service) lidPair(ctx context.Context, sessionID, jid string) (engine.LIDPair, error) {
	eng, err := s.ready(ctx, sessionID)
	if err != nil {
		return engine.LIDPair{}, err
	}
	pair, err := eng.LID(ctx, jid)
	if err != nil {
		return engine.LIDPair{}, notFoundAs(apperr.NotFound, "LID pair for "+jid, err)
	}
	return pair, nil
}

// Groups lists the groups the account is in, ordered by JID.
func (s *Service) Groups(ctx context.Context, sessionID string, p Page) ([]engine.Group, int, error) {
	eng, err := s.ready(ctx, sessionID)
	if err != nil {
		return nil, 0, err
	}
	all, err := eng.Groups(ctx)
	if err != nil {
		return nil, 0, EngineError(err)
	}
	slices.SortFunc(all, func(a, b engine.Group) int { return strings.Compare(a.JID, b.JID) })
	page, total := cut(all, p)
	return page, total, nil
}

// group runs f on a READY session's engine with a checked group id; the
// engine's "not found" becomes GROUP_NOT_FOUND.
func (s *Service) group(ctx context.Context, sessionID, groupID string, f func(engine.Engine, string) (*engine.Group, error)) (*engine.Group, error) {
	jid, err := GroupJID(groupID)
	if err != nil {
		return nil, err
	}
	eng, err := s.ready(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	g, err := f(eng, jid)
	if err != nil {
		return nil, notFoundAs(apperr.GroupNotFound, "group "+jid, err)
	}
	return g, nil
}

// Group returns one group.
func (s *Service) Group(ctx context.Context, sessionID, groupID string) (*engine.Group, error) {
	return s.group(ctx, sessionID, groupID, func(eng engine.Engine, jid string) (*engine.Group, error) {
		return eng.Group(ctx, jid)
	})
}

// CreateGroup creates a group with the participants (phone numbers or user JIDs).
func (s *Service) CreateGroup(ctx context.Context, sessionID, name string, participants []string) (*engine.Group, error) {
	ps, err := UserJIDs("participants", participants)
	if err != nil {
		return nil, err
	}
	eng, err := s.ready(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	g, err := eng.CreateGroup(ctx, name, ps)
	if err != nil {
		return nil, EngineError(err)
	}
	return g, nil
}

// UpdateGroup changes a group's subject and/or description; at least one is
// given, and an empty description removes it.
func (s *Service) UpdateGroup(ctx context.Context, sessionID, groupID string, subject, description *string) (*engine.Group, error) {
	if subject == nil && description == nil {
		return nil, apperr.Field("body", "give subject, description or both")
	}
	return s.group(ctx, sessionID, groupID, func(eng engine.Engine, jid string) (*engine.Group, error) {
		return eng.SetGroupInfo(ctx, jid, subject, description)
	})
}

// UpdateParticipants adds, removes, promotes or demotes members, and reports
// the outcome for each.
func (s *Service) UpdateParticipants(ctx context.Context, sessionID, groupID string, action engine.ParticipantAction,
	participants []string) ([]engine.ParticipantResult, error) {
	ps, err := UserJIDs("participants", participants)
	if err != nil {
		return nil, err
	}
	var res []engine.ParticipantResult
	_, err = s.group(ctx, sessionID, groupID, func(eng engine.Engine, jid string) (*engine.Group, error) {
		var err error
		res, err = eng.UpdateParticipants(ctx, jid, action, ps)
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// InviteLink returns a group's invite link; revoke replaces it first.
func (s *Service) InviteLink(ctx context.Context, sessionID, groupID string, revoke bool) (string, error) {
	var link string
	_, err := s.group(ctx, sessionID, groupID, func(eng engine.Engine, jid string) (*engine.Group, error) {
		var err error
		link, err = eng.InviteLink(ctx, jid, revoke)
		return nil, err
	})
	return link, err
}

// LeaveGroup leaves a group.
func (s *Service) LeaveGroup(ctx context.Context, sessionID, groupID string) error {
	_, err := s.group(ctx, sessionID, groupID, func(eng engine.Engine, jid string) (*engine.Group, error) {
		return nil, eng.LeaveGroup(ctx, jid)
	})
	return err
}

// Chats lists a session's chats from the stored messages, the most recently
// active first. The session must exist; it need not be READY.
func (s *Service) Chats(ctx context.Context, sessionID string, p Page) ([]message.Chat, int, error) {
	if _, err := s.sessions.Get(ctx, sessionID); err != nil {
		return nil, 0, err
	}
	return s.messages.Chats(ctx, sessionID, p.Limit, p.Offset)
}

// ChatMessages lists a chat's stored messages, newest first.
func (s *Service) ChatMessages(ctx context.Context, sessionID, chatID string, p Page) ([]*message.Message, int, error) {
	jid, err := ChatJID("chatId", chatID)
	if err != nil {
		return nil, 0, err
	}
	if _, err := s.sessions.Get(ctx, sessionID); err != nil {
		return nil, 0, err
	}
	return s.messages.List(ctx, message.ListFilter{SessionID: sessionID, ChatID: jid, Limit: p.Limit, Offset: p.Offset})
}

// MarkRead sends read receipts for messages of a chat, given by OpenWA id
// or WhatsApp id.
func (s *Service) MarkRead(ctx context.Context, sessionID, chatID string, messageIDs []string) error {
	jid, err := ChatJID("chatId", chatID)
	if err != nil {
		return err
	}
	eng, err := s.ready(ctx, sessionID)
	if err != nil {
		return err
	}
	return s.messages.Read(ctx, sessionID, jid, messageIDs, func(sender string, ids []string) error {
		if err := eng.MarkRead(ctx, jid, sender, ids); err != nil {
			return EngineError(err)
		}
		return nil
	})
}

// SendPresence shows typing, recording, or nothing, in a chat.
func (s *Service) SendPresence(ctx context.Context, sessionID, chatID string, state engine.Presence) error {
	jid, err := ChatJID("chatId", chatID)
	if err != nil {
		return err
	}
	eng, err := s.ready(ctx, sessionID)
	if err != nil {
		return err
	}
	if err := eng.SendPresence(ctx, jid, state); err != nil {
		return EngineError(err)
	}
	return nil
}

// ChatJID reads any chat id (user, group or LID); field names it in the error.
func ChatJID(field, s string) (string, error) {
	jid, err := engine.NormalizeChatID(s)
	if err != nil {
		return "", apperr.Field(field, err.Error())
	}
	return jid, nil
}

// UserJID reads a contact id; field names it in the error.
func UserJID(field, s string) (string, error) {
	jid, err := engine.NormalizeChatID(s)
	if err != nil || engine.IsGroup(jid) || engine.IsChannel(jid) {
		return "", apperr.Field(field, "want a phone number with country code or a user JID")
	}
	return jid, nil
}

// UserJIDs reads a list of contact ids.
func UserJIDs(field string, in []string) ([]string, error) {
	out := make([]string, len(in))
	for i, p := range in {
		jid, err := UserJID(field, p)
		if err != nil {
			return nil, err
		}
		out[i] = jid
	}
	return out, nil
}

// GroupJID reads a group id.
func GroupJID(s string) (string, error) {
	jid, err := engine.NormalizeChatID(s)
	if err != nil || !engine.IsGroup(jid) {
		return "", apperr.Field("groupId", "want a group JID (…@g.us)")
	}
	return jid, nil
}

// EngineError translates engine failures into API errors.
func EngineError(err error) error {
	if _, ok := apperr.As(err); ok {
		return err
	}
	switch {
	case errors.Is(err, engine.ErrNotConnected), errors.Is(err, engine.ErrNotPaired):
		return apperr.New(apperr.SessionNotReady, "the session is not connected").Wrap(err)
	case errors.Is(err, engine.ErrNotFound):
		return apperr.New(apperr.NotFound, "%v", err).Wrap(err)
	case errors.Is(err, engine.ErrUnsupported):
		return apperr.New(apperr.EngineNotSupported, "the session's engine cannot do this").Wrap(err)
	case errors.Is(err, engine.ErrBadChatID):
		return apperr.Field("chatId", engine.ErrBadChatID.Error())
	}
	return apperr.New(apperr.EngineError, "the engine failed: %v", err).Wrap(err)
}

// notFoundAs turns the engine's "not found" into the resource's own code.
func notFoundAs(code apperr.Code, what string, err error) error {
	if mapped := EngineError(err); !apperr.Is(mapped, apperr.NotFound) {
		return mapped
	}
	return apperr.New(code, "%s not found", what).Wrap(err)
}
