package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/message"
)

// SendOptions are the query and headers every send route takes.
type SendOptions struct {
	Async          bool   `query:"async" doc:"Answer 202 at once instead of waiting up to SEND_WAIT_MS for the send."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"A retried request with the same key returns the first result and never sends twice."`
}

type sendTextInput struct {
	SessionPath
	SendOptions
	Body struct {
		ChatID   string   `json:"chatId" minLength:"1" maxLength:"128" doc:"Phone number, user JID (…@s.whatsapp.net or …@c.us) or group JID (…@g.us)."`
		Text     string   `json:"text" minLength:"1" maxLength:"65536"`
		ReplyTo  string   `json:"replyTo,omitempty" maxLength:"128" doc:"Id (or WhatsApp id) of the message to quote."`
		Mentions []string `json:"mentions,omitempty" maxItems:"256"`
	}
}

type sendLocationInput struct {
	SessionPath
	SendOptions
	Body struct {
		ChatID    string  `json:"chatId" minLength:"1" maxLength:"128"`
		Latitude  float64 `json:"latitude" minimum:"-90" maximum:"90"`
		Longitude float64 `json:"longitude" minimum:"-180" maximum:"180"`
		Name      string  `json:"name,omitempty" maxLength:"256"`
		Address   string  `json:"address,omitempty" maxLength:"1024"`
		ReplyTo   string  `json:"replyTo,omitempty" maxLength:"128"`
	}
}

type sendContactInput struct {
	SessionPath
	SendOptions
	Body struct {
		ChatID   string `json:"chatId" minLength:"1" maxLength:"128"`
		Contacts []struct {
			Name  string `json:"name" minLength:"1" maxLength:"256"`
			Phone string `json:"phone" minLength:"7" maxLength:"32"`
		} `json:"contacts" minItems:"1" maxItems:"20"`
		ReplyTo string `json:"replyTo,omitempty" maxLength:"128"`
	}
}

type sendReactionInput struct {
	SessionPath
	SendOptions
	Body struct {
		ChatID    string `json:"chatId" minLength:"1" maxLength:"128"`
		MessageID string `json:"messageId" minLength:"1" maxLength:"128" doc:"Id (or WhatsApp id) of the message to react to."`
		Emoji     string `json:"emoji" maxLength:"32" doc:"An empty string removes the reaction."`
	}
}

type sendPollInput struct {
	SessionPath
	SendOptions
	Body struct {
		ChatID          string   `json:"chatId" minLength:"1" maxLength:"128"`
		Name            string   `json:"name" minLength:"1" maxLength:"256"`
		Options         []string `json:"options" minItems:"2" maxItems:"12"`
		MultipleAnswers bool     `json:"multipleAnswers,omitempty"`
	}
}

type listMessagesInput struct {
	SessionPath
	PageQuery
	ChatID    string         `query:"chatId" maxLength:"128"`
	Direction string         `query:"direction" enum:"in,out"`
	Status    message.Status `query:"status"`
	Since     time.Time      `query:"since" doc:"Only messages at or after this time (RFC 3339)."`
	Until     time.Time      `query:"until" doc:"Only messages before this time (RFC 3339)."`
}

type messagePath struct {
	SessionPath
	MessageID string `path:"messageId" pattern:"^msg_[a-f0-9]{24}$"`
}

func (s *Server) messageRoutes() {
	tag := "Messages"
	huma.Register(s.api, s.sendOp("send-text", "Send a text message", tag), s.sendText)
	huma.Register(s.api, s.sendOp("send-location", "Send a location", tag), s.sendLocation)
	huma.Register(s.api, s.sendOp("send-contact", "Send contact cards", tag), s.sendContact)
	huma.Register(s.api, s.sendOp("send-reaction", "React to a message", tag), s.sendReaction)
	huma.Register(s.api, s.sendOp("send-poll", "Send a poll", tag), s.sendPoll)
	huma.Register(s.api, op(scopeSession, "list-messages", http.MethodGet, "/api/sessions/{id}/messages", "List messages, newest first", tag), s.listMessages)
	huma.Register(s.api, op(scopeSession, "list-statuses", http.MethodGet, "/api/sessions/{id}/statuses",
		"Statuses (stories) received, newest first: kept apart from chats and from the message list", tag), s.listStatuses)
	huma.Register(s.api, op(scopeSession, "get-message", http.MethodGet, "/api/sessions/{id}/messages/{messageId}", "Get a message", tag), s.getMessage)
	huma.Register(s.api, withErrors(op(scopeSession, "revoke-message", http.MethodDelete, "/api/sessions/{id}/messages/{messageId}",
		"Revoke a sent message for everyone", tag), append([]int{http.StatusConflict}, engineErrors...)...), s.revokeMessage)
}

// sendOp describes the send route of operation id (POST …/messages/{id}).
func (s *Server) sendOp(id, summary, tag string) huma.Operation {
	o := withErrors(op(scopeSession, id, http.MethodPost, "/api/sessions/{id}/messages/"+id, summary+
		". 201 when it went out within SEND_WAIT_MS, 202 while it is still queued (it will go out).", tag),
		append([]int{http.StatusConflict}, engineErrors...)...)
	o.DefaultStatus = http.StatusCreated
	o.Responses = s.acceptedResponse()
	return o
}

func (s *Server) sendText(ctx context.Context, in *sendTextInput) (*Out[*message.Message], error) {
	return s.send(ctx, in.ID, &in.SendOptions, "send-text", in.Body, in.Body.ChatID, engine.Outgoing{Type: engine.TypeText, Content: engine.Content{
		Text: in.Body.Text, ReplyTo: in.Body.ReplyTo, Mentions: in.Body.Mentions}}, nil)
}

