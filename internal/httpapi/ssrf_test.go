package httpapi_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openwa/openwa/internal/app"
	"github.com/openwa/openwa/internal/netguard/netguardtest"
)

// ssrfWorld is an OpenWA whose SSRF guard looks names up in res and treats
// the test server behind public.test as a public host. The server answers
// /r?to=URL with a 302 to URL and anything else with a secret, counting
// those answers.
type ssrfWorld struct {
	*env
	res    *netguardtest.Resolver
	public string // http://public.test:port
	hits   atomic.Int64
}

func newSSRFWorld(t *testing.T) *ssrfWorld {
	w := &ssrfWorld{res: &netguardtest.Resolver{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); r.URL.Path == "/r" && to != "" {
			http.Redirect(rw, r, to, http.StatusFound)
			return
		}
		w.hits.Add(1)
		rw.Header().Set("Content-Type", "application/pdf")
		rw.Write(pdfBytes)
	}))
	// On 127.0.0.2, so that no form (dialled at its own port) is this server.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	w.res.Set("public.test", ap.Addr())
	w.public = fmt.Sprintf("http://public.test:%d", ap.Port())
	w.env = newEnvWith(t, nil, app.WithNetguard(w.res, ap))
	w.createSession("s", true)
	w.waitStatus("s", "READY")
	return w
}

// refusedOn checks a 400 VALIDATION_ERROR naming field.
func refusedOn(t *testing.T, r *resp, field string) {
	t.Helper()
	if r.Status != 400 || r.code() != "VALIDATION_ERROR" {
		t.Fatalf("got %d %s, want 400 VALIDATION_ERROR; body %s", r.Status, r.code(), r.Raw)
	}
	fields, _ := r.errDetails()["fields"].([]any)
	if len(fields) == 0 || fields[0].(map[string]any)["field"] != field {
		t.Fatalf("want the error on %s; body %s", field, r.Raw)
	}
}

func formURL(host string) string { return "http://" + host + ":1/x" }

func (w *ssrfWorld) sendDocument(u string, opts ...reqOpt) *resp {
	return w.do("POST", "/api/sessions/s/messages/send-document",
		map[string]any{"chatId": "6281234567890", "media": map[string]any{"url": u}, "filename": "a.pdf"}, opts...)
}

// testWebhook creates a webhook to u (whose host must pass registration)
// without retries and returns its test delivery.
func (w *ssrfWorld) testWebhook(t *testing.T, u string, before func()) map[string]any {
	t.Helper()
	r := w.do("POST", "/api/sessions/s/webhooks", map[string]any{"url": u, "retryCount": 0, "events": []string{"webhook.test"}})
	if r.Status != 201 {
		t.Fatalf("create %s: %d %s", u, r.Status, r.Raw)
	}
	if before != nil {
		before()
	}
	path := "/api/sessions/s/webhooks/" + r.data()["id"].(string)
	r = w.do("POST", path+"/test", nil)
	if r.Status != 200 {
		t.Fatalf("test delivery: %d %s", r.Status, r.Raw)
	}
	// Webhooks per session are capped: this one has served.
	if d := w.do("DELETE", path, nil); d.Status != 200 {
		t.Fatalf("delete: %d %s", d.Status, d.Raw)
	}
	return r.data()
}

func wantGuardRefusal(t *testing.T, d map[string]any) {
	t.Helper()
	if d["status"] != "failed" || !strings.Contains(fmt.Sprint(d["lastError"]), "not allowed") {
		t.Fatalf("delivery %v, want failed by the guard", d)
	}
}

// Each form is refused where a URL is registered: a webhook's url (create
// and update) and a media URL at send time.
func TestSSRFFormsAtRegistration(t *testing.T) {
	t.Parallel()
	w := newSSRFWorld(t)
	wh := w.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": w.public + "/hook"})
	if len(netguardtest.Forms) < 50 {
		t.Fatalf("%d forms", len(netguardtest.Forms))
	}
	for _, f := range netguardtest.Forms {
		t.Run(f.Host, func(t *testing.T) {
			u := formURL(f.Host)
			refusedOn(t, w.do("POST", "/api/sessions/s/webhooks", map[string]any{"url": u}), "url")
			refusedOn(t, w.do("POST", "/api/webhooks", map[string]any{"url": u}), "url")
			refusedOn(t, w.do("PUT", "/api/sessions/s/webhooks/"+wh["id"].(string), map[string]any{"url": u}), "url")
			refusedOn(t, w.sendDocument(u), "media.url")
		})
	}
	if n := w.do("GET", "/api/sessions/s/messages", nil).Body["pagination"].(map[string]any)["total"]; n != 0.0 {
		t.Fatalf("%v messages stored by refused sends", n)
	}
}

