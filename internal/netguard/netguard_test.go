package netguard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/netguard"
	"github.com/openwa/openwa/internal/netguard/netguardtest"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		ip   string
		want bool
	}{
		{"8.8.8.8", true}, {"1.1.1.1", true}, {"93.184.215.14", true}, {"2606:4700:4700::1111", true},
		{"::ffff:8.8.8.8", true}, {"64:ff9b::8.8.8.8", true}, {"2a00:1450:4001::200e", true},
		{"192.0.1.1", true}, {"100.128.0.1", true}, {"172.32.0.1", true}, {"198.20.0.1", true},
		{"127.0.0.1", false}, {"10.0.0.1", false}, {"172.16.5.4", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"100.64.0.1", false}, {"0.0.0.0", false}, {"::1", false},
		{"fd00::1", false}, {"fe80::1", false}, {"::ffff:127.0.0.1", false}, {"224.0.0.1", false},
		{"2606:4700:4700::1111%eth0", false},
	} {
		if got := netguard.Allowed(netip.MustParseAddr(c.ip)); got != c.want {
			t.Errorf("%s: %v, want %v (%v)", c.ip, got, c.want, netguard.Check(netip.MustParseAddr(c.ip)))
		}
	}
	for _, f := range netguardtest.Forms {
		if f.Addr == "" {
			continue
		}
		if err := netguard.Check(netip.MustParseAddr(f.Addr)); !errors.Is(err, netguard.ErrForbidden) {
			t.Errorf("%s allowed", f.Addr)
		}
	}
}

func TestEmbedded(t *testing.T) {
	for _, c := range []struct{ ip, want string }{
		{"::ffff:10.1.2.3", "[10.1.2.3]"},
		{"::127.0.0.1", "[127.0.0.1]"},
		{"::ffff:0:192.168.0.1", "[192.168.0.1]"},
		{"64:ff9b::a9fe:a9fe", "[169.254.169.254]"},
		{"64:ff9b:1::7f00:1", "[127.0.0.1]"},
		{"2002:c0a8:101::1", "[192.168.1.1]"},
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", "[65.54.227.120 127.0.0.1]"},
		{"2606:4700:4700::1111", "[]"},
		{"::1", "[]"},
	} {
		if got := fmt.Sprint(netguard.Embedded(netip.MustParseAddr(c.ip))); got != c.want {
			t.Errorf("%s: %s, want %s", c.ip, got, c.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, bad := range []string{"ftp://example.com/x", "file:///etc/passwd", "/relative", "http://127.0.0.1/x",
		"http://[::1]/x", "http://169.254.169.254/latest/meta-data", "http://user:pw@example.com/", "gopher://x",
		"http://:80/x"} {
		if _, err := netguard.CheckURL(bad, false); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := netguard.CheckURL("http://127.0.0.1/x", true); err != nil {
		t.Errorf("allowPrivate: %v", err)
	}
	for _, ok := range []string{"https://example.com/a.png", "http://[2606:4700:4700::1111]/", "http://8.8.8.8:8080/x",
		"http://1e100.net/", "http://[64:ff9b::808:808]/"} {
		if _, err := netguard.CheckURL(ok, false); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
}

// formURL is a URL to the form on a port where nothing listens.
func formURL(host string) string { return "http://" + host + ":1/x" }

// Every form is refused when its URL is checked, when the guarded client is
// asked for it directly (no check before), when a name resolves to it, and
// when a public server redirects to it.
func TestFormsAreRefusedEverywhere(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		hits++
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	res := &netguardtest.Resolver{}
	res.Set("public.test", ap.Addr())
	g := netguard.New(netguard.Options{Resolver: res, Public: []netip.AddrPort{ap}})
	c := g.Client(5 * time.Second)
	public := fmt.Sprintf("http://public.test:%d/", ap.Port())

	// The simulated public server is reachable: the refusals below are the guard's.
	if r, err := c.Get(public); err != nil || r.StatusCode != 200 {
		t.Fatalf("public server: %v", err)
	}
	if len(netguardtest.Forms) < 50 {
		t.Fatalf("%d forms", len(netguardtest.Forms))
	}
	for i, f := range netguardtest.Forms {
		t.Run(f.Host, func(t *testing.T) {
			u := formURL(f.Host)
			if _, err := g.CheckURL(u); err == nil {
				t.Errorf("registration: %s accepted", u)
			}
			if _, err := g.CheckTarget(context.Background(), u); err == nil {
				t.Errorf("registration with lookup: %s accepted", u)
			}
			if _, err := c.Get(u); !errors.Is(err, netguard.ErrForbidden) {
				t.Errorf("dial: %v, want ErrForbidden", err)
			}
			if f.Addr != "" {
				name := fmt.Sprintf("f%d.rebind.test", i)
				res.Set(name, netip.MustParseAddr(f.Addr))
				if _, err := c.Get(formURL(name)); !errors.Is(err, netguard.ErrForbidden) {
					t.Errorf("dial by name: %v, want ErrForbidden", err)
				}
			}
			if _, err := c.Get(public + "?to=" + url.QueryEscape(u)); !errors.Is(err, netguard.ErrForbidden) {
				t.Errorf("redirect: %v, want ErrForbidden", err)
			}
		})
	}
}

// A name with one refused address among public ones is refused.
func TestMixedAnswersAreRefused(t *testing.T) {
	res := &netguardtest.Resolver{}
	res.Set("mixed.test", netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("fe80::1%eth0"))
	g := netguard.New(netguard.Options{Resolver: res})
	if _, err := g.CheckTarget(context.Background(), "http://mixed.test/"); !errors.Is(err, netguard.ErrForbidden) {
		t.Fatalf("registration: %v", err)
	}
	if _, err := g.Client(5 * time.Second).Get("http://mixed.test:1/"); !errors.Is(err, netguard.ErrForbidden) {
		t.Fatalf("dial: %v", err)
	}
}

// The guard holds at dial time: a name that resolves to loopback is refused,
// and allowPrivate lets it through.
func TestClientRefusesPrivateTargets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	port := netip.MustParseAddrPort(srv.Listener.Addr().String()).Port()
	c := netguard.Client(5*time.Second, false)
	for _, u := range []string{srv.URL, fmt.Sprintf("http://localhost:%d/", port)} {
		_, err := c.Get(u)
		if err == nil || !errors.Is(err, netguard.ErrForbidden) {
			t.Errorf("%s: %v, want ErrForbidden", u, err)
		}
	}
	if res, err := netguard.Client(5*time.Second, true).Get(srv.URL); err != nil || res.StatusCode != 200 {
		t.Fatalf("allowPrivate: %v", err)
	}
}
