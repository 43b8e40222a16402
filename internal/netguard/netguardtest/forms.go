// Package netguardtest holds the table of address forms that the SSRF guard
// must refuse, shared by the guard's own tests and the API's, and a resolver
// that tests can point names at.
package netguardtest

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
)

// Form is one way of writing an address the guard must refuse.
type Form struct {
	Host string // as written in a URL's host: 127.0.0.1, [::1%25lo], 2130706433
	// Addr is the address a resolver could answer for a name; "" for forms
	// that exist only as URL text (numeric hosts such as 127.1).
	Addr string
}

// Forms are refused at registration, at dial time and as redirect targets.
var Forms = []Form{
	// IPv4, from the IANA IPv4 Special-Purpose Address Registry.
	{"127.0.0.1", "127.0.0.1"},
	{"127.1.2.3", "127.1.2.3"},
	{"0.0.0.0", "0.0.0.0"},
	{"0.1.2.3", "0.1.2.3"},
	{"10.1.2.3", "10.1.2.3"},
	{"100.64.0.1", "100.64.0.1"},
	{"100.127.255.254", "100.127.255.254"},
	{"169.254.169.254", "169.254.169.254"},
	{"172.16.0.1", "172.16.0.1"},
	{"172.31.255.255", "172.31.255.255"},
	{"192.0.0.1", "192.0.0.1"},
	{"192.0.2.10", "192.0.2.10"},
	{"192.88.99.1", "192.88.99.1"},
	{"192.168.1.1", "192.168.1.1"},
	{"198.18.0.1", "198.18.0.1"},
	{"198.19.255.1", "198.19.255.1"},
	{"198.51.100.7", "198.51.100.7"},
	{"203.0.113.9", "203.0.113.9"},
	{"224.0.0.1", "224.0.0.1"},
	{"239.255.255.250", "239.255.255.250"},
	{"240.0.0.1", "240.0.0.1"},
	{"255.255.255.255", "255.255.255.255"},
	// IPv4 in the old numeric forms resolvers accept.
	{"2130706433", ""},
	{"0x7f000001", ""},
	{"0177.0.0.1", ""},
	{"127.1", ""},
	{"0x7f.0.0.1", ""},
	{"169.254.43518", ""},
	// IPv6 loopback, unspecified, zoned.
	{"[::1]", "::1"},
	{"[0:0:0:0:0:0:0:1]", "::1"},
	{"[::]", "::"},
	{"[::1%25lo]", "::1%lo"},
	{"[::1%251]", "::1%1"},
	{"[::1%25eth0]", "::1%eth0"},
	{"[fe80::1%25eth0]", "fe80::1%eth0"},
	{"[fe80::a9fe:a9fe%251]", "fe80::a9fe:a9fe%1"},
	{"[fd00::1%25lo]", "fd00::1%lo"},
	{"[2606:4700:4700::1111%25eth0]", "2606:4700:4700::1111%eth0"}, // public, but zoned
	{"[ff02::1%25lo]", "ff02::1%lo"},
	// IPv6 special-purpose ranges.
	{"[fe80::1]", "fe80::1"},
	{"[fd00::1]", "fd00::1"},
	{"[fc00::1]", "fc00::1"},
	{"[ff02::1]", "ff02::1"},
	{"[ff05::2]", "ff05::2"},
	{"[100::1]", "100::1"},
	{"[2001:db8::1]", "2001:db8::1"},
	{"[2001:2::1]", "2001:2::1"},
	{"[3fff::1]", "3fff::1"},
	{"[5f00::1]", "5f00::1"},
	{"[fec0::1]", "fec0::1"}, // deprecated site-local, outside 2000::/3
	// IPv4-mapped and IPv4-compatible forms.
	{"[::ffff:127.0.0.1]", "::ffff:127.0.0.1"},
	{"[::ffff:7f00:1]", "::ffff:127.0.0.1"},
	{"[::ffff:169.254.169.254]", "::ffff:169.254.169.254"},
	{"[::ffff:10.0.0.1]", "::ffff:10.0.0.1"},
	{"[::ffff:0.0.0.0]", "::ffff:0.0.0.0"},
	{"[::127.0.0.1]", "::127.0.0.1"},
	{"[::7f00:1]", "::127.0.0.1"},
	{"[::10.0.0.1]", "::10.0.0.1"},
	{"[::8.8.8.8]", "::8.8.8.8"}, // deprecated form, refused whatever it embeds
	{"[::ffff:0:127.0.0.1]", "::ffff:0:127.0.0.1"},
	// NAT64 (well-known and local-use prefixes).
	{"[64:ff9b::127.0.0.1]", "64:ff9b::127.0.0.1"},
	{"[64:ff9b::a9fe:a9fe]", "64:ff9b::169.254.169.254"},
	{"[64:ff9b::192.168.0.1]", "64:ff9b::192.168.0.1"},
	{"[64:ff9b::10.0.0.1]", "64:ff9b::10.0.0.1"},
	{"[64:ff9b:1::7f00:1]", "64:ff9b:1::7f00:1"},
	// 6to4 and Teredo.
	{"[2002:7f00:1::]", "2002:7f00:1::"},
	{"[2002:a9fe:a9fe::1]", "2002:a9fe:a9fe::1"},
	{"[2002:c0a8:101::1]", "2002:c0a8:101::1"},
	{"[2002:808:808::1]", "2002:808:808::1"},
	{"[2001:0:4136:e378:8000:63bf:80ff:fffe]", "2001:0:4136:e378:8000:63bf:80ff:fffe"}, // client 127.0.0.1
	{"[2001:0:a00:1:8000:63bf:f7f7:f7f7]", "2001:0:a00:1:8000:63bf:f7f7:f7f7"},         // server 10.0.0.1
	// Names.
	{"localhost", "127.0.0.1"},
	{"localhost.", "127.0.0.1"},
}

// Resolver answers names from a map it holds, and the rest from the system.
// Safe for concurrent use; Set changes an answer (DNS rebinding).
type Resolver struct {
	mu    sync.Mutex
	names map[string][]netip.Addr
}

// Set makes name resolve to addrs.
func (r *Resolver) Set(name string, addrs ...netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = map[string][]netip.Addr{}
	}
	r.names[strings.ToLower(strings.TrimSuffix(name, "."))] = addrs
}

// LookupNetIP implements netguard.Resolver.
func (r *Resolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	a, ok := r.names[strings.ToLower(strings.TrimSuffix(host, "."))]
	r.mu.Unlock()
	if ok {
		return a, nil
	}
	return net.DefaultResolver.LookupNetIP(ctx, network, host)
}
