package httpapi_test

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/testutil"
	_ "modernc.org/sqlite"
)

// receiver is a real HTTP server that records deliveries and answers with
// the statuses it is told, in order, then 200.
type receiver struct {
	srv *httptest.Server

	mu         sync.Mutex
	script     []int  // statuses to answer first
	retryAfter string // Retry-After of 429 and 503 answers ("0" unless set)
	got        []delivery
	arrived    chan struct{}
}

type delivery struct {
	Headers http.Header
	Body    []byte
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script, arrived: make(chan struct{}, 1000)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{Headers: req.Header.Clone(), Body: body})
		status := http.StatusOK
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		wait := r.retryAfter
		r.mu.Unlock()
		if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", cmp.Or(wait, "0"))
		}
		w.WriteHeader(status)
		r.arrived <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// wait blocks until n requests arrived in total.
func (r *receiver) wait(t *testing.T, n int) []delivery {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]delivery(nil), r.got...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("the receiver got %d requests, want %d", len(r.got), n)
		}
	}
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// verifyStandard checks a delivery's signature as the specification says,
// without OpenWA's code: HMAC-SHA256 over "id.timestamp.body" with the
// base64-decoded secret.
func verifyStandard(t *testing.T, secret string, d delivery) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(d.Headers.Get("webhook-id") + "." + d.Headers.Get("webhook-timestamp") + "."))
	mac.Write(d.Body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if d.Headers.Get("webhook-signature") != want {
		t.Fatalf("signature %q, want %q", d.Headers.Get("webhook-signature"), want)
	}
	ts, _ := strconv.ParseInt(d.Headers.Get("webhook-timestamp"), 10, 64)
	if time.Since(time.Unix(ts, 0)) > time.Minute {
		t.Fatalf("webhook-timestamp %d is not now", ts)
	}
}

// verifyWithLibrary checks the delivery with the standardwebhooks npm package.
func verifyWithLibrary(t *testing.T, secret string, d delivery) {
	t.Helper()
	dir, _ := filepath.Abs("../../tools/webhook-verify")
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks")); err != nil || statErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node or the standardwebhooks package is missing (npm ci --prefix tools/webhook-verify): %v %v", err, statErr)
		}
		t.Skip("node or tools/webhook-verify/node_modules missing: run npm ci --prefix tools/webhook-verify")
	}
	headers := map[string]string{}
	for k := range d.Headers {
		headers[strings.ToLower(k)] = d.Headers.Get(k)
	}
	b, _ := json.Marshal(map[string]any{"headers": headers, "body": string(d.Body)})
	f := filepath.Join(t.TempDir(), "delivery.json")
	os.WriteFile(f, b, 0o600)
	out, err := exec.Command(node, filepath.Join(dir, "verify.mjs"), secret, f).CombinedOutput()
	if err != nil {
		t.Fatalf("standardwebhooks did not verify the delivery: %v: %s", err, out)
	}
	if strings.TrimSpace(string(out)) != d.Headers.Get("webhook-id") {
		t.Fatalf("verified payload id %q, want %q", out, d.Headers.Get("webhook-id"))
	}
}

func (e *env) createWebhook(path string, body map[string]any) map[string]any {
	e.t.Helper()
	r := e.do("POST", path, body)
	e.expect(r, 201, "")
	return r.data()
}

