package httpapi_test

import (
	"fmt"
	"github.com/openwa/openwa/internal/testutil"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitMessage polls a message until it has the status.
func (e *env) waitMessage(session, id string, status ...string) map[string]any {
	e.t.Helper()
	var last map[string]any
	testutil.Eventually(e.t, 10*time.Second, func() bool {
		last = e.do("GET", "/api/sessions/"+session+"/messages/"+id, nil).data()
		return slices.Contains(status, last["status"].(string))
	}, "message %s becomes %s; last %v", id, status, &last)
	return last
}

func TestSendText(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("s", true)
	e.waitStatus("s", "READY")

	r := e.do("POST", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "+62 812-3456-7890", "text": "hello"})
	e.expect(r, 201, "")
	m := decode[struct {
		ID, Status, ChatID, Type, SessionID, From string
		Text, WAMessageID                         *string
		FromMe                                    bool
	}](t, r)
	// 201 means it went out: sent, or already acked by the time the answer is read.
	if !slices.Contains([]string{"sent", "delivered", "read"}, m.Status) || m.ChatID != "6281234567890@s.whatsapp.net" || !m.FromMe ||
		m.Type != "text" || m.Text == nil || *m.Text != "hello" || m.WAMessageID == nil || m.SessionID != "s" ||
		!strings.HasSuffix(m.From, "@s.whatsapp.net") {
		t.Fatalf("sent message: %s", r.Raw)
	}
	id := m.ID
	// The mock engine acks delivered, then read.
	e.waitMessage("s", id, "read")

	t.Run("async", func(t *testing.T) {
		r := e.do("POST", "/api/sessions/s/messages/send-text?async=true", map[string]any{"chatId": "6281234567890@c.us", "text": "later"})
		e.expect(r, 202, "")
		if r.data()["status"] != "queued" {
			t.Fatalf("async: %v", r.data())
		}
		e.waitMessage("s", r.data()["id"].(string), "read")
	})
	t.Run("reply, reaction, location, contact, poll", func(t *testing.T) {
		for _, c := range []struct {
			route string
			body  map[string]any
			typ   string
		}{
			{"send-text", map[string]any{"chatId": "6281234567890", "text": "re", "replyTo": id, "mentions": []string{"+1 555 000 0001"}}, "text"},
			{"send-reaction", map[string]any{"chatId": "6281234567890", "messageId": id, "emoji": "👍"}, "reaction"},
			{"send-location", map[string]any{"chatId": "6281234567890", "latitude": -6.2, "longitude": 106.8, "name": "Jakarta"}, "location"},
			{"send-contact", map[string]any{"chatId": "6281234567890", "contacts": []map[string]any{{"name": "Alice", "phone": "+1 555 000 0001"}}}, "contact"},
			{"send-poll", map[string]any{"chatId": "120363000000000001@g.us", "name": "Lunch?", "options": []string{"yes", "no"}}, "poll"},
		} {
			r := e.do("POST", "/api/sessions/s/messages/"+c.route, c.body)
			e.expect(r, 201, "")
			if r.data()["type"] != c.typ {
				t.Errorf("%s: %v", c.route, r.data())
			}
			if m, ok := r.data()["mentions"].([]any); ok && (len(m) != 1 || m[0] != "15550000001@s.whatsapp.net") {
				t.Errorf("mentions not canonical: %v", m)
			}
			if c.body["replyTo"] != nil && r.data()["replyTo"] == nil {
				t.Errorf("replyTo lost: %v", r.data())
			}
		}
	})
	t.Run("list and filters", func(t *testing.T) {
		e.expect(e.do("POST", "/api/sessions/s/mock/inbound", map[string]any{"from": "6281111111111", "text": "incoming"}), 202, "")
		var in []any
		testutil.Eventually(t, 10*time.Second, func() bool {
			in = e.do("GET", "/api/sessions/s/messages?direction=in", nil).list()
			return len(in) == 1
		}, "one inbound message; got %v", &in)
		if len(in) != 1 || in[0].(map[string]any)["text"] != "incoming" || in[0].(map[string]any)["fromMe"] != false ||
			in[0].(map[string]any)["from"] != "6281111111111@s.whatsapp.net" {
			t.Fatalf("inbound: %v", in)
		}
		all := e.do("GET", "/api/sessions/s/messages?limit=100", nil)
		if n := all.Body["pagination"].(map[string]any)["total"]; n != 8.0 {
			t.Fatalf("total %v", n)
		}
		first := all.list()[0].(map[string]any)
		if first["text"] != "incoming" {
			t.Fatalf("not newest first: %v", first)
		}
		chat := e.do("GET", "/api/sessions/s/messages?chatId=120363000000000001@g.us", nil).list()
		if len(chat) != 1 || chat[0].(map[string]any)["type"] != "poll" {
			t.Fatalf("chat filter: %v", chat)
		}
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		if l := e.do("GET", "/api/sessions/s/messages?since="+future, nil).list(); len(l) != 0 {
			t.Fatalf("since filter: %v", l)
		}
	})
	t.Run("revoke", func(t *testing.T) {
		r := e.do("DELETE", "/api/sessions/s/messages/"+id, nil)
		e.expect(r, 200, "")
		if r.data()["type"] != "revoked" {
			t.Fatalf("revoked: %v", r.data())
		}
		e.expect(e.do("DELETE", "/api/sessions/s/messages/msg_000000000000000000000000", nil), 404, "MESSAGE_NOT_FOUND")
		in := e.do("GET", "/api/sessions/s/messages?direction=in", nil).list()[0].(map[string]any)
		e.expect(e.do("DELETE", "/api/sessions/s/messages/"+in["id"].(string), nil), 400, "VALIDATION_ERROR")
	})
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	e.createSession("waiting", false)
	e.waitStatus("waiting", "QR_READY")
	for _, c := range []struct {
		name, path string
		body       any
		status     int
		code       string
	}{
		{"bad chatId", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "hello", "text": "x"}, 400, "VALIDATION_ERROR"},
		{"empty text", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "6281234567890", "text": ""}, 400, "VALIDATION_ERROR"},
		{"no chatId", "/api/sessions/s/messages/send-text", map[string]any{"text": "x"}, 400, "VALIDATION_ERROR"},
		{"unknown session", "/api/sessions/nope/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "x"}, 404, "SESSION_NOT_FOUND"},
		{"session not ready", "/api/sessions/waiting/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "x"}, 400, "SESSION_NOT_READY"},
		{"reply to unknown", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "x", "replyTo": "msg_000000000000000000000000"}, 400, "VALIDATION_ERROR"},
		{"latitude out of range", "/api/sessions/s/messages/send-location", map[string]any{"chatId": "6281234567890", "latitude": 91, "longitude": 0}, 400, "VALIDATION_ERROR"},
		{"contact without phone", "/api/sessions/s/messages/send-contact", map[string]any{"chatId": "6281234567890", "contacts": []map[string]any{{"name": "A", "phone": "call me"}}}, 400, "VALIDATION_ERROR"},
		{"bad mention", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "x", "mentions": []string{"bob"}}, 400, "VALIDATION_ERROR"},
		{"poll with one option", "/api/sessions/s/messages/send-poll", map[string]any{"chatId": "6281234567890", "name": "q", "options": []string{"a"}}, 400, "VALIDATION_ERROR"},
		{"bad message id", "/api/sessions/s/messages/xyz", nil, 400, "VALIDATION_ERROR"},
		{"unknown message", "/api/sessions/s/messages/msg_000000000000000000000000", nil, 404, "MESSAGE_NOT_FOUND"},
		{"unknown group", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "999@g.us", "text": "x"}, 502, "ENGINE_ERROR"},
	} {
		t.Run(c.name, func(t *testing.T) {
			method := "POST"
			if c.body == nil {
				method = "GET"
			}
			e.expect(e.do(method, c.path, c.body), c.status, c.code)
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	body := map[string]any{"chatId": "6281234567890", "text": "once"}
	first := e.do("POST", "/api/sessions/s/messages/send-text", body, header("Idempotency-Key", "order-42"))
	e.expect(first, 201, "")
	again := e.do("POST", "/api/sessions/s/messages/send-text", body, header("Idempotency-Key", "order-42"))
	if again.Status != 201 || again.data()["id"] != first.data()["id"] {
		t.Fatalf("retry: %d %v, want the first message %v", again.Status, again.data()["id"], first.data()["id"])
	}
	e.expect(e.do("POST", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "other"},
		header("Idempotency-Key", "order-42")), 409, "IDEMPOTENCY_CONFLICT")

	// A retry after the session stopped still gets the first result.
	e.expect(e.do("POST", "/api/sessions/s/stop", nil), 200, "")
	late := e.do("POST", "/api/sessions/s/messages/send-text", body, header("Idempotency-Key", "order-42"))
	if late.Status != 201 || late.data()["id"] != first.data()["id"] {
		t.Fatalf("retry while stopped: %d %s", late.Status, late.Raw)
	}
	e.expect(e.do("POST", "/api/sessions/s/start", nil), 200, "")
	e.waitStatus("s", "READY")

	// Concurrent retries still send once.
	var wg sync.WaitGroup
	ids := make(chan string, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", "/api/sessions/s/messages/send-text?async=true", map[string]any{"chatId": "6281234567890", "text": "burst"},
				header("Idempotency-Key", "burst-1"))
			ids <- fmt.Sprint(r.data()["id"])
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Fatalf("concurrent retries made %d messages", len(seen))
	}
	n := e.do("GET", "/api/sessions/s/messages?limit=100", nil).Body["pagination"].(map[string]any)["total"]
	if n != 2.0 {
		t.Fatalf("%v messages stored, want 2", n)
	}
}

