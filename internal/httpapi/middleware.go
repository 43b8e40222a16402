package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/auth"
)

// reqInfo is what the middleware learns about a request, shared down the chain.
type reqInfo struct {
	id        string
	start     time.Time
	principal *auth.Principal
	addr      netip.Addr // the client's address (see clientAddr)
	err       error      // an internal error to log, set by the error hook
	upload    *upload    // the file part of a multipart media send
}

type ctxKey struct{}

func infoOf(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(ctxKey{}).(*reqInfo)
	return i
}

func requestID(ctx context.Context) string {
	if i := infoOf(ctx); i != nil {
		return i.id
	}
	return ""
}

func principalOf(ctx context.Context) *auth.Principal {
	if i := infoOf(ctx); i != nil {
		return i.principal
	}
	return nil
}

// recorder remembers the status written.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// outer is the first layer: request id, recovery from panics and the access log.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &reqInfo{id: r.Header.Get("X-Request-Id"), start: time.Now()}
		if !validRequestID.MatchString(info.id) {
			info.id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", info.id)
		info.addr = s.clientAddr(r)
		rec := &recorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, info))
		if hasBody(r) && r.URL.Path != "/ws" { // a hijacked WebSocket would keep the deadline
			d := s.bodyTimeout
			if r.Method == http.MethodPost && mediaRoute.MatchString(r.URL.Path) {
				d = s.uploadTimeout
			}
			_ = http.NewResponseController(w).SetReadDeadline(info.start.Add(d))
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				info.err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
				if rec.status == 0 {
					writeError(rec, r, apperr.New(apperr.Internal, "%s", internalMessage))
				}
			}
			s.logRequest(r, rec.status, info)
			if s.opts.Metrics != nil {
				route := r.Pattern
				if route == "" || route == "/" {
					route = "unmatched"
				}
				s.opts.Metrics.ObserveRequest(r.Method, route, rec.status)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

func (s *Server) logRequest(r *http.Request, status int, info *reqInfo) {
	// The client chooses the method and the path: both are clipped, so that a
	// line stays a few hundred bytes whatever it sends.
	attrs := []any{"method", clip(r.Method, 32), "path", clip(r.URL.Path, maxLogged), "status", status,
		"duration_ms", time.Since(info.start).Milliseconds(), "request_id", info.id, "ip", addrString(info.addr)}
	if info.principal != nil {
		attrs = append(attrs, "key_id", info.principal.KeyID)
	}
	switch {
	case info.err != nil:
		s.log.Error("request failed", append(attrs, "err", info.err)...)
	case strings.HasPrefix(r.URL.Path, "/health"):
		s.log.Debug("request", attrs...)
	default:
		s.log.Info("request", attrs...)
	}
}

// cors answers preflights and marks responses for the origins of CORS_ORIGINS.
func (s *Server) cors(next http.Handler) http.Handler {
	origins := s.opts.Config.CORSOrigins
	all := slices.Contains(origins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || len(origins) == 0 || !(all || slices.Contains(origins, origin)) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-API-Key, Authorization, Idempotency-Key, X-Request-Id, Last-Event-ID")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// presentedKey reads the key from X-API-Key or Authorization: Bearer; for
// the streams browsers open (WebSocket, EventSource), which cannot set
// headers, also from ?apiKey=.
func presentedKey(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return strings.TrimSpace(k)
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if r.URL.Path == "/ws" || r.URL.Path == "/api/events/stream" {
		return r.URL.Query().Get("apiKey")
	}
	return ""
}

// protected reports whether a path needs an API key.
func (s *Server) protected(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/api" || path == "/ws" ||
		(path == "/metrics" && s.opts.Config.MetricsAPIKeyRequired)
}

// authenticate resolves the key, applies the limit of failed
// authentications per client address and the per-key rate limit, and audits
// mutating calls. Public paths pass through.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.protected(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		info := infoOf(r.Context())
		// An address that failed too often is refused before its key is
		// looked at and before anything is written (no audit row).
		client := limitKey(info.addr)
		if blocked, wait := s.fails.Blocked(client); blocked {
			e := apperr.New(apperr.RateLimited, "too many failed authentications from this address; retry later")
			e.RetryAfter = wait
			refuse(w, r, e)
			return
		}
		rec, _ := w.(*recorder)
		if mutating(r.Method) && rec != nil {
			defer s.audit(r, rec, info)
		}
		p, err := s.opts.Auth.Authenticate(r.Context(), presentedKey(r))
		if err != nil {
			if ae, ok := apperr.As(err); ok && ae.Code == apperr.Unauthorized {
				s.fails.Fail(client)
			}
			refuse(w, r, err)
			return
		}
		info.principal = p
		if ok, wait := s.limiter.Allow(r.Context(), p.KeyID); !ok {
			e := apperr.New(apperr.RateLimited, "rate limit of %g requests per second exceeded; retry later", s.opts.Config.RateLimitRPS)
			e.RetryAfter = wait
			refuse(w, r, e)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		next.ServeHTTP(w, r)
	})
}

// refuse answers a request whose body will never be read and closes the
// connection. Without the deadline the server would drain the body before
// closing, and a body trickled a byte at a time would hold the connection.
func refuse(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Connection", "close")
	writeError(w, r, err)
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

func hasBody(r *http.Request) bool { return r.Body != nil && r.Body != http.NoBody }

// bodyTimedOut reports whether reading a body failed on its deadline.
func bodyTimedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// bodyTimeoutError is the answer to a body that did not arrive in time (408;
// the server closes the connection, the rest of the body is never read).
func bodyTimeoutError() error {
	return apperr.Field("body", "the request body did not arrive in time")
}

func mutating(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch || method == http.MethodDelete
}

// audit records a mutating call. The action is the route matched, or, for a
// call that matched none (refused before routing, as without a valid key),
// the method and the path; a path is clipped to maxLogged bytes, so that a
// row stays small whatever the client sends.
func (s *Server) audit(r *http.Request, rec *recorder, info *reqInfo) {
	target := clip(r.URL.Path, maxLogged)
	action := r.Method + " " + target
	if r.Pattern != "" && r.Pattern != "/" {
		action = r.Pattern
		if !strings.HasPrefix(action, r.Method) {
			action = r.Method + " " + action
		}
	}
	e := auth.AuditEntry{Action: action, Target: target, IP: addrString(info.addr), Status: rec.status,
		Outcome: "success", RequestID: info.id}
	if rec.status >= 400 {
		e.Outcome = "failure"
	}
	if info.principal != nil {
		e.KeyID = &info.principal.KeyID
	}
	// The request may be cancelled already; the audit row is written regardless.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.opts.Auth.Audit(ctx, e); err != nil {
		s.log.Error("audit", "request_id", info.id, "err", err)
	}
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