func TestWebhookDeliveryIsSigned(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true"})
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	rcv := newReceiver(t)
	wh := e.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": rcv.srv.URL + "/hook",
		"events": []string{"message.received"}, "headers": map[string]string{"X-Tenant": "acme"}})
	secret := wh["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || wh["retryCount"] != 8.0 || wh["active"] != true {
		t.Fatalf("webhook: %v", wh)
	}
	e.expect(e.do("POST", "/api/sessions/s/mock/inbound", map[string]any{"from": "6281234567890", "text": "hi there"}), 202, "")
	d := rcv.wait(t, 1)[0]
	verifyStandard(t, secret, d)
	verifyWithLibrary(t, secret, d)
	var ev map[string]any
	if err := json.Unmarshal(d.Body, &ev); err != nil {
		t.Fatal(err)
	}
	data := ev["data"].(map[string]any)
	if ev["event"] != "message.received" || ev["sessionId"] != "s" || ev["id"] != d.Headers.Get("webhook-id") ||
		data["text"] != "hi there" || data["chatId"] != "6281234567890@s.whatsapp.net" || ev["seq"].(float64) <= 0 {
		t.Fatalf("delivered event: %s", d.Body)
	}
	if d.Headers.Get("X-OpenWA-Event") != "message.received" || d.Headers.Get("X-Tenant") != "acme" ||
		d.Headers.Get("Content-Type") != "application/json" {
		t.Fatalf("headers: %v", d.Headers)
	}
	// Only the events asked for: the session's status changes were not sent.
	time.Sleep(100 * time.Millisecond)
	if rcv.count() != 1 {
		t.Fatalf("the receiver got %d requests, want 1", rcv.count())
	}
	// The secret is shown once.
	if g := e.do("GET", "/api/sessions/s/webhooks/"+wh["id"].(string), nil); strings.Contains(string(g.Raw), secret) {
		t.Fatal("GET shows the secret")
	}
	// The delivery is listed as delivered.
	r := e.do("GET", "/api/sessions/s/webhooks/"+wh["id"].(string)+"/deliveries?status=delivered", nil)
	if l := r.list(); len(l) != 1 || l[0].(map[string]any)["lastStatusCode"] != 200.0 || l[0].(map[string]any)["event"] != "message.received" {
		t.Fatalf("deliveries: %s", r.Raw)
	}
	// /test delivers at once and answers with the attempt.
	r = e.do("POST", "/api/sessions/s/webhooks/"+wh["id"].(string)+"/test", nil)
	e.expect(r, 200, "")
	if r.data()["status"] != "delivered" || r.data()["event"] != "webhook.test" || r.data()["attempts"] != 1.0 {
		t.Fatalf("test: %v", r.data())
	}
	verifyStandard(t, secret, rcv.wait(t, 2)[1])
}

func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true"})
	e.createSession("s", true)
	e.waitStatus("s", "READY")

	// Fails twice (503, then 429, both with Retry-After: 0), then succeeds.
	flaky := newReceiver(t, 503, 429)
	wh := e.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": flaky.srv.URL, "events": []string{"webhook.test"}})
	r := e.do("POST", "/api/sessions/s/webhooks/"+wh["id"].(string)+"/test", nil)
	if r.data()["status"] != "pending" || r.data()["lastStatusCode"] != 503.0 || r.data()["nextAttemptAt"] == nil {
		t.Fatalf("first attempt: %v", r.data())
	}
	got := flaky.wait(t, 3)
	if got[0].Headers.Get("webhook-id") != got[2].Headers.Get("webhook-id") {
		t.Fatal("a retry is a new delivery id: receivers could not dedupe")
	}
	d := e.waitDelivery("/api/sessions/s/webhooks/"+wh["id"].(string), "delivered")
	if d["attempts"] != 3.0 {
		t.Fatalf("attempts %v, want 3", d["attempts"])
	}

	// Always 503, retryCount 1: two attempts, then failed, kept, retryable by hand.
	dead := newReceiver(t, 503, 503, 503, 503)
	wh2 := e.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": dead.srv.URL, "retryCount": 1})
	e.do("POST", "/api/sessions/s/webhooks/"+wh2["id"].(string)+"/test", nil)
	failed := e.waitDelivery("/api/sessions/s/webhooks/"+wh2["id"].(string), "failed")
	if failed["attempts"] != 2.0 || dead.count() != 2 {
		t.Fatalf("failed delivery: %v after %d requests", failed, dead.count())
	}
	dead.mu.Lock()
	dead.script = nil // the receiver is fixed
	dead.mu.Unlock()
	r = e.do("POST", "/api/sessions/s/webhooks/"+wh2["id"].(string)+"/deliveries/"+failed["id"].(string)+"/retry", nil)
	e.expect(r, 200, "")
	e.waitDelivery("/api/sessions/s/webhooks/"+wh2["id"].(string), "delivered")

	// A 404 (a receiver that is starting) is retried too, the first time at once.
	starting := newReceiver(t, 404)
	wh3 := e.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": starting.srv.URL, "events": []string{"webhook.test"}})
	r = e.do("POST", "/api/sessions/s/webhooks/"+wh3["id"].(string)+"/test", nil)
	if r.data()["status"] != "pending" || r.data()["lastStatusCode"] != 404.0 || r.data()["lastError"] != "receiver answered 404 Not Found" {
		t.Fatalf("404: %v", r.data())
	}
	if d := e.waitDelivery("/api/sessions/s/webhooks/"+wh3["id"].(string), "delivered"); d["attempts"] != 2.0 {
		t.Fatalf("404 then 200: %v", d)
	}

	// 410 Gone turns the webhook off.
	gone := newReceiver(t, 410)
	wh4 := e.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": gone.srv.URL, "events": []string{"webhook.test"}})
	r = e.do("POST", "/api/sessions/s/webhooks/"+wh4["id"].(string)+"/test", nil)
	if r.data()["status"] != "failed" {
		t.Fatalf("410: %v", r.data())
	}
	if g := e.do("GET", "/api/sessions/s/webhooks/"+wh4["id"].(string), nil); g.data()["active"] != false {
		t.Fatalf("a webhook that answered 410 is still active: %v", g.data())
	}
}

