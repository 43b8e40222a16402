package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// The limits against abuse: defaults, a value of each, and bad values named.
func TestAbuseLimits(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthFailureLimit != 20 || c.AuditRetentionDays != 90 || len(c.TrustedProxies) != 0 {
		t.Fatalf("defaults: limit %d, audit days %d, proxies %v", c.AuthFailureLimit, c.AuditRetentionDays, c.TrustedProxies)
	}
	c, err = Load(env(map[string]string{"AUTH_FAILURE_LIMIT": "0", "AUDIT_RETENTION_DAYS": "0",
		"TRUSTED_PROXIES": " 10.0.0.0/8, 127.0.0.1 ,::1, fd00::1/64, ::ffff:192.168.1.1"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("fd00::/64"), netip.MustParsePrefix("192.168.1.1/32")}
	if c.AuthFailureLimit != 0 || c.AuditRetentionDays != 0 || !slices.Equal(c.TrustedProxies, want) {
		t.Fatalf("got limit %d, audit days %d, proxies %v", c.AuthFailureLimit, c.AuditRetentionDays, c.TrustedProxies)
	}
	for _, bad := range []struct{ name, value string }{
		{"AUTH_FAILURE_LIMIT", "-1"}, {"AUTH_FAILURE_LIMIT", "many"}, {"AUDIT_RETENTION_DAYS", "-1"},
		{"AUDIT_RETENTION_DAYS", "90d"}, {"TRUSTED_PROXIES", "proxy.local"}, {"TRUSTED_PROXIES", "10.0.0.0/33"},
		{"TRUSTED_PROXIES", "fe80::1%eth0"},
	} {
		_, err := Load(env(map[string]string{bad.name: bad.value}))
		if err == nil || !strings.HasPrefix(err.Error(), bad.name+"=") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%q: error %v, want one line naming the variable", bad.name, bad.value, err)
		}
	}
}