// Each address is refused when it is dialled, though the URL passed
// registration: a name that resolves to it when media is fetched, and a
// webhook host that resolved to a public address at creation and resolves
// to the form at delivery (DNS rebinding).
func TestSSRFFormsAtDialTime(t *testing.T) {
	t.Parallel()
	w := newSSRFWorld(t)
	pub, _ := w.res.LookupNetIP(t.Context(), "ip", "public.test")
	port := w.public[strings.LastIndexByte(w.public, ':'):]
	for i, f := range netguardtest.Forms {
		if f.Addr == "" {
			continue // exists as URL text only: TestSSRFFormsAtRegistration
		}
		t.Run(f.Host, func(t *testing.T) {
			media := fmt.Sprintf("m%d.example.test", i)
			w.res.Set(media, netip.MustParseAddr(f.Addr))
			r := w.sendDocument(formURL(media))
			refusedOn(t, r, "media.url")
			if !strings.Contains(string(r.Raw), "private or local address") {
				t.Fatalf("not the guard's refusal: %s", r.Raw)
			}

			hook := fmt.Sprintf("h%d.example.test", i)
			w.res.Set(hook, pub...)
			d := w.testWebhook(t, "http://"+hook+port+"/x", func() { w.res.Set(hook, netip.MustParseAddr(f.Addr)) })
			wantGuardRefusal(t, d)
		})
	}
	if w.hits.Load() != 0 {
		t.Fatalf("the public server was asked %d times", w.hits.Load())
	}
}

// Each form is refused as a redirect target of a public server, for media
// URLs and for webhook deliveries.
func TestSSRFFormsAsRedirectHop(t *testing.T) {
	t.Parallel()
	w := newSSRFWorld(t)
	for _, f := range netguardtest.Forms {
		t.Run(f.Host, func(t *testing.T) {
			hop := w.public + "/r?to=" + url.QueryEscape(formURL(f.Host))
			r := w.sendDocument(hop)
			refusedOn(t, r, "media.url")
			if !strings.Contains(string(r.Raw), "private or local address") {
				t.Fatalf("not the guard's refusal: %s", r.Raw)
			}
			wantGuardRefusal(t, w.testWebhook(t, hop, nil))
		})
	}
	// A redirect to a public place is followed.
	r := w.sendDocument(w.public + "/r?to=" + url.QueryEscape(w.public+"/doc.pdf"))
	if r.Status != 201 && r.Status != 202 {
		t.Fatalf("public redirect: %d %s", r.Status, r.Raw)
	}
}

// A session key cannot read a loopback-only service back through
// send-document and GET …/media/{id}: the zoned, mapped and compatible
// forms of the loopback address, direct or by redirect, are all refused, and
// nothing is fetched or stored.
func TestSendDocumentCannotExfiltrateLoopback(t *testing.T) {
	t.Parallel()
	var asked atomic.Int64
	secret := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		rw.Write([]byte("%PDF-1.4 internal secret"))
	})
	var ports []string
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("no listener on %s: %v", addr, err)
			continue
		}
		srv := httptest.NewUnstartedServer(secret)
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		t.Cleanup(srv.Close)
		ports = append(ports, srv.Listener.Addr().String())
	}
	w := newSSRFWorld(t)
	r := w.do("POST", "/api/keys", map[string]any{"name": "tenant", "role": "session", "sessions": []string{"s"}})
	w.expect(r, 201, "")
	key := withKey(r.data()["key"].(string))

	var targets []string
	for _, hp := range ports {
		ap := netip.MustParseAddrPort(hp)
		p := ap.Port()
		if ap.Addr().Is4() {
			targets = append(targets, fmt.Sprintf("http://127.0.0.1:%d/s", p), fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/s", p),
				fmt.Sprintf("http://[::127.0.0.1]:%d/s", p), fmt.Sprintf("http://[64:ff9b::7f00:1]:%d/s", p),
				fmt.Sprintf("http://2130706433:%d/s", p), fmt.Sprintf("http://localhost:%d/s", p))
			continue
		}
		for _, zone := range []string{"lo", "1", "eth0"} {
			targets = append(targets, fmt.Sprintf("http://[::1%%25%s]:%d/s", zone, p))
		}
		targets = append(targets, fmt.Sprintf("http://[::1]:%d/s", p), fmt.Sprintf("http://[0:0:0:0:0:0:0:1]:%d/s", p))
	}
	for _, u := range targets {
		t.Run(u, func(t *testing.T) {
			refusedOn(t, w.sendDocument(u, key), "media.url")
			refusedOn(t, w.sendDocument(w.public+"/r?to="+url.QueryEscape(u), key), "media.url")
		})
	}
	if asked.Load() != 0 {
		t.Fatalf("the loopback service was asked %d times", asked.Load())
	}
	if n := w.do("GET", "/api/sessions/s/messages", nil).Body["pagination"].(map[string]any)["total"]; n != 0.0 {
		t.Fatalf("%v messages (and their media) stored", n)
	}
}