func (s *Server) sendLocation(ctx context.Context, in *sendLocationInput) (*Out[*message.Message], error) {
	b := in.Body
	return s.send(ctx, in.ID, &in.SendOptions, "send-location", b, b.ChatID, engine.Outgoing{Type: engine.TypeLocation, Content: engine.Content{
		ReplyTo: b.ReplyTo, Location: &engine.Location{Latitude: b.Latitude, Longitude: b.Longitude, Name: b.Name, Address: b.Address}}}, nil)
}

func (s *Server) sendContact(ctx context.Context, in *sendContactInput) (*Out[*message.Message], error) {
	cards := make([]engine.ContactCard, len(in.Body.Contacts))
	for i, c := range in.Body.Contacts {
		phone, err := engine.NormalizePhone(c.Phone)
		if err != nil {
			return nil, fieldErr("contacts.phone", "want an international phone number with country code")
		}
		cards[i] = engine.ContactCard{Name: c.Name, Phone: phone}
	}
	return s.send(ctx, in.ID, &in.SendOptions, "send-contact", in.Body, in.Body.ChatID, engine.Outgoing{Type: engine.TypeContact, Content: engine.Content{
		ReplyTo: in.Body.ReplyTo, Contacts: cards}}, nil)
}

func (s *Server) sendReaction(ctx context.Context, in *sendReactionInput) (*Out[*message.Message], error) {
	return s.send(ctx, in.ID, &in.SendOptions, "send-reaction", in.Body, in.Body.ChatID, engine.Outgoing{Type: engine.TypeReaction, Content: engine.Content{
		Reaction: &engine.Reaction{MessageID: in.Body.MessageID, Emoji: in.Body.Emoji}}}, nil)
}

func (s *Server) sendPoll(ctx context.Context, in *sendPollInput) (*Out[*message.Message], error) {
	b := in.Body
	return s.send(ctx, in.ID, &in.SendOptions, "send-poll", b, b.ChatID, engine.Outgoing{Type: engine.TypePoll, Content: engine.Content{
		Poll: &engine.Poll{Name: b.Name, Options: b.Options, MultipleAnswers: b.MultipleAnswers}}}, nil)
}

func (s *Server) listMessages(ctx context.Context, in *listMessagesInput) (*ListOut[*message.Message], error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	f := message.ListFilter{SessionID: in.ID, Direction: in.Direction, Status: string(in.Status),
		Limit: in.Limit, Offset: in.offset()}
	if in.ChatID != "" {
		chat, err := engine.NormalizeChatID(in.ChatID)
		if err != nil {
			return nil, fieldErr("chatId", err.Error())
		}
		f.ChatID = chat
	}
	if !in.Since.IsZero() {
		f.Since = in.Since.UnixMilli()
	}
	if !in.Until.IsZero() {
		f.Until = in.Until.UnixMilli()
	}
	list, total, err := s.opts.Messages.List(ctx, f)
	if err != nil {
		return nil, err
	}
	return replyList(ctx, list, in.PageQuery, total), nil
}

type listStatusesInput struct {
	SessionPath
	PageQuery
}

func (s *Server) listStatuses(ctx context.Context, in *listStatusesInput) (*ListOut[*message.Message], error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	list, total, err := s.opts.Messages.List(ctx, message.ListFilter{SessionID: in.ID, ChatID: engine.StatusChat,
		Limit: in.Limit, Offset: in.offset()})
	if err != nil {
		return nil, err
	}
	return replyList(ctx, list, in.PageQuery, total), nil
}

func (s *Server) getMessage(ctx context.Context, in *messagePath) (*Out[*message.Message], error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	m, err := s.opts.Messages.Get(ctx, in.ID, in.MessageID)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, m), nil
}

func (s *Server) revokeMessage(ctx context.Context, in *messagePath) (*Out[*message.Message], error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	m, err := s.opts.Messages.Revoke(ctx, in.ID, in.MessageID)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, m), nil
}

// acceptedResponse declares the 202 of send routes.
func (s *Server) acceptedResponse() map[string]*huma.Response {
	return map[string]*huma.Response{"202": {
		Description: "Accepted: the message is in the outbox and will go out.",
		Content: map[string]*huma.MediaType{"application/json": {
			Schema: s.api.OpenAPI().Components.Schemas.Schema(reflectType[Envelope[*message.Message]](), true, "")}},
	}}
}

// sessionExists checks that the session exists (the key's access to it is
// its operation's scope).
func (s *Server) sessionExists(ctx context.Context, id string) error {
	_, err := s.opts.Sessions.Get(ctx, id)
	return err
}

func (s *Server) send(ctx context.Context, sessionID string, o *SendOptions, route string, body any, chatID string,
	out engine.Outgoing, media *message.MediaInput) (*Out[*message.Message], error) {
	in := message.SendInput{ChatID: chatID, Out: out, Media: media, Async: o.Async, IdempotencyKey: o.IdempotencyKey}
	if o.IdempotencyKey != "" {
		b, _ := json.Marshal(body)
		if media != nil && media.Data != nil {
			b = append(b, media.Data...) // an uploaded file is part of the request
		}
		in.RequestHash = message.HashRequest(route, b)
	}
	m, sent, err := s.opts.Messages.Send(ctx, sessionID, in)
	if err != nil {
		return nil, err
	}
	status := http.StatusAccepted
	if sent {
		status = http.StatusCreated
	}
	return reply(ctx, status, m), nil
}
