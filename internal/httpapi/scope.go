package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openwa/openwa/internal/apperr"
)

// scope is who may call an operation. Every operation declares one where it
// is registered (op's first argument, or route's for the routes huma does
// not serve); authorize enforces it, in one place, before the handler runs.
type scope int

const (
	// scopePublic: no key (health probes).
	scopePublic scope = iota
	// scopeAdmin: admin keys only; a session key gets 403.
	scopeAdmin
	// scopeSession: a key that may use the session of the {id} path
	// parameter; a session key for another session gets 403.
	scopeSession
	// scopeKey: any valid key. The handler narrows what a session key sees
	// (its own sessions in a list, its own events in the log and streams).
	scopeKey
)

func (sc scope) String() string {
	switch sc {
	case scopePublic:
		return "public"
	case scopeAdmin:
		return "admin"
	case scopeSession:
		return "session"
	case scopeKey:
		return "key"
	}
	return "scope(" + strconv.Itoa(int(sc)) + ")"
}

// metaScope is the key of an operation's scope in huma.Operation.Metadata.
const metaScope = "openwa.scope"

// metaErrors is the key of the error statuses an operation declares beyond
// the ones every operation of its kind can return (see errorStatuses).
const metaErrors = "openwa.errors"

// security is the OpenAPI security of operations that need a key; public
// operations declare an empty requirement: no key.
var (
	security       = []map[string][]string{{"apiKey": {}}, {"bearer": {}}}
	publicSecurity = []map[string][]string{{}}
)

// op describes an operation: who may call it, and the defaults every route
// shares. The scope is enforced by authorize; the error responses are
// declared by declareOperation.
func op(sc scope, id, method, path, summary string, tags ...string) huma.Operation {
	o := huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: tags,
		Metadata: map[string]any{metaScope: sc}}
	if sc == scopePublic {
		o.Security = publicSecurity
	} else {
		o.Security = security
	}
	return o
}

// withErrors declares error statuses an operation can return beyond the ones
// errorStatuses gives every operation of its kind (409 where it conflicts,
// 422 and 502 where it drives the engine).
func withErrors(o huma.Operation, statuses ...int) huma.Operation {
	prev, _ := o.Metadata[metaErrors].([]int)
	o.Metadata[metaErrors] = append(slices.Clone(prev), statuses...)
	return o
}

// engineErrors are what an operation that drives the engine adds: the
// engine cannot do it (422) or failed (502).
var engineErrors = []int{http.StatusUnprocessableEntity, http.StatusBadGateway}

// scopeOf returns an operation's declared scope. Registering an operation
// without one is a bug found at start-up: declareOperation panics.
func scopeOf(o *huma.Operation) (scope, bool) {
	sc, ok := o.Metadata[metaScope].(scope)
	return sc, ok
}

// declareScopes makes every operation registered from now on declare its
// scope (checked as it is added: declareOperation) and enforces the scope on
// each request (authorizeOperation).
func (s *Server) declareScopes() {
	s.api.OpenAPI().OnAddOperation = append(s.api.OpenAPI().OnAddOperation, func(_ *huma.OpenAPI, o *huma.Operation) {
		s.declareOperation(o)
	})
	s.api.UseMiddleware(s.authorizeOperation)
}

// declareOperation runs as each operation is added to the document: it
// refuses an operation without a scope (and a public one under /api), and
// declares the operation's error responses.
func (s *Server) declareOperation(o *huma.Operation) {
	sc, ok := scopeOf(o)
	api := o.Path == "/api" || strings.HasPrefix(o.Path, "/api/")
	switch {
	case !ok:
		panic(fmt.Sprintf("httpapi: operation %s %s (%s) declares no scope: register it with op(scope, …)", o.Method, o.Path, o.OperationID))
	case api && sc == scopePublic:
		panic(fmt.Sprintf("httpapi: operation %s %s (%s) is public, but every /api operation needs a key", o.Method, o.Path, o.OperationID))
	case !api && sc != scopePublic:
		panic(fmt.Sprintf("httpapi: operation %s %s (%s) outside /api must be public", o.Method, o.Path, o.OperationID))
	case sc == scopeSession && !strings.HasPrefix(o.Path, "/api/sessions/{id}"):
		panic(fmt.Sprintf("httpapi: operation %s %s (%s) has the session scope but no {id} session path", o.Method, o.Path, o.OperationID))
	}
	statuses := errorStatuses(o, sc)
	if len(statuses) == 0 {
		return
	}
	schema := s.api.OpenAPI().Components.Schemas.Schema(reflectType[ErrorResponse](), true, "")
	if o.Responses == nil {
		o.Responses = map[string]*huma.Response{}
	}
	for _, st := range statuses {
		code := strconv.Itoa(st)
		if o.Responses[code] != nil {
			continue // declared by the route itself (the 503 of /health)
		}
		o.Responses[code] = &huma.Response{Description: errorDescription(st),
			Content: map[string]*huma.MediaType{"application/json": {Schema: schema}}}
	}
}

