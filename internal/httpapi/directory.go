package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openwa/openwa/internal/directory"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/message"
)

// Contacts, groups and chats: each handler decodes, calls one method of the
// directory service and encodes. The service finds the READY engine,
// normalizes ids and maps engine errors; see package directory.

// ContactPath names a contact of a session.
type ContactPath struct {
	SessionPath
	ContactID string `path:"contactId" maxLength:"128" doc:"Phone number or user JID."`
}

type listInput struct {
	SessionPath
	PageQuery
}

type chatMessagesInput struct {
	ChatPath
	PageQuery
}

type listContactsInput struct {
	SessionPath
	PageQuery
	Search string `query:"search" maxLength:"128" doc:"Keep contacts whose name, push name or phone contains this (any case)."`
}

type lidInput struct {
	SessionPath
	LID string `path:"lid" maxLength:"64" doc:"A LID (digits, with or without @lid)."`
}

type lidByPhoneInput struct {
	SessionPath
	Phone string `path:"phone" maxLength:"64" doc:"Phone number with country code, or a user JID."`
}

type checkPhoneInput struct {
	SessionPath
	Phone string `path:"phone" maxLength:"32" doc:"Phone number with country code."`
}

// PhoneCheck says whether a number has a WhatsApp account.
type PhoneCheck struct {
	Exists bool    `json:"exists"`
	JID    *string `json:"jid" doc:"The account's JID when it exists."`
}

// ProfilePicture is a contact's or group's picture.
type ProfilePicture struct {
	URL *string `json:"url" doc:"Where to download the picture; null when none is set or it is hidden from this account."`
}

// GroupPath names a group of a session.
type GroupPath struct {
	SessionPath
	GroupID string `path:"groupId" maxLength:"128" doc:"Group JID (…@g.us)."`
}

type createGroupInput struct {
	SessionPath
	Body struct {
		Name         string   `json:"name" minLength:"1" maxLength:"100"`
		Participants []string `json:"participants" minItems:"1" maxItems:"256" doc:"Phone numbers or user JIDs."`
	}
}

type updateGroupInput struct {
	GroupPath
	Body struct {
		Subject     *string `json:"subject,omitempty" minLength:"1" maxLength:"100"`
		Description *string `json:"description,omitempty" maxLength:"2048" doc:"An empty string removes the description."`
	}
}

type participantsInput struct {
	GroupPath
	Action string `path:"action" enum:"add,remove,promote,demote"`
	Body   struct {
		Participants []string `json:"participants" minItems:"1" maxItems:"256" doc:"Phone numbers or user JIDs."`
	}
}

// InviteLink is a group's invite link.
type InviteLink struct {
	URL string `json:"url"`
}

// ChatPath names a chat of a session.
type ChatPath struct {
	SessionPath
	ChatID string `path:"chatId" maxLength:"128" doc:"Phone number, user JID or group JID."`
}

type readChatInput struct {
	ChatPath
	Body struct {
		MessageIDs []string `json:"messageIds" minItems:"1" maxItems:"256" doc:"Ids (or WhatsApp ids) of the messages read."`
	}
}

type presenceInput struct {
	ChatPath
	Body struct {
		State engine.Presence `json:"state" enum:"typing,recording,paused"`
	}
}

// Done is the answer of an action that returns nothing else.
type Done struct {
	OK bool `json:"ok"`
}

