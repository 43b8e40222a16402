package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/registry"
	"github.com/openwa/openwa/internal/session"
	"github.com/openwa/openwa/internal/stamp"
)

// SessionPath is the {id} of session routes.
type SessionPath struct {
	ID string `path:"id" pattern:"^[A-Za-z0-9_-]{1,64}$" doc:"Session id."`
}

type createSessionInput struct {
	Body *createSessionBody `doc:"Optional: with no body, a session with a generated id and the defaults is created."`
}

type createSessionBody struct {
	ID     string         `json:"id,omitempty" pattern:"^[A-Za-z0-9_-]{1,64}$" doc:"Generated when absent."`
	Name   string         `json:"name,omitempty" maxLength:"128"`
	Engine engineName     `json:"engine,omitempty" doc:"Default: ENGINE_TYPE."`
	Config session.Config `json:"config,omitempty"`
}

// engineName is the name of an engine of the registry; the schema's enum
// lists them.
type engineName string

// Schema implements huma.SchemaProvider.
func (engineName) Schema(huma.Registry) *huma.Schema {
	names := registry.Names()
	enum := make([]any, len(names))
	for i, n := range names {
		enum[i] = n
	}
	return &huma.Schema{Type: huma.TypeString, Enum: enum}
}

type listSessionsInput struct {
	PageQuery
	Status session.Status `query:"status" doc:"Only sessions in this status."`
}

type updateSessionInput struct {
	SessionPath
	Body struct {
		Name   *string         `json:"name,omitempty" minLength:"1" maxLength:"128"`
		Config *session.Config `json:"config,omitempty" doc:"Replaces the config; applies from the next start."`
	}
}

type qrInput struct {
	SessionPath
	Format string `query:"format" enum:"json,png" default:"json" doc:"png returns the image itself."`
}

type qrOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

// QRView is the QR code of API.md.
type QRView struct {
	QR        string     `json:"qr" doc:"The raw QR content."`
	Image     string     `json:"image" doc:"The QR code as a PNG data URL."`
	Status    string     `json:"status"`
	ExpiresAt stamp.Time `json:"expiresAt"`
}

type pairingInput struct {
	SessionPath
	Body struct {
		PhoneNumber string `json:"phoneNumber" minLength:"7" maxLength:"32" doc:"International number with country code."`
	}
}

// PairingCode is the code to type on the phone.
type PairingCode struct {
	Code string `json:"code" example:"ABCD-EFGH"`
}

// Deleted confirms a deletion.
type Deleted struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

func (s *Server) sessionRoutes() {
	tag := "Sessions"
	huma.Register(s.api, withErrors(withStatus(op(scopeAdmin, "create-session", http.MethodPost, "/api/sessions", "Create a session", tag), http.StatusCreated),
		append([]int{http.StatusConflict}, engineErrors...)...), s.createSession)
	huma.Register(s.api, op(scopeKey, "list-sessions", http.MethodGet, "/api/sessions", "List sessions", tag), s.listSessions)
	huma.Register(s.api, op(scopeSession, "get-session", http.MethodGet, "/api/sessions/{id}", "Get a session", tag), s.getSession)
	huma.Register(s.api, op(scopeSession, "update-session", http.MethodPut, "/api/sessions/{id}", "Update a session's name or config", tag), s.updateSession)
	huma.Register(s.api, withErrors(op(scopeAdmin, "delete-session", http.MethodDelete, "/api/sessions/{id}",
		"Delete a session: stop, log out, and remove it with its auth state and stored data", tag), engineErrors...), s.deleteSession)
	huma.Register(s.api, withErrors(op(scopeSession, "start-session", http.MethodPost, "/api/sessions/{id}/start", "Start a session (connect; pair if needed)", tag),
		engineErrors...), s.startSession)
	huma.Register(s.api, withErrors(op(scopeSession, "stop-session", http.MethodPost, "/api/sessions/{id}/stop", "Stop a session, keeping its pairing", tag),
		engineErrors...), s.stopSession)
	huma.Register(s.api, withErrors(op(scopeSession, "restart-session", http.MethodPost, "/api/sessions/{id}/restart", "Restart a session", tag),
		engineErrors...), s.restartSession)
	huma.Register(s.api, withErrors(op(scopeSession, "logout-session", http.MethodPost, "/api/sessions/{id}/logout", "Log out: unlink the device and forget the pairing", tag),
		engineErrors...), s.logoutSession)

	qrOp := withErrors(op(scopeSession, "get-session-qr", http.MethodGet, "/api/sessions/{id}/qr", "The QR code to pair the session", tag), http.StatusConflict)
	qrOp.Responses = map[string]*huma.Response{"200": {
		Description: "The QR code, as JSON or as a PNG image (?format=png).",
		Content: map[string]*huma.MediaType{
			"application/json": {Schema: s.api.OpenAPI().Components.Schemas.Schema(reflectType[Envelope[QRView]](), true, "")},
			"image/png":        {Schema: &huma.Schema{Type: "string", Format: "binary"}},
		},
	}}
	huma.Register(s.api, qrOp, s.getSessionQR)
	huma.Register(s.api, withErrors(op(scopeSession, "request-pairing-code", http.MethodPost, "/api/sessions/{id}/pairing-code",
		"Pair by phone number: get a code to enter on the phone", tag), append([]int{http.StatusConflict}, engineErrors...)...), s.requestPairingCode)
	huma.Register(s.api, withErrors(op(scopeSession, "get-session-me", http.MethodGet, "/api/sessions/{id}/me", "The linked WhatsApp account", tag),
		engineErrors...), s.getSessionMe)
}

