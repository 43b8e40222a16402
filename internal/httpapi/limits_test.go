package httpapi_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/app"
)

// hasField reports whether a VALIDATION_ERROR names field in details.fields.
func hasField(r *resp, field string) bool {
	fields, _ := r.errDetails()["fields"].([]any)
	for _, f := range fields {
		if m, ok := f.(map[string]any); ok && m["field"] == field {
			return true
		}
	}
	return false
}

// Every paginated list of the published document refuses a page whose offset
// would overflow: 400 naming page, never a 500 or a silent first page.
func TestPageBounds(t *testing.T) {
	e := newEnv(t, nil)
	e.createSession("s1", true)
	e.waitStatus("s1", "READY")
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(e.do("GET", "/openapi.json", nil, noKey()).Raw, &doc); err != nil {
		t.Fatal(err)
	}
	sample := strings.NewReplacer("{id}", "s1", "{webhookId}", "wh_000000000000000000000000", "{chatId}", "6281234567890")
	var lists []string
	for path, ops := range doc.Paths {
		for _, p := range ops["get"].Parameters {
			if p.Name == "page" && p.In == "query" {
				lists = append(lists, sample.Replace(path))
			}
		}
	}
	// sessions, messages, chats, a chat's messages, contacts, groups, session
	// and global webhooks and their deliveries, keys, audit.
	if len(lists) < 12 {
		t.Fatalf("only %d paginated lists in the document: %v", len(lists), lists)
	}
	for _, path := range lists {
		for _, page := range []string{"4611686018427387904", "9223372036854775807", "1000001", "99999999999999999999"} {
			t.Run(path+"?page="+page, func(t *testing.T) {
				r := e.do("GET", path+"?limit=4&page="+page, nil)
				if r.Status != 400 || r.code() != "VALIDATION_ERROR" || !hasField(r, "page") {
					t.Fatalf("got %d, want 400 VALIDATION_ERROR naming page: %s", r.Status, r.Raw)
				}
			})
		}
	}
	// The largest page allowed is an empty page, not an error.
	r := e.do("GET", "/api/sessions?limit=100&page=1000000", nil)
	e.expect(r, 200, "")
	if len(r.list()) != 0 {
		t.Fatalf("last page: %s", r.Raw)
	}
}

// slowClient sends a request over a raw connection: head (the request line
// and headers), then the body a piece at a time, one piece every tick, until
// the pieces run out, the server closes the connection or the test ends.
type slowClient struct {
	conn net.Conn
	br   *bufio.Reader
	stop chan struct{}
	done chan struct{}
}

func newSlowClient(t *testing.T, e *env, head string, pieces [][]byte, tick time.Duration) *slowClient {
	t.Helper()
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := &slowClient{conn: conn, br: bufio.NewReader(conn), stop: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() { close(c.stop); conn.Close(); <-c.done })
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for _, p := range pieces {
			select {
			case <-c.stop:
				return
			case <-tk.C:
			}
			if _, err := conn.Write(p); err != nil {
				return
			}
		}
	}()
	return c
}

// trickle is n pieces of one byte.
func trickle(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte("x")
	}
	return out
}

// response reads the response, then waits for the server to close the
// connection; it fails if the server has not answered and closed within
// failsafe (the connection would be held).
func (c *slowClient) response(t *testing.T, failsafe time.Duration) (*http.Response, []byte) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(failsafe))
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("no response within %v: %v", failsafe, err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("response body: %v", err)
	}
	return res, body
}

// closed fails unless the server closes the connection within failsafe.
func (c *slowClient) closed(t *testing.T, failsafe time.Duration) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(failsafe))
	n, err := io.Copy(io.Discard, c.br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still holds the connection after %v", failsafe)
	}
	if n > 0 {
		t.Fatalf("%d more bytes after the response", n)
	}
	// nil (EOF) or a reset: the server closed its end.
}

// A request without a key is answered 401 at once, without reading its body,
// and its connection is closed, however slowly the body trickles in.
func TestSlowBodyWithoutKey(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct{ name, head string }{
		{"content-length", "POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n"},
		{"chunked", "POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"wrong key, upload", "POST /api/sessions/s/messages/send-image HTTP/1.1\r\nHost: x\r\nX-API-Key: owa_wrong\r\n" +
			"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 10000\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pieces := trickle(100_000)
			if strings.Contains(c.head, "chunked") {
				for i := range pieces {
					pieces[i] = []byte("1\r\nx\r\n")
				}
			}
			cl := newSlowClient(t, e, c.head, pieces, 20*time.Millisecond)
			res, body := cl.response(t, 10*time.Second)
			if res.StatusCode != 401 || !strings.Contains(string(body), `"UNAUTHORIZED"`) || !res.Close {
				t.Fatalf("got %d (close %v) %s, want 401 UNAUTHORIZED with Connection: close", res.StatusCode, res.Close, body)
			}
			cl.closed(t, 10*time.Second)
		})
	}
}