// directoryRoutes registers every operation of this file. Each is of scope
// session (the session of the {id} path parameter), marked /* scopeSession */
// until op takes the scope as its first argument.
func (s *Server) directoryRoutes() {
	s.dir = directory.New(s.opts.Sessions, s.opts.Messages)

	tag := "Contacts"
	huma.Register(s.api, op(scopeSession, "list-contacts", http.MethodGet, "/api/sessions/{id}/contacts", "List contacts", tag),
		s.listContacts)
	huma.Register(s.api, op(scopeSession, "check-phone", http.MethodGet, "/api/sessions/{id}/contacts/check/{phone}",
		"Is this number on WhatsApp", tag), s.checkPhone)
	huma.Register(s.api, op(scopeSession, "get-contact", http.MethodGet, "/api/sessions/{id}/contacts/{contactId}",
		"One contact", tag), s.getContact)
	huma.Register(s.api, op(scopeSession, "get-profile-picture", http.MethodGet,
		"/api/sessions/{id}/contacts/{contactId}/profile-picture", "A contact's profile picture", tag), s.getProfilePicture)
	huma.Register(s.api, op(scopeSession, "block-contact", http.MethodPost, "/api/sessions/{id}/contacts/{contactId}/block",
		"Block a contact", tag), s.blockContact)
	huma.Register(s.api, op(scopeSession, "unblock-contact", http.MethodPost, "/api/sessions/{id}/contacts/{contactId}/unblock",
		"Unblock a contact", tag), s.unblockContact)

	// LIDs (WhatsApp's phone-number-free ids) and phone JIDs, paired from
	// what the session's engine has learned.
	huma.Register(s.api, op(scopeSession, "get-lid", http.MethodGet, "/api/sessions/{id}/lids/{lid}",
		"The phone JID of a LID", tag), s.getLID)
	huma.Register(s.api, op(scopeSession, "get-lid-by-phone", http.MethodGet, "/api/sessions/{id}/lids/pn/{phone}",
		"The LID of a phone number", tag), s.getLIDByPhone)

	tag = "Groups"
	huma.Register(s.api, op(scopeSession, "list-groups", http.MethodGet, "/api/sessions/{id}/groups",
		"Groups the account is in", tag), s.listGroups)
	huma.Register(s.api, op(scopeSession, "get-group", http.MethodGet, "/api/sessions/{id}/groups/{groupId}", "One group", tag),
		s.getGroup)
	huma.Register(s.api, withStatus(op(scopeSession, "create-group", http.MethodPost, "/api/sessions/{id}/groups",
		"Create a group", tag), http.StatusCreated), s.createGroup)
	huma.Register(s.api, op(scopeSession, "update-group", http.MethodPut, "/api/sessions/{id}/groups/{groupId}",
		"Change a group's subject and/or description", tag), s.updateGroup)
	huma.Register(s.api, op(scopeSession, "update-group-participants", http.MethodPost,
		"/api/sessions/{id}/groups/{groupId}/participants/{action}", "Add, remove, promote or demote members", tag),
		s.updateGroupParticipants)
	huma.Register(s.api, op(scopeSession, "get-invite-link", http.MethodGet, "/api/sessions/{id}/groups/{groupId}/invite-link",
		"The group's invite link", tag), s.getInviteLink)
	huma.Register(s.api, op(scopeSession, "revoke-invite-link", http.MethodDelete, "/api/sessions/{id}/groups/{groupId}/invite-link",
		"Revoke the invite link; the answer is the new one", tag), s.revokeInviteLink)
	huma.Register(s.api, op(scopeSession, "leave-group", http.MethodPost, "/api/sessions/{id}/groups/{groupId}/leave",
		"Leave a group", tag), s.leaveGroup)

	tag = "Chats"
	huma.Register(s.api, op(scopeSession, "list-chats", http.MethodGet, "/api/sessions/{id}/chats",
		"Chats, the most recently active first, with their last message and unread count", tag), s.listChats)
	huma.Register(s.api, op(scopeSession, "list-chat-messages", http.MethodGet, "/api/sessions/{id}/chats/{chatId}/messages",
		"A chat's messages, newest first", tag), s.listChatMessages)
	huma.Register(s.api, op(scopeSession, "read-chat", http.MethodPost, "/api/sessions/{id}/chats/{chatId}/read",
		"Send read receipts for messages of a chat", tag), s.readChat)
	huma.Register(s.api, op(scopeSession, "send-presence", http.MethodPost, "/api/sessions/{id}/chats/{chatId}/presence",
		"Show typing, recording, or nothing, in a chat", tag), s.sendPresence)
}

func page(q PageQuery) directory.Page { return directory.Page{Limit: q.Limit, Offset: q.offset()} }

func (s *Server) listContacts(ctx context.Context, in *listContactsInput) (*ListOut[engine.Contact], error) {
	list, total, err := s.dir.Contacts(ctx, in.ID, in.Search, page(in.PageQuery))
	if err != nil {
		return nil, err
	}
	return replyList(ctx, list, in.PageQuery, total), nil
}

func (s *Server) checkPhone(ctx context.Context, in *checkPhoneInput) (*Out[PhoneCheck], error) {
	ok, jid, err := s.dir.CheckPhone(ctx, in.ID, in.Phone)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, PhoneCheck{Exists: ok, JID: optString(jid)}), nil
}

func (s *Server) getContact(ctx context.Context, in *ContactPath) (*Out[*engine.Contact], error) {
	c, err := s.dir.Contact(ctx, in.ID, in.ContactID)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, c), nil
}

