package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/openwa/openwa/internal/event"
)

// inbound makes the mock session receive n messages.
func (e *env) inbound(session string, n int) {
	e.t.Helper()
	for i := range n {
		e.expect(e.do("POST", "/api/sessions/"+session+"/mock/inbound", map[string]any{"from": "6281234567890", "text": fmt.Sprint(i)}), 202, "")
	}
}

func (e *env) events(query string) (list []map[string]any, nextAfter float64) {
	e.t.Helper()
	r := e.do("GET", "/api/events?"+query, nil)
	e.expect(r, 200, "")
	for _, ev := range r.data()["events"].([]any) {
		list = append(list, ev.(map[string]any))
	}
	return list, r.data()["nextAfter"].(float64)
}

func TestEventLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("s", false)
	e.waitStatus("s", "QR_READY")
	e.do("POST", "/api/sessions/s/mock/pair", nil)
	e.waitStatus("s", "READY")
	e.inbound("s", 2)
	e.expect(e.do("POST", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "out"}), 201, "")

	var all []map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		all, _ = e.events("after=0&limit=1000")
		names := map[string]int{}
		for _, ev := range all {
			names[ev["event"].(string)]++
		}
		if names["message.received"] == 2 && names["message.sent"] == 1 && names["message.ack"] >= 1 && names["session.qr"] >= 1 {
			break
		}
	}
	prev := 0.0
	names := map[string]int{}
	for _, ev := range all {
		if seq := ev["seq"].(float64); seq <= prev {
			t.Fatalf("seq does not grow: %v after %v", seq, prev)
		} else {
			prev = seq
		}
		if ev["sessionId"] != "s" || !strings.HasPrefix(ev["id"].(string), "evt_") || ev["timestamp"] == "" {
			t.Fatalf("event: %v", ev)
		}
		names[ev["event"].(string)]++
	}
	for _, n := range []string{"session.status", "session.qr", "message.received", "message.sent", "message.ack"} {
		if names[n] == 0 {
			t.Errorf("no %s event in %v", n, names)
		}
	}
	// The status events tell the whole story, in order.
	st, _ := e.events("after=0&events=session.status")
	var path []string
	for _, ev := range st {
		path = append(path, ev["data"].(map[string]any)["status"].(string))
	}
	if strings.Join(path, ">") != "INITIALIZING>QR_READY>AUTHENTICATED>READY" {
		t.Fatalf("status events: %v", path)
	}

	t.Run("paging with nextAfter", func(t *testing.T) {
		page, next := e.events("after=0&limit=2")
		rest, _ := e.events("after=" + strconv.Itoa(int(next)) + "&limit=1000")
		if len(page) != 2 || next != page[1]["seq"].(float64) {
			t.Fatalf("first page %v, nextAfter %v", page, next)
		}
		// Acks may still be arriving: the two pages hold at least what the full read held, in order.
		both := append(page, rest...)
		if len(both) < len(all) {
			t.Fatalf("pages %d + %d, want at least %d", len(page), len(rest), len(all))
		}
		for i, ev := range all {
			if both[i]["seq"] != ev["seq"] {
				t.Fatalf("event %d: seq %v through pages, %v in one read", i, both[i]["seq"], ev["seq"])
			}
		}
	})
	t.Run("session keys see their sessions", func(t *testing.T) {
		e.createSession("other", true)
		k := e.do("POST", "/api/keys", map[string]any{"name": "k", "role": "session", "sessions": []string{"other"}}).data()["key"].(string)
		r := e.do("GET", "/api/events?after=0&limit=1000", nil, withKey(k))
		for _, ev := range r.data()["events"].([]any) {
			if ev.(map[string]any)["sessionId"] != "other" {
				t.Fatalf("a session key sees %v", ev)
			}
		}
		e.expect(e.do("GET", "/api/events?sessions=s", nil, withKey(k)), 403, "FORBIDDEN")
	})
	t.Run("bad filters", func(t *testing.T) {
		e.expect(e.do("GET", "/api/events?events=message.exploded", nil), 400, "VALIDATION_ERROR")
		e.expect(e.do("GET", "/api/events?after=-1", nil), 400, "VALIDATION_ERROR")
		e.expect(e.do("GET", "/api/events?limit=5000", nil), 400, "VALIDATION_ERROR")
		e.expect(e.do("GET", "/api/events?sessions=bad%20id", nil), 400, "VALIDATION_ERROR")
		e.expect(e.do("GET", "/api/events", nil, noKey()), 401, "UNAUTHORIZED")
	})
}