// A message accepted while READY waits through a disconnect and goes out,
// in order, when the session is back.
func TestOutboxWaitsForTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.do("POST", "/api/sessions", map[string]any{"id": "s", "engine": "mock",
		"config": map[string]any{"mock": map[string]any{"pairDelayMs": 20, "ackDelayMs": 5, "sendDelayMs": 30}}})
	e.expect(r, 201, "")
	e.waitStatus("s", "READY")

	var ids []string
	for i := range 12 {
		r := e.do("POST", "/api/sessions/s/messages/send-text?async=true", map[string]any{"chatId": "6281234567890", "text": fmt.Sprint(i)})
		e.expect(r, 202, "")
		ids = append(ids, r.data()["id"].(string))
	}
	// The connection drops with most of them still in the outbox.
	e.expect(e.do("POST", "/api/sessions/s/mock/disconnect", map[string]any{"reason": "blip"}), 202, "")
	queued := e.do("GET", "/api/sessions/s/messages?status=queued", nil).Body["pagination"].(map[string]any)["total"].(float64)
	if queued == 0 {
		t.Fatal("nothing was left in the outbox across the disconnect")
	}
	var last time.Time
	for i, id := range ids {
		// Acks of what went out before the drop may be lost with the connection.
		m := e.waitMessage("s", id, "sent", "delivered", "read")
		ts, err := time.Parse(time.RFC3339Nano, m["timestamp"].(string))
		if err != nil || m["text"] != fmt.Sprint(i) || ts.Before(last) {
			t.Fatalf("message %d out of order: %v (previous at %s)", i, m, last)
		}
		last = ts
	}
}