// A key holder's body that stalls past its deadline is cut: 408 and the
// connection closed. Bodies that arrive in time, and handlers that work
// longer than the deadline, are not affected; uploads have a deadline of
// their own.
func TestSlowBodyDeadline(t *testing.T) {
	e := newEnvWith(t, nil, app.WithBodyTimeouts(300*time.Millisecond, time.Hour))
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	auth := "Host: x\r\nX-API-Key: " + adminKey + "\r\n"
	img := pngBytes(t)
	ct, upload := multipartBody(t, map[string]string{"chatId": "6281234567890"}, "a.png", img)

	t.Run("json body stalls", func(t *testing.T) {
		body := `{"chatId":"6281234567890","text":"hello"}`
		cl := newSlowClient(t, e, "POST /api/sessions/s/messages/send-text HTTP/1.1\r\n"+auth+
			"Content-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n", [][]byte{[]byte(body[:10])}, time.Millisecond)
		res, raw := cl.response(t, 10*time.Second)
		if res.StatusCode != 408 || !strings.Contains(string(raw), `"field":"body"`) {
			t.Fatalf("got %d %s, want 408 on body", res.StatusCode, raw)
		}
		cl.closed(t, 10*time.Second)
	})
	t.Run("json body trickles", func(t *testing.T) {
		cl := newSlowClient(t, e, "POST /api/sessions HTTP/1.1\r\n"+auth+
			"Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n", trickle(10_000), 20*time.Millisecond)
		if res, raw := cl.response(t, 10*time.Second); res.StatusCode != 408 {
			t.Fatalf("got %d %s, want 408", res.StatusCode, raw)
		}
		cl.closed(t, 10*time.Second)
	})
	t.Run("no route", func(t *testing.T) {
		cl := newSlowClient(t, e, "POST /nothing-here HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n", trickle(10_000), 20*time.Millisecond)
		if res, _ := cl.response(t, 10*time.Second); res.StatusCode != 404 {
			t.Fatalf("got %d, want 404", res.StatusCode)
		}
		cl.closed(t, 10*time.Second)
	})
	t.Run("upload slower than the body deadline", func(t *testing.T) {
		// 20 pieces 40 ms apart: the upload takes longer than 300 ms and is taken.
		var pieces [][]byte
		for i := 0; i < len(upload); i += len(upload)/20 + 1 {
			pieces = append(pieces, upload[i:min(len(upload), i+len(upload)/20+1)])
		}
		cl := newSlowClient(t, e, "POST /api/sessions/s/messages/send-image HTTP/1.1\r\n"+auth+
			"Content-Type: "+ct+"\r\nContent-Length: "+strconv.Itoa(len(upload))+"\r\n\r\n", pieces, 40*time.Millisecond)
		if res, raw := cl.response(t, 30*time.Second); res.StatusCode != 201 {
			t.Fatalf("got %d %s, want 201", res.StatusCode, raw)
		}
	})
	t.Run("upload stalls", func(t *testing.T) {
		e := newEnvWith(t, nil, app.WithBodyTimeouts(time.Hour, 300*time.Millisecond))
		cl := newSlowClient(t, e, "POST /api/sessions/s/messages/send-image HTTP/1.1\r\n"+auth+
			"Content-Type: "+ct+"\r\nContent-Length: "+strconv.Itoa(len(upload))+"\r\n\r\n", [][]byte{upload[:len(upload)/2]}, time.Millisecond)
		res, raw := cl.response(t, 10*time.Second)
		if res.StatusCode != 408 || !strings.Contains(string(raw), `"field":"body"`) {
			t.Fatalf("got %d %s, want 408 on body", res.StatusCode, raw)
		}
		cl.closed(t, 10*time.Second)
	})
	t.Run("handler longer than the deadline", func(t *testing.T) {
		r := e.do("PUT", "/api/sessions/s", map[string]any{"config": map[string]any{"mock": map[string]any{"sendDelayMs": 1000}}})
		e.expect(r, 200, "")
		e.expect(e.do("POST", "/api/sessions/s/restart", nil), 200, "")
		e.waitStatus("s", "READY")
		start := time.Now()
		r = e.do("POST", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "slow"})
		e.expect(r, 201, "")
		if time.Since(start) < 300*time.Millisecond {
			t.Fatalf("the send took %v: it did not outlast the body deadline", time.Since(start))
		}
	})
}
