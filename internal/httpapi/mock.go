package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/registry"
	"github.com/openwa/openwa/internal/session"
	"github.com/openwa/openwa/internal/stamp"
)

type mockInboundInput struct {
	SessionPath
	Body struct {
		ID       string               `json:"id,omitempty" pattern:"^[A-Za-z0-9]{1,64}$" doc:"The message's WhatsApp id, to simulate a redelivery; default: a new random one. An id the session already has is 409 CONFLICT."`
		From     string               `json:"from" minLength:"1" maxLength:"128" doc:"Sender: phone number or JID."`
		ChatID   string               `json:"chatId,omitempty" maxLength:"128" doc:"The chat; default: the sender's own chat."`
		Type     string               `json:"type,omitempty" enum:"text,image,video,audio,voice,document,sticker,location,contact" default:"text"`
		Text     string               `json:"text,omitempty" maxLength:"65536"`
		Caption  string               `json:"caption,omitempty" maxLength:"4096"`
		PushName string               `json:"pushName,omitempty" maxLength:"128"`
		ReplyTo  string               `json:"replyTo,omitempty" maxLength:"128"`
		Media    *mockMedia           `json:"media,omitempty"`
		Location *engine.Location     `json:"location,omitempty"`
		Contacts []engine.ContactCard `json:"contacts,omitempty" maxItems:"50"`
	}
}

type mockMedia struct {
	Data     string `json:"data" doc:"Base64 bytes."`
	Mimetype string `json:"mimetype" maxLength:"128"`
	Filename string `json:"filename,omitempty" maxLength:"255"`
}

type mockDisconnectInput struct {
	SessionPath
	Body struct {
		Reason string `json:"reason,omitempty" maxLength:"256"`
	}
}

// InboundAccepted describes a simulated incoming message.
type InboundAccepted struct {
	WAMessageID string     `json:"waMessageId"`
	ChatID      string     `json:"chatId"`
	From        string     `json:"from"`
	Type        string     `json:"type"`
	Timestamp   stamp.Time `json:"timestamp"`
}

func (s *Server) mockRoutes() {
	tag := "Mock engine"
	huma.Register(s.api, withErrors(op(scopeSession, "mock-sent", http.MethodGet, "/api/sessions/{id}/mock/sent",
		"What the mock engine delivered to \"WhatsApp\": each message id once, kept across restarts", tag), engineErrors...), s.mockSent)
	huma.Register(s.api, withErrors(withStatus(op(scopeSession, "mock-pair", http.MethodPost, "/api/sessions/{id}/mock/pair",
		"Complete pairing, as if the QR code was scanned", tag), http.StatusAccepted), append([]int{http.StatusConflict}, engineErrors...)...), s.mockPair)
	huma.Register(s.api, withErrors(withStatus(op(scopeSession, "mock-inbound", http.MethodPost, "/api/sessions/{id}/mock/inbound",
		"Deliver an incoming message, handled exactly like a real one", tag), http.StatusAccepted),
		append([]int{http.StatusConflict}, engineErrors...)...), s.mockInbound)
	huma.Register(s.api, withErrors(withStatus(op(scopeSession, "mock-disconnect", http.MethodPost, "/api/sessions/{id}/mock/disconnect",
		"Drop the connection; the session reconnects as a real one would", tag), http.StatusAccepted), engineErrors...), s.mockDisconnect)
}

func (s *Server) mockSent(ctx context.Context, in *SessionPath) (*Out[engine.MockLedger], error) {
	m, _, err := s.mockEngine(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, m.MockSent()), nil
}

