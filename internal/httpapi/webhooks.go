package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openwa/openwa/internal/webhook"
)

// WebhookBody creates or updates a webhook; on update, absent fields stay.
type WebhookBody struct {
	URL        *string           `json:"url,omitempty" maxLength:"2048" doc:"http or https; required on create."`
	Events     []string          `json:"events,omitempty" maxItems:"20" doc:"Event names or \"*\" (default [\"*\"])."`
	Headers    map[string]string `json:"headers,omitempty" doc:"Extra request headers (at most 20)."`
	Active     *bool             `json:"active,omitempty" doc:"Default true. Turning a webhook on resumes its pending deliveries."`
	RetryCount *int              `json:"retryCount,omitempty" minimum:"0" maximum:"20" doc:"Retries after the first attempt (default 8: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; more reuse the last interval)."`
	Secret     *string           `json:"secret,omitempty" maxLength:"128" doc:"whsec_<base64>; generated when not given on create."`
}

func (b *WebhookBody) input() webhook.Input {
	return webhook.Input{URL: b.URL, Events: b.Events, Headers: b.Headers, Active: b.Active, RetryCount: b.RetryCount, Secret: b.Secret}
}

type WebhookIDPath struct {
	WebhookID string `path:"webhookId" pattern:"^wh_[a-f0-9]{24}$"`
}

type DeliveryIDPath struct {
	DeliveryID string `path:"deliveryId" pattern:"^dlv_[a-f0-9]{24}$"`
}

type DeliveryQuery struct {
	PageQuery
	Status webhook.DeliveryStatus `query:"status"`
}

type createWebhookInput struct {
	SessionPath
	Body WebhookBody
}

type listWebhooksInput struct {
	SessionPath
	PageQuery
}

type webhookInput struct {
	SessionPath
	WebhookIDPath
}

type updateWebhookInput struct {
	SessionPath
	WebhookIDPath
	Body WebhookBody
}

type listDeliveriesInput struct {
	SessionPath
	WebhookIDPath
	DeliveryQuery
}

type retryDeliveryInput struct {
	SessionPath
	WebhookIDPath
	DeliveryIDPath
}

type createGlobalWebhookInput struct {
	Body WebhookBody
}

type updateGlobalWebhookInput struct {
	WebhookIDPath
	Body WebhookBody
}

type listGlobalDeliveriesInput struct {
	WebhookIDPath
	DeliveryQuery
}

type retryGlobalDeliveryInput struct {
	WebhookIDPath
	DeliveryIDPath
}

