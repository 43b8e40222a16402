package netguard

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestAllowed(t *testing.T) {
	for _, c := range []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", false}, {"10.0.0.1", false}, {"172.16.5.4", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"100.64.0.1", false}, {"0.0.0.0", false}, {"::1", false},
		{"fd00::1", false}, {"fe80::1", false}, {"::ffff:127.0.0.1", false}, {"224.0.0.1", false},
		{"8.8.8.8", true}, {"1.1.1.1", true}, {"2606:4700:4700::1111", true},
	} {
		if got := Allowed(netip.MustParseAddr(c.ip)); got != c.want {
			t.Errorf("%s: %v, want %v", c.ip, got, c.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, bad := range []string{"ftp://example.com/x", "file:///etc/passwd", "/relative", "http://127.0.0.1/x",
		"http://[::1]/x", "http://169.254.169.254/latest/meta-data", "http://user:pw@example.com/", "gopher://x"} {
		if _, err := CheckURL(bad, false); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := CheckURL("http://127.0.0.1/x", true); err != nil {
		t.Errorf("allowPrivate: %v", err)
	}
	if _, err := CheckURL("https://example.com/a.png", false); err != nil {
		t.Errorf("public URL refused: %v", err)
	}
}

// The guard holds at dial time: a name that resolves to loopback is refused,
// and so is a redirect to a private address.
func TestClientRefusesPrivateTargets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	port := srv.Listener.Addr().(interface{ String() string }).String()
	c := Client(5*time.Second, false)
	for _, u := range []string{srv.URL, "http://localhost:" + port[len("127.0.0.1:"):] + "/"} {
		_, err := c.Get(u)
		if err == nil || !errors.Is(err, ErrForbidden) {
			t.Errorf("%s: %v, want ErrForbidden", u, err)
		}
	}
	if res, err := Client(5*time.Second, true).Get(srv.URL); err != nil || res.StatusCode != 200 {
		t.Fatalf("allowPrivate: %v", err)
	}
}
