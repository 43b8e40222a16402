package session

import "testing"

func TestMaskProxyURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http://user:s3cret@proxy.example:3128", "http://user:***@proxy.example:3128"},
		{"socks5://u%40x:p%3Ass@10.0.0.1:1080", "socks5://u%40x:***@10.0.0.1:1080"},
		{"http://tokenonly@proxy.example:8080", "http://***@proxy.example:8080"},
		{"https://proxy.example:443", "https://proxy.example:443"},
		{"http://user:@proxy.example", "http://user:***@proxy.example"},
	} {
		if got := MaskProxyURL(c.in); got != c.want {
			t.Errorf("MaskProxyURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