func (s *Server) getProfilePicture(ctx context.Context, in *ContactPath) (*Out[ProfilePicture], error) {
	url, err := s.dir.ProfilePictureURL(ctx, in.ID, in.ContactID)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, ProfilePicture{URL: optString(url)}), nil
}

func (s *Server) blockContact(ctx context.Context, in *ContactPath) (*Out[Done], error) {
	return s.setBlocked(ctx, in, true)
}

func (s *Server) unblockContact(ctx context.Context, in *ContactPath) (*Out[Done], error) {
	return s.setBlocked(ctx, in, false)
}

func (s *Server) setBlocked(ctx context.Context, in *ContactPath, blocked bool) (*Out[Done], error) {
	if err := s.dir.SetBlocked(ctx, in.ID, in.ContactID, blocked); err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, Done{OK: true}), nil
}

func (s *Server) getLID(ctx context.Context, in *lidInput) (*Out[engine.LIDPair], error) {
	pair, err := s.dir.LID(ctx, in.ID, in.LID)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, pair), nil
}

func (s *Server) getLIDByPhone(ctx context.Context, in *lidByPhoneInput) (*Out[engine.LIDPair], error) {
	pair, err := s.dir.LIDByPhone(ctx, in.ID, in.Phone)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, pair), nil
}

func (s *Server) listGroups(ctx context.Context, in *listInput) (*ListOut[engine.Group], error) {
	list, total, err := s.dir.Groups(ctx, in.ID, page(in.PageQuery))
	if err != nil {
		return nil, err
	}
	return replyList(ctx, list, in.PageQuery, total), nil
}

func (s *Server) getGroup(ctx context.Context, in *GroupPath) (*Out[*engine.Group], error) {
	g, err := s.dir.Group(ctx, in.ID, in.GroupID)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, g), nil
}

func (s *Server) createGroup(ctx context.Context, in *createGroupInput) (*Out[*engine.Group], error) {
	g, err := s.dir.CreateGroup(ctx, in.ID, in.Body.Name, in.Body.Participants)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusCreated, g), nil
}

func (s *Server) updateGroup(ctx context.Context, in *updateGroupInput) (*Out[*engine.Group], error) {
	g, err := s.dir.UpdateGroup(ctx, in.ID, in.GroupID, in.Body.Subject, in.Body.Description)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, g), nil
}

func (s *Server) updateGroupParticipants(ctx context.Context, in *participantsInput) (*Out[[]engine.ParticipantResult], error) {
	res, err := s.dir.UpdateParticipants(ctx, in.ID, in.GroupID, engine.ParticipantAction(in.Action), in.Body.Participants)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, res), nil
}

func (s *Server) getInviteLink(ctx context.Context, in *GroupPath) (*Out[InviteLink], error) {
	return s.inviteLink(ctx, in, false)
}

func (s *Server) revokeInviteLink(ctx context.Context, in *GroupPath) (*Out[InviteLink], error) {
	return s.inviteLink(ctx, in, true)
}

func (s *Server) inviteLink(ctx context.Context, in *GroupPath, revoke bool) (*Out[InviteLink], error) {
	link, err := s.dir.InviteLink(ctx, in.ID, in.GroupID, revoke)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, InviteLink{URL: link}), nil
}

func (s *Server) leaveGroup(ctx context.Context, in *GroupPath) (*Out[Done], error) {
	if err := s.dir.LeaveGroup(ctx, in.ID, in.GroupID); err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, Done{OK: true}), nil
}

func (s *Server) listChats(ctx context.Context, in *listInput) (*ListOut[message.Chat], error) {
	chats, total, err := s.dir.Chats(ctx, in.ID, page(in.PageQuery))
	if err != nil {
		return nil, err
	}
	return replyList(ctx, chats, in.PageQuery, total), nil
}

func (s *Server) listChatMessages(ctx context.Context, in *chatMessagesInput) (*ListOut[*message.Message], error) {
	list, total, err := s.dir.ChatMessages(ctx, in.ID, in.ChatID, page(in.PageQuery))
	if err != nil {
		return nil, err
	}
	return replyList(ctx, list, in.PageQuery, total), nil
}

func (s *Server) readChat(ctx context.Context, in *readChatInput) (*Out[Done], error) {
	if err := s.dir.MarkRead(ctx, in.ID, in.ChatID, in.Body.MessageIDs); err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, Done{OK: true}), nil
}

func (s *Server) sendPresence(ctx context.Context, in *presenceInput) (*Out[Done], error) {
	if err := s.dir.SendPresence(ctx, in.ID, in.ChatID, in.Body.State); err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, Done{OK: true}), nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
