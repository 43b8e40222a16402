package whatsmeow

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
)

// connectFailure explains a failed connection in fixed words. The error's
// own text can carry what the far side said (a proxy's status line, a
// banner read as a malformed answer), and a tenant who could choose the
// far side would read it back: the detail goes to the server log only.
func connectFailure(err error, viaProxy bool) error {
	where := "cannot reach WhatsApp"
	if viaProxy {
		where += " through the proxy"
	}
	return errors.New(where + ": " + connectReason(err, viaProxy))
}

func connectReason(err error, viaProxy bool) string {
	var (
		dnsErr  *net.DNSError
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		rec     tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection was closed"
	case errors.As(err, &dnsErr):
		return "a host name does not resolve"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &rec):
		return "the TLS handshake failed"
	case viaProxy:
		return "the proxy refused the connection or did not answer as a proxy (details in the server log)"
	}
	return "the connection failed (details in the server log)"
}
