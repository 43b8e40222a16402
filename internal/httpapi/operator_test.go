package httpapi_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

// newSessionKey creates a session key for the sessions and returns it.
func (e *env) newSessionKey(sessions ...string) reqOpt {
	e.t.Helper()
	r := e.do("POST", "/api/keys", map[string]any{"name": "tenant", "role": "session", "sessions": sessions})
	e.expect(r, 201, "")
	return withKey(r.data()["key"].(string))
}

// forbiddenField checks a 403 FORBIDDEN naming field.
func forbiddenField(t *testing.T, r *resp, field string) {
	t.Helper()
	if r.Status != 403 || r.code() != "FORBIDDEN" || r.errDetails()["field"] != field ||
		!strings.Contains(string(r.Raw), field) {
		t.Fatalf("got %d %s, want 403 FORBIDDEN naming %s; body %s", r.Status, r.code(), field, r.Raw)
	}
}

// Only admin keys set or change config.proxyUrl and config.pacing: a session
// key could otherwise make the server dial any address of the operator's
// network through "proxies", or lift the pacing the operator set.
func TestProxyAndPacingAreTheOperators(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const proxy = "http://proxy.example.com:3128"
	pacing := map[string]any{"minIntervalMs": 1000, "jitterMs": 500, "dailyLimit": 200}
	r := e.do("POST", "/api/sessions", map[string]any{"id": "s", "engine": "mock",
		"config": map[string]any{"autoStart": false, "proxyUrl": proxy, "pacing": pacing}})
	e.expect(r, 201, "")
	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "bare", "engine": "mock", "config": map[string]any{"autoStart": false}}), 201, "")
	key := e.newSessionKey("s", "bare")

	for _, c := range []struct {
		name, session string
		config        map[string]any
		field         string
	}{
		{"proxy to loopback", "s", map[string]any{"proxyUrl": "http://127.0.0.1:22"}, "config.proxyUrl"},
		{"proxy to metadata", "s", map[string]any{"proxyUrl": "socks5://169.254.169.254:80"}, "config.proxyUrl"},
		{"proxy to zoned IPv6", "s", map[string]any{"proxyUrl": "http://[::1%25lo]:6379"}, "config.proxyUrl"},
		{"proxy removed", "s", map[string]any{"proxyUrl": ""}, "config.proxyUrl"},
		{"proxy set where none was", "bare", map[string]any{"proxyUrl": "http://127.0.0.1:22"}, "config.proxyUrl"},
		{"pacing lifted", "s", map[string]any{"pacing": map[string]any{}}, "config.pacing"},
		{"daily limit raised", "s", map[string]any{"pacing": map[string]any{"minIntervalMs": 1000, "jitterMs": 500, "dailyLimit": 1000000}}, "config.pacing"},
		{"pacing set where none was", "bare", map[string]any{"pacing": map[string]any{"minIntervalMs": 1}}, "config.pacing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			forbiddenField(t, e.do("PUT", "/api/sessions/"+c.session, map[string]any{"config": c.config}, key), c.field)
		})
	}
	// Nothing changed.
	cfg := e.do("GET", "/api/sessions/s", nil, key).data()["config"].(map[string]any)
	if cfg["proxyUrl"] != proxy || fmt.Sprint(cfg["pacing"]) != fmt.Sprint(pacing) {
		t.Fatalf("config changed by refused requests: %v", cfg)
	}
	if cfg := e.do("GET", "/api/sessions/bare", nil).data()["config"].(map[string]any); cfg["proxyUrl"] != nil || cfg["pacing"] != nil {
		t.Fatalf("config changed by refused requests: %v", cfg)
	}

	// A session key changes the rest: left out, the operator's settings stay;
	// given unchanged, they are accepted.
	r = e.do("PUT", "/api/sessions/s", map[string]any{"name": "renamed", "config": map[string]any{"autoStart": false, "mock": map[string]any{"ackDelayMs": 50}}}, key)
	e.expect(r, 200, "")
	cfg = r.data()["config"].(map[string]any)
	if cfg["proxyUrl"] != proxy || fmt.Sprint(cfg["pacing"]) != fmt.Sprint(pacing) || cfg["mock"] == nil {
		t.Fatalf("config after a session key's update: %v", cfg)
	}
	e.expect(e.do("PUT", "/api/sessions/s", map[string]any{"config": map[string]any{"proxyUrl": proxy, "pacing": pacing}}, key), 200, "")

	// A proxy password shown masked and sent back is no change, and the
	// stored password stays; another password or user is a change.
	withPw := "http://user:pw-0123@proxy.example.com:3128"
	e.expect(e.do("PUT", "/api/sessions/s", map[string]any{"config": map[string]any{"proxyUrl": withPw, "pacing": pacing}}), 200, "")
	e.expect(e.do("PUT", "/api/sessions/s", map[string]any{"config": map[string]any{"proxyUrl": "http://user:***@proxy.example.com:3128"}}, key), 200, "")
	var stored string
	if err := e.rawDB().QueryRow("SELECT config FROM sessions WHERE id = 's'").Scan(&stored); err != nil || !strings.Contains(stored, withPw) {
		t.Fatalf("stored config %q (%v), want the proxy password kept", stored, err)
	}
	for _, u := range []string{"http://user:other@proxy.example.com:3128", "http://admin:***@proxy.example.com:3128",
		"http://user:***@127.0.0.1:3128"} {
		forbiddenField(t, e.do("PUT", "/api/sessions/s", map[string]any{"config": map[string]any{"proxyUrl": u}}, key), "config.proxyUrl")
	}

	// Creating is the admin's anyway.
	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "new", "config": map[string]any{"proxyUrl": "http://127.0.0.1:22"}}, key), 403, "FORBIDDEN")

	// The admin sets and changes both.
	r = e.do("PUT", "/api/sessions/s", map[string]any{"config": map[string]any{"proxyUrl": "socks5://proxy.example.com:1080", "pacing": map[string]any{"dailyLimit": 10}}})
	e.expect(r, 200, "")
	if cfg := r.data()["config"].(map[string]any); cfg["proxyUrl"] != "socks5://proxy.example.com:1080" {
		t.Fatalf("admin update: %v", cfg)
	}
}

