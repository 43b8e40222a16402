package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A session deleted and created again under the same id starts empty: nothing
// of the first one (events, messages, webhooks, deliveries, media, idempotency
// records, the mock's ledger) reaches the second, and the keys of the first no
// longer open it.
func TestDeletedSessionLeavesNothingToItsSuccessor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true"})
	ctx := context.Background()
	e.createSession("tenant", true)
	e.createSession("other", true)
	e.waitStatus("tenant", "READY")
	e.waitStatus("other", "READY")
	newKey := func(sessions ...string) string {
		r := e.do("POST", "/api/keys", map[string]any{"name": "k", "role": "session", "sessions": sessions})
		e.expect(r, 201, "")
		return r.data()["key"].(string)
	}
	k1, both := newKey("tenant"), newKey("tenant", "other")

	// The first tenant: a webhook of its own (with deliveries), a global one,
	// messages in and out, media, an idempotent send.
	rcv := newReceiver(t)
	r := e.do("POST", "/api/sessions/tenant/webhooks", map[string]any{"url": rcv.srv.URL, "headers": map[string]string{"X-Tenant": "old"}}, withKey(k1))
	e.expect(r, 201, "")
	oldHook := r.data()["id"].(string)
	global := e.createWebhook("/api/webhooks", map[string]any{"url": rcv.srv.URL, "events": []string{"message.received"}})["id"].(string)
	for _, text := range []string{"secret-old-1", "secret-old-2"} {
		e.expect(e.do("POST", "/api/sessions/tenant/mock/inbound", map[string]any{"from": "6281234567890", "text": text}, withKey(k1)), 202, "")
	}
	send := map[string]any{"chatId": "6281234567890", "text": "secret-old-send"}
	r = e.do("POST", "/api/sessions/tenant/messages/send-text", send, withKey(k1), header("Idempotency-Key", "order-1"))
	e.expect(r, 201, "")
	oldSend := r.data()["id"].(string)
	r = e.do("POST", "/api/sessions/tenant/messages/send-image", map[string]any{"chatId": "6281234567890",
		"caption": "secret-old-image", "media": map[string]any{"data": b64(pngBytes(t))}}, withKey(k1))
	e.expect(r, 201, "")
	oldMedia := r.data()["media"].(map[string]any)["id"].(string)
	blob := "sessions/tenant/media/" + oldMedia
	// Both inbound messages reached both webhooks.
	var oldEvents []map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		oldEvents, _ = e.events("after=0&limit=1000&sessions=tenant")
		if strings.Count(string(e.do("GET", "/api/events?after=0&limit=1000&sessions=tenant&events=message.received", nil).Raw), "secret-old-") == 2 &&
			e.waitDeliveries("/api/webhooks/"+global, 2) && e.waitDeliveries("/api/sessions/tenant/webhooks/"+oldHook, 2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first tenant's events never all arrived: %d events, %d deliveries", len(oldEvents), rcv.count())
		}
	}
	if ok, err := e.mediaStore().Exists(ctx, blob); !ok || err != nil {
		t.Fatalf("the media is not stored: %v", err)
	}

	e.expect(e.do("DELETE", "/api/sessions/tenant", nil), 200, "")

	t.Run("keys lose the session", func(t *testing.T) {
		// A key for the deleted session alone is revoked; one for more keeps the others.
		e.expect(e.do("GET", "/api/sessions/tenant", nil, withKey(k1)), 401, "UNAUTHORIZED")
		e.expect(e.do("GET", "/api/sessions/other", nil, withKey(both)), 200, "")
		keys := e.do("GET", "/api/keys?limit=100", nil)
		for _, k := range keys.list() {
			k := k.(map[string]any)
			if strings.Contains(strings.Join(toStrings(k["sessions"]), ","), "tenant") {
				t.Fatalf("a key still lists the deleted session: %v", k)
			}
		}
		if len(keys.list()) != 2 { // the admin key and `both`
			t.Fatalf("keys after the delete: %s", keys.Raw)
		}
	})
	t.Run("nothing stored under the id", func(t *testing.T) {
		db := e.rawDB()
		for _, q := range []string{
			`SELECT COUNT(*) FROM events WHERE session_id = 'tenant'`,
			`SELECT COUNT(*) FROM messages WHERE session_id = 'tenant'`,
			`SELECT COUNT(*) FROM media WHERE session_id = 'tenant'`,
			`SELECT COUNT(*) FROM webhooks WHERE session_id = 'tenant'`,
			`SELECT COUNT(*) FROM idempotency_keys WHERE session_id = 'tenant'`,
			`SELECT COUNT(*) FROM deliveries WHERE webhook_id = '` + oldHook + `'`,
			`SELECT COUNT(*) FROM deliveries WHERE event_seq NOT IN (SELECT seq FROM events)`,
		} {
			var n int
			if err := db.QueryRow(q).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s: %d (%v)", q, n, err)
			}
		}
		if ok, err := e.mediaStore().Exists(ctx, blob); ok || err != nil {
			t.Errorf("the media bytes are left: %v", err)
		}
	})

	// The second tenant.
	e.createSession("tenant", true)
	e.waitStatus("tenant", "READY")
	k3 := newKey("tenant")
	e.expect(e.do("GET", "/api/sessions/tenant", nil, withKey(k1)), 401, "UNAUTHORIZED")

	oldIDs := map[string]bool{}
	for _, ev := range oldEvents {
		oldIDs[ev["id"].(string)] = true
	}
	// fresh checks an event the new session's key is shown.
	fresh := func(t *testing.T, where string, ev map[string]any) {
		t.Helper()
		b, _ := json.Marshal(ev)
		if oldIDs[ev["id"].(string)] || strings.Contains(string(b), "secret-old") || ev["sessionId"] != "tenant" {
			t.Fatalf("%s shows the first tenant's event: %s", where, b)
		}
	}
	t.Run("event log", func(t *testing.T) {
		for _, key := range []string{k3, adminKey} {
			r := e.do("GET", "/api/events?after=0&limit=1000&sessions=tenant", nil, withKey(key))
			e.expect(r, 200, "")
			for _, ev := range r.data()["events"].([]any) {
				fresh(t, "/api/events", ev.(map[string]any))
			}
		}
	})
	t.Run("messages, webhooks, media, ledger", func(t *testing.T) {
		if r := e.do("GET", "/api/sessions/tenant/messages", nil, withKey(k3)); len(r.list()) != 0 {
			t.Fatalf("messages: %s", r.Raw)
		}
		e.expect(e.do("GET", "/api/sessions/tenant/messages/"+oldSend, nil, withKey(k3)), 404, "MESSAGE_NOT_FOUND")
		if r := e.do("GET", "/api/sessions/tenant/webhooks", nil, withKey(k3)); len(r.list()) != 0 {
			t.Fatalf("webhooks: %s", r.Raw)
		}
		e.expect(e.do("GET", "/api/sessions/tenant/webhooks/"+oldHook, nil, withKey(k3)), 404, "WEBHOOK_NOT_FOUND")
		e.expect(e.do("GET", "/api/sessions/tenant/media/"+oldMedia, nil, withKey(k3)), 404, "MEDIA_NOT_FOUND")
		if r := e.do("GET", "/api/sessions/tenant/chats", nil, withKey(k3)); len(r.list()) != 0 {
			t.Fatalf("chats: %s", r.Raw)
		}
		if sent := e.do("GET", "/api/sessions/tenant/mock/sent", nil, withKey(k3)).data(); len(sent["messages"].([]any)) != 0 {
			t.Fatalf("the mock's ledger: %v", sent)
		}
	})
	t.Run("stream replay", func(t *testing.T) {
		sse := e.sse("after=0", map[string]string{"X-API-Key": k3})
		ws := e.wsWith("after=0", k3)
		e.expect(e.do("POST", "/api/sessions/tenant/mock/inbound", map[string]any{"from": "6281234567890", "text": "new-tenant"}, withKey(k3)), 202, "")
		for ev := map[string]any{}; !isText(ev, "new-tenant"); {
			_, ev = sse.next(t)
			fresh(t, "SSE replay", ev)
		}
		for ev := map[string]any{}; !isText(ev, "new-tenant"); {
			ev = readEvent(t, ws)
			fresh(t, "WebSocket replay", ev)
		}
	})
	t.Run("idempotency key", func(t *testing.T) {
		// Last: the same body is a new message of the new tenant.
		r := e.do("POST", "/api/sessions/tenant/messages/send-text", send, withKey(k3), header("Idempotency-Key", "order-1"))
		e.expect(r, 201, "")
		if r.data()["id"] == oldSend {
			t.Fatalf("the Idempotency-Key answered the first tenant's message %v", oldSend)
		}
	})
	t.Run("webhooks", func(t *testing.T) {
		// The global webhook still works and was never given the first tenant's events again.
		for _, d := range e.do("GET", "/api/webhooks/"+global+"/deliveries?limit=100", nil).list() {
			if oldIDs[d.(map[string]any)["eventId"].(string)] {
				t.Fatalf("a delivery of the first tenant's event is left: %v", d)
			}
		}
	})
}

