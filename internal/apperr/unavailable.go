package apperr

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"strings"
	"syscall"
)

// Unavailable reports whether err means a backing service (database, cache,
// storage) could not be reached, rather than a bug: such failures become 503
// SERVICE_UNAVAILABLE, and work that hit them is retried, not dropped.
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	var op *net.OpError
	if errors.As(err, &op) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	// Drivers that wrap the network error in their own text (pgx's connect
	// errors, go-redis's pool errors).
	msg := err.Error()
	for _, s := range []string{"failed to connect", "connection refused", "connection reset", "broken pipe",
		"unexpected EOF", "conn closed", "connection pool exhausted", "i/o timeout", "server closed the connection"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
