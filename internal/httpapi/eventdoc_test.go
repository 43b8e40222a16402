package httpapi_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/openwa/openwa/internal/event/catalog"
)

// Every registered event is in the OpenAPI document's webhooks section, its
// body the event object with the payload schema as data; and the names a
// webhook, the event log and the stream accept are exactly the registered ones.
func TestOpenAPIWebhooksDescribeEveryEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var doc struct {
		Webhooks map[string]struct {
			Post struct {
				RequestBody struct {
					Content map[string]struct {
						Schema struct {
							Properties map[string]struct {
								Ref  string `json:"$ref"`
								Enum []string
							} `json:"properties"`
							Required []string `json:"required"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			} `json:"post"`
		} `json:"webhooks"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(e.do("GET", "/openapi.json", nil, noKey()).Raw, &doc); err != nil {
		t.Fatal(err)
	}
	names := catalog.Events.Names()
	if len(names) < 10 || len(doc.Webhooks) != len(names) {
		t.Fatalf("%d registered events, %d webhooks in the document", len(names), len(doc.Webhooks))
	}
	for _, name := range names {
		body := doc.Webhooks[name].Post.RequestBody.Content["application/json"].Schema
		data := body.Properties["data"]
		if data.Ref == "" || doc.Components.Schemas[data.Ref[len("#/components/schemas/"):]] == nil {
			t.Errorf("%s: data has no payload schema (%q)", name, data.Ref)
		}
		if !slices.Equal(body.Properties["event"].Enum, []string{name}) {
			t.Errorf("%s: event enum %v", name, body.Properties["event"].Enum)
		}
		for _, f := range []string{"id", "seq", "event", "timestamp", "sessionId", "data"} {
			if !slices.Contains(body.Required, f) {
				t.Errorf("%s: envelope lacks required %s", name, f)
			}
		}
	}
	// Only registered names are accepted as filters.
	e.createSession("s", true)
	e.expect(e.do("POST", "/api/sessions/s/webhooks", map[string]any{"url": "https://93.184.215.14/",
		"events": []string{"message.exploded"}}), 400, "VALIDATION_ERROR")
	e.expect(e.do("GET", "/api/events?events=message.exploded", nil), 400, "VALIDATION_ERROR")
	e.expect(e.do("POST", "/api/sessions/s/webhooks", map[string]any{"url": "https://93.184.215.14/",
		"events": names}), 201, "")
	e.expect(e.do("GET", "/api/events?events="+names[0]+","+names[len(names)-1], nil), 200, "")
}
