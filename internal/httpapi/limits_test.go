package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// hasField reports whether a VALIDATION_ERROR names field in details.fields.
func hasField(r *resp, field string) bool {
	fields, _ := r.errDetails()["fields"].([]any)
	for _, f := range fields {
		if m, ok := f.(map[string]any); ok && m["field"] == field {
			return true
		}
	}
	return false
}

// Every paginated list of the published document refuses a page whose offset
// would overflow: 400 naming page, never a 500 or a silent first page.
func TestPageBounds(t *testing.T) {
	e := newEnv(t, nil)
	e.createSession("s1", true)
	e.waitStatus("s1", "READY")
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(e.do("GET", "/openapi.json", nil, noKey()).Raw, &doc); err != nil {
		t.Fatal(err)
	}
	sample := strings.NewReplacer("{id}", "s1", "{webhookId}", "wh_000000000000000000000000", "{chatId}", "6281234567890")
	var lists []string
	for path, ops := range doc.Paths {
		for _, p := range ops["get"].Parameters {
			if p.Name == "page" && p.In == "query" {
				lists = append(lists, sample.Replace(path))
			}
		}
	}
	// sessions, messages, chats, a chat's messages, contacts, groups, session
	// and global webhooks and their deliveries, keys, audit.
	if len(lists) < 12 {
		t.Fatalf("only %d paginated lists in the document: %v", len(lists), lists)
	}
	for _, path := range lists {
		for _, page := range []string{"4611686018427387904", "9223372036854775807", "1000001", "99999999999999999999"} {
			t.Run(path+"?page="+page, func(t *testing.T) {
				r := e.do("GET", path+"?limit=4&page="+page, nil)
				if r.Status != 400 || r.code() != "VALIDATION_ERROR" || !hasField(r, "page") {
					t.Fatalf("got %d, want 400 VALIDATION_ERROR naming page: %s", r.Status, r.Raw)
				}
			})
		}
	}
	// The largest page allowed is an empty page, not an error.
	r := e.do("GET", "/api/sessions?limit=100&page=1000000", nil)
	e.expect(r, 200, "")
	if len(r.list()) != 0 {
		t.Fatalf("last page: %s", r.Raw)
	}
}
