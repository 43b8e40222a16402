package httpapi

import (
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openwa/openwa/internal/event"
)

// addWebhooks describes every registered event in the OpenAPI document's
// webhooks section: the request OpenWA sends to a webhook, whose body is the
// event object {id, seq, event, timestamp, sessionId, data} with the
// event's payload as data.
func addWebhooks(doc *huma.OpenAPI, events *event.Registry) {
	if doc.Webhooks == nil {
		doc.Webhooks = map[string]*huma.PathItem{}
	}
	headers := []*huma.Param{
		{Name: "webhook-id", In: "header", Required: true, Description: "The event id (the same on every attempt).",
			Schema: &huma.Schema{Type: huma.TypeString}},
		{Name: "webhook-timestamp", In: "header", Required: true, Description: "Unix seconds of the attempt.",
			Schema: &huma.Schema{Type: huma.TypeString}},
		{Name: "webhook-signature", In: "header", Required: true,
			Description: "Standard Webhooks signature (v1,<base64 HMAC-SHA256>) of id.timestamp.body.",
			Schema:      &huma.Schema{Type: huma.TypeString}},
		{Name: "x-openwa-event", In: "header", Required: true, Description: "The event name.",
			Schema: &huma.Schema{Type: huma.TypeString}},
	}
	for _, spec := range events.Specs() {
		data := doc.Components.Schemas.Schema(spec.Payload, true, spec.Payload.Name())
		body := &huma.Schema{
			Type:     huma.TypeObject,
			Required: []string{"id", "seq", "event", "timestamp", "sessionId", "data"},
			Properties: map[string]*huma.Schema{
				"id":        {Type: huma.TypeString, Description: "Event id; ids sort by creation."},
				"seq":       {Type: huma.TypeInteger, Format: "int64", Description: "Position in the event log."},
				"event":     {Type: huma.TypeString, Enum: []any{spec.Name}},
				"timestamp": {Type: huma.TypeString, Format: "date-time"},
				"sessionId": {Type: huma.TypeString, Nullable: true, Description: "The session, or null for events of no session."},
				"data":      data,
			},
			AdditionalProperties: false,
		}
		doc.Webhooks[spec.Name] = &huma.PathItem{Post: &huma.Operation{
			OperationID: "event-" + strings.ReplaceAll(spec.Name, ".", "-"),
			Method:      http.MethodPost,
			Summary:     spec.Summary,
			Description: "OpenWA POSTs this to every webhook subscribed to " + spec.Name + " (or to *).",
			Tags:        []string{"Events"},
			Parameters:  headers,
			// The receiver checks webhook-signature, not a key of this document's schemes.
			Security: publicSecurity,
			RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
				"application/json": {Schema: body}}},
			Responses: map[string]*huma.Response{
				"200": {Description: "Any 2xx acknowledges the delivery; 410 disables the webhook; anything else is retried with backoff."},
			},
		}}
	}
}
