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

// webhookScope says whose webhooks a route acts on: a session's, or the global ones ("").
type webhookScope func(ctx context.Context, sessionID string) error

func (s *Server) webhookRoutes() {
	// Session webhooks: the key needs the session, which must exist.
	sessionScope := func(ctx context.Context, id string) error { return s.sessionExists(ctx, id) }
	tag := "Webhooks"
	base := "/api/sessions/{id}/webhooks"

	huma.Register(s.api, withStatus(op("create-webhook", http.MethodPost, base, "Create a webhook of the session (the secret is shown once)", tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			SessionPath
			Body WebhookBody
		}) (*Out[*webhook.Webhook], error) {
			return s.createWebhook(ctx, sessionScope, in.ID, &in.Body)
		})
	huma.Register(s.api, op("list-webhooks", http.MethodGet, base, "List the session's webhooks", tag),
		func(ctx context.Context, in *struct {
			SessionPath
			PageQuery
		}) (*ListOut[*webhook.Webhook], error) {
			return s.listWebhooks(ctx, sessionScope, in.ID, in.PageQuery)
		})
	huma.Register(s.api, op("get-webhook", http.MethodGet, base+"/{webhookId}", "Get a webhook", tag),
		func(ctx context.Context, in *struct {
			SessionPath
			WebhookIDPath
		}) (*Out[*webhook.Webhook], error) {
			return s.getWebhook(ctx, sessionScope, in.ID, in.WebhookID)
		})
	huma.Register(s.api, op("update-webhook", http.MethodPut, base+"/{webhookId}", "Update a webhook", tag),
		func(ctx context.Context, in *struct {
			SessionPath
			WebhookIDPath
			Body WebhookBody
		}) (*Out[*webhook.Webhook], error) {
			return s.updateWebhook(ctx, sessionScope, in.ID, in.WebhookID, &in.Body)
		})
	huma.Register(s.api, op("delete-webhook", http.MethodDelete, base+"/{webhookId}", "Delete a webhook with its deliveries", tag),
		func(ctx context.Context, in *struct {
			SessionPath
			WebhookIDPath
		}) (*Out[Deleted], error) {
			return s.deleteWebhook(ctx, sessionScope, in.ID, in.WebhookID)
		})
	huma.Register(s.api, op("test-webhook", http.MethodPost, base+"/{webhookId}/test", "Deliver a webhook.test event now and return the attempt", tag),
		func(ctx context.Context, in *struct {
			SessionPath
			WebhookIDPath
		}) (*Out[*webhook.Delivery], error) {
			return s.testWebhook(ctx, sessionScope, in.ID, in.WebhookID)
		})
	huma.Register(s.api, op("list-deliveries", http.MethodGet, base+"/{webhookId}/deliveries", "A webhook's deliveries, newest event first", tag),
		func(ctx context.Context, in *struct {
			SessionPath
			WebhookIDPath
			DeliveryQuery
		}) (*ListOut[*webhook.Delivery], error) {
			return s.listDeliveries(ctx, sessionScope, in.ID, in.WebhookID, in.DeliveryQuery)
		})
	huma.Register(s.api, op("retry-delivery", http.MethodPost, base+"/{webhookId}/deliveries/{deliveryId}/retry", "Retry a delivery now", tag),
		func(ctx context.Context, in *struct {
			SessionPath
			WebhookIDPath
			DeliveryIDPath
		}) (*Out[*webhook.Delivery], error) {
			return s.retryDelivery(ctx, sessionScope, in.ID, in.WebhookID, in.DeliveryID)
		})

	// Global webhooks get the events of every session; admin only.
	globalScope := func(ctx context.Context, _ string) error { return requireAdmin(ctx) }
	gbase := "/api/webhooks"
	huma.Register(s.api, withStatus(op("create-global-webhook", http.MethodPost, gbase, "Create a global webhook (admin; the secret is shown once)", tag), http.StatusCreated),
		func(ctx context.Context, in *struct{ Body WebhookBody }) (*Out[*webhook.Webhook], error) {
			return s.createWebhook(ctx, globalScope, "", &in.Body)
		})
	huma.Register(s.api, op("list-global-webhooks", http.MethodGet, gbase, "List the global webhooks (admin)", tag),
		func(ctx context.Context, in *PageQuery) (*ListOut[*webhook.Webhook], error) {
			return s.listWebhooks(ctx, globalScope, "", *in)
		})
	huma.Register(s.api, op("get-global-webhook", http.MethodGet, gbase+"/{webhookId}", "Get a global webhook (admin)", tag),
		func(ctx context.Context, in *WebhookIDPath) (*Out[*webhook.Webhook], error) {
			return s.getWebhook(ctx, globalScope, "", in.WebhookID)
		})
	huma.Register(s.api, op("update-global-webhook", http.MethodPut, gbase+"/{webhookId}", "Update a global webhook (admin)", tag),
		func(ctx context.Context, in *struct {
			WebhookIDPath
			Body WebhookBody
		}) (*Out[*webhook.Webhook], error) {
			return s.updateWebhook(ctx, globalScope, "", in.WebhookID, &in.Body)
		})
	huma.Register(s.api, op("delete-global-webhook", http.MethodDelete, gbase+"/{webhookId}", "Delete a global webhook (admin)", tag),
		func(ctx context.Context, in *WebhookIDPath) (*Out[Deleted], error) {
			return s.deleteWebhook(ctx, globalScope, "", in.WebhookID)
		})
	huma.Register(s.api, op("test-global-webhook", http.MethodPost, gbase+"/{webhookId}/test", "Deliver a webhook.test event now (admin)", tag),
		func(ctx context.Context, in *WebhookIDPath) (*Out[*webhook.Delivery], error) {
			return s.testWebhook(ctx, globalScope, "", in.WebhookID)
		})
	huma.Register(s.api, op("list-global-deliveries", http.MethodGet, gbase+"/{webhookId}/deliveries", "A global webhook's deliveries (admin)", tag),
		func(ctx context.Context, in *struct {
			WebhookIDPath
			DeliveryQuery
		}) (*ListOut[*webhook.Delivery], error) {
			return s.listDeliveries(ctx, globalScope, "", in.WebhookID, in.DeliveryQuery)
		})
	huma.Register(s.api, op("retry-global-delivery", http.MethodPost, gbase+"/{webhookId}/deliveries/{deliveryId}/retry", "Retry a delivery now (admin)", tag),
		func(ctx context.Context, in *struct {
			WebhookIDPath
			DeliveryIDPath
		}) (*Out[*webhook.Delivery], error) {
			return s.retryDelivery(ctx, globalScope, "", in.WebhookID, in.DeliveryID)
		})
}