// errorStatuses derives the error statuses of an operation from what every
// request of its kind goes through:
//   - any request: 500 (a bug, with a request id to find it in the log);
//   - every /api request: 400 (its parameters and body are validated), 401
//     (no or a bad key), 403 (the key's scope), 404 (what it names does not
//     exist), 429 (the key's rate limit, failed authentications), 503 (a
//     backing service is down);
//   - a request with a body: 408 (the body did not arrive in time), 413 (too
//     large), 415 (not JSON, or media of a type WhatsApp does not take);
//   - what the route declares with withErrors.
func errorStatuses(o *huma.Operation, sc scope) []int {
	out := []int{http.StatusInternalServerError}
	if sc != scopePublic {
		out = append(out, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
			http.StatusTooManyRequests, http.StatusServiceUnavailable)
	}
	if o.RequestBody != nil {
		out = append(out, http.StatusRequestTimeout, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	if extra, ok := o.Metadata[metaErrors].([]int); ok {
		out = append(out, extra...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// errorDescription names the status and the error codes API.md gives it.
func errorDescription(status int) string {
	var codes []string
	for c, st := range statusOf {
		if st == status {
			codes = append(codes, string(c))
		}
	}
	slices.Sort(codes)
	d := http.StatusText(status)
	if len(codes) > 0 {
		d += ": " + strings.Join(codes, ", ")
	}
	return d
}

// authorize is the one check of a scope, for huma's operations and the
// routes outside huma alike. The key was resolved by authenticate; sessionID
// is the {id} path parameter of a scopeSession operation.
func authorize(ctx context.Context, sc scope, sessionID string) error {
	if sc == scopePublic {
		return nil
	}
	p := principalOf(ctx)
	if p == nil { // a protected route on a path authenticate did not cover: never served
		return apperr.New(apperr.Unauthorized, "this needs an API key")
	}
	switch sc {
	case scopeKey:
		return nil
	case scopeAdmin:
		if p.IsAdmin() {
			return nil
		}
		return apperr.New(apperr.Forbidden, "this needs an admin key")
	case scopeSession:
		if p.CanSession(sessionID) {
			return nil
		}
		return apperr.New(apperr.Forbidden, "this key may not use session '%s'", sessionID)
	}
	return apperr.New(apperr.Forbidden, "this operation declares no scope")
}

// authorizeOperation is huma's middleware that enforces each operation's
// declared scope before its input is read.
func (s *Server) authorizeOperation(ctx huma.Context, next func(huma.Context)) {
	sc, ok := scopeOf(ctx.Operation())
	if !ok { // declareOperation refuses these; deny all the same
		sc = -1
	}
	var id string
	if sc == scopeSession {
		id = ctx.Param("id")
	}
	if err := authorize(ctx.Context(), sc, id); err != nil {
		huma.WriteErr(s.api, ctx, 0, "", err)
		return
	}
	next(ctx)
}

// route registers a handler huma does not serve (the WebSocket, metrics,
// the docs) with its scope, enforced by authorize like huma's operations.
func (s *Server) route(mux *http.ServeMux, sc scope, pattern string, h http.Handler) {
	path := pattern
	if _, p, ok := strings.Cut(pattern, " "); ok {
		path = p
	}
	if strings.HasPrefix(path, "/api") && sc == scopePublic {
		panic(fmt.Sprintf("httpapi: route %s is public, but every /api route needs a key", pattern))
	}
	if sc == scopeSession {
		panic(fmt.Sprintf("httpapi: route %s: the session scope is for operations with an {id} path", pattern))
	}
	mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := authorize(r.Context(), sc, ""); err != nil {
			writeError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	}))
}
