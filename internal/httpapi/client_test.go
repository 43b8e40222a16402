package httpapi

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"/api/sessions", "/api/sessions"},
		{strings.Repeat("a", 256), strings.Repeat("a", 256)},
		{"/bad\xff\xfebytes", "/bad?bytes"},
	} {
		if got := clip(c.in, 256); got != c.want {
			t.Errorf("clip(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, in := range []string{strings.Repeat("a", 257), strings.Repeat("é", 900<<10), strings.Repeat("\xff", 1000)} {
		got := clip(in, 256)
		if len(got) > 256 || !utf8.ValidString(got) || !strings.HasSuffix(got, "…["+strconv.Itoa(len(in))+" bytes]") {
			t.Errorf("clip of %d bytes = %q (%d bytes)", len(in), got, len(got))
		}
	}
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	s := &Server{proxies: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	for _, c := range []struct{ remote, xff, want string }{
		{"192.0.2.1:5000", "", "192.0.2.1"},
		{"192.0.2.1:5000", "203.0.113.9", "192.0.2.1"}, // not a proxy: the header is ignored
		{"[::ffff:192.0.2.1]:5000", "", "192.0.2.1"},
		{"127.0.0.1:5000", "", "127.0.0.1"},
		{"127.0.0.1:5000", "203.0.113.9", "203.0.113.9"},
		{"127.0.0.1:5000", "198.51.100.1, 203.0.113.9, 10.0.0.7", "203.0.113.9"},
		{"127.0.0.1:5000", "10.0.0.8, 10.0.0.7", "10.0.0.8"},                // proxies all the way: the farthest
		{"127.0.0.1:5000", "198.51.100.1, not-an-ip, 10.0.0.7", "10.0.0.7"}, // stops at what it cannot read
		{"[fd00::1]:5000", "[2001:db8::5]:1234", "2001:db8::5"},             // with a port
		{"127.0.0.1:5000", "fe80::1%eth0", "127.0.0.1"},                     // zones are refused
	} {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := s.clientAddr(r).String(); got != c.want {
			t.Errorf("RemoteAddr %s, X-Forwarded-For %q: %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
	// IPv6 clients count by their /64; IPv4 by their address.
	for in, want := range map[string]string{"2001:db8:1:2:aaaa::1": "2001:db8:1:2::/64", "2001:db8:1:2:bbbb::9": "2001:db8:1:2::/64",
		"192.0.2.7": "192.0.2.7"} {
		if got := limitKey(netip.MustParseAddr(in)); got != want {
			t.Errorf("limitKey(%s) = %s, want %s", in, got, want)
		}
	}
}
