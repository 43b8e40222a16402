package whatsmeow

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/openwa/openwa/internal/engine"
)

// proxyLog is a proxy on loopback that records where clients ask to go and
// refuses to take them there (this machine cannot reach WhatsApp anyway).
type proxyLog struct {
	ln      net.Listener
	targets chan string
}

func startProxy(t *testing.T, socks bool) *proxyLog {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxyLog{ln: ln, targets: make(chan string, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if socks {
					p.socks5(c)
				} else {
					p.connect(c)
				}
			}()
		}
	}()
	return p
}

// connect reads an HTTP CONNECT request and answers 502.
func (p *proxyLog) connect(c net.Conn) {
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	p.targets <- strings.TrimSpace(line)
	io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
}

// socks5 reads a SOCKS5 greeting and CONNECT request and answers "host unreachable".
func (p *proxyLog) socks5(c net.Conn) {
	r := bufio.NewReader(c)
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(r, hdr); err != nil || hdr[0] != 5 {
		return
	}
	io.ReadFull(r, make([]byte, hdr[1]))
	c.Write([]byte{5, 0}) // no authentication
	req := make([]byte, 5)
	if _, err := io.ReadFull(r, req); err != nil || req[3] != 3 { // a domain name
		return
	}
	host := make([]byte, int(req[4])+2)
	io.ReadFull(r, host)
	p.targets <- "SOCKS5 " + string(host[:len(host)-2])
	c.Write([]byte{5, 4, 0, 1, 0, 0, 0, 0, 0, 0})
}

// config.proxyUrl carries the session's connection: the proxy is asked for
// WhatsApp's host, and when it cannot get there, the session says so at once
// (and tries again later).
func TestProxy(t *testing.T) {
	for _, socks := range []bool{false, true} {
		p := startProxy(t, socks)
		scheme := "http://"
		if socks {
			scheme = "socks5://"
		}
		events := make(chan engine.Event, 16)
		e := New(testDevices(t), engine.Options{SessionID: "s", Auth: &memAuth{}, ProxyURL: scheme + p.ln.Addr().String(),
			Emit: func(ev engine.Event) { events <- ev }})
		if err := e.Connect(context.Background()); err != nil {
			t.Fatalf("%s: connect: %v", scheme, err)
		}
		if d := waitFor[engine.Disconnected](t, events); !strings.Contains(d.Reason, "cannot reach WhatsApp") {
			t.Fatalf("%s: disconnected: %+v", scheme, d)
		}
		select {
		case target := <-p.targets:
			if !strings.Contains(target, "web.whatsapp.com") {
				t.Fatalf("%s: the proxy was asked for %q", scheme, target)
			}
		default:
			t.Fatalf("%s: the connection did not go through the proxy", scheme)
		}
		e.Disconnect(context.Background())
	}
}
