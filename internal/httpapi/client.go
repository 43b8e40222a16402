package httpapi

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// maxLogged bounds a path (or a method) in an audit row or a log line: a
// client chooses them, and a 900 KB path must not become 900 KB on disk.
const maxLogged = 256

// clip returns s cut to at most n bytes of valid UTF-8; a cut string ends
// in a marker with the original length, e.g. "/api/aaaa…[900000 bytes]".
func clip(s string, n int) string {
	if len(s) <= n {
		return strings.ToValidUTF8(s, "?") // never longer: a run of bad bytes becomes one "?"
	}
	marker := fmt.Sprintf("…[%d bytes]", len(s))
	cut := max(0, n-len(marker))
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "?") + marker
}

// clientAddr is the address of the client behind r: the peer's address
// (RemoteAddr), or, when the peer is one of TRUSTED_PROXIES, the nearest
// address in X-Forwarded-For that is not a trusted proxy itself. The header
// is never believed from any other peer: a client could write any address
// in it.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !s.trusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			break // what lies further left cannot be trusted to be well formed either
		}
		addr = hop
		if !s.trusted(addr) {
			break
		}
	}
	return addr
}

func parseHop(v string) (netip.Addr, bool) {
	v = strings.TrimSpace(v)
	if a, err := netip.ParseAddr(v); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(v); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// limitKey is the key of addr in the table of failed authentications: the
// address itself for IPv4, its /64 for IPv6 (one host commonly holds a
// whole /64, so single IPv6 addresses are free to an attacker).
func limitKey(addr netip.Addr) string {
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
