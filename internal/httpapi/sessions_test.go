package httpapi_test

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"

	"github.com/openwa/openwa/internal/store"
)

func TestSessionCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)

	r := e.do("POST", "/api/sessions", map[string]any{"id": "sales-bot", "name": "Sales bot", "engine": "mock",
		"config": map[string]any{"autoStart": false}})
	e.expect(r, 201, "")
	d := r.data()
	if d["id"] != "sales-bot" || d["name"] != "Sales bot" || d["engine"] != "mock" || d["status"] != "CREATED" {
		t.Fatalf("created session: %v", d)
	}
	for _, k := range []string{"phone", "pushName", "lastError"} {
		if v, ok := d[k]; !ok || v != nil {
			t.Errorf("%s = %v, want null", k, v)
		}
	}
	if r.Body["meta"].(map[string]any)["requestId"] != r.Header.Get("X-Request-Id") {
		t.Error("meta.requestId differs from X-Request-Id")
	}

	t.Run("generated id", func(t *testing.T) {
		r := e.do("POST", "/api/sessions", map[string]any{"config": map[string]any{"autoStart": false}})
		e.expect(r, 201, "")
		if id, _ := r.data()["id"].(string); !strings.HasPrefix(id, "s_") || r.data()["engine"] != "mock" {
			t.Fatalf("generated session: %v", r.data())
		}
	})
	t.Run("no body at all", func(t *testing.T) {
		r := e.do("POST", "/api/sessions", nil)
		e.expect(r, 201, "")
		e.expect(e.do("DELETE", "/api/sessions/"+r.data()["id"].(string), nil), 200, "")
	})
	t.Run("duplicate id", func(t *testing.T) {
		e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "sales-bot"}), 409, "SESSION_ALREADY_EXISTS")
	})
	t.Run("get", func(t *testing.T) {
		r := e.do("GET", "/api/sessions/sales-bot", nil)
		e.expect(r, 200, "")
		if r.data()["name"] != "Sales bot" {
			t.Fatal(r.data())
		}
	})
	t.Run("get unknown", func(t *testing.T) {
		e.expect(e.do("GET", "/api/sessions/nope", nil), 404, "SESSION_NOT_FOUND")
	})
	t.Run("list and paginate", func(t *testing.T) {
		r := e.do("GET", "/api/sessions?limit=1&page=2", nil)
		e.expect(r, 200, "")
		p := r.Body["pagination"].(map[string]any)
		if p["total"] != 2.0 || p["page"] != 2.0 || p["limit"] != 1.0 || p["totalPages"] != 2.0 || len(r.list()) != 1 {
			t.Fatalf("pagination %v, %d items", p, len(r.list()))
		}
		r = e.do("GET", "/api/sessions?status=READY", nil)
		if len(r.list()) != 0 || r.Body["pagination"].(map[string]any)["total"] != 0.0 {
			t.Fatalf("status filter: %s", r.Raw)
		}
		r = e.do("GET", "/api/sessions?status=CREATED", nil)
		if len(r.list()) != 2 {
			t.Fatalf("status filter: %s", r.Raw)
		}
	})
	t.Run("update", func(t *testing.T) {
		r := e.do("PUT", "/api/sessions/sales-bot", map[string]any{"name": "Renamed",
			"config": map[string]any{"autoStart": false, "mock": map[string]any{"pairDelayMs": 10}}})
		e.expect(r, 200, "")
		if r.data()["name"] != "Renamed" || r.data()["config"].(map[string]any)["mock"].(map[string]any)["pairDelayMs"] != 10.0 {
			t.Fatal(r.data())
		}
		e.expect(e.do("PUT", "/api/sessions/nope", map[string]any{"name": "x"}), 404, "SESSION_NOT_FOUND")
		e.expect(e.do("PUT", "/api/sessions/sales-bot", map[string]any{"name": ""}), 400, "VALIDATION_ERROR")
		e.expect(e.do("PUT", "/api/sessions/sales-bot", map[string]any{"nmae": "typo"}), 400, "VALIDATION_ERROR")
	})
	t.Run("delete", func(t *testing.T) {
		r := e.do("DELETE", "/api/sessions/sales-bot", nil)
		e.expect(r, 200, "")
		e.expect(e.do("GET", "/api/sessions/sales-bot", nil), 404, "SESSION_NOT_FOUND")
		e.expect(e.do("DELETE", "/api/sessions/sales-bot", nil), 404, "SESSION_NOT_FOUND")
	})
}

func TestSessionInputErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"MAX_UPLOAD_MB": "1"})
	cases := []struct {
		name, method, path string
		body               any
		opts               []reqOpt
		status             int
		code, field        string
	}{
		{"bad JSON", "POST", "/api/sessions", `{"id": `, nil, 400, "VALIDATION_ERROR", "body"},
		{"bad id in body", "POST", "/api/sessions", map[string]any{"id": "no spaces"}, nil, 400, "VALIDATION_ERROR", "id"},
		{"too long id", "POST", "/api/sessions", map[string]any{"id": strings.Repeat("a", 65)}, nil, 400, "VALIDATION_ERROR", "id"},
		{"unknown field", "POST", "/api/sessions", map[string]any{"id": "a", "colour": "red"}, nil, 400, "VALIDATION_ERROR", "colour"},
		{"unknown nested field", "POST", "/api/sessions", map[string]any{"config": map[string]any{"mock": map[string]any{"speed": 1}}}, nil, 400, "VALIDATION_ERROR", "config.mock.speed"},
		{"wrong type", "POST", "/api/sessions", map[string]any{"name": 12}, nil, 400, "VALIDATION_ERROR", "name"},
		{"proxy not a URL", "POST", "/api/sessions", map[string]any{"config": map[string]any{"proxyUrl": "proxy.example.com:8080"}}, nil, 400, "VALIDATION_ERROR", "config.proxyUrl"},
		{"proxy scheme", "POST", "/api/sessions", map[string]any{"config": map[string]any{"proxyUrl": "ftp://proxy.example.com"}}, nil, 400, "VALIDATION_ERROR", "config.proxyUrl"},
		{"proxy on update", "PUT", "/api/sessions/sales-bot", map[string]any{"config": map[string]any{"proxyUrl": "socks5://"}}, nil, 400, "VALIDATION_ERROR", "config.proxyUrl"},
		{"unknown engine", "POST", "/api/sessions", map[string]any{"engine": "selenium"}, nil, 400, "VALIDATION_ERROR", "engine"},
		{"bad id in path", "GET", "/api/sessions/bad$id", nil, nil, 400, "VALIDATION_ERROR", "id"},
		{"limit too high", "GET", "/api/sessions?limit=101", nil, nil, 400, "VALIDATION_ERROR", "limit"},
		{"page zero", "GET", "/api/sessions?page=0", nil, nil, 400, "VALIDATION_ERROR", "page"},
		{"unknown status filter", "GET", "/api/sessions?status=SLEEPING", nil, nil, 400, "VALIDATION_ERROR", "status"},
		{"not JSON", "POST", "/api/sessions", "id=x", []reqOpt{header("Content-Type", "application/x-www-form-urlencoded")}, 415, "UNSUPPORTED_MEDIA_TYPE", ""},
		{"body too large", "POST", "/api/sessions", `{"name":"` + strings.Repeat("x", 3<<20) + `"}`, nil, 413, "PAYLOAD_TOO_LARGE", ""},
		{"unknown route", "GET", "/api/nothing-here", nil, nil, 404, "NOT_FOUND", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, c.body, c.opts...)
			e.expect(r, c.status, c.code)
			if c.field != "" {
				fields, _ := r.errDetails()["fields"].([]any)
				found := false
				for _, f := range fields {
					if f.(map[string]any)["field"] == c.field {
						found = true
					}
				}
				if !found {
					t.Fatalf("details.fields lacks %q: %s", c.field, r.Raw)
				}
			}
		})
	}
	// Bad input leaves nothing behind.
	r := e.do("GET", "/api/sessions", nil)
	if n := r.Body["pagination"].(map[string]any)["total"]; n != 0.0 {
		t.Fatalf("bad requests created %v sessions", n)
	}
}

func TestSessionLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"MAX_SESSIONS": "2"})
	for _, id := range []string{"a", "b"} {
		e.expect(e.do("POST", "/api/sessions", map[string]any{"id": id, "config": map[string]any{"autoStart": false}}), 201, "")
	}
	r := e.do("POST", "/api/sessions", map[string]any{"id": "c"})
	e.expect(r, 429, "SESSION_LIMIT_REACHED")
	if r.errDetails()["maxSessions"] != 2.0 {
		t.Fatalf("details: %s", r.Raw)
	}
	e.expect(e.do("GET", "/api/sessions/c", nil), 404, "SESSION_NOT_FOUND")
	e.expect(e.do("DELETE", "/api/sessions/a", nil), 200, "")
	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "c", "config": map[string]any{"autoStart": false}}), 201, "")
}