func (s *Server) mockPair(ctx context.Context, in *SessionPath) (*Out[*session.Session], error) {
	m, sess, err := s.mockEngine(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if sess.Status != session.StatusQRReady {
		return nil, apperr.New(apperr.QRNotAvailable, "session '%s' is %s: only a session waiting for pairing (QR_READY) can be paired", in.ID, sess.Status).
			With("status", sess.Status)
	}
	if err := m.MockPair(ctx); err != nil {
		return nil, engineError(err)
	}
	return reply(ctx, http.StatusAccepted, sess), nil
}

func (s *Server) mockInbound(ctx context.Context, in *mockInboundInput) (*Out[InboundAccepted], error) {
	m, sess, err := s.mockEngine(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if sess.Status != session.StatusReady {
		return nil, apperr.New(apperr.SessionNotReady, "session '%s' is %s; this needs READY", in.ID, sess.Status).With("status", sess.Status)
	}
	msg, err := inboundMessage(in)
	if err != nil {
		return nil, err
	}
	if in.Body.ID != "" {
		// WhatsApp delivers a message id once; OpenWA would drop the redelivery, so say so.
		old, err := s.opts.Messages.ByWAID(ctx, in.ID, in.Body.ID)
		if err == nil {
			return nil, apperr.New(apperr.Conflict, "session '%s' already has message %s: a redelivery is not stored again", in.ID, in.Body.ID).
				With("messageId", old.ID).With("waMessageId", in.Body.ID)
		}
		if !apperr.Is(err, apperr.MessageNotFound) {
			return nil, err
		}
		msg.WAMessageID = in.Body.ID
	}
	got, err := m.MockInbound(ctx, msg)
	if err != nil {
		return nil, engineError(err)
	}
	return reply(ctx, http.StatusAccepted, InboundAccepted{WAMessageID: got.WAMessageID, ChatID: got.ChatID,
		From: got.From, Type: string(got.Type), Timestamp: stamp.Of(got.Timestamp)}), nil
}

func (s *Server) mockDisconnect(ctx context.Context, in *mockDisconnectInput) (*Out[*session.Session], error) {
	m, sess, err := s.mockEngine(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if err := m.MockDisconnect(ctx, in.Body.Reason); err != nil {
		return nil, engineError(err)
	}
	return reply(ctx, http.StatusAccepted, sess), nil
}

// mockEngine returns the mock controls of a started mock session.
func (s *Server) mockEngine(ctx context.Context, id string) (engine.Mock, *session.Session, error) {
	kind, err := s.opts.Sessions.EngineType(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if e, ok := registry.Lookup(kind); !ok || !e.MockControls {
		return nil, nil, apperr.New(apperr.EngineNotSupported, "mock controls work only on mock sessions; session '%s' runs %s", id, kind)
	}
	eng, sess, err := s.opts.Sessions.Engine(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	m, ok := eng.(engine.Mock)
	if !ok {
		return nil, nil, apperr.New(apperr.EngineNotSupported, "this engine has no mock controls")
	}
	return m, sess, nil
}

func inboundMessage(in *mockInboundInput) (*engine.Message, error) {
	b := in.Body
	from, err := engine.NormalizeChatID(b.From)
	if err != nil || engine.IsGroup(from) {
		return nil, apperr.Field("from", "want the sender's phone number or user JID")
	}
	chat := from
	if b.ChatID != "" {
		if chat, err = engine.NormalizeChatID(b.ChatID); err != nil {
			return nil, apperr.Field("chatId", err.Error())
		}
	}
	typ := engine.MessageType(b.Type)
	if typ == "" {
		typ = engine.TypeText
	}
	msg := &engine.Message{ChatID: chat, From: from, PushName: b.PushName, Type: typ, Content: engine.Content{Text: b.Text,
		Caption: b.Caption, ReplyTo: b.ReplyTo, Location: b.Location, Contacts: b.Contacts}}
	switch typ {
	case engine.TypeText:
		if b.Text == "" {
			return nil, apperr.Field("text", "required for a text message")
		}
	case engine.TypeLocation:
		if b.Location == nil {
			return nil, apperr.Field("location", "required for a location message")
		}
	case engine.TypeContact:
		if len(b.Contacts) == 0 {
			return nil, apperr.Field("contacts", "required for a contact message")
		}
	default:
		if b.Media == nil {
			return nil, apperr.Field("media", "required for a "+b.Type+" message")
		}
		data, err := base64.StdEncoding.DecodeString(b.Media.Data)
		if err != nil || len(data) == 0 {
			return nil, apperr.Field("media.data", "want non-empty standard base64")
		}
		msg.Media = &engine.Media{Data: data, Mimetype: b.Media.Mimetype, Filename: b.Media.Filename}
	}
	return msg, nil
}