// waitDelivery polls a webhook's deliveries until the newest has the status.
func (e *env) waitDelivery(webhookPath, status string) map[string]any {
	e.t.Helper()
	var last []any
	testutil.Eventually(e.t, 15*time.Second, func() bool {
		last = e.do("GET", webhookPath+"/deliveries", nil).list()
		return len(last) > 0 && last[0].(map[string]any)["status"] == status
	}, "a %s delivery; last %v", status, &last)
	return last[0].(map[string]any)
}

// A restart while a delivery waits for its retry loses nothing.
func TestWebhookSurvivesRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true"})
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	// The first attempt fails, and its retry at once; the receiver asks for 2 s more.
	rcv := newReceiver(t, 500, 503)
	rcv.retryAfter = "2"
	wh := e.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": rcv.srv.URL, "events": []string{"message.received"}})
	e.expect(e.do("POST", "/api/sessions/s/mock/inbound", map[string]any{"from": "6281234567890", "text": "keep me"}), 202, "")
	first := rcv.wait(t, 1)[0]
	// Restart once the failure is recorded and the retry is pending.
	path := "/api/sessions/s/webhooks/" + wh["id"].(string)
	testutil.Eventually(t, 10*time.Second, func() bool {
		l := e.do("GET", path+"/deliveries?status=pending", nil).list()
		return len(l) == 1 && l[0].(map[string]any)["lastStatusCode"] == 503.0
	}, "the failed attempt is recorded")
	e.restart()
	third := rcv.wait(t, 3)[2]
	if third.Headers.Get("webhook-id") != first.Headers.Get("webhook-id") {
		t.Fatal("the retry after the restart is another event")
	}
	d := e.waitDelivery(path, "delivered")
	if d["attempts"] != 3.0 {
		t.Fatalf("attempts %v", d["attempts"])
	}
}

func TestWebhookTargetsAreChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("s", true)
	for _, u := range []string{"http://127.0.0.1:8080/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data",
		"http://[::1]/hook", "http://localhost:8080/hook", "http://192.168.1.10/", "ftp://example.com/x", "not a url",
		"http://user:pass@example.com/"} {
		t.Run(u, func(t *testing.T) {
			r := e.do("POST", "/api/sessions/s/webhooks", map[string]any{"url": u})
			e.expect(r, 400, "VALIDATION_ERROR")
			if r.errDetails()["fields"].([]any)[0].(map[string]any)["field"] != "url" {
				t.Fatalf("details: %s", r.Raw)
			}
		})
	}
	// Changing the URL later is checked the same way.
	wh := e.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": "https://93.184.215.14/hook"})
	e.expect(e.do("PUT", "/api/sessions/s/webhooks/"+wh["id"].(string), map[string]any{"url": "http://127.0.0.1/x"}), 400, "VALIDATION_ERROR")
}

func TestWebhookCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"ENCRYPTION_KEY": "an-encryption-key-of-32-characters!!"})
	e.createSession("s", false)
	e.createSession("other", false)
	base := "/api/sessions/s/webhooks"
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	wh := e.createWebhook(base, map[string]any{"url": "https://93.184.215.14/a", "events": []string{"*"}, "secret": secret, "retryCount": 20})
	id := wh["id"].(string)
	if wh["secret"] != secret || wh["sessionId"] != "s" || wh["retryCount"] != 20.0 {
		t.Fatalf("created: %v", wh)
	}
	// At rest the secret is encrypted.
	db := e.rawDB()
	var stored string
	db.QueryRow(`SELECT secret FROM webhooks WHERE id = $1`, id).Scan(&stored)
	if !strings.HasPrefix(stored, "enc:v1:") || strings.Contains(stored, "MDEy") {
		t.Fatalf("stored secret %q", stored)
	}

	for _, c := range []struct {
		name string
		body map[string]any
	}{
		{"unknown event", map[string]any{"url": "https://93.184.215.14/", "events": []string{"message.exploded"}}},
		{"empty events", map[string]any{"url": "https://93.184.215.14/", "events": []string{}}},
		{"reserved header", map[string]any{"url": "https://93.184.215.14/", "headers": map[string]string{"webhook-signature": "x"}}},
		{"bad header value", map[string]any{"url": "https://93.184.215.14/", "headers": map[string]string{"X-A": "a\nb"}}},
		{"too many retries", map[string]any{"url": "https://93.184.215.14/", "retryCount": 21}},
		{"negative retries", map[string]any{"url": "https://93.184.215.14/", "retryCount": -1}},
		{"bad secret", map[string]any{"url": "https://93.184.215.14/", "secret": "hunter2"}},
		{"no url", map[string]any{"events": []string{"*"}}},
		{"unknown field", map[string]any{"url": "https://93.184.215.14/", "colour": "red"}},
	} {
		t.Run(c.name, func(t *testing.T) { e.expect(e.do("POST", base, c.body), 400, "VALIDATION_ERROR") })
	}
	e.expect(e.do("PUT", base+"/"+id, map[string]any{"retryCount": 21}), 400, "VALIDATION_ERROR")
	r := e.do("PUT", base+"/"+id, map[string]any{"events": []string{"message.received", "session.status"}, "active": false, "retryCount": 0})
	e.expect(r, 200, "")
	if r.data()["active"] != false || len(r.data()["events"].([]any)) != 2 || r.data()["retryCount"] != 0.0 || r.data()["url"] != "https://93.184.215.14/a" {
		t.Fatalf("updated: %v", r.data())
	}
	if l := e.do("GET", base, nil).list(); len(l) != 1 {
		t.Fatalf("list: %v", l)
	}
	e.expect(e.do("GET", "/api/sessions/other/webhooks/"+id, nil), 404, "WEBHOOK_NOT_FOUND")
	e.expect(e.do("GET", "/api/webhooks/"+id, nil), 404, "WEBHOOK_NOT_FOUND")
	e.expect(e.do("GET", base+"/wh_000000000000000000000000", nil), 404, "WEBHOOK_NOT_FOUND")
	e.expect(e.do("GET", base+"/nope", nil), 400, "VALIDATION_ERROR")
	e.expect(e.do("GET", "/api/sessions/nope/webhooks", nil), 404, "SESSION_NOT_FOUND")

	// Keys: a session key manages its session's webhooks only, and no global ones.
	k := e.do("POST", "/api/keys", map[string]any{"name": "k", "role": "session", "sessions": []string{"other"}}).data()["key"].(string)
	e.expect(e.do("GET", base, nil, withKey(k)), 403, "FORBIDDEN")
	e.expect(e.do("GET", "/api/sessions/other/webhooks", nil, withKey(k)), 200, "")
	e.expect(e.do("POST", "/api/webhooks", map[string]any{"url": "https://93.184.215.14/"}, withKey(k)), 403, "FORBIDDEN")
	e.expect(e.do("GET", "/api/webhooks", nil, withKey(k)), 403, "FORBIDDEN")

	e.expect(e.do("DELETE", base+"/"+id, nil), 200, "")
	e.expect(e.do("GET", base+"/"+id, nil), 404, "WEBHOOK_NOT_FOUND")
}

