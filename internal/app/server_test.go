package app

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The server Run uses bounds what a connection may hold before a handler
// runs: headers (a path included) of at most 64 KiB, sent within 10 s, and
// idle keep-alive connections closed after 120 s.
func TestHTTPServerLimits(t *testing.T) {
	srv := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if srv.ReadHeaderTimeout != 10*time.Second || srv.IdleTimeout != 120*time.Second {
		t.Fatalf("ReadHeaderTimeout %v, IdleTimeout %v", srv.ReadHeaderTimeout, srv.IdleTimeout)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/api/sessions/" + strings.Repeat("a", 32<<10), 200},
		{"/api/sessions/" + strings.Repeat("a", 900<<10), 431},
	} {
		res, err := http.Get("http://" + ln.Addr().String() + c.path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.status {
			t.Fatalf("a path of %d bytes: %d, want %d", len(c.path), res.StatusCode, c.status)
		}
	}
}
