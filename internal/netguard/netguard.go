// Package netguard makes outgoing HTTP requests to addresses users give
// (media URLs, webhook targets) safe for the server: http and https only, and
// no connection to an address of the IANA special-purpose registries
// (loopback, private, link-local and cloud metadata, CGNAT, documentation,
// multicast, ...; see ranges.go) unless allowed. IPv6 forms that carry an
// IPv4 address are judged by that address too, and zoned IPv6 addresses are
// refused. The check runs on the address actually dialled, after DNS, so a
// name that resolves to a refused address is refused too, however it was
// looked up before (DNS rebinding); every redirect is checked again.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrForbidden is returned for a target the guard refuses.
var ErrForbidden = errors.New("target address not allowed")

// Resolver looks up host names.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a Guard.
type Options struct {
	// AllowPrivate turns the address checks off (WEBHOOK_ALLOW_PRIVATE,
	// MEDIA_ALLOW_PRIVATE); URLs must still be http(s) without credentials.
	AllowPrivate bool
	// Resolver looks up host names; nil: the system's.
	Resolver Resolver
	// Public lists addresses with their port that are treated as public.
	// Tests run their "public" servers on loopback; production sets none.
	Public []netip.AddrPort
}

// Guard checks URLs and addresses and builds clients that dial only what it allows.
type Guard struct {
	allowPrivate bool
	resolver     Resolver
	public       map[netip.AddrPort]bool
}

// New returns a guard.
func New(o Options) *Guard {
	g := &Guard{allowPrivate: o.AllowPrivate, resolver: o.Resolver, public: map[netip.AddrPort]bool{}}
	if g.resolver == nil {
		g.resolver = net.DefaultResolver
	}
	for _, ap := range o.Public {
		g.public[ap] = true
	}
	return g
}

// checkAddr is Check, unless the guard allows private addresses or lists
// this one as public.
func (g *Guard) checkAddr(ip netip.Addr, port uint16) error {
	if g.allowPrivate || g.public[netip.AddrPortFrom(ip, port)] {
		return nil
	}
	return Check(ip)
}

// CheckURL refuses URLs that are not absolute http(s) URLs, carry
// credentials, name a host by a number that is not a plain address (127.1,
// 2130706433, 0x7f.0.0.1) or as localhost, or name an address the guard
// refuses. It does not look names up: CheckTarget and the dialer do.
func (g *Guard) CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("want an absolute http or https URL")
	}
	if u.User != nil {
		return nil, fmt.Errorf("credentials in the URL are not accepted")
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := g.checkAddr(ip, urlPort(u)); err != nil {
			return nil, err
		}
		return u, nil
	}
	if err := g.checkName(host); err != nil {
		return nil, err
	}
	return u, nil
}

// checkName refuses names that stand for addresses: numeric hosts, and
// localhost and its subdomains, which always mean loopback (RFC 6761).
func (g *Guard) checkName(host string) error {
	if g.allowPrivate {
		return nil
	}
	if numericHost(host) {
		return fmt.Errorf("%s: an address must be written as four decimal numbers or in brackets as IPv6: %w", host, ErrForbidden)
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return fmt.Errorf("%s is loopback: %w", host, ErrForbidden)
	}
	return nil
}

// CheckTarget is CheckURL, and a host name must resolve, and only to
// addresses the guard allows. The dialer checks again on every connection.
func (g *Guard) CheckTarget(ctx context.Context, raw string) (*url.URL, error) {
	u, err := g.CheckURL(raw)
	if err != nil {
		return nil, err
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil || g.allowPrivate {
		return u, nil
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := g.resolver.LookupNetIP(rctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return nil, fmt.Errorf("host %q does not resolve", host)
	}
	for _, a := range addrs {
		if err := g.checkAddr(a, urlPort(u)); err != nil {
			return nil, fmt.Errorf("host %q resolves to %s: %w", host, a, err)
		}
	}
	return u, nil
}

func urlPort(u *url.URL) uint16 {
	if p, err := strconv.ParseUint(u.Port(), 10, 16); err == nil {
		return uint16(p)
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// numericHost reports a host whose last label is a number (decimal, octal or
// hex): no top-level domain is, but resolvers read such names as IPv4
// addresses in the old inet_aton forms.
func numericHost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if l := strings.ToLower(last); strings.HasPrefix(l, "0x") {
		_, err := strconv.ParseUint(l[2:], 16, 64)
		return err == nil || l == "0x"
	}
	for _, c := range last {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Client returns an HTTP client whose every connection, redirects included,
// passes the guard. timeout bounds a whole request.
func (g *Guard) Client(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf, past the guard
		DialContext:           g.dial,
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
			_, err := g.CheckURL(req.URL.String())
			return err
		},
	}
}

// dial resolves the host itself, refuses the connection when any of its
// addresses is refused, and dials the checked addresses, never the name (so
// a second lookup cannot answer differently). The dialer's Control checks
// the socket's address once more.
func (g *Guard) dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", address, ErrForbidden)
	}
	p, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("%s: bad port: %w", address, ErrForbidden)
	}
	port := uint16(p)
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else if err := g.checkName(host); err != nil {
		return nil, err
	} else if addrs, err = g.resolver.LookupNetIP(ctx, "ip", host); err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if err := g.checkAddr(a, port); err != nil {
			return nil, fmt.Errorf("dial %s: %w", host, err)
		}
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	var firstErr error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, network, netip.AddrPortFrom(a, port).String())
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("dial %s: no address", host)
	}
	return nil, firstErr
}

func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%s: %w", address, ErrForbidden)
	}
	return g.checkAddr(ap.Addr(), ap.Port())
}

// CheckURL is New(Options{AllowPrivate: allowPrivate}).CheckURL(raw).
func CheckURL(raw string, allowPrivate bool) (*url.URL, error) {
	return New(Options{AllowPrivate: allowPrivate}).CheckURL(raw)
}

// Client is New(Options{AllowPrivate: allowPrivate}).Client(timeout).
func Client(timeout time.Duration, allowPrivate bool) *http.Client {
	return New(Options{AllowPrivate: allowPrivate}).Client(timeout)
}