func TestPairByQR(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("qr", false)
	e.waitStatus("qr", "QR_READY")

	r := e.do("GET", "/api/sessions/qr/qr", nil)
	e.expect(r, 200, "")
	d := r.data()
	if qr, _ := d["qr"].(string); !strings.HasPrefix(qr, "2@") || d["status"] != "QR_READY" || d["expiresAt"] == "" ||
		!strings.HasPrefix(d["image"].(string), "data:image/png;base64,") {
		t.Fatalf("qr: %v", d)
	}
	r = e.do("GET", "/api/sessions/qr/qr?format=png", nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("png: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	if img, err := png.Decode(bytes.NewReader(r.Raw)); err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("png decode: %v", err)
	}
	e.expect(e.do("GET", "/api/sessions/qr/qr?format=gif", nil), 400, "VALIDATION_ERROR")
	e.expect(e.do("GET", "/api/sessions/qr/me", nil), 400, "SESSION_NOT_READY")

	e.expect(e.do("POST", "/api/sessions/qr/mock/pair", nil), 202, "")
	ready := e.waitStatus("qr", "READY")
	if ready["phone"] == nil || ready["pushName"] == nil {
		t.Fatalf("ready session lacks the account: %v", ready)
	}
	r = e.do("GET", "/api/sessions/qr/qr", nil)
	e.expect(r, 409, "QR_NOT_AVAILABLE")
	if r.errDetails()["status"] != "READY" {
		t.Fatalf("details.status: %s", r.Raw)
	}
	e.expect(e.do("POST", "/api/sessions/qr/mock/pair", nil), 409, "QR_NOT_AVAILABLE")

	r = e.do("GET", "/api/sessions/qr/me", nil)
	e.expect(r, 200, "")
	if r.data()["phone"] != ready["phone"] || !strings.HasSuffix(r.data()["id"].(string), "@s.whatsapp.net") {
		t.Fatalf("me: %v", r.data())
	}
}

func TestPairByPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("byphone", false)
	e.waitStatus("byphone", "QR_READY")
	e.expect(e.do("POST", "/api/sessions/byphone/pairing-code", map[string]any{"phoneNumber": "abc-not-a-phone"}), 400, "VALIDATION_ERROR")
	e.expect(e.do("POST", "/api/sessions/byphone/pairing-code", map[string]any{}), 400, "VALIDATION_ERROR")
	r := e.do("POST", "/api/sessions/byphone/pairing-code", map[string]any{"phoneNumber": "+62 812-3456-7890"})
	e.expect(r, 200, "")
	if code, _ := r.data()["code"].(string); len(code) != 9 || code[4] != '-' {
		t.Fatalf("code: %v", r.data())
	}
	ready := e.waitStatus("byphone", "READY")
	if ready["phone"] != "6281234567890" {
		t.Fatalf("paired as %v, want the number that asked for the code", ready["phone"])
	}
	e.expect(e.do("POST", "/api/sessions/byphone/pairing-code", map[string]any{"phoneNumber": "6281234567890"}), 409, "QR_NOT_AVAILABLE")
	e.expect(e.do("POST", "/api/sessions/nope/pairing-code", map[string]any{"phoneNumber": "6281234567890"}), 404, "SESSION_NOT_FOUND")
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("life", true)
	first := e.waitStatus("life", "READY")

	r := e.do("POST", "/api/sessions/life/stop", nil)
	e.expect(r, 200, "")
	if r.data()["status"] != "DISCONNECTED" {
		t.Fatalf("after stop: %v", r.data())
	}
	e.expect(e.do("GET", "/api/sessions/life/me", nil), 400, "SESSION_NOT_READY")
	r = e.do("GET", "/api/sessions/life/qr", nil)
	e.expect(r, 409, "QR_NOT_AVAILABLE")
	if r.errDetails()["status"] != "DISCONNECTED" {
		t.Fatalf("details.status: %s", r.Raw)
	}
	// A stopped session keeps its pairing: it comes back READY without a QR.
	e.expect(e.do("POST", "/api/sessions/life/start", nil), 200, "")
	again := e.waitStatus("life", "READY")
	if again["phone"] != first["phone"] {
		t.Fatalf("phone changed across stop/start: %v → %v", first["phone"], again["phone"])
	}
	// Starting a running session changes nothing.
	e.expect(e.do("POST", "/api/sessions/life/start", nil), 200, "")

	e.expect(e.do("POST", "/api/sessions/life/restart", nil), 200, "")
	e.waitStatus("life", "READY")

	r = e.do("POST", "/api/sessions/life/logout", nil)
	e.expect(r, 200, "")
	if r.data()["status"] != "DISCONNECTED" || r.data()["phone"] != nil {
		t.Fatalf("after logout: %v", r.data())
	}
	var auth []byte
	auth, err := e.app.Store.SessionAuth(context.Background(), "life")
	if err != nil || auth != nil {
		t.Fatalf("pairing kept after logout: %q %v", auth, err)
	}
	// Unpaired now: starting asks for a QR again (autoPair then pairs it).
	e.expect(e.do("POST", "/api/sessions/life/start", nil), 200, "")
	e.waitStatus("life", "READY")

	for _, a := range []string{"start", "stop", "restart", "logout"} {
		e.expect(e.do("POST", "/api/sessions/nope/"+a, nil), 404, "SESSION_NOT_FOUND")
	}
}