func (s *Server) createSession(ctx context.Context, in *createSessionInput) (*Out[*session.Session], error) {
	b := in.Body
	if b == nil {
		b = &createSessionBody{}
	}
	sess, err := s.opts.Sessions.Create(ctx, session.CreateInput{ID: b.ID, Name: b.Name, Engine: string(b.Engine), Config: b.Config})
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusCreated, sess), nil
}

// listSessions lists every session for an admin key, a session key's own for a session key.
func (s *Server) listSessions(ctx context.Context, in *listSessionsInput) (*ListOut[*session.Session], error) {
	f := session.ListFilter{Status: in.Status, Limit: in.Limit, Offset: in.offset()}
	if p := principalOf(ctx); !p.IsAdmin() {
		f.IDs = append([]string{}, p.Sessions...)
	}
	list, total, err := s.opts.Sessions.List(ctx, f)
	if err != nil {
		return nil, err
	}
	return replyList(ctx, list, in.PageQuery, total), nil
}

func (s *Server) getSession(ctx context.Context, in *SessionPath) (*Out[*session.Session], error) {
	return sessionReply(ctx, in.ID, s.opts.Sessions.Get)
}

func (s *Server) updateSession(ctx context.Context, in *updateSessionInput) (*Out[*session.Session], error) {
	sess, err := s.opts.Sessions.Update(ctx, in.ID, session.UpdateInput{Name: in.Body.Name, Config: in.Body.Config,
		Tenant: !principalOf(ctx).IsAdmin()})
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, sess), nil
}

func (s *Server) deleteSession(ctx context.Context, in *SessionPath) (*Out[Deleted], error) {
	if err := s.opts.Sessions.Delete(ctx, in.ID); err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, Deleted{ID: in.ID, Deleted: true}), nil
}

func (s *Server) startSession(ctx context.Context, in *SessionPath) (*Out[*session.Session], error) {
	return sessionReply(ctx, in.ID, s.opts.Sessions.Start)
}

func (s *Server) stopSession(ctx context.Context, in *SessionPath) (*Out[*session.Session], error) {
	return sessionReply(ctx, in.ID, s.opts.Sessions.Stop)
}

func (s *Server) restartSession(ctx context.Context, in *SessionPath) (*Out[*session.Session], error) {
	return sessionReply(ctx, in.ID, s.opts.Sessions.Restart)
}

func (s *Server) logoutSession(ctx context.Context, in *SessionPath) (*Out[*session.Session], error) {
	return sessionReply(ctx, in.ID, s.opts.Sessions.Logout)
}

func (s *Server) getSessionQR(ctx context.Context, in *qrInput) (*qrOutput, error) {
	qr, st, err := s.opts.Sessions.QR(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	png, err := qrcode.Encode(qr.Code, qrcode.Medium, 320)
	if err != nil {
		return nil, err
	}
	if in.Format == "png" {
		return &qrOutput{ContentType: "image/png", Body: png}, nil
	}
	body, err := json.Marshal(reply(ctx, http.StatusOK, QRView{QR: qr.Code, Status: string(st),
		Image:     "data:image/png;base64," + base64.StdEncoding.EncodeToString(png),
		ExpiresAt: qr.ExpiresAt}).Body)
	if err != nil {
		return nil, err
	}
	return &qrOutput{ContentType: "application/json", Body: body}, nil
}

func (s *Server) requestPairingCode(ctx context.Context, in *pairingInput) (*Out[PairingCode], error) {
	code, err := s.opts.Sessions.PairingCode(ctx, in.ID, in.Body.PhoneNumber)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, PairingCode{Code: code}), nil
}

func (s *Server) getSessionMe(ctx context.Context, in *SessionPath) (*Out[*engine.Account], error) {
	me, err := s.opts.Sessions.Me(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, me), nil
}

// sessionReply runs fn on session id and answers with the session.
func sessionReply(ctx context.Context, id string, fn func(context.Context, string) (*session.Session, error)) (*Out[*session.Session], error) {
	sess, err := fn(ctx, id)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, sess), nil
}

func withStatus(o huma.Operation, status int) huma.Operation {
	o.DefaultStatus = status
	return o
}