func (s *Server) createWebhook(ctx context.Context, scope webhookScope, sessionID string, b *WebhookBody) (*Out[*webhook.Webhook], error) {
	if err := scope(ctx, sessionID); err != nil {
		return nil, err
	}
	w, err := s.opts.Webhooks.Create(ctx, sessionID, b.input())
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusCreated, w), nil
}

func (s *Server) listWebhooks(ctx context.Context, scope webhookScope, sessionID string, p PageQuery) (*ListOut[*webhook.Webhook], error) {
	if err := scope(ctx, sessionID); err != nil {
		return nil, err
	}
	list, total, err := s.opts.Webhooks.List(ctx, sessionID, p.Limit, p.offset())
	if err != nil {
		return nil, err
	}
	return replyList(ctx, list, p, total), nil
}

func (s *Server) getWebhook(ctx context.Context, scope webhookScope, sessionID, id string) (*Out[*webhook.Webhook], error) {
	if err := scope(ctx, sessionID); err != nil {
		return nil, err
	}
	w, err := s.opts.Webhooks.Get(ctx, sessionID, id)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, w), nil
}

func (s *Server) updateWebhook(ctx context.Context, scope webhookScope, sessionID, id string, b *WebhookBody) (*Out[*webhook.Webhook], error) {
	if err := scope(ctx, sessionID); err != nil {
		return nil, err
	}
	w, err := s.opts.Webhooks.Update(ctx, sessionID, id, b.input())
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, w), nil
}

func (s *Server) deleteWebhook(ctx context.Context, scope webhookScope, sessionID, id string) (*Out[Deleted], error) {
	if err := scope(ctx, sessionID); err != nil {
		return nil, err
	}
	if err := s.opts.Webhooks.Delete(ctx, sessionID, id); err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, Deleted{ID: id, Deleted: true}), nil
}

func (s *Server) testWebhook(ctx context.Context, scope webhookScope, sessionID, id string) (*Out[*webhook.Delivery], error) {
	if err := scope(ctx, sessionID); err != nil {
		return nil, err
	}
	d, err := s.opts.Webhooks.Test(ctx, sessionID, id)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, d), nil
}

func (s *Server) listDeliveries(ctx context.Context, scope webhookScope, sessionID, id string, q DeliveryQuery) (*ListOut[*webhook.Delivery], error) {
	if err := scope(ctx, sessionID); err != nil {
		return nil, err
	}
	list, total, err := s.opts.Webhooks.Deliveries(ctx, sessionID, id, string(q.Status), q.Limit, q.offset())
	if err != nil {
		return nil, err
	}
	return replyList(ctx, list, q.PageQuery, total), nil
}

func (s *Server) retryDelivery(ctx context.Context, scope webhookScope, sessionID, id, deliveryID string) (*Out[*webhook.Delivery], error) {
	if err := scope(ctx, sessionID); err != nil {
		return nil, err
	}
	d, err := s.opts.Webhooks.Retry(ctx, sessionID, id, deliveryID)
	if err != nil {
		return nil, err
	}
	return reply(ctx, http.StatusOK, d), nil
}
