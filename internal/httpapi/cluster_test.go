package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/openwa/openwa/internal/app"
	"github.com/openwa/openwa/internal/cache/cachetest"
)

// sibling starts a second instance on e's configuration: the same database,
// media storage and Redis.
func (e *env) sibling() *env {
	e.t.Helper()
	a, err := app.New(context.Background(), e.cfg, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	s := &env{t: e.t, cfg: e.cfg, key: e.key, dir: e.dir, app: a, srv: httptest.NewServer(a.Handler)}
	e.t.Cleanup(s.stop)
	return s
}

// Two instances sharing Redis share real-time events and rate limits.
func TestInstancesShareRedis(t *testing.T) {
	t.Parallel()
	t.Run("events", func(t *testing.T) {
		url, prefix := cachetest.RedisURL(t)
		a := newEnv(t, map[string]string{"CACHE_TYPE": "redis", "REDIS_URL": url, "REDIS_PREFIX": prefix})
		b := a.sibling()
		c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(b.srv.URL, "http")+"/ws?events=message.received&apiKey="+adminKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		a.createSession("s", true)
		a.waitStatus("s", "READY")
		a.expect(a.do("POST", "/api/sessions/s/mock/inbound", map[string]any{"from": "6281234567890", "text": "across"}), 202, "")
		ev := readEvent(t, c)
		if ev["sessionId"] != "s" || ev["data"].(map[string]any)["text"] != "across" {
			t.Fatalf("instance b's client got %v", ev)
		}
	})
	t.Run("rate limits", func(t *testing.T) {
		url, prefix := cachetest.RedisURL(t)
		a := newEnv(t, map[string]string{"CACHE_TYPE": "redis", "REDIS_URL": url, "REDIS_PREFIX": prefix,
			"RATE_LIMIT_RPS": "0.1", "RATE_LIMIT_BURST": "3"})
		b := a.sibling()
		for range 3 {
			a.expect(a.do("GET", "/api/sessions", nil), 200, "")
		}
		// The key spent its bucket on a: b refuses it too.
		r := b.do("GET", "/api/sessions", nil)
		b.expect(r, 429, "RATE_LIMITED")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
	})
}
