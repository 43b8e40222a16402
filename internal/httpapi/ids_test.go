package httpapi_test

import (
	"encoding/json"
	"testing"

	"github.com/openwa/openwa/internal/ident"
)

// Every id the document describes carries the pattern of package ident: the
// struct tags that publish them cannot drift from the ids OpenWA makes.
func TestIDPatternsArePackageIdent(t *testing.T) {
	e := newEnv(t, nil)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name, In string
				Schema   struct{ Pattern string }
			}
		}
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct{ Pattern string }
			}
		}
	}
	if err := json.Unmarshal(e.do("GET", "/openapi.json", nil, noKey()).Raw, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"id": ident.SessionPattern, "keyId": ident.KeyPattern, "webhookId": ident.WebhookPattern,
		"deliveryId": ident.DeliveryPattern, "messageId": ident.MessagePattern, "mediaId": ident.MediaPattern,
	}
	seen := map[string]int{}
	for path, ops := range doc.Paths {
		for method, o := range ops {
			for _, p := range o.Parameters {
				if p.In != "path" {
					continue
				}
				w, ok := want[p.Name]
				if !ok {
					continue
				}
				seen[p.Name]++
				if p.Schema.Pattern != w {
					t.Errorf("%s %s {%s}: pattern %q, want %q", method, path, p.Name, p.Schema.Pattern, w)
				}
			}
		}
	}
	for name := range want {
		if seen[name] == 0 {
			t.Errorf("no path parameter {%s} in the document", name)
		}
	}
	if got := doc.Components.Schemas["CreateSessionBody"].Properties["id"].Pattern; got != ident.SessionPattern {
		t.Errorf("CreateSessionBody.id: pattern %q, want %q", got, ident.SessionPattern)
	}
}
