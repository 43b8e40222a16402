package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/openwa/openwa/internal/cache/cachetest"
)

// streamDeadline is how soon a stream must end once its key is revoked or expired.
const streamDeadline = 5 * time.Second

// keyStreams opens a WebSocket and an SSE stream with key.
func (e *env) keyStreams(key string) (*websocket.Conn, *http.Response) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws?apiKey="+key, nil)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { c.CloseNow() })
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/events/stream", nil)
	req.Header.Set("X-API-Key", key)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.StatusCode != 200 {
		e.t.Fatalf("stream: %d", res.StatusCode)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return c, res
}

// expectWSClosed reads until the server closes c, and checks the close code and reason.
func expectWSClosed(t *testing.T, c *websocket.Conn, reason string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamDeadline)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue // an event that came before
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("WebSocket not closed by the server within %v: %v", streamDeadline, err)
		}
		if ce.Code != 4401 || ce.Reason != reason {
			t.Fatalf("closed with %d %q, want 4401 %q", ce.Code, ce.Reason, reason)
		}
		return
	}
}

// expectSSEEnds reads the SSE body until it ends, within the deadline.
func expectSSEEnds(t *testing.T, res *http.Response, reason string) {
	t.Helper()
	done := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(res.Body)
		done <- b
	}()
	select {
	case b := <-done:
		if !strings.Contains(string(b), ": closed: "+reason) {
			t.Fatalf("stream ended without saying why: %q", b)
		}
	case <-time.After(streamDeadline):
		res.Body.Close()
		t.Fatalf("SSE stream still open %v after its key ended", streamDeadline)
	}
}

func (e *env) sessionKey(session string, expires *time.Time) (id, key string) {
	e.t.Helper()
	body := map[string]any{"name": "k", "role": "session", "sessions": []string{session}}
	if expires != nil {
		body["expiresAt"] = expires.Format(time.RFC3339Nano)
	}
	r := e.do("POST", "/api/keys", body)
	e.expect(r, 201, "")
	return r.data()["id"].(string), r.data()["key"].(string)
}

func TestRevokedKeyEndsItsStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	id, key := e.sessionKey("s", nil)
	_, otherKey := e.sessionKey("s", nil)
	ws, sse := e.keyStreams(key)
	otherWS, _ := e.keyStreams(otherKey)

	e.expect(e.do("DELETE", "/api/keys/"+id, nil), 200, "")
	expectWSClosed(t, ws, "API key revoked")
	expectSSEEnds(t, sse, "API key revoked")

	// Another key's stream goes on.
	e.inbound("s", 1)
	if ev := readEvent(t, otherWS); ev["sessionId"] != "s" {
		t.Fatalf("the other key's stream got %v", ev)
	}
}

func TestExpiredKeyEndsItsStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	expires := time.Now().Add(2 * time.Second)
	_, key := e.sessionKey("s", &expires)
	ws, sse := e.keyStreams(key)
	expectWSClosed(t, ws, "API key expired")
	expectSSEEnds(t, sse, "API key expired")
	if time.Now().Before(expires) {
		t.Fatal("streams ended before the key expired")
	}
}

// A key deleted on one instance ends its streams on the others (Redis pub/sub).
func TestRevocationReachesOtherInstances(t *testing.T) {
	t.Parallel()
	url, prefix := cachetest.RedisURL(t)
	a := newEnv(t, map[string]string{"CACHE_TYPE": "redis", "REDIS_URL": url, "REDIS_PREFIX": prefix})
	b := a.sibling()
	a.createSession("s", true)
	a.waitStatus("s", "READY")
	id, key := a.sessionKey("s", nil)
	ws, sse := b.keyStreams(key)
	a.expect(a.do("DELETE", "/api/keys/"+id, nil), 200, "")
	expectWSClosed(t, ws, "API key revoked")
	expectSSEEnds(t, sse, "API key revoked")

	// So does a session deletion that took a key's last session.
	_, key = a.sessionKey("s", nil)
	ws, sse = b.keyStreams(key)
	a.expect(a.do("DELETE", "/api/sessions/s", nil), 200, "")
	expectWSClosed(t, ws, "API key revoked")
	expectSSEEnds(t, sse, "API key revoked")
}

func TestLastAdminKeyCannotBeDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	first := e.do("GET", "/api/keys", nil).list()[0].(map[string]any)["id"].(string)
	// The bootstrap key is the only admin key: deleting it would lock administration out.
	r := e.do("DELETE", "/api/keys/"+first, nil)
	e.expect(r, 409, "LAST_ADMIN_KEY")

	// Session keys and expired admin keys do not count as admin keys that keep it open.
	e.sessionKey("s", nil)
	soon := time.Now().Add(time.Second)
	expiring := e.do("POST", "/api/keys", map[string]any{"name": "soon", "role": "admin", "expiresAt": soon.Format(time.RFC3339Nano)})
	e.expect(expiring, 201, "")
	deadline := time.Now().Add(10 * time.Second)
	for e.do("GET", "/api/sessions", nil, withKey(expiring.data()["key"].(string))).Status != 401 {
		if time.Now().After(deadline) {
			t.Fatal("the expiring admin key never expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.expect(e.do("DELETE", "/api/keys/"+first, nil), 409, "LAST_ADMIN_KEY")

	// With a second admin key, either may go; then the other is the last one.
	second := e.do("POST", "/api/keys", map[string]any{"name": "second", "role": "admin"})
	e.expect(second, 201, "")
	e.expect(e.do("DELETE", "/api/keys/"+second.data()["id"].(string), nil), 200, "")
	second = e.do("POST", "/api/keys", map[string]any{"name": "second", "role": "admin"})
	e.expect(second, 201, "")
	e.expect(e.do("DELETE", "/api/keys/"+first, nil), 200, "")
	e.key = second.data()["key"].(string)
	e.expect(e.do("DELETE", "/api/keys/"+second.data()["id"].(string), nil), 409, "LAST_ADMIN_KEY")
	// An expired admin key may always be deleted.
	e.expect(e.do("DELETE", "/api/keys/"+expiring.data()["id"].(string), nil), 200, "")
}

// barrier sends a malformed action and waits for its error frame: the reader
// applies a client's frames in order, so every action sent before is in force.
func barrier(t *testing.T, c *websocket.Conn) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.MessageText, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if f := readEvent(t, c); f["error"] == nil {
		t.Fatalf("want an error frame, got %v", f)
	}
}

// An admin client that takes every session and unsubscribes from one keeps
// the others, those created later included.
func TestWebSocketAdminUnsubscribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, id := range []string{"x", "y"} {
		e.createSession(id, true)
		e.waitStatus(id, "READY")
	}
	c := e.ws("")
	if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"action":"unsubscribe","sessions":["x"]}`)); err != nil {
		t.Fatal(err)
	}
	barrier(t, c)
	// x's message is in the log before y's is sent: had the client got it, it would come first.
	e.expect(e.do("POST", "/api/sessions/x/mock/inbound", map[string]any{"from": "6281234567890", "text": "to x"}), 202, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, _ := e.events("sessions=x&events=message.received&after=0")
		if len(evs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("x's message never reached the event log")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.createSession("z", true) // a session created after the unsubscribe is taken too
	e.waitStatus("z", "READY")
	e.expect(e.do("POST", "/api/sessions/y/mock/inbound", map[string]any{"from": "6281234567890", "text": "to y"}), 202, "")
	sawZ := false
	for {
		ev := readEvent(t, c)
		if ev["sessionId"] == "x" {
			t.Fatalf("got an event of x after unsubscribing from it: %v", ev)
		}
		sawZ = sawZ || ev["sessionId"] == "z"
		if ev["sessionId"] == "y" && ev["event"] == "message.received" {
			break
		}
	}
	if !sawZ {
		t.Fatal("no event of z, created after the unsubscribe")
	}
	// Subscribing to x again brings it back.
	if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"action":"subscribe","sessions":["x"]}`)); err != nil {
		t.Fatal(err)
	}
	barrier(t, c)
	e.expect(e.do("POST", "/api/sessions/x/mock/inbound", map[string]any{"from": "6281234567890", "text": "x again"}), 202, "")
	for {
		if ev := readEvent(t, c); ev["sessionId"] == "x" && ev["event"] == "message.received" {
			break
		}
	}
}

