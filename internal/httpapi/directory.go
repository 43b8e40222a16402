package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/message"
)

// Contacts, groups and chats. All but the chat lists (which read OpenWA's
// stored messages) ask the session's engine, which must be READY. Ids are
// accepted in every way a chatId is (phone numbers, …@c.us) and answered
// canonical.

// ContactPath names a contact of a session.
type ContactPath struct {
	SessionPath
	ContactID string `path:"contactId" maxLength:"128" doc:"Phone number or user JID."`
}

type listContactsInput struct {
	SessionPath
	PageQuery
	Search string `query:"search" maxLength:"128" doc:"Keep contacts whose name, push name or phone contains this (any case)."`
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

// readyEngine is the engine of a READY session the key may use.
func (s *Server) readyEngine(ctx context.Context, id string) (engine.Engine, error) {
	if err := requireSession(ctx, id); err != nil {
		return nil, err
	}
	eng, _, err := s.opts.Sessions.Ready(ctx, id)
	return eng, err
}

// engineFor checks an id with parse (bad input is 400 whatever the session's
// state), then returns the engine of the READY session and the id parsed.
func (s *Server) engineFor(ctx context.Context, sessionID, id string, parse func(string) (string, error)) (engine.Engine, string, error) {
	jid, err := parse(id)
	if err != nil {
		return nil, "", err
	}
	eng, err := s.readyEngine(ctx, sessionID)
	return eng, jid, err
}

func contactID(s string) (string, error) { return userJID("contactId", s) }

func anyChatID(field string) func(string) (string, error) {
	return func(s string) (string, error) {
		jid, err := engine.NormalizeChatID(s)
		if err != nil {
			return "", apperr.Field(field, err.Error())
		}
		return jid, nil
	}
}

// userJID reads a contact id; field names it in the error.
func userJID(field, s string) (string, error) {
	jid, err := engine.NormalizeChatID(s)
	if err != nil || engine.IsGroup(jid) || engine.IsChannel(jid) {
		return "", apperr.Field(field, "want a phone number with country code or a user JID")
	}
	return jid, nil
}

func groupJID(s string) (string, error) {
	jid, err := engine.NormalizeChatID(s)
	if err != nil || !engine.IsGroup(jid) {
		return "", apperr.Field("groupId", "want a group JID (…@g.us)")
	}
	return jid, nil
}

func userJIDs(field string, in []string) ([]string, error) {
	out := make([]string, len(in))
	for i, p := range in {
		jid, err := userJID(field, p)
		if err != nil {
			return nil, err
		}
		out[i] = jid
	}
	return out, nil
}

// notFoundAs turns the engine's "not found" into the resource's own code.
func notFoundAs(code apperr.Code, what string, err error) error {
	if mapped := engineError(err); !apperr.Is(mapped, apperr.NotFound) {
		return mapped
	}
	return apperr.New(code, "%s not found", what).Wrap(err)
}

func (s *Server) directoryRoutes() {
	s.contactRoutes()
	s.lidRoutes()
	s.groupRoutes()
	s.chatRoutes()
}

func (s *Server) contactRoutes() {
	tag := "Contacts"
	huma.Register(s.api, op(scopeSession, "list-contacts", http.MethodGet, "/api/sessions/{id}/contacts", "List contacts", tag),
		func(ctx context.Context, in *listContactsInput) (*ListOut[engine.Contact], error) {
			eng, err := s.readyEngine(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			all, err := eng.Contacts(ctx)
			if err != nil {
				return nil, engineError(err)
			}
			slices.SortFunc(all, func(a, b engine.Contact) int { return strings.Compare(a.JID, b.JID) })
			q := strings.ToLower(in.Search)
			var hits []engine.Contact
			for _, c := range all {
				if q == "" || strings.Contains(strings.ToLower(c.Name+"\x00"+c.PushName+"\x00"+c.Phone), q) {
					hits = append(hits, c)
				}
			}
			end := min(in.offset()+in.Limit, len(hits))
			return replyList(ctx, hits[min(in.offset(), end):end], in.PageQuery, len(hits)), nil
		})

	huma.Register(s.api, op(scopeSession, "check-phone", http.MethodGet, "/api/sessions/{id}/contacts/check/{phone}",
		"Is this number on WhatsApp", tag),
		func(ctx context.Context, in *checkPhoneInput) (*Out[PhoneCheck], error) {
			eng, phone, err := s.engineFor(ctx, in.ID, in.Phone, func(p string) (string, error) {
				phone, err := engine.NormalizePhone(p)
				if err != nil {
					return "", apperr.Field("phone", "want an international phone number with country code, 7 to 15 digits")
				}
				return phone, nil
			})
			if err != nil {
				return nil, err
			}
			ok, jid, err := eng.IsOnWhatsApp(ctx, phone)
			if err != nil {
				return nil, engineError(err)
			}
			return reply(ctx, http.StatusOK, PhoneCheck{Exists: ok, JID: optString(jid)}), nil
		})

	huma.Register(s.api, op(scopeSession, "get-contact", http.MethodGet, "/api/sessions/{id}/contacts/{contactId}", "One contact", tag),
		func(ctx context.Context, in *ContactPath) (*Out[*engine.Contact], error) {
			eng, jid, err := s.engineFor(ctx, in.ID, in.ContactID, contactID)
			if err != nil {
				return nil, err
			}
			c, err := eng.Contact(ctx, jid)
			if err != nil {
				return nil, notFoundAs(apperr.ContactNotFound, "contact "+jid, err)
			}
			return reply(ctx, http.StatusOK, c), nil
		})

	huma.Register(s.api, op(scopeSession, "get-profile-picture", http.MethodGet, "/api/sessions/{id}/contacts/{contactId}/profile-picture",
		"A contact's profile picture", tag),
		func(ctx context.Context, in *ContactPath) (*Out[ProfilePicture], error) {
			eng, jid, err := s.engineFor(ctx, in.ID, in.ContactID, anyChatID("contactId"))
			if err != nil {
				return nil, err
			}
			url, err := eng.ProfilePictureURL(ctx, jid)
			if err != nil {
				return nil, notFoundAs(apperr.ContactNotFound, "contact "+jid, err)
			}
			return reply(ctx, http.StatusOK, ProfilePicture{URL: optString(url)}), nil
		})

	for _, block := range []bool{true, false} {
		name := map[bool]string{true: "block", false: "unblock"}[block]
		huma.Register(s.api, op(scopeSession, name+"-contact", http.MethodPost, "/api/sessions/{id}/contacts/{contactId}/"+name,
			strings.ToUpper(name[:1])+name[1:]+" a contact", tag),
			func(ctx context.Context, in *ContactPath) (*Out[Done], error) {
				eng, jid, err := s.engineFor(ctx, in.ID, in.ContactID, contactID)
				if err != nil {
					return nil, err
				}
				if err := eng.SetBlocked(ctx, jid, block); err != nil {
					return nil, notFoundAs(apperr.ContactNotFound, "contact "+jid, err)
				}
				return reply(ctx, http.StatusOK, Done{OK: true}), nil
			})
	}
}

type lidInput struct {
	SessionPath
	LID string `path:"lid" maxLength:"64" doc:"A LID (digits, with or without @lid)."`
}

type lidByPhoneInput struct {
	SessionPath
	Phone string `path:"phone" maxLength:"64" doc:"Phone number with country code, or a user JID."`
}

// lidRoutes pair LIDs (WhatsApp's phone-number-free ids) and phone JIDs, from
// what the session's engine has learned.
func (s *Server) lidRoutes() {
	tag := "Contacts"
	lookup := func(ctx context.Context, sessionID, id string, parse func(string) (string, error)) (*Out[engine.LIDPair], error) {
		eng, jid, err := s.engineFor(ctx, sessionID, id, parse)
		if err != nil {
			return nil, err
		}
		pair, err := eng.LID(ctx, jid)
		if err != nil {
			return nil, notFoundAs(apperr.NotFound, "LID pair for "+jid, err)
		}
		return reply(ctx, http.StatusOK, pair), nil
	}
	huma.Register(s.api, op(scopeSession, "get-lid", http.MethodGet, "/api/sessions/{id}/lids/{lid}", "The phone JID of a LID", tag),
		func(ctx context.Context, in *lidInput) (*Out[engine.LIDPair], error) {
			return lookup(ctx, in.ID, in.LID, func(v string) (string, error) {
				if !strings.Contains(v, "@") {
					v += "@" + engine.LIDServer
				}
				jid, err := engine.NormalizeChatID(v)
				if err != nil || !strings.HasSuffix(jid, "@"+engine.LIDServer) {
					return "", apperr.Field("lid", "want a LID: digits, with or without @lid")
				}
				return jid, nil
			})
		})
	huma.Register(s.api, op(scopeSession, "get-lid-by-phone", http.MethodGet, "/api/sessions/{id}/lids/pn/{phone}", "The LID of a phone number", tag),
		func(ctx context.Context, in *lidByPhoneInput) (*Out[engine.LIDPair], error) {
			return lookup(ctx, in.ID, in.Phone, func(v string) (string, error) {
				jid, err := engine.NormalizeChatID(v)
				if err != nil || engine.PhoneOf(jid) == "" {
					return "", apperr.Field("phone", "want a phone number with country code or a …@s.whatsapp.net JID")
				}
				return jid, nil
			})
		})
}

func (s *Server) groupRoutes() {
	tag := "Groups"
	huma.Register(s.api, op(scopeSession, "list-groups", http.MethodGet, "/api/sessions/{id}/groups", "Groups the account is in", tag),
		func(ctx context.Context, in *struct {
			SessionPath
			PageQuery
		}) (*ListOut[engine.Group], error) {
			eng, err := s.readyEngine(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			all, err := eng.Groups(ctx)
			if err != nil {
				return nil, engineError(err)
			}
			slices.SortFunc(all, func(a, b engine.Group) int { return strings.Compare(a.JID, b.JID) })
			end := min(in.offset()+in.Limit, len(all))
			return replyList(ctx, all[min(in.offset(), end):end], in.PageQuery, len(all)), nil
		})

	// group runs f on a READY session's engine with a checked group id.
	group := func(ctx context.Context, in *GroupPath, f func(engine.Engine, string) (*engine.Group, error)) (*Out[*engine.Group], error) {
		eng, jid, err := s.engineFor(ctx, in.ID, in.GroupID, groupJID)
		if err != nil {
			return nil, err
		}
		g, err := f(eng, jid)
		if err != nil {
			return nil, notFoundAs(apperr.GroupNotFound, "group "+jid, err)
		}
		return reply(ctx, http.StatusOK, g), nil
	}

	huma.Register(s.api, op(scopeSession, "get-group", http.MethodGet, "/api/sessions/{id}/groups/{groupId}", "One group", tag),
		func(ctx context.Context, in *GroupPath) (*Out[*engine.Group], error) {
			return group(ctx, in, func(eng engine.Engine, jid string) (*engine.Group, error) { return eng.Group(ctx, jid) })
		})

	huma.Register(s.api, withStatus(op(scopeSession, "create-group", http.MethodPost, "/api/sessions/{id}/groups", "Create a group", tag),
		http.StatusCreated),
		func(ctx context.Context, in *createGroupInput) (*Out[*engine.Group], error) {
			ps, err := userJIDs("participants", in.Body.Participants)
			if err != nil {
				return nil, err
			}
			eng, err := s.readyEngine(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			g, err := eng.CreateGroup(ctx, in.Body.Name, ps)
			if err != nil {
				return nil, engineError(err)
			}
			return reply(ctx, http.StatusCreated, g), nil
		})

	huma.Register(s.api, op(scopeSession, "update-group", http.MethodPut, "/api/sessions/{id}/groups/{groupId}",
		"Change a group's subject and/or description", tag),
		func(ctx context.Context, in *updateGroupInput) (*Out[*engine.Group], error) {
			if in.Body.Subject == nil && in.Body.Description == nil {
				return nil, apperr.Field("body", "give subject, description or both")
			}
			return group(ctx, &in.GroupPath, func(eng engine.Engine, jid string) (*engine.Group, error) {
				return eng.SetGroupInfo(ctx, jid, in.Body.Subject, in.Body.Description)
			})
		})

	huma.Register(s.api, op(scopeSession, "update-group-participants", http.MethodPost, "/api/sessions/{id}/groups/{groupId}/participants/{action}",
		"Add, remove, promote or demote members", tag),
		func(ctx context.Context, in *participantsInput) (*Out[[]engine.ParticipantResult], error) {
			ps, err := userJIDs("participants", in.Body.Participants)
			if err != nil {
				return nil, err
			}
			var res []engine.ParticipantResult
			_, err = group(ctx, &in.GroupPath, func(eng engine.Engine, jid string) (*engine.Group, error) {
				res, err = eng.UpdateParticipants(ctx, jid, engine.ParticipantAction(in.Action), ps)
				return nil, err
			})
			if err != nil {
				return nil, err
			}
			return reply(ctx, http.StatusOK, res), nil
		})

	for _, revoke := range []bool{false, true} {
		o := op(scopeSession, "get-invite-link", http.MethodGet, "/api/sessions/{id}/groups/{groupId}/invite-link", "The group's invite link", tag)
		if revoke {
			o = op(scopeSession, "revoke-invite-link", http.MethodDelete, "/api/sessions/{id}/groups/{groupId}/invite-link",
				"Revoke the invite link; the answer is the new one", tag)
		}
		huma.Register(s.api, o, func(ctx context.Context, in *GroupPath) (*Out[InviteLink], error) {
			var link string
			_, err := group(ctx, in, func(eng engine.Engine, jid string) (*engine.Group, error) {
				var err error
				link, err = eng.InviteLink(ctx, jid, revoke)
				return nil, err
			})
			if err != nil {
				return nil, err
			}
			return reply(ctx, http.StatusOK, InviteLink{URL: link}), nil
		})
	}

	huma.Register(s.api, op(scopeSession, "leave-group", http.MethodPost, "/api/sessions/{id}/groups/{groupId}/leave", "Leave a group", tag),
		func(ctx context.Context, in *GroupPath) (*Out[Done], error) {
			_, err := group(ctx, in, func(eng engine.Engine, jid string) (*engine.Group, error) {
				return nil, eng.LeaveGroup(ctx, jid)
			})
			if err != nil {
				return nil, err
			}
			return reply(ctx, http.StatusOK, Done{OK: true}), nil
		})
}

func (s *Server) chatRoutes() {
	tag := "Chats"
	chat := func(ctx context.Context, in *ChatPath) (engine.Engine, string, error) {
		return s.engineFor(ctx, in.ID, in.ChatID, anyChatID("chatId"))
	}
	huma.Register(s.api, op(scopeSession, "list-chats", http.MethodGet, "/api/sessions/{id}/chats",
		"Chats, the most recently active first, with their last message and unread count", tag),
		func(ctx context.Context, in *struct {
			SessionPath
			PageQuery
		}) (*ListOut[message.Chat], error) {
			if err := s.sessionExists(ctx, in.ID); err != nil {
				return nil, err
			}
			chats, total, err := s.opts.Messages.Chats(ctx, in.ID, in.Limit, in.offset())
			if err != nil {
				return nil, err
			}
			return replyList(ctx, chats, in.PageQuery, total), nil
		})

	huma.Register(s.api, op(scopeSession, "list-chat-messages", http.MethodGet, "/api/sessions/{id}/chats/{chatId}/messages",
		"A chat's messages, newest first", tag),
		func(ctx context.Context, in *struct {
			ChatPath
			PageQuery
		}) (*ListOut[*message.Message], error) {
			jid, err := anyChatID("chatId")(in.ChatID)
			if err != nil {
				return nil, err
			}
			if err := s.sessionExists(ctx, in.ID); err != nil {
				return nil, err
			}
			list, total, err := s.opts.Messages.List(ctx, message.ListFilter{SessionID: in.ID, ChatID: jid,
				Limit: in.Limit, Offset: in.offset()})
			if err != nil {
				return nil, err
			}
			return replyList(ctx, list, in.PageQuery, total), nil
		})

	huma.Register(s.api, op(scopeSession, "read-chat", http.MethodPost, "/api/sessions/{id}/chats/{chatId}/read",
		"Send read receipts for messages of a chat", tag),
		func(ctx context.Context, in *readChatInput) (*Out[Done], error) {
			eng, jid, err := chat(ctx, &in.ChatPath)
			if err != nil {
				return nil, err
			}
			err = s.opts.Messages.Read(ctx, in.ID, jid, in.Body.MessageIDs, func(sender string, ids []string) error {
				if err := eng.MarkRead(ctx, jid, sender, ids); err != nil {
					return engineError(err)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			return reply(ctx, http.StatusOK, Done{OK: true}), nil
		})

	huma.Register(s.api, op(scopeSession, "send-presence", http.MethodPost, "/api/sessions/{id}/chats/{chatId}/presence",
		"Show typing, recording, or nothing, in a chat", tag),
		func(ctx context.Context, in *presenceInput) (*Out[Done], error) {
			eng, jid, err := chat(ctx, &in.ChatPath)
			if err != nil {
				return nil, err
			}
			if err := eng.SendPresence(ctx, jid, in.Body.State); err != nil {
				return nil, engineError(err)
			}
			return reply(ctx, http.StatusOK, Done{OK: true}), nil
		})
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