// bannerServer accepts connections on loopback and writes banner to each.
func bannerServer(t *testing.T, banner string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, banner)
				io.Copy(io.Discard, io.LimitReader(c, 4096))
			}()
		}
	}()
	return ln.Addr().String()
}

// A proxy that fails is explained in fixed words: what the far side said
// (its status line, or a banner of a service that is no proxy) reaches no
// client, in lastError, the start's error or the session.status event.
func TestProxyErrorsNameNoBanner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"ENGINE_TYPE": "whatsmeow"})
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	for i, c := range []struct {
		name, proxy, want string
	}{
		{"status line", "http://" + bannerServer(t, "HTTP/1.1 403 SECRET-BANNER corp-proxy-7 denies\r\nContent-Length: 0\r\n\r\n"), ""},
		{"ssh banner", "http://" + bannerServer(t, "SSH-2.0-OpenSSH_9.6 SECRET-BANNER\r\n"), ""},
		{"redis banner", "http://" + bannerServer(t, "-ERR SECRET-BANNER unknown command\r\n"), ""},
		{"smtp banner to socks5", "socks5://" + bannerServer(t, "220 SECRET-BANNER ESMTP ready\r\n"), ""},
		{"closed port", "http://" + closedAddr, "cannot reach WhatsApp through the proxy: connection refused"},
		{"closed port, socks5", "socks5://" + closedAddr, "cannot reach WhatsApp through the proxy: connection refused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("p%d", i)
			r := e.do("POST", "/api/sessions", map[string]any{"id": id, "config": map[string]any{"proxyUrl": c.proxy}})
			e.expect(r, 201, "")
			// The session keeps trying (DISCONNECTED, not FAILED), saying why.
			s := e.waitStatus(id, "DISCONNECTED")
			lastError, _ := s["lastError"].(string)
			if !strings.HasPrefix(lastError, "cannot reach WhatsApp through the proxy: ") || !strings.Contains(lastError, "(trying again in ") {
				t.Fatalf("disconnected: %v", s)
			}
			t.Logf("lastError: %s", lastError)
			if c.want != "" && !strings.HasPrefix(lastError, c.want+" (trying again in ") {
				t.Fatalf("lastError %q, want %q", lastError, c.want)
			}
			start := e.do("POST", "/api/sessions/"+id+"/start", nil)
			for _, body := range [][]byte{r.Raw, start.Raw, e.do("GET", "/api/sessions/"+id, nil).Raw,
				e.do("GET", "/api/events?after=0&sessions="+id, nil).Raw} {
				if strings.Contains(string(body), "SECRET") || strings.Contains(string(body), "corp-proxy") {
					t.Fatalf("the far side's words reached a client: %s", body)
				}
			}
		})
	}
}