// Subscriptions name known events and a bounded number of sessions and events.
func TestSubscriptionBounds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	many := func(n int, name string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = name + strconv.Itoa(i)
		}
		return out
	}
	t.Run("websocket actions", func(t *testing.T) {
		c := e.ws("")
		for _, tc := range []struct {
			name  string
			frame map[string]any
			want  string
		}{
			{"unknown event", map[string]any{"action": "subscribe", "events": []string{"message.nope"}}, "unknown event"},
			{"too many sessions", map[string]any{"action": "subscribe", "sessions": many(65, "s")}, "at most 64"},
			{"too many events", map[string]any{"action": "unsubscribe", "events": slices.Repeat([]string{"message.sent"}, 33)}, "at most 32"},
			{"bad session id", map[string]any{"action": "subscribe", "sessions": []string{"a b"}}, "not a session id"},
			{"unknown field", map[string]any{"action": "subscribe", "channels": []string{"a"}}, "want {"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b, _ := json.Marshal(tc.frame)
				if err := c.Write(context.Background(), websocket.MessageText, b); err != nil {
					t.Fatal(err)
				}
				f := readEvent(t, c)
				if msg, _ := f["error"].(string); !strings.Contains(msg, tc.want) {
					t.Fatalf("got %v, want an error saying %q", f, tc.want)
				}
			})
		}
		t.Run("the subscription names at most 256 sessions", func(t *testing.T) {
			for i := range 4 {
				b, _ := json.Marshal(map[string]any{"action": "unsubscribe", "sessions": many(64, fmt.Sprint("u", i, "_"))})
				c.Write(context.Background(), websocket.MessageText, b)
			}
			barrier(t, c)
			b, _ := json.Marshal(map[string]any{"action": "unsubscribe", "sessions": []string{"one_more"}})
			c.Write(context.Background(), websocket.MessageText, b)
			if f := readEvent(t, c); !strings.Contains(fmt.Sprint(f["error"]), "at most 256") {
				t.Fatalf("got %v", f)
			}
		})
	})
	t.Run("180k names in one frame", func(t *testing.T) {
		c := e.ws("")
		b, _ := json.Marshal(map[string]any{"action": "subscribe", "sessions": many(180_000, "s")})
		start := time.Now()
		c.Write(context.Background(), websocket.MessageText, b)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _, err := c.Read(ctx)
		if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
			t.Fatalf("got %v, want close 1009", err)
		}
		t.Logf("%d bytes refused in %v", len(b), time.Since(start))
	})
	t.Run("query filters", func(t *testing.T) {
		for _, path := range []string{
			"/api/events?sessions=" + strings.Join(many(65, "s"), ","),
			"/api/events?events=" + strings.Join(slices.Repeat([]string{"message.sent"}, 33), ","),
			"/api/events?events=message.nope",
			"/api/events/stream?sessions=" + strings.Join(many(65, "s"), ","),
			"/ws?sessions=" + strings.Join(many(10_000, "s"), ","),
			"/ws?events=" + strings.Join(many(10_000, "e"), ","),
		} {
			r := e.do("GET", path, nil)
			e.expect(r, 400, "VALIDATION_ERROR")
		}
		e.expect(e.do("GET", "/api/events?events=*", nil), 200, "")
	})
}

// Two admin keys deleted at the same time: one goes, the other stays.
func TestConcurrentDeletesKeepAnAdminKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	first := e.do("GET", "/api/keys", nil).list()[0].(map[string]any)["id"].(string)
	for range 5 {
		second := e.do("POST", "/api/keys", map[string]any{"name": "second", "role": "admin"})
		e.expect(second, 201, "")
		ids := []string{first, second.data()["id"].(string)}
		keys := []string{e.key, second.data()["key"].(string)}
		statuses := make(chan int, 2)
		for i := range 2 {
			go func() {
				req, _ := http.NewRequest("DELETE", e.srv.URL+"/api/keys/"+ids[i], nil)
				req.Header.Set("X-API-Key", keys[1-i]) // each key deletes the other
				res, err := e.srv.Client().Do(req)
				if err != nil {
					statuses <- 0
					return
				}
				res.Body.Close()
				statuses <- res.StatusCode
			}()
		}
		got := []int{<-statuses, <-statuses}
		slices.Sort(got)
		if got[0] != 200 || got[1] != 409 {
			// 401: the other request's key was gone before this one authenticated; also one survivor.
			if !(got[0] == 200 && got[1] == 401) {
				t.Fatalf("statuses %v, want one 200 and one 409 (or 401)", got)
			}
		}
		list := e.do("GET", "/api/keys", nil, withKey(keys[0]))
		if list.Status == 401 {
			list = e.do("GET", "/api/keys", nil, withKey(keys[1]))
			e.key, first = keys[1], ids[1]
		}
		e.expect(list, 200, "")
		if n := len(list.list()); n != 1 {
			t.Fatalf("%d keys left, want 1", n)
		}
	}
}

// A deleted session leaves the streams of session keys: a later session of
// the same id is not seen by them, and a key left with no session (deleted
// with it) loses its streams at once.
func TestDeletedSessionLeavesSessionKeyStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, id := range []string{"a", "b"} {
		e.createSession(id, true)
		e.waitStatus(id, "READY")
	}
	both := e.do("POST", "/api/keys", map[string]any{"name": "ab", "role": "session", "sessions": []string{"a", "b"}})
	e.expect(both, 201, "")
	_, onlyA := e.sessionKey("a", nil)
	wsAB, _ := e.keyStreams(both.data()["key"].(string))
	wsA, sseA := e.keyStreams(onlyA)

	e.expect(e.do("DELETE", "/api/sessions/a", nil), 200, "")
	expectWSClosed(t, wsA, "API key revoked")
	expectSSEEnds(t, sseA, "API key revoked")

	e.createSession("a", true)
	e.waitStatus("a", "READY")
	e.expect(e.do("POST", "/api/sessions/a/mock/inbound", map[string]any{"from": "6281234567890", "text": "new a"}), 202, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if evs, _ := e.events("sessions=a&events=message.received&after=0"); len(evs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new a's message never reached the event log")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.expect(e.do("POST", "/api/sessions/b/mock/inbound", map[string]any{"from": "6281234567890", "text": "to b"}), 202, "")
	for {
		ev := readEvent(t, wsAB)
		if ev["sessionId"] == "a" {
			t.Fatalf("a stream of a key that lost session a got an event of the new a: %v", ev)
		}
		if ev["sessionId"] == "b" && ev["event"] == "message.received" {
			break
		}
	}
}