// A global webhook gets the events of every session, and the secret encrypted at rest still signs.
func TestGlobalWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true", "ENCRYPTION_KEY": "an-encryption-key-of-32-characters!!"})
	rcv := newReceiver(t)
	wh := e.createWebhook("/api/webhooks", map[string]any{"url": rcv.srv.URL, "events": []string{"message.received"}})
	if wh["sessionId"] != nil {
		t.Fatalf("global webhook: %v", wh)
	}
	for _, id := range []string{"a", "b"} {
		e.createSession(id, true)
		e.waitStatus(id, "READY")
		e.expect(e.do("POST", "/api/sessions/"+id+"/mock/inbound", map[string]any{"from": "6281234567890", "text": id}), 202, "")
	}
	got := rcv.wait(t, 2)
	seen := map[string]bool{}
	for _, d := range got {
		verifyStandard(t, wh["secret"].(string), d)
		var ev map[string]any
		json.Unmarshal(d.Body, &ev)
		seen[ev["sessionId"].(string)] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("sessions seen: %v", seen)
	}
	e.expect(e.do("GET", "/api/webhooks/"+wh["id"].(string)+"/deliveries", nil), 200, "")
	r := e.do("POST", "/api/webhooks/"+wh["id"].(string)+"/test", nil)
	if r.data()["status"] != "delivered" {
		t.Fatalf("global test: %v", r.data())
	}
}

// A receiver that hangs holds only its own webhook: another webhook's
// delivery of the same event goes out meanwhile.
func TestSlowReceiverDelaysNoOther(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_TIMEOUT_MS": "20000"})
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release: // answers only once the fast receiver got its delivery
		case <-time.After(15 * time.Second):
		}
	}))
	defer slow.Close()
	defer close(release)
	fast := newReceiver(t)
	e.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": slow.URL, "events": []string{"message.received"}})
	e.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": fast.srv.URL, "events": []string{"message.received"}})
	start := time.Now()
	e.inbound("s", 3)
	fast.wait(t, 3)
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("the fast receiver waited %v for the slow one", waited)
	}
}

// A session has at most 50 webhooks, and there are at most 50 global ones:
// each event is matched against every webhook of its session when it is written.
func TestWebhookCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true"})
	rcv := newReceiver(t)
	e.createSession("capped", false)
	e.createSession("free", false)
	k := e.do("POST", "/api/keys", map[string]any{"name": "k", "role": "session", "sessions": []string{"capped", "free"}}).data()["key"].(string)
	hook := map[string]any{"url": rcv.srv.URL, "active": false}
	for _, scope := range []struct{ path, key string }{{"/api/sessions/capped/webhooks", k}, {"/api/webhooks", adminKey}} {
		var last string
		for i := range 50 {
			r := e.do("POST", scope.path, hook, withKey(scope.key))
			if r.Status != 201 {
				t.Fatalf("%s: webhook %d: %d %s", scope.path, i+1, r.Status, r.Raw)
			}
			last = r.data()["id"].(string)
		}
		r := e.do("POST", scope.path, hook, withKey(scope.key))
		e.expect(r, 429, "WEBHOOK_LIMIT_REACHED")
		if r.errDetails()["maxWebhooks"] != 50.0 {
			t.Fatalf("details: %s", r.Raw)
		}
		if total := e.do("GET", scope.path, nil, withKey(scope.key)).Body["pagination"].(map[string]any)["total"]; total != 50.0 {
			t.Fatalf("%s: %v webhooks stored", scope.path, total)
		}
		// One deleted makes room for one.
		e.expect(e.do("DELETE", scope.path+"/"+last, nil, withKey(scope.key)), 200, "")
		e.expect(e.do("POST", scope.path, hook, withKey(scope.key)), 201, "")
	}
	// Another session's cap is its own.
	e.expect(e.do("POST", "/api/sessions/free/webhooks", hook, withKey(k)), 201, "")
}
