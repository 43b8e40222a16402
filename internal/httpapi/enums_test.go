package httpapi_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/openwa/openwa/internal/auth"
	"github.com/openwa/openwa/internal/message"
	"github.com/openwa/openwa/internal/session"
	"github.com/openwa/openwa/internal/webhook"
)

// The status and role enums of the document are their constants, in order,
// wherever they appear; values outside them are refused.
func TestEnumsFromConstants(t *testing.T) {
	e := newEnv(t, nil)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name, In string
				Schema   struct{ Enum []string }
			}
		}
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct{ Enum []string }
			}
		}
	}
	if err := json.Unmarshal(e.do("GET", "/openapi.json", nil, noKey()).Raw, &doc); err != nil {
		t.Fatal(err)
	}
	strs := func(v any) []string {
		var out []string
		b, _ := json.Marshal(v)
		_ = json.Unmarshal(b, &out)
		return out
	}
	sessions, messages, deliveries, roles := strs(session.Statuses), strs(message.Statuses),
		strs(webhook.DeliveryStatuses), strs(auth.Roles)
	for _, c := range []struct {
		schema, property string
		want             []string
	}{
		{"Session", "status", sessions},
		{"Message", "status", messages},
		{"Delivery", "status", deliveries},
		{"Key", "role", roles},
		{"CreateKeyInputBody", "role", roles},
	} {
		s, ok := doc.Components.Schemas[c.schema]
		if !ok {
			t.Errorf("no schema %s", c.schema)
			continue
		}
		if got := s.Properties[c.property].Enum; !slices.Equal(got, c.want) {
			t.Errorf("%s.%s: enum %v, want %v", c.schema, c.property, got, c.want)
		}
	}
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/api/sessions", sessions},
		{"/api/sessions/{id}/messages", messages},
		{"/api/sessions/{id}/webhooks/{webhookId}/deliveries", deliveries},
		{"/api/webhooks/{webhookId}/deliveries", deliveries},
	} {
		var got []string
		for _, p := range doc.Paths[c.path]["get"].Parameters {
			if p.In == "query" && p.Name == "status" {
				got = p.Schema.Enum
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("GET %s ?status: enum %v, want %v", c.path, got, c.want)
		}
	}

	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "s", "config": map[string]any{"autoStart": false}}), 201, "")
	e.expect(e.do("GET", "/api/sessions?status=ready", nil), 400, "VALIDATION_ERROR")
	e.expect(e.do("GET", "/api/sessions/s/messages?status=QUEUED", nil), 400, "VALIDATION_ERROR")
	e.expect(e.do("GET", "/api/webhooks/wh_000000000000000000000000/deliveries?status=done", nil), 400, "VALIDATION_ERROR")
	e.expect(e.do("POST", "/api/keys", map[string]any{"name": "k", "role": "root"}), 400, "VALIDATION_ERROR")
	for _, st := range sessions {
		e.expect(e.do("GET", fmt.Sprintf("/api/sessions?status=%s", st), nil), 200, "")
	}
}
