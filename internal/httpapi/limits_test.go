package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/openwa/openwa/internal/app"
	"github.com/openwa/openwa/internal/store"
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// lineLog records the server's log: slog writes one line per Write.
type lineLog struct {
	mu      sync.Mutex
	lines   int
	bytes   int
	longest int
	text    strings.Builder // the first 64 KiB, to look into
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines++
	l.bytes += len(p)
	l.longest = max(l.longest, len(p))
	if l.text.Len() < 64<<10 {
		l.text.Write(p[:min(len(p), 64<<10-l.text.Len())])
	}
	return len(p), nil
}

func (l *lineLog) stats() (lines, bytes, longest int, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lines, l.bytes, l.longest, l.text.String()
}

// dbSize is the size of the SQLite database and its write-ahead log.
func (e *env) dbSize() int64 {
	var n int64
	for _, f := range []string{e.cfg.DatabaseSQLitePath, e.cfg.DatabaseSQLitePath + "-wal"} {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// auditRows returns the count of audit rows, the longest row's text
// (action + target + ip + request id) and the sum of their text.
func (e *env) auditRows() (n, longest, total int) {
	e.t.Helper()
	rows, err := e.rawDB().Query(`SELECT LENGTH(action) + LENGTH(target) + LENGTH(ip) + LENGTH(request_id) FROM audit_log`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var l int
		if err := rows.Scan(&l); err != nil {
			e.t.Fatal(err)
		}
		n, longest, total = n+1, max(longest, l), total+l
	}
	return n, longest, total
}

// Anonymous requests with huge paths cannot grow the database or the log by
// much: refused calls are audited with the path clipped, past the limit of
// failed authentications not at all, and log lines clip the path too. So do
// a key holder's calls.
func TestHugePathsStayBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"AUTH_FAILURE_LIMIT": "5"})
	log := &lineLog{}
	e.stop()
	e.logOut = log
	e.boot()
	beforeDB := e.dbSize()
	_, beforeLog, _, _ := log.stats()

	const anonymous, keyHolder = 40, 6
	huge := "/api/sessions/" + strings.Repeat("a", 500<<10) + "/start"
	var unauthorized, limited int
	for range anonymous {
		r := e.do("POST", huge, nil, noKey())
		switch {
		case r.Status == 401 && r.code() == "UNAUTHORIZED":
			unauthorized++
		case r.Status == 429 && r.code() == "RATE_LIMITED" && r.Header.Get("Retry-After") != "":
			limited++
		default:
			t.Fatalf("anonymous: got %d %s", r.Status, r.Raw[:min(len(r.Raw), 300)])
		}
	}
	if unauthorized != 5 || limited != anonymous-5 {
		t.Fatalf("%d answered 401 and %d 429, want 5 and %d", unauthorized, limited, anonymous-5)
	}
	// A key holder's calls with huge paths, from another address: no route,
	// and a route that refuses the id.
	holder := clientFrom("127.0.0.2")
	for i := range keyHolder {
		method := []string{"POST", "DELETE"}[i%2]
		if r := e.doFrom(holder, method, "/api/sessions/"+strings.Repeat("é", 150<<10), adminKey); r.Status != 404 && r.Status != 400 {
			t.Fatalf("key holder: got %d", r.Status)
		}
	}

	n, longest, total := e.auditRows()
	if n != 5+keyHolder {
		t.Fatalf("%d audit rows, want %d: one per refused call under the limit and one per key holder's call", n, 5+keyHolder)
	}
	// A row holds the path twice at most (action and target), each clipped to 256 bytes.
	if longest > 2*256+8+64+128 {
		t.Fatalf("an audit row holds %d bytes of text", longest)
	}
	r := e.do("GET", "/api/audit?limit=100", nil)
	for _, row := range r.list() {
		m := row.(map[string]any)
		target := m["target"].(string)
		if len(target) > 256 || !strings.Contains(target, "bytes]") || !strings.HasPrefix(target, "/api/sessions/") {
			t.Fatalf("target %q (%d bytes): want the path clipped to 256 bytes with a marker", target[:min(len(target), 80)], len(target))
		}
		if !utf8.ValidString(target) || len(m["action"].(string)) > 7+256 {
			t.Fatalf("action %q", m["action"])
		}
		if m["ip"] != "127.0.0.1" && m["ip"] != "127.0.0.2" {
			t.Fatalf("ip %v", m["ip"])
		}
	}
	lines, logBytes, longestLine, text := log.stats()
	logBytes -= beforeLog
	if longestLine > 1024 || logBytes > (anonymous+keyHolder+10)*1024 {
		t.Fatalf("the log grew %d bytes in %d lines, the longest %d bytes", logBytes, lines, longestLine)
	}
	if !strings.Contains(text, "bytes]") || strings.Contains(text, strings.Repeat("a", 300)) {
		t.Fatalf("log lines do not clip the path:\n%s", text[:min(len(text), 2000)])
	}
	growth := e.dbSize() - beforeDB
	t.Logf("%d requests with paths of 500 KB and 300 KB (900 KB escaped): %d audit rows (%d bytes of text, the longest %d), database +%d bytes, log +%d bytes (longest line %d)",
		anonymous+keyHolder, n, total, longest, growth, logBytes, longestLine)
	if e.cfg.DatabaseType == "sqlite" && growth > 2<<20 {
		t.Fatalf("the database grew %d bytes", growth)
	}
}