func TestMockControls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("m", false)
	e.waitStatus("m", "QR_READY")
	e.expect(e.do("POST", "/api/sessions/m/mock/inbound", map[string]any{"from": "6281234567890", "text": "hi"}), 400, "SESSION_NOT_READY")
	e.expect(e.do("POST", "/api/sessions/m/mock/pair", nil), 202, "")
	e.waitStatus("m", "READY")

	r := e.do("POST", "/api/sessions/m/mock/inbound", map[string]any{"from": "+62 812-3456-7890", "text": "hello"})
	e.expect(r, 202, "")
	if r.data()["chatId"] != "6281234567890@s.whatsapp.net" || r.data()["waMessageId"] == "" || r.data()["type"] != "text" {
		t.Fatalf("inbound: %v", r.data())
	}
	e.expect(e.do("POST", "/api/sessions/m/mock/inbound", map[string]any{"from": "not a phone", "text": "x"}), 400, "VALIDATION_ERROR")
	e.expect(e.do("POST", "/api/sessions/m/mock/inbound", map[string]any{"from": "6281234567890"}), 400, "VALIDATION_ERROR")
	e.expect(e.do("POST", "/api/sessions/m/mock/inbound", map[string]any{"from": "6281234567890", "type": "image",
		"media": map[string]any{"data": "%%%", "mimetype": "image/png"}}), 400, "VALIDATION_ERROR")

	r = e.do("POST", "/api/sessions/m/mock/disconnect", map[string]any{"reason": "network down"})
	e.expect(r, 202, "")
	back := e.waitStatus("m", "READY")
	if back["lastError"] != nil {
		t.Fatalf("lastError kept after reconnecting: %v", back["lastError"])
	}

	e.expect(e.do("POST", "/api/sessions/m/stop", nil), 200, "")
	e.expect(e.do("POST", "/api/sessions/m/mock/disconnect", map[string]any{}), 400, "SESSION_NOT_READY")
	e.expect(e.do("POST", "/api/sessions/nope/mock/pair", nil), 404, "SESSION_NOT_FOUND")

	// A session of another engine has no mock controls.
	now := store.Now()
	if err := e.app.Store.CreateSession(context.Background(), &store.Session{ID: "real", Name: "real", Engine: "whatsmeow",
		Status: "CREATED", Config: []byte("{}"), CreatedAt: now, UpdatedAt: now}, 100); err != nil {
		t.Fatal(err)
	}
	e.expect(e.do("POST", "/api/sessions/real/mock/pair", nil), 422, "ENGINE_NOT_SUPPORTED")
	e.expect(e.do("POST", "/api/sessions/real/mock/inbound", map[string]any{"from": "6281234567890", "text": "x"}), 422, "ENGINE_NOT_SUPPORTED")
	e.expect(e.do("POST", "/api/sessions/real/mock/disconnect", map[string]any{}), 422, "ENGINE_NOT_SUPPORTED")
}
