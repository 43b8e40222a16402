package httpapi_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("h", true)
	e.waitStatus("h", "READY")

	r := e.do("GET", "/health", nil, noKey())
	e.expect(r, 200, "")
	d := r.data()
	if d["status"] != "ok" || d["version"] == "" {
		t.Fatalf("health: %v", d)
	}
	comps := d["components"].(map[string]any)
	for _, c := range []string{"database", "cache", "storage", "queue"} {
		comp, ok := comps[c].(map[string]any)
		if !ok || comp["state"] != "ready" || comp["error"] != nil {
			t.Errorf("component %s: %v", c, comps[c])
		}
	}
	sess := d["sessions"].(map[string]any)
	if sess["total"] != 1.0 || sess["byStatus"].(map[string]any)["READY"] != 1.0 {
		t.Fatalf("sessions: %v", sess)
	}
	e.expect(e.do("GET", "/health/live", nil, noKey()), 200, "")
	e.expect(e.do("GET", "/health/ready", nil, noKey()), 200, "")

	// With the database gone the server says so rather than pretending.
	e.app.Store.Close()
	r = e.do("GET", "/health", nil, noKey())
	if r.Status != 503 || r.data()["status"] != "down" ||
		r.data()["components"].(map[string]any)["database"].(map[string]any)["state"] != "degraded" {
		t.Fatalf("health without a database: %d %s", r.Status, r.Raw)
	}
	e.expect(e.do("GET", "/health/ready", nil, noKey()), 503, "SERVICE_UNAVAILABLE")
	e.expect(e.do("GET", "/health/live", nil, noKey()), 200, "")
}

func TestOpenAPIAndDocs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.do("GET", "/openapi.json", nil, noKey())
	if r.Status != 200 {
		t.Fatal(r.Status)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	want := map[string][]string{
		"/api/sessions":                      {"get", "post"},
		"/api/sessions/{id}":                 {"get", "put", "delete"},
		"/api/sessions/{id}/start":           {"post"},
		"/api/sessions/{id}/stop":            {"post"},
		"/api/sessions/{id}/restart":         {"post"},
		"/api/sessions/{id}/logout":          {"post"},
		"/api/sessions/{id}/qr":              {"get"},
		"/api/sessions/{id}/pairing-code":    {"post"},
		"/api/sessions/{id}/me":              {"get"},
		"/api/sessions/{id}/mock/pair":       {"post"},
		"/api/sessions/{id}/mock/inbound":    {"post"},
		"/api/sessions/{id}/mock/disconnect": {"post"},
		"/api/keys":                          {"get", "post"},
		"/api/keys/{keyId}":                  {"get", "delete"},
		"/api/audit":                         {"get"},
		"/health":                            {"get"},
		"/health/live":                       {"get"},
		"/health/ready":                      {"get"},
	}
	for path, methods := range want {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("spec lacks %s %s", m, path)
			}
		}
	}
	if !strings.Contains(string(r.Raw), `"success"`) || !strings.Contains(string(r.Raw), `"requestId"`) {
		t.Error("spec does not describe the envelope")
	}
	if y := e.do("GET", "/openapi.yaml", nil, noKey()); y.Status != 200 || !strings.Contains(string(y.Raw), "openapi: 3.1.0") {
		t.Fatalf("yaml: %d", y.Status)
	}

	// Swagger UI works offline: its page and assets come from this server.
	page := e.do("GET", "/docs/", nil, noKey())
	if page.Status != 200 || !strings.Contains(string(page.Raw), "/openapi.json") {
		t.Fatalf("docs page: %d %.200s", page.Status, page.Raw)
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(page.Raw), -1) {
		ref := m[1]
		if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "//") {
			t.Errorf("docs page loads %s from the internet", ref)
			continue
		}
		if !strings.HasPrefix(ref, "/") {
			ref = "/docs/" + ref
		}
		if a := e.do("GET", ref, nil, noKey()); a.Status != 200 || len(a.Raw) == 0 {
			t.Errorf("asset %s: %d", ref, a.Status)
		}
	}
}

// The spec declares the statuses the routes answer with.
func TestOpenAPIStatuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(e.do("GET", "/openapi.json", nil, noKey()).Raw, &doc); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal(e.do("GET", "/openapi.json", nil, noKey()).Raw, &raw)
	content := raw["paths"].(map[string]any)["/api/sessions/{id}/messages/send-image"].(map[string]any)["post"].(map[string]any)["requestBody"].(map[string]any)["content"].(map[string]any)
	for _, ct := range []string{"application/json", "multipart/form-data"} {
		if _, ok := content[ct]; !ok {
			t.Errorf("send-image does not declare %s", ct)
		}
	}
	for _, c := range []struct{ path, method, status string }{
		{"/api/sessions", "post", "201"},
		{"/api/sessions/{id}/messages/send-text", "post", "201"},
		{"/api/sessions/{id}/messages/send-text", "post", "202"},
		{"/api/sessions/{id}/messages/send-poll", "post", "202"},
		{"/api/sessions/{id}/mock/pair", "post", "202"},
		{"/api/sessions/{id}/mock/inbound", "post", "202"},
		{"/api/sessions/{id}/mock/disconnect", "post", "202"},
		{"/api/keys", "post", "201"},
		{"/api/sessions/{id}/messages/send-image", "post", "202"},
		{"/api/sessions/{id}/media/{mediaId}", "get", "200"},
	} {
		if _, ok := doc.Paths[c.path][c.method].Responses[c.status]; !ok {
			t.Errorf("%s %s: no %s response in the spec", c.method, c.path, c.status)
		}
	}
}
