package httpapi_test

import (
	"strings"
	"testing"
)

// Webhook header values are sealed at rest with ENCRYPTION_KEY, never shown
// again (every answer has ***), delivered as they were given, and kept when a
// client sends the mask back in a PUT.
func TestWebhookHeadersAreSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true", "ENCRYPTION_KEY": "an-encryption-key-of-32-characters!!"})
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	k := e.do("POST", "/api/keys", map[string]any{"name": "k", "role": "session", "sessions": []string{"s"}}).data()["key"].(string)
	rcv := newReceiver(t)
	const bearer = "Bearer hunter2-the-receivers-token"
	r := e.do("POST", "/api/sessions/s/webhooks", map[string]any{"url": rcv.srv.URL, "events": []string{"message.received"},
		"headers": map[string]string{"Authorization": bearer, "X-Tenant": "acme"}}, withKey(k))
	e.expect(r, 201, "")
	id := r.data()["id"].(string)
	path := "/api/sessions/s/webhooks/" + id
	masked := func(where string, r *resp, d map[string]any) {
		t.Helper()
		if strings.Contains(string(r.Raw), "hunter2") || strings.Contains(string(r.Raw), "acme") {
			t.Fatalf("%s shows a header value: %s", where, r.Raw)
		}
		h := d["headers"].(map[string]any)
		if len(h) != 2 || h["Authorization"] != "***" || h["X-Tenant"] != "***" {
			t.Fatalf("%s headers: %v", where, h)
		}
	}
	masked("the create response", r, r.data())
	g := e.do("GET", path, nil, withKey(k))
	masked("GET", g, g.data())
	l := e.do("GET", "/api/sessions/s/webhooks", nil, withKey(k))
	masked("the list", l, l.list()[0].(map[string]any))

	// At rest: no header value in clear.
	var stored string
	if err := e.rawDB().QueryRow(`SELECT headers FROM webhooks WHERE id = '` + id + `'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "hunter2") || strings.Contains(stored, "acme") || !strings.Contains(stored, "enc:v1:") {
		t.Fatalf("stored headers: %s", stored)
	}

	// The delivery carries the real values.
	e.inbound("s", 1)
	if d := rcv.wait(t, 1)[0]; d.Headers.Get("Authorization") != bearer || d.Headers.Get("X-Tenant") != "acme" {
		t.Fatalf("delivered headers: %v", d.Headers)
	}

	// A PUT that echoes the masks back keeps the values; a new value replaces its own.
	u := e.do("PUT", path, map[string]any{"headers": map[string]string{"authorization": "***", "X-Tenant": "globex"}}, withKey(k))
	e.expect(u, 200, "")
	if h := u.data()["headers"].(map[string]any); h["authorization"] != "***" || h["X-Tenant"] != "***" || len(h) != 2 {
		t.Fatalf("PUT answer headers: %v", h)
	}
	e.inbound("s", 1)
	if d := rcv.wait(t, 2)[1]; d.Headers.Get("Authorization") != bearer || d.Headers.Get("X-Tenant") != "globex" {
		t.Fatalf("delivered headers after the PUT: %v", d.Headers)
	}
	// A mask for a header that has no stored value is a mistake, not a value.
	r = e.do("PUT", path, map[string]any{"headers": map[string]string{"X-New": "***"}}, withKey(k))
	e.expect(r, 400, "VALIDATION_ERROR")
	e.expect(e.do("POST", "/api/sessions/s/webhooks", map[string]any{"url": rcv.srv.URL, "headers": map[string]string{"X-A": "***"}}, withKey(k)), 400, "VALIDATION_ERROR")
}

// Without ENCRYPTION_KEY values are stored as given (and still masked); rows
// written so keep working once the key is set.
func TestWebhookHeadersWrittenInClearStillWork(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true"})
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	rcv := newReceiver(t)
	r := e.do("POST", "/api/sessions/s/webhooks", map[string]any{"url": rcv.srv.URL, "events": []string{"message.received"},
		"headers": map[string]string{"X-Token": "plain-value"}})
	e.expect(r, 201, "")
	if h := r.data()["headers"].(map[string]any); h["X-Token"] != "***" {
		t.Fatalf("headers: %v", h)
	}
	e.stop()
	e.cfg.EncryptionKey = "an-encryption-key-of-32-characters!!"
	e.boot()
	e.waitStatus("s", "READY")
	e.inbound("s", 1)
	if d := rcv.wait(t, 1)[0]; d.Headers.Get("X-Token") != "plain-value" {
		t.Fatalf("delivered headers: %v", d.Headers)
	}
}

// Every answer with a session shows its proxy URL without the password; a PUT
// that sends the masked URL back keeps the stored one.
func TestProxyPasswordIsMasked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const proxy = "http://alice:s3cret-pass@proxy.example:3128"
	r := e.do("POST", "/api/sessions", map[string]any{"id": "p", "engine": "mock",
		"config": map[string]any{"autoStart": false, "proxyUrl": proxy}})
	e.expect(r, 201, "")
	const want = "http://alice:***@proxy.example:3128"
	check := func(where string, r *resp, sess map[string]any) {
		t.Helper()
		if strings.Contains(string(r.Raw), "s3cret") {
			t.Fatalf("%s shows the proxy password: %s", where, r.Raw)
		}
		if got := sess["config"].(map[string]any)["proxyUrl"]; got != want {
			t.Fatalf("%s proxyUrl %v, want %s", where, got, want)
		}
	}
	check("the create response", r, r.data())
	g := e.do("GET", "/api/sessions/p", nil)
	check("GET", g, g.data())
	l := e.do("GET", "/api/sessions", nil)
	check("the list", l, l.list()[0].(map[string]any))

	// The dashboard's round trip: GET, change the name, PUT the config it was shown.
	u := e.do("PUT", "/api/sessions/p", map[string]any{"name": "renamed", "config": g.data()["config"]})
	e.expect(u, 200, "")
	check("the PUT response", u, u.data())
	storedProxy := func() string {
		var cfg string
		if err := e.rawDB().QueryRow(`SELECT config FROM sessions WHERE id = 'p'`).Scan(&cfg); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	if cfg := storedProxy(); !strings.Contains(cfg, proxy) {
		t.Fatalf("the stored proxy URL was replaced: %s", cfg)
	}
	// A new password replaces it.
	e.expect(e.do("PUT", "/api/sessions/p", map[string]any{"config": map[string]any{"proxyUrl": "http://alice:new-pass@proxy.example:3128"}}), 200, "")
	if cfg := storedProxy(); !strings.Contains(cfg, "new-pass") {
		t.Fatalf("the new proxy URL was not stored: %s", cfg)
	}
}

// A key list shows at most 4 characters of a key after "owa_", and 4 of the
// operator's own API_KEY, also for keys stored by earlier versions.
func TestKeyPrefixRevealsLittle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.do("POST", "/api/keys", map[string]any{"name": "gen", "role": "admin"})
	e.expect(r, 201, "")
	generated := r.data()["key"].(string)
	if p := r.data()["prefix"]; p != generated[:8] {
		t.Fatalf("prefix %v of %s", p, generated)
	}
	prefixes := func() map[string]string {
		out := map[string]string{}
		for _, k := range e.do("GET", "/api/keys", nil).list() {
			k := k.(map[string]any)
			out[k["name"].(string)] = k["prefix"].(string)
		}
		return out
	}
	if p := prefixes(); p["admin"] != adminKey[:4] || p["gen"] != generated[:8] {
		t.Fatalf("prefixes %v", p)
	}
	// A row written by an earlier version: 8 characters of the operator's key.
	if _, err := e.rawDB().Exec(`UPDATE api_keys SET prefix = '` + adminKey[:8] + `' WHERE name = 'admin'`); err != nil {
		t.Fatal(err)
	}
	e.restart()
	if p := prefixes(); p["admin"] != adminKey[:4] || p["gen"] != generated[:8] {
		t.Fatalf("prefixes after a restart %v", p)
	}
}