// sseClient reads Server-Sent Events.
type sseClient struct {
	res *http.Response
	sc  *bufio.Scanner
}

func (e *env) sse(query string, header map[string]string) *sseClient {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/events/stream?"+query, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		e.t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return &sseClient{res: res, sc: bufio.NewScanner(res.Body)}
}

// next reads the next event: its id line and its data.
func (c *sseClient) next(t *testing.T) (int64, map[string]any) {
	t.Helper()
	var id int64 = -1
	var data map[string]any
	for c.sc.Scan() {
		line := c.sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id, _ = strconv.ParseInt(line[4:], 10, 64)
		case strings.HasPrefix(line, "data: "):
			json.Unmarshal([]byte(line[6:]), &data)
		case line == "" && data != nil:
			return id, data
		}
	}
	t.Fatalf("stream ended: %v", c.sc.Err())
	return 0, nil
}

func TestSSEResumesWithoutGapOrDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	key := map[string]string{"X-API-Key": adminKey}

	c := e.sse("after=0&events=message.received", key)
	e.inbound("s", 3)
	var last int64
	for i := range 3 {
		id, ev := c.next(t)
		if ev["event"] != "message.received" || ev["data"].(map[string]any)["text"] != fmt.Sprint(i) || id != int64(ev["seq"].(float64)) {
			t.Fatalf("event %d: %v", i, ev)
		}
		last = id
	}
	c.res.Body.Close()

	// Away for a while: more events happen.
	e.inbound("s", 4)
	// EventSource reconnects with Last-Event-ID; the key may come as ?apiKey= (browsers).
	c2 := e.sse("events=message.received&apiKey="+adminKey, map[string]string{"Last-Event-ID": strconv.FormatInt(last, 10)})
	// Inbound messages reach the log through the session's event queue: wait for all four.
	var want []map[string]any
	for deadline := time.Now().Add(10 * time.Second); len(want) != 4; time.Sleep(10 * time.Millisecond) {
		if want, _ = e.events("after=" + strconv.FormatInt(last, 10) + "&events=message.received"); time.Now().After(deadline) {
			t.Fatalf("the log has %d new events, want 4", len(want))
		}
	}
	for i, w := range want {
		id, ev := c2.next(t)
		if id != int64(w["seq"].(float64)) {
			t.Fatalf("resumed event %d has seq %d, want %v (no gap, no duplicate)", i, id, w["seq"])
		}
		_ = ev
	}
	// And live ones follow.
	e.inbound("s", 1)
	if _, ev := c2.next(t); ev["data"].(map[string]any)["text"] != "0" {
		t.Fatalf("live event: %v", ev)
	}
	if r := e.do("GET", "/api/events/stream?after=x", nil); r.Status != 400 {
		t.Fatalf("bad after: %d", r.Status)
	}
}

func (e *env) ws(query string) *websocket.Conn {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws?" + query
	c, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"X-API-Key": {e.key}}})
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		e.t.Fatalf("dial: %v (%d)", err, status)
	}
	c.SetReadLimit(1 << 20)
	e.t.Cleanup(func() { c.CloseNow() })
	return c
}

func readEvent(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var ev map[string]any
	json.Unmarshal(b, &ev)
	return ev
}

func TestWebSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, id := range []string{"a", "b"} {
		e.createSession(id, true)
		e.waitStatus(id, "READY")
	}
	t.Run("filters", func(t *testing.T) {
		c := e.ws("sessions=b&events=message.received")
		e.inbound("a", 1)
		e.inbound("b", 1)
		ev := readEvent(t, c)
		if ev["sessionId"] != "b" || ev["event"] != "message.received" {
			t.Fatalf("got %v", ev)
		}
	})
	t.Run("subscribe and unsubscribe", func(t *testing.T) {
		c := e.ws("sessions=a&events=message.received")
		ctx := context.Background()
		c.Write(ctx, websocket.MessageText, []byte(`{"action":"subscribe","sessions":["b"]}`))
		c.Write(ctx, websocket.MessageText, []byte(`{"action":"unsubscribe","sessions":["a"]}`))
		time.Sleep(50 * time.Millisecond) // the actions are applied by the reader
		e.inbound("a", 1)
		e.inbound("b", 1)
		if ev := readEvent(t, c); ev["sessionId"] != "b" {
			t.Fatalf("after switching to b: %v", ev)
		}
	})
	t.Run("replay after a reconnect", func(t *testing.T) {
		before, _ := e.events("after=0&limit=1000")
		last := before[len(before)-1]["seq"].(float64)
		for i := range 3 {
			e.expect(e.do("POST", "/api/sessions/a/mock/inbound", map[string]any{"from": "6281234567890", "text": fmt.Sprint("r", i)}), 202, "")
		}
		c := e.ws("events=message.received&sessions=a&after=" + strconv.Itoa(int(last)))
		// Events of earlier steps may still have been on their way into the log:
		// whatever comes, seqs only grow, and the three new ones come in order.
		for i := 0; i < 3; {
			ev := readEvent(t, c)
			if ev["seq"].(float64) <= last {
				t.Fatalf("seq %v after %v: a duplicate or out of order", ev["seq"], last)
			}
			last = ev["seq"].(float64)
			if text := ev["data"].(map[string]any)["text"]; text == fmt.Sprint("r", i) {
				i++
			} else if strings.HasPrefix(text.(string), "r") {
				t.Fatalf("got %v, want r%d", text, i)
			}
		}
		e.inbound("a", 1)
		if ev := readEvent(t, c); ev["seq"].(float64) <= last {
			t.Fatalf("duplicate after replay: %v", ev)
		}
	})
	t.Run("session keys", func(t *testing.T) {
		k := e.do("POST", "/api/keys", map[string]any{"name": "k", "role": "session", "sessions": []string{"b"}}).data()["key"].(string)
		ctx := context.Background()
		u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws?sessions=a&apiKey=" + k
		if _, res, err := websocket.Dial(ctx, u, nil); err == nil || res.StatusCode != 403 {
			t.Fatalf("a session key subscribed to another session: %v", err)
		}
		if _, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws", nil); err == nil || res.StatusCode != 401 {
			t.Fatalf("no key: %v", err)
		}
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws?events=message.received&apiKey="+k, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		e.inbound("a", 1)
		e.inbound("b", 1)
		if ev := readEvent(t, c); ev["sessionId"] != "b" {
			t.Fatalf("a session key saw %v", ev)
		}
	})
	t.Run("a slow client is dropped with 1013", func(t *testing.T) {
		c := e.ws("")
		// The client reads nothing while many large events happen.
		// One commit, so that the events reach the hub faster than any
		// write can time out, on every database.
		big := map[string]string{"padding": strings.Repeat("x", 16<<10)}
		evs := make([]*event.Row, 1500)
		for i := range evs {
			evs[i] = event.New(event.GroupUpdated, "a", big)
		}
		if err := e.app.Store.AddEvents(context.Background(), evs...); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for {
			if _, _, err := c.Read(ctx); err != nil {
				if websocket.CloseStatus(err) != websocket.StatusTryAgainLater {
					t.Fatalf("closed with %v, want 1013", err)
				}
				return
			}
		}
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	e.expect(e.do("POST", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "x"}), 201, "")
	r := e.do("GET", "/metrics", nil, noKey())
	body := string(r.Raw)
	for _, want := range []string{`openwa_http_requests_total{method="POST",route="POST /api/sessions/{id}/messages/send-text",status="201"} 1`,
		`openwa_sessions{status="READY"} 1`, `openwa_messages{status=`, `openwa_queue_depth{queue="outbox"}`,
		`openwa_queue_depth{queue="engine_events"}`, `openwa_queue_depth{queue="webhook_deliveries"} 0`,
		`openwa_realtime_clients 0`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	k := newEnv(t, map[string]string{"METRICS_API_KEY_REQUIRED": "true"})
	k.expect(k.do("GET", "/metrics", nil, noKey()), 401, "UNAUTHORIZED")
	if r := k.do("GET", "/metrics", nil); r.Status != 200 {
		t.Fatalf("metrics with a key: %d", r.Status)
	}
}