// webhookRoutes: a session's webhooks (the session must exist), and the
// global webhooks, which get the events of every session (admin only).
func (s *Server) webhookRoutes() {
	tag := "Webhooks"
	huma.Register(s.api, withStatus(op(scopeSession, "create-webhook", http.MethodPost, "/api/sessions/{id}/webhooks",
		"Create a webhook of the session (the secret is shown once)", tag), http.StatusCreated), s.createWebhook)
	huma.Register(s.api, op(scopeSession, "list-webhooks", http.MethodGet, "/api/sessions/{id}/webhooks", "List the session's webhooks", tag), s.listWebhooks)
	huma.Register(s.api, op(scopeSession, "get-webhook", http.MethodGet, "/api/sessions/{id}/webhooks/{webhookId}", "Get a webhook", tag), s.getWebhook)
	huma.Register(s.api, op(scopeSession, "update-webhook", http.MethodPut, "/api/sessions/{id}/webhooks/{webhookId}", "Update a webhook", tag), s.updateWebhook)
	huma.Register(s.api, op(scopeSession, "delete-webhook", http.MethodDelete, "/api/sessions/{id}/webhooks/{webhookId}",
		"Delete a webhook with its deliveries", tag), s.deleteWebhook)
	huma.Register(s.api, op(scopeSession, "test-webhook", http.MethodPost, "/api/sessions/{id}/webhooks/{webhookId}/test",
		"Deliver a webhook.test event now and return the attempt", tag), s.testWebhook)
	huma.Register(s.api, op(scopeSession, "list-deliveries", http.MethodGet, "/api/sessions/{id}/webhooks/{webhookId}/deliveries",
		"A webhook's deliveries, newest event first", tag), s.listDeliveries)
	huma.Register(s.api, op(scopeSession, "retry-delivery", http.MethodPost, "/api/sessions/{id}/webhooks/{webhookId}/deliveries/{deliveryId}/retry",
		"Retry a delivery now", tag), s.retryDelivery)

	huma.Register(s.api, withStatus(op(scopeAdmin, "create-global-webhook", http.MethodPost, "/api/webhooks",
		"Create a global webhook (admin; the secret is shown once)", tag), http.StatusCreated), s.createGlobalWebhook)
	huma.Register(s.api, op(scopeAdmin, "list-global-webhooks", http.MethodGet, "/api/webhooks", "List the global webhooks (admin)", tag), s.listGlobalWebhooks)
	huma.Register(s.api, op(scopeAdmin, "get-global-webhook", http.MethodGet, "/api/webhooks/{webhookId}", "Get a global webhook (admin)", tag), s.getGlobalWebhook)
	huma.Register(s.api, op(scopeAdmin, "update-global-webhook", http.MethodPut, "/api/webhooks/{webhookId}", "Update a global webhook (admin)", tag),
		s.updateGlobalWebhook)
	huma.Register(s.api, op(scopeAdmin, "delete-global-webhook", http.MethodDelete, "/api/webhooks/{webhookId}", "Delete a global webhook (admin)", tag),
		s.deleteGlobalWebhook)
	huma.Register(s.api, op(scopeAdmin, "test-global-webhook", http.MethodPost, "/api/webhooks/{webhookId}/test",
		"Deliver a webhook.test event now (admin)", tag), s.testGlobalWebhook)
	huma.Register(s.api, op(scopeAdmin, "list-global-deliveries", http.MethodGet, "/api/webhooks/{webhookId}/deliveries",
		"A global webhook's deliveries (admin)", tag), s.listGlobalDeliveries)
	huma.Register(s.api, op(scopeAdmin, "retry-global-delivery", http.MethodPost, "/api/webhooks/{webhookId}/deliveries/{deliveryId}/retry",
		"Retry a delivery now (admin)", tag), s.retryGlobalDelivery)
}

func (s *Server) createWebhook(ctx context.Context, in *createWebhookInput) (*Out[*webhook.Webhook], error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	return s.webhookCreate(ctx, in.ID, &in.Body)
}

func (s *Server) listWebhooks(ctx context.Context, in *listWebhooksInput) (*ListOut[*webhook.Webhook], error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	return s.webhookList(ctx, in.ID, in.PageQuery)
}

func (s *Server) getWebhook(ctx context.Context, in *webhookInput) (*Out[*webhook.Webhook], error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	return s.webhookGet(ctx, in.ID, in.WebhookID)
}

func (s *Server) updateWebhook(ctx context.Context, in *updateWebhookInput) (*Out[*webhook.Webhook], error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	return s.webhookUpdate(ctx, in.ID, in.WebhookID, &in.Body)
}

func (s *Server) deleteWebhook(ctx context.Context, in *webhookInput) (*Out[Deleted], error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	return s.webhookDelete(ctx, in.ID, in.WebhookID)
}

func (s *Server) testWebhook(ctx context.Context, in *webhookInput) (*Out[*webhook.Delivery], error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	return s.webhookTest(ctx, in.ID, in.WebhookID)
}

func (s *Server) listDeliveries(ctx context.Context, in *listDeliveriesInput) (*ListOut[*webhook.Delivery], error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	return s.deliveryList(ctx, in.ID, in.WebhookID, in.DeliveryQuery)
}

func (s *Server) retryDelivery(ctx context.Context, in *retryDeliveryInput) (*Out[*webhook.Delivery], error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	return s.deliveryRetry(ctx, in.ID, in.WebhookID, in.DeliveryID)
}

