package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openwa/openwa/internal/auth"
	"github.com/openwa/openwa/internal/ident"
)

type createKeyInput struct {
	Body struct {
		Name      string     `json:"name" minLength:"1" maxLength:"128"`
		Role      auth.Role  `json:"role"`
		Sessions  []string   `json:"sessions,omitempty" maxItems:"1000" doc:"For session keys: the session ids it may use."`
		ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	}
}

type keyPath struct {
	KeyID string `path:"keyId" pattern:"^key_[a-f0-9]{16}$"`
}

func (s *Server) keyRoutes() {
	tag := "API keys and audit"
	huma.Register(s.api, withStatus(op(scopeAdmin, "create-key", http.MethodPost, "/api/keys", "Create an API key (shown once)", tag), http.StatusCreated), s.createKey)
	huma.Register(s.api, op(scopeAdmin, "list-keys", http.MethodGet, "/api/keys", "List API keys", tag), s.listKeys)
	huma.Register(s.api, op(scopeAdmin, "get-key", http.MethodGet, "/api/keys/{keyId}", "Get an API key", tag), s.getKey)
	huma.Register(s.api, withErrors(op(scopeAdmin, "delete-key", http.MethodDelete, "/api/keys/{keyId}", "Revoke an API key", tag),
		http.StatusConflict), s.deleteKey)
	huma.Register(s.api, op(scopeAdmin, "list-audit", http.MethodGet, "/api/audit", "The audit log: who did what, newest first", tag), s.listAudit)
}

func (s *Server) createKey(ctx context.Context, in *createKeyInput) (*Out[*auth.Key], error) {
	for _, id := range in.Body.Sessions {
		if !ident.ValidSession(id) {
			return nil, fieldErr("sessions", "each session id: want 1 to 64 letters, digits, _ or -")
		}
	}
	k, err := s.opts.Auth.Create(ctx, auth.CreateInput{Name: in.Body.Name, Role: in.Body.Role,
		Sessions: in.Body.Sessions, ExpiresAt: in.Body.ExpiresAt})
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusCreated, k), nil
}

func (s *Server) listKeys(ctx context.Context, in *PageQuery) (*ListOut[*auth.Key], error) {
	list, total, err := s.opts.Auth.List(ctx, in.Limit, in.offset())
	if err != nil {
		return nil, err
	}
	return replyList(ctx, list, *in, total), nil
}

func (s *Server) getKey(ctx context.Context, in *keyPath) (*Out[*auth.Key], error) {
	k, err := s.opts.Auth.Get(ctx, in.KeyID)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, k), nil
}

func (s *Server) deleteKey(ctx context.Context, in *keyPath) (*Out[Deleted], error) {
	if err := s.opts.Auth.Delete(ctx, in.KeyID); err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, Deleted{ID: in.KeyID, Deleted: true}), nil
}

func (s *Server) listAudit(ctx context.Context, in *PageQuery) (*ListOut[*auth.AuditEntry], error) {
	list, total, err := s.opts.Auth.AuditLog(ctx, in.Limit, in.offset())
	if err != nil {
		return nil, err
	}
	return replyList(ctx, list, *in, total), nil
}