// clientFrom is an HTTP client whose connections come from the loopback
// address local (127.0.0.2, …): another client address for the server.
func clientFrom(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// doFrom sends a request from another client: a client, a key ("" for
// none), headers.
func (e *env) doFrom(c *http.Client, method, path, key string, hdr ...string) *resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := &resp{Status: res.StatusCode, Header: res.Header, Raw: raw}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

// Too many failed authentications from one address: 429 with Retry-After,
// for any key, and nothing audited; another address is not affected.
func TestFailedAuthLimitPerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"AUTH_FAILURE_LIMIT": "3"})
	for i := range 3 {
		e.expect(e.do("POST", "/api/sessions", nil, withKey(fmt.Sprint("owa_guess", i))), 401, "UNAUTHORIZED")
	}
	r := e.do("POST", "/api/sessions", nil, withKey("owa_guess"))
	e.expect(r, 429, "RATE_LIMITED")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 60 || s > 1200 {
		t.Fatalf("Retry-After %q, want the ~20 minutes until one more failure is allowed", r.Header.Get("Retry-After"))
	}
	// The address is refused before its key is looked at: a right key too.
	e.expect(e.do("GET", "/api/sessions", nil), 429, "RATE_LIMITED")
	e.expect(e.do("GET", "/api/sessions", nil, noKey()), 429, "RATE_LIMITED")
	if n, _, _ := e.auditRows(); n != 3 {
		t.Fatalf("%d audit rows, want 3 (the refusals past the limit write nothing)", n)
	}

	other := clientFrom("127.0.0.2")
	r = e.doFrom(other, "GET", "/api/sessions", adminKey)
	e.expect(r, 200, "")
	e.expect(e.doFrom(other, "GET", "/api/sessions", "owa_wrong"), 401, "UNAUTHORIZED")
	e.expect(e.doFrom(other, "GET", "/api/sessions", adminKey), 200, "")

	// X-Forwarded-For is not believed from a peer that is not a trusted proxy.
	third := clientFrom("127.0.0.3")
	for i := range 3 {
		e.expect(e.doFrom(third, "GET", "/api/sessions", "owa_wrong", "X-Forwarded-For", fmt.Sprint("203.0.113.", i)), 401, "UNAUTHORIZED")
	}
	e.expect(e.doFrom(third, "GET", "/api/sessions", "owa_wrong", "X-Forwarded-For", "203.0.113.99"), 429, "RATE_LIMITED")
}

// Behind TRUSTED_PROXIES the client is the nearest untrusted address of
// X-Forwarded-For: each has its own limit, and the audit log names it.
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"AUTH_FAILURE_LIMIT": "2", "TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
	via := func(xff string) reqOpt { return header("X-Forwarded-For", xff) }
	for range 2 {
		// The client forges the leftmost address; the proxies (10.1.2.3, then 127.0.0.1) add theirs.
		e.expect(e.do("POST", "/api/sessions", nil, withKey("owa_wrong"), via("198.51.100.1, 203.0.113.7, 10.1.2.3")), 401, "UNAUTHORIZED")
	}
	e.expect(e.do("POST", "/api/sessions", nil, withKey("owa_wrong"), via("192.0.2.55, 203.0.113.7, 10.1.2.3")), 429, "RATE_LIMITED")
	e.expect(e.do("GET", "/api/sessions", nil, via("203.0.113.8")), 200, "")
	r := e.do("GET", "/api/audit", nil, via("203.0.113.8"))
	e.expect(r, 200, "")
	for _, row := range r.list() {
		if ip := row.(map[string]any)["ip"]; ip != "203.0.113.7" {
			t.Fatalf("audit ip %v, want the client behind the proxies", ip)
		}
	}
	if len(r.list()) != 2 {
		t.Fatalf("%d audit rows, want 2", len(r.list()))
	}
}

// The app runs the audit retention: rows older than AUDIT_RETENTION_DAYS go
// at start, the others stay.
func TestAuditRetentionRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"AUDIT_RETENTION_DAYS": "1"})
	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "kept", "config": map[string]any{"autoStart": false}}), 201, "")
	// A row of two days ago, written while OpenWA is stopped.
	e.stop()
	ctx := context.Background()
	st, err := app.OpenStore(ctx, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	old := &store.AuditEntry{Action: "POST /api/sessions", Target: "/api/sessions", IP: "192.0.2.1", Status: 201,
		Outcome: "success", RequestID: "old-row", CreatedAt: time.Now().Add(-49 * time.Hour).UnixMilli()}
	err = st.AddAudit(ctx, old)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	e.boot()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var got []string
		for _, row := range e.do("GET", "/api/audit?limit=100", nil).list() {
			got = append(got, row.(map[string]any)["requestId"].(string))
		}
		if len(got) == 1 && got[0] != "old-row" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit rows %v, want the recent one only", got)
		}
	}
}