// The global webhooks have no session: their session id is "".

func (s *Server) createGlobalWebhook(ctx context.Context, in *createGlobalWebhookInput) (*Out[*webhook.Webhook], error) {
	return s.webhookCreate(ctx, "", &in.Body)
}

func (s *Server) listGlobalWebhooks(ctx context.Context, in *PageQuery) (*ListOut[*webhook.Webhook], error) {
	return s.webhookList(ctx, "", *in)
}

func (s *Server) getGlobalWebhook(ctx context.Context, in *WebhookIDPath) (*Out[*webhook.Webhook], error) {
	return s.webhookGet(ctx, "", in.WebhookID)
}

func (s *Server) updateGlobalWebhook(ctx context.Context, in *updateGlobalWebhookInput) (*Out[*webhook.Webhook], error) {
	return s.webhookUpdate(ctx, "", in.WebhookID, &in.Body)
}

func (s *Server) deleteGlobalWebhook(ctx context.Context, in *WebhookIDPath) (*Out[Deleted], error) {
	return s.webhookDelete(ctx, "", in.WebhookID)
}

func (s *Server) testGlobalWebhook(ctx context.Context, in *WebhookIDPath) (*Out[*webhook.Delivery], error) {
	return s.webhookTest(ctx, "", in.WebhookID)
}

func (s *Server) listGlobalDeliveries(ctx context.Context, in *listGlobalDeliveriesInput) (*ListOut[*webhook.Delivery], error) {
	return s.deliveryList(ctx, "", in.WebhookID, in.DeliveryQuery)
}

func (s *Server) retryGlobalDelivery(ctx context.Context, in *retryGlobalDeliveryInput) (*Out[*webhook.Delivery], error) {
	return s.deliveryRetry(ctx, "", in.WebhookID, in.DeliveryID)
}

func (s *Server) webhookCreate(ctx context.Context, sessionID string, b *WebhookBody) (*Out[*webhook.Webhook], error) {
	w, err := s.opts.Webhooks.Create(ctx, sessionID, b.input())
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusCreated, w), nil
}

func (s *Server) webhookList(ctx context.Context, sessionID string, p PageQuery) (*ListOut[*webhook.Webhook], error) {
	list, total, err := s.opts.Webhooks.List(ctx, sessionID, p.Limit, p.offset())
	if err != nil {
		return nil, err
	}
	return replyList(ctx, list, p, total), nil
}

func (s *Server) webhookGet(ctx context.Context, sessionID, id string) (*Out[*webhook.Webhook], error) {
	w, err := s.opts.Webhooks.Get(ctx, sessionID, id)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, w), nil
}

func (s *Server) webhookUpdate(ctx context.Context, sessionID, id string, b *WebhookBody) (*Out[*webhook.Webhook], error) {
	w, err := s.opts.Webhooks.Update(ctx, sessionID, id, b.input())
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, w), nil
}

func (s *Server) webhookDelete(ctx context.Context, sessionID, id string) (*Out[Deleted], error) {
	if err := s.opts.Webhooks.Delete(ctx, sessionID, id); err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, Deleted{ID: id, Deleted: true}), nil
}

func (s *Server) webhookTest(ctx context.Context, sessionID, id string) (*Out[*webhook.Delivery], error) {
	d, err := s.opts.Webhooks.Test(ctx, sessionID, id)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, d), nil
}

func (s *Server) deliveryList(ctx context.Context, sessionID, id string, q DeliveryQuery) (*ListOut[*webhook.Delivery], error) {
	list, total, err := s.opts.Webhooks.Deliveries(ctx, sessionID, id, string(q.Status), q.Limit, q.offset())
	if err != nil {
		return nil, err
	}
	return replyList(ctx, list, q.PageQuery, total), nil
}

func (s *Server) deliveryRetry(ctx context.Context, sessionID, id, deliveryID string) (*Out[*webhook.Delivery], error) {
	d, err := s.opts.Webhooks.Retry(ctx, sessionID, id, deliveryID)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, d), nil
}