// Back-to-back sends each find a worker: none waits out SEND_WAIT_MS because
// the worker retired just as the message arrived.
func TestSendsNeverMissTheWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"SEND_WAIT_MS": "5000"})
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	for i := range 150 {
		r := e.do("POST", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "6281234567890", "text": fmt.Sprint(i)})
		if r.Status != 201 {
			t.Fatalf("send %d: %d %s", i, r.Status, r.Raw)
		}
	}
}

// A message that cannot go out within MESSAGE_QUEUE_TTL fails, with the reason.
func TestOutboxTTL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"MESSAGE_QUEUE_TTL": "400ms"})
	e.do("POST", "/api/sessions", map[string]any{"id": "s", "engine": "mock",
		"config": map[string]any{"mock": map[string]any{"pairDelayMs": 10, "sendDelayMs": 150}}})
	e.waitStatus("s", "READY")
	var ids []string
	for i := range 5 {
		r := e.do("POST", "/api/sessions/s/messages/send-text?async=true", map[string]any{"chatId": "6281234567890", "text": fmt.Sprint(i)})
		e.expect(r, 202, "")
		ids = append(ids, r.data()["id"].(string))
	}
	e.expect(e.do("POST", "/api/sessions/s/stop", nil), 200, "")
	failed := 0
	for _, id := range ids {
		m := e.waitMessage("s", id, "failed", "sent", "delivered", "read")
		if m["status"] == "failed" {
			failed++
			if !strings.Contains(fmt.Sprint(m["error"]), "MESSAGE_QUEUE_TTL") {
				t.Fatalf("failed without the reason: %v", m)
			}
		}
	}
	if failed == 0 {
		t.Fatal("no message outlived the stopped session's TTL")
	}
}

// SQLITE_BUSY never reaches a user: 50 senders at once all get their answer.
func TestConcurrentSenders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	var wg sync.WaitGroup
	codes := make(chan int, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "6281234567890", "text": fmt.Sprint(i)})
			codes <- r.Status
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 201 && c != 202 {
			t.Fatalf("a concurrent sender got %d", c)
		}
	}
	if n := e.do("GET", "/api/sessions/s/messages", nil).Body["pagination"].(map[string]any)["total"]; n != 50.0 {
		t.Fatalf("%v messages stored, want 50", n)
	}
}
