// Package netguard makes outgoing HTTP requests to addresses users give
// (media URLs, later webhook targets) safe for the server: http and https
// only, and no connection to loopback, private, link-local (cloud metadata),
// CGNAT, multicast or unspecified addresses unless allowed. The check runs on
// the address actually dialled, after DNS, so a name that resolves to a
// private address is refused too, however it was looked up before (DNS
// rebinding).
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrForbidden is returned for a target the guard refuses.
var ErrForbidden = errors.New("target address not allowed")

var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// Allowed reports whether ip may be dialled without allowPrivate.
func Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range blocked {
		if p.Contains(ip) {
			return false
		}
	}
	return ip.IsValid()
}

// CheckURL refuses URLs that are not absolute http(s) URLs, and literal
// addresses the guard refuses.
func CheckURL(raw string, allowPrivate bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("want an absolute http or https URL")
	}
	if u.User != nil {
		return nil, fmt.Errorf("credentials in the URL are not accepted")
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil && !allowPrivate && !Allowed(ip) {
		return nil, fmt.Errorf("%s: %w", u.Hostname(), ErrForbidden)
	}
	return u, nil
}

// Client returns an HTTP client whose every connection, redirects included,
// passes the guard. timeout bounds a whole request.
func Client(timeout time.Duration, allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%s: %w", address, ErrForbidden)
			}
			if !Allowed(ap.Addr()) {
				return fmt.Errorf("%s: %w", ap.Addr(), ErrForbidden)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf, past the guard
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          32,
		IdleConnTimeout:       60 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			_, err := CheckURL(req.URL.String(), allowPrivate)
			return err
		},
	}
}
