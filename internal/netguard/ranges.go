package netguard

import (
	"fmt"
	"net/netip"
)

// The blocked ranges, in one place. They are the entries of the IANA IPv4
// and IPv6 Special-Purpose Address Registries
// (https://www.iana.org/assignments/iana-ipv4-special-registry,
// https://www.iana.org/assignments/iana-ipv6-special-registry) that are not
// globally reachable, plus multicast and broadcast. A few single addresses
// and small blocks inside 192.0.0.0/24 and 2001::/23 are marked globally
// reachable by IANA (PCP and TURN anycast, AMT, AS112, ORCHIDv2, drone
// remote ID); no webhook or media host lives there, so they stay blocked
// with the block around them.
var blockedV4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network" (RFC 791)
	netip.MustParsePrefix("10.0.0.0/8"),         // private (RFC 1918)
	netip.MustParsePrefix("100.64.0.0/10"),      // shared address space, CGNAT (RFC 6598)
	netip.MustParsePrefix("127.0.0.0/8"),        // loopback (RFC 1122)
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local, cloud metadata (RFC 3927)
	netip.MustParsePrefix("172.16.0.0/12"),      // private (RFC 1918)
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments (RFC 6890), DS-Lite, NAT64 discovery
	netip.MustParsePrefix("192.0.2.0/24"),       // documentation TEST-NET-1 (RFC 5737)
	netip.MustParsePrefix("192.88.99.0/24"),     // deprecated 6to4 relay anycast (RFC 7526)
	netip.MustParsePrefix("192.168.0.0/16"),     // private (RFC 1918)
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking (RFC 2544)
	netip.MustParsePrefix("198.51.100.0/24"),    // documentation TEST-NET-2 (RFC 5737)
	netip.MustParsePrefix("203.0.113.0/24"),     // documentation TEST-NET-3 (RFC 5737)
	netip.MustParsePrefix("224.0.0.0/4"),        // multicast (RFC 5771)
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved (RFC 1112)
	netip.MustParsePrefix("255.255.255.255/32"), // limited broadcast (RFC 919), inside 240/4 too
}

// globalUnicastV6 is the only IPv6 space IANA allocates for global unicast;
// every address outside it is refused (that covers ::/128, ::1, the
// IPv4-compatible ::/96, 64:ff9b:1::/48, 100::/64, 5f00::/16, fc00::/7,
// fe80::/10, ff00::/8 and whatever is reserved), except the IPv4-mapped
// ::ffff:0:0/96 and the well-known NAT64 prefix 64:ff9b::/96, where the
// embedded IPv4 address decides.
var globalUnicastV6 = netip.MustParsePrefix("2000::/3")

// blockedV6 are the registry's entries, also those outside 2000::/3, so that
// the list reads as the registry does.
var blockedV6 = []netip.Prefix{
	netip.MustParsePrefix("::/128"),         // unspecified (RFC 4291)
	netip.MustParsePrefix("::1/128"),        // loopback (RFC 4291)
	netip.MustParsePrefix("::/96"),          // IPv4-compatible, deprecated (RFC 4291)
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use IPv4/IPv6 translation (RFC 8215)
	netip.MustParsePrefix("100::/64"),       // discard-only (RFC 6666)
	netip.MustParsePrefix("2001::/23"),      // IETF protocol assignments (RFC 2928), Teredo 2001::/32 (RFC 4380)
	netip.MustParsePrefix("2001:db8::/32"),  // documentation (RFC 3849)
	netip.MustParsePrefix("2002::/16"),      // 6to4 (RFC 3056)
	netip.MustParsePrefix("3fff::/20"),      // documentation (RFC 9637)
	netip.MustParsePrefix("5f00::/16"),      // segment routing SIDs (RFC 9602)
	netip.MustParsePrefix("fc00::/7"),       // unique local (RFC 4193)
	netip.MustParsePrefix("fe80::/10"),      // link-local (RFC 4291)
	netip.MustParsePrefix("ff00::/8"),       // multicast (RFC 4291)
}

var (
	mappedV4 = netip.MustParsePrefix("::ffff:0:0/96")   // IPv4-mapped (RFC 4291)
	nat64    = netip.MustParsePrefix("64:ff9b::/96")    // well-known NAT64 prefix (RFC 6052)
	nat64Loc = netip.MustParsePrefix("64:ff9b:1::/48")  // local-use NAT64 (RFC 8215)
	sixToF   = netip.MustParsePrefix("2002::/16")       // 6to4 (RFC 3056)
	teredo   = netip.MustParsePrefix("2001::/32")       // Teredo (RFC 4380)
	compatV4 = netip.MustParsePrefix("::/96")           // IPv4-compatible (RFC 4291, deprecated)
	siitV4   = netip.MustParsePrefix("::ffff:0:0:0/96") // IPv4-translated (RFC 2765)
)

// Embedded returns the IPv4 addresses an IPv6 address carries: the mapped,
// compatible and translated forms, NAT64 (64:ff9b::/96 and, as a /96,
// 64:ff9b:1::/48), 6to4 (bits 16-47) and Teredo (the server in bits 32-63,
// the client as the inverted last 32 bits).
func Embedded(ip netip.Addr) []netip.Addr {
	if !ip.Is6() {
		return nil
	}
	ip = ip.WithZone("")
	b := ip.As16()
	last := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	switch {
	case mappedV4.Contains(ip), nat64.Contains(ip), nat64Loc.Contains(ip), siitV4.Contains(ip):
		return []netip.Addr{last}
	case compatV4.Contains(ip):
		if ip == netip.IPv6Unspecified() || ip == netip.IPv6Loopback() {
			return nil
		}
		return []netip.Addr{last}
	case sixToF.Contains(ip):
		return []netip.Addr{netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})}
	case teredo.Contains(ip):
		server := netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]})
		client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		return []netip.Addr{server, client}
	}
	return nil
}

// Check returns nil when ip may be dialled, else an error wrapping
// ErrForbidden that says why. Zoned addresses are refused outright: a zone
// only means something for link-local and loopback scopes, and a zoned
// address is not contained in any prefix, so it would slip past every range.
func Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return fmt.Errorf("no address: %w", ErrForbidden)
	}
	if ip.Zone() != "" {
		return fmt.Errorf("%s has a zone: %w", ip, ErrForbidden)
	}
	if ip.Is4In6() {
		return checkV4(ip.Unmap(), ip)
	}
	if ip.Is4() {
		return checkV4(ip, ip)
	}
	for _, v4 := range Embedded(ip) {
		if err := checkV4(v4, ip); err != nil {
			return err
		}
	}
	if nat64.Contains(ip) {
		return nil // the embedded IPv4 address, public, decides
	}
	for _, p := range blockedV6 {
		if p.Contains(ip) {
			return fmt.Errorf("%s is in %s: %w", ip, p, ErrForbidden)
		}
	}
	if !globalUnicastV6.Contains(ip) {
		return fmt.Errorf("%s is outside global unicast %s: %w", ip, globalUnicastV6, ErrForbidden)
	}
	return nil
}

func checkV4(v4, orig netip.Addr) error {
	for _, p := range blockedV4 {
		if p.Contains(v4) {
			if v4 != orig {
				return fmt.Errorf("%s embeds %s, in %s: %w", orig, v4, p, ErrForbidden)
			}
			return fmt.Errorf("%s is in %s: %w", v4, p, ErrForbidden)
		}
	}
	return nil
}

// Allowed reports whether ip may be dialled without allowPrivate.
func Allowed(ip netip.Addr) bool { return Check(ip) == nil }
