package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/cache/cachetest"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/store/storetest"
)

// proxy forwards a loopback port to a service and can cut it off, to take a
// service away from OpenWA and give it back without touching the real server.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.up()
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.down)
	return p
}

// up listens (again, on the same address) and forwards connections.
func (p *proxy) up() {
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for range 50 { // the port may linger for a moment after down
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

// down refuses new connections and cuts the open ones: the service is gone.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func through(p *proxy, raw string) string {
	u, _ := url.Parse(raw)
	u.Host = p.addr
	return u.String()
}

func (e *env) waitHealth(component, state string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last map[string]any
	for time.Now().Before(deadline) {
		r := e.do("GET", "/health", nil, noKey())
		last = r.data()
		if c, ok := last["components"].(map[string]any)[component].(map[string]any); ok && c["state"] == state {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("%s never became %s: %v", component, state, last)
	return nil
}

// Redis, then PostgreSQL, go away mid-run: the API says so, keeps serving
// what does not need them, loses nothing, and recovers by itself.
func TestBackingServicesGoAwayAndReturn(t *testing.T) {
	t.Parallel()
	pgURL := storetest.PostgresURL(t)
	redisURL, prefix := cachetest.RedisURL(t)
	pgu, _ := url.Parse(pgURL)
	ru, _ := url.Parse(redisURL)
	pg, rd := newProxy(t, pgu.Host), newProxy(t, ru.Host)
	e := newEnv(t, map[string]string{"DATABASE_TYPE": "postgres", "DATABASE_URL": through(pg, pgURL),
		"CACHE_TYPE": "redis", "REDIS_URL": through(rd, redisURL), "REDIS_PREFIX": prefix, "WEBHOOK_ALLOW_PRIVATE": "true"})
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	rcv := newReceiver(t)
	e.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": rcv.srv.URL, "events": []string{"message.received"}})
	// WhatsApp does not wait for our database: keep the engine at hand to play it.
	eng, _, err := e.app.Sessions.Engine(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	phone := eng.(engine.Mock)

	// Redis goes: the cache is degraded, everything that does not need it works.
	rd.down()
	h := e.waitHealth("cache", "degraded")
	if h["status"] != "degraded" {
		t.Fatalf("health with Redis away: %v", h)
	}
	e.expect(e.do("GET", "/api/sessions/s", nil), 200, "")
	e.expect(e.do("POST", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "no redis"}), 201, "")
	rd.up()
	e.waitHealth("cache", "ready")

	// PostgreSQL goes: requests that need it get 503, not 500; an inbound
	// message arriving meanwhile waits, unacknowledged, and is stored,
	// acknowledged and delivered after.
	pg.down()
	e.waitHealth("database", "degraded")
	r := e.do("GET", "/api/sessions", nil)
	e.expect(r, 503, "SERVICE_UNAVAILABLE")
	acked := make(chan error, 1)
	go func() {
		_, err := phone.MockInbound(context.Background(), &engine.Message{ChatID: "6281234567890@s.whatsapp.net",
			From: "6281234567890@s.whatsapp.net", Type: engine.TypeText, Content: engine.Content{Text: "during the outage"}})
		acked <- err
	}()
	e.expect(e.do("GET", "/health/ready", nil, noKey()), 503, "SERVICE_UNAVAILABLE")
	select {
	case err := <-acked:
		t.Fatalf("the inbound message was answered while the database was away: %v", err)
	default:
	}
	pg.up()
	e.waitHealth("database", "ready")
	if err := <-acked; err != nil {
		t.Fatal(err)
	}
	got := rcv.wait(t, 1)
	if !containsText(got, "during the outage") {
		t.Fatalf("the message of the outage was not delivered: %d deliveries", len(got))
	}
	e.expect(e.do("GET", "/api/sessions", nil), 200, "")
}

func containsText(ds []delivery, text string) bool {
	for _, d := range ds {
		var ev struct {
			Data struct {
				Text string `json:"text"`
			} `json:"data"`
		}
		if json.Unmarshal(d.Body, &ev) == nil && ev.Data.Text == text {
			return true
		}
	}
	return false
}