// waitDeliveries reports whether the webhook has at least n deliveries, all delivered.
func (e *env) waitDeliveries(path string, n int) bool {
	e.t.Helper()
	list := e.do("GET", path+"/deliveries?limit=100", nil).list()
	for _, d := range list {
		if d.(map[string]any)["status"] != "delivered" {
			return false
		}
	}
	return len(list) >= n
}

func isText(ev map[string]any, text string) bool {
	d, _ := ev["data"].(map[string]any)
	return ev["event"] == "message.received" && d["text"] == text
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, s := range l {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

// wsWith opens a WebSocket with key.
func (e *env) wsWith(query, key string) *websocket.Conn {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws?" + query
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"X-API-Key": {key}}})
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	e.t.Cleanup(func() { c.CloseNow() })
	return c
}

// Deleting a paired whatsmeow session removes its device from whatsmeow's
// store, whether the session runs (WhatsApp is told) or is stopped; the id
// created again asks for a QR, as a new device.
func TestDeleteRemovesTheDeviceStore(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	devices := func() int {
		var n int
		if err := e.rawDB().QueryRow(`SELECT COUNT(*) FROM whatsmeow_device`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	pair := func(id, phone string) {
		e.expect(e.do("POST", "/api/sessions", map[string]any{"id": id}), 201, "")
		e.waitStatus(id, "QR_READY")
		if err := srv.Pair(ctx, e.do("GET", "/api/sessions/"+id+"/qr", nil).data()["qr"].(string), phone); err != nil {
			t.Fatal(err)
		}
		e.waitStatus(id, "READY")
	}
	pair("running", "15557654321")
	pair("stopped", "15557654322")
	e.expect(e.do("POST", "/api/sessions/stopped/stop", nil), 200, "")
	if n := devices(); n != 2 {
		t.Fatalf("%d devices stored, want 2", n)
	}
	e.expect(e.do("DELETE", "/api/sessions/running", nil), 200, "")
	if u := srv.Unlinked(); len(u) != 1 || !strings.HasPrefix(u[0], "15557654321:") {
		t.Fatalf("WhatsApp was asked to unlink %v", u)
	}
	e.expect(e.do("DELETE", "/api/sessions/stopped", nil), 200, "")
	if n := devices(); n != 0 {
		t.Fatalf("%d devices left in the device store", n)
	}
	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "stopped"}), 201, "")
	e.waitStatus("stopped", "QR_READY")
}
