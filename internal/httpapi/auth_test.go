package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/auth"
	"github.com/openwa/openwa/internal/store"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// Every /api operation of the published document, with sample path values.
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(e.do("GET", "/openapi.json", nil, noKey()).Raw, &doc); err != nil {
		t.Fatal(err)
	}
	sample := strings.NewReplacer("{id}", "x", "{keyId}", "key_0000000000000000", "{messageId}", "msg_000000000000000000000000",
		"{mediaId}", "med_000000000000000000000000", "{webhookId}", "wh_000000000000000000000000", "{contactId}", "6281234567890",
		"{phone}", "6281234567890", "{groupId}", "120363000000000001@g.us", "{chatId}", "6281234567890", "{action}", "add", "{deliveryId}", "1", "{lid}", "123456789012345")
	type route struct{ method, path, template string }
	var routes, public []route
	for path, ops := range doc.Paths {
		for method := range ops {
			rt := route{strings.ToUpper(method), sample.Replace(path), path}
			if strings.HasPrefix(path, "/api/") {
				routes = append(routes, rt)
			} else {
				public = append(public, rt)
			}
		}
	}
	if len(routes) < 40 {
		t.Fatalf("only %d /api operations in the document", len(routes))
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			e.expect(e.do(rt.method, rt.path, nil, noKey()), 401, "UNAUTHORIZED")
			e.expect(e.do(rt.method, rt.path, nil, withKey("owa_wrong-key")), 401, "UNAUTHORIZED")
		})
	}

	// A session key for session "mine": every operation of another session
	// ({id} = "x") is 403, and so is every admin operation. Any key may call
	// the few operations that show a session key only its own sessions.
	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "mine", "config": map[string]any{"autoStart": false}}), 201, "")
	r := e.do("POST", "/api/keys", map[string]any{"name": "mine", "role": "session", "sessions": []string{"mine"}})
	e.expect(r, 201, "")
	sk := r.data()["key"].(string)
	anyKey := map[string]bool{"GET /api/sessions": true, "GET /api/events": true, "GET /api/events/stream": true}
	var sessionOps, adminOps int
	for _, rt := range routes {
		name := rt.method + " " + rt.template
		switch {
		case anyKey[name]:
		case name == "DELETE /api/sessions/{id}": // admin, even on the key's own session
			adminOps++
			e.expect(e.do(rt.method, "/api/sessions/mine", nil, withKey(sk)), 403, "FORBIDDEN")
		case strings.HasPrefix(rt.template, "/api/sessions/{id}"):
			sessionOps++
			t.Run("another session: "+name, func(t *testing.T) {
				e.expect(e.do(rt.method, rt.path, nil, withKey(sk)), 403, "FORBIDDEN")
			})
		default:
			adminOps++
			t.Run("admin: "+name, func(t *testing.T) {
				e.expect(e.do(rt.method, rt.path, nil, withKey(sk)), 403, "FORBIDDEN")
			})
		}
	}
	if sessionOps < 50 || adminOps < 15 {
		t.Fatalf("%d session and %d admin operations", sessionOps, adminOps)
	}
	e.expect(e.do("GET", "/api/sessions", nil, withKey(sk)), 200, "")
	e.expect(e.do("GET", "/api/events", nil, withKey(sk)), 200, "")

	// The operations outside /api need no key.
	if len(public) < 3 {
		t.Fatalf("only %d public operations", len(public))
	}
	for _, rt := range public {
		if r := e.do(rt.method, rt.path, nil, noKey()); r.Status != 200 {
			t.Errorf("%s %s without a key: %d", rt.method, rt.path, r.Status)
		}
	}
	t.Run("bearer", func(t *testing.T) {
		e.expect(e.do("GET", "/api/sessions", nil, noKey(), header("Authorization", "Bearer "+adminKey)), 200, "")
		e.expect(e.do("GET", "/api/sessions", nil, noKey(), header("Authorization", "Bearer nope")), 401, "UNAUTHORIZED")
	})
	t.Run("expired key", func(t *testing.T) {
		raw := auth.Generate()
		err := e.app.Store.CreateKey(context.Background(), &store.APIKey{ID: "key_00000000000000ee", Name: "old",
			Hash: auth.Hash(raw), Prefix: raw[:8], Role: "admin", ExpiresAt: time.Now().Add(-time.Minute).UnixMilli(),
			CreatedAt: store.Now()})
		if err != nil {
			t.Fatal(err)
		}
		r := e.do("GET", "/api/sessions", nil, withKey(raw))
		e.expect(r, 401, "UNAUTHORIZED")
		if !strings.Contains(r.Body["error"].(map[string]any)["message"].(string), "expired") {
			t.Fatal(string(r.Raw))
		}
	})
	t.Run("public routes", func(t *testing.T) {
		for _, p := range []string{"/health", "/health/live", "/health/ready", "/openapi.json", "/openapi.yaml", "/docs/"} {
			if r := e.do("GET", p, nil, noKey()); r.Status != 200 {
				t.Errorf("%s: %d", p, r.Status)
			}
		}
	})
}

func TestKeysAndSessionScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, id := range []string{"mine", "theirs"} {
		e.expect(e.do("POST", "/api/sessions", map[string]any{"id": id, "config": map[string]any{"autoStart": false}}), 201, "")
	}

	r := e.do("POST", "/api/keys", map[string]any{"name": "shop", "role": "session", "sessions": []string{"mine"}})
	e.expect(r, 201, "")
	sk, _ := r.data()["key"].(string)
	skID, _ := r.data()["id"].(string)
	if !strings.HasPrefix(sk, "owa_") || r.data()["role"] != "session" {
		t.Fatalf("created key: %v", r.data())
	}

	t.Run("key shown once", func(t *testing.T) {
		r := e.do("GET", "/api/keys/"+skID, nil)
		e.expect(r, 200, "")
		if _, ok := r.data()["key"]; ok {
			t.Fatal("GET shows the key")
		}
		r = e.do("GET", "/api/keys", nil)
		e.expect(r, 200, "")
		if strings.Contains(string(r.Raw), sk) || len(r.list()) != 2 {
			t.Fatalf("list: %s", r.Raw)
		}
		// Keys are stored hashed.
		k, err := e.app.Store.GetKey(context.Background(), skID)
		if err != nil || k.Hash == sk || k.Hash != auth.Hash(sk) {
			t.Fatalf("stored key: %+v %v", k, err)
		}
	})

	t.Run("session key sees its sessions only", func(t *testing.T) {
		e.expect(e.do("GET", "/api/sessions/mine", nil, withKey(sk)), 200, "")
		e.expect(e.do("POST", "/api/sessions/mine/start", nil, withKey(sk)), 200, "")
		r := e.do("GET", "/api/sessions", nil, withKey(sk))
		if len(r.list()) != 1 || r.list()[0].(map[string]any)["id"] != "mine" {
			t.Fatalf("list with a session key: %s", r.Raw)
		}
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/sessions/theirs", nil},
			{"PUT", "/api/sessions/theirs", map[string]any{"name": "x"}},
			{"POST", "/api/sessions/theirs/start", nil},
			{"POST", "/api/sessions/theirs/stop", nil},
			{"POST", "/api/sessions/theirs/restart", nil},
			{"POST", "/api/sessions/theirs/logout", nil},
			{"GET", "/api/sessions/theirs/qr", nil},
			{"POST", "/api/sessions/theirs/pairing-code", map[string]any{"phoneNumber": "6281234567890"}},
			{"GET", "/api/sessions/theirs/me", nil},
			{"POST", "/api/sessions/theirs/mock/pair", nil},
			{"GET", "/api/sessions/unknown-to-it", nil},
			// What only admins may do.
			{"POST", "/api/sessions", map[string]any{"id": "new"}},
			{"DELETE", "/api/sessions/mine", nil},
			{"POST", "/api/keys", map[string]any{"name": "x", "role": "admin"}},
			{"GET", "/api/keys", nil},
			{"GET", "/api/keys/" + skID, nil},
			{"DELETE", "/api/keys/" + skID, nil},
			{"GET", "/api/audit", nil},
		} {
			e.expect(e.do(c.method, c.path, c.body, withKey(sk)), 403, "FORBIDDEN")
		}
	})

	t.Run("bad key input", func(t *testing.T) {
		e.expect(e.do("POST", "/api/keys", map[string]any{"name": "x", "role": "root"}), 400, "VALIDATION_ERROR")
		e.expect(e.do("POST", "/api/keys", map[string]any{"name": "x", "role": "session"}), 400, "VALIDATION_ERROR")
		e.expect(e.do("POST", "/api/keys", map[string]any{"name": "x", "role": "admin", "sessions": []string{"a"}}), 400, "VALIDATION_ERROR")
		e.expect(e.do("POST", "/api/keys", map[string]any{"name": "x", "role": "session", "sessions": []string{"bad id"}}), 400, "VALIDATION_ERROR")
		e.expect(e.do("POST", "/api/keys", map[string]any{"name": "", "role": "admin"}), 400, "VALIDATION_ERROR")
		e.expect(e.do("POST", "/api/keys", map[string]any{"name": "x", "role": "admin", "expiresAt": "2001-01-01T00:00:00Z"}), 400, "VALIDATION_ERROR")
		e.expect(e.do("GET", "/api/keys/not-a-key-id", nil), 400, "VALIDATION_ERROR")
		e.expect(e.do("GET", "/api/keys/key_0000000000000000", nil), 404, "NOT_FOUND")
	})

	t.Run("revoke", func(t *testing.T) {
		e.expect(e.do("DELETE", "/api/keys/"+skID, nil), 200, "")
		e.expect(e.do("GET", "/api/sessions/mine", nil, withKey(sk)), 401, "UNAUTHORIZED")
		e.expect(e.do("DELETE", "/api/keys/"+skID, nil), 404, "NOT_FOUND")
	})
}

func TestAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "aud", "config": map[string]any{"autoStart": false}}), 201, "")
	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "aud"}), 409, "SESSION_ALREADY_EXISTS")
	e.expect(e.do("DELETE", "/api/sessions/aud", nil, noKey()), 401, "UNAUTHORIZED")
	e.expect(e.do("GET", "/api/sessions", nil), 200, "") // reads are not audited

	r := e.do("GET", "/api/audit", nil)
	e.expect(r, 200, "")
	list := r.list()
	if len(list) != 3 {
		t.Fatalf("want 3 audited calls, got %s", r.Raw)
	}
	newest, oldest := list[0].(map[string]any), list[2].(map[string]any)
	if newest["action"] != "DELETE /api/sessions/aud" || newest["keyId"] != nil || newest["status"] != 401.0 || newest["outcome"] != "failure" {
		t.Errorf("unauthenticated delete: %v", newest)
	}
	if oldest["action"] != "POST /api/sessions" || oldest["target"] != "/api/sessions" || oldest["outcome"] != "success" ||
		oldest["keyId"] == nil || oldest["ip"] != "127.0.0.1" || oldest["requestId"] == "" {
		t.Errorf("create: %v", oldest)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"RATE_LIMIT_RPS": "0.5", "RATE_LIMIT_BURST": "2"})
	other := auth.Generate()
	if err := e.app.Store.CreateKey(context.Background(), &store.APIKey{ID: "key_00000000000000aa", Name: "other",
		Hash: auth.Hash(other), Prefix: other[:8], Role: "admin", CreatedAt: store.Now()}); err != nil {
		t.Fatal(err)
	}
	e.expect(e.do("GET", "/api/sessions", nil), 200, "")
	e.expect(e.do("GET", "/api/sessions", nil), 200, "")
	r := e.do("GET", "/api/sessions", nil)
	e.expect(r, 429, "RATE_LIMITED")
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 2 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// Limits are per key, and public routes are not limited.
	e.expect(e.do("GET", "/api/sessions", nil, withKey(other)), 200, "")
	e.expect(e.do("GET", "/health", nil, noKey()), 200, "")
}

func TestRequestIDAndCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"CORS_ORIGINS": "https://app.example.com"})
	r := e.do("GET", "/api/sessions", nil, header("X-Request-Id", "trace-123"))
	if r.Header.Get("X-Request-Id") != "trace-123" || r.Body["meta"].(map[string]any)["requestId"] != "trace-123" {
		t.Fatalf("request id not kept: %v", r.Header)
	}
	r = e.do("GET", "/api/sessions", nil, header("X-Request-Id", "bad id with spaces"))
	if id := r.Header.Get("X-Request-Id"); id == "" || strings.Contains(id, " ") {
		t.Fatalf("invalid request id kept: %q", id)
	}
	r = e.do("GET", "/api/nope", nil)
	if r.Header.Get("X-Request-Id") == "" || r.Body["meta"].(map[string]any)["requestId"] != r.Header.Get("X-Request-Id") {
		t.Fatal("error responses carry the request id too")
	}

	pre := e.do("OPTIONS", "/api/sessions", nil, noKey(), header("Origin", "https://app.example.com"),
		header("Access-Control-Request-Method", "POST"))
	if pre.Status != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "X-API-Key") {
		t.Fatalf("preflight: %d %v", pre.Status, pre.Header)
	}
	r = e.do("GET", "/api/sessions", nil, header("Origin", "https://app.example.com"))
	if r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatal("no CORS header for an allowed origin")
	}
	r = e.do("GET", "/api/sessions", nil, header("Origin", "https://evil.example.com"))
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS header for an origin not allowed")
	}
}
