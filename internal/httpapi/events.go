package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/event/catalog"
	"github.com/openwa/openwa/internal/ident"
	"github.com/openwa/openwa/internal/realtime"
)

// EventFilters are the filters of the event log, the stream and the WebSocket.
type EventFilters struct {
	Sessions string `query:"sessions" maxLength:"4096" doc:"Comma-separated session ids (default: every session the key may see)."`
	Events   string `query:"events" maxLength:"1024" doc:"Comma-separated event names (default: all)."`
}

// EventPage is a page of the event log.
type EventPage struct {
	Events    []event.Event `json:"events"`
	NextAfter int64         `json:"nextAfter" doc:"Pass as ?after= to read on."`
}

// subscription validates the filters against the key: a session key may
// name only its own sessions. At most realtime.MaxActionSessions sessions and
// realtime.MaxActionEvents events; "*" in events means all of them.
func subscription(ctx context.Context, f EventFilters, after int64) (realtime.Request, error) {
	req := realtime.Request{After: after}
	p := principalOf(ctx)
	if p != nil {
		req.KeyID, req.ExpiresAt = p.KeyID, p.ExpiresAt
	}
	if !p.IsAdmin() {
		req.Allowed = append([]string{}, p.Sessions...)
	}
	ids := splitList(f.Sessions)
	if len(ids) > realtime.MaxActionSessions {
		return req, apperr.Field("sessions", fmt.Sprintf("at most %d session ids", realtime.MaxActionSessions))
	}
	for _, id := range ids {
		if !ident.ValidSession(id) {
			return req, apperr.Field("sessions", "each session id: 1 to 64 letters, digits, _ or -")
		}
		if !p.CanSession(id) {
			return req, apperr.New(apperr.Forbidden, "this key may not use session '%s'", id)
		}
		if !slices.Contains(req.Sessions, id) {
			req.Sessions = append(req.Sessions, id)
		}
	}
	names := splitList(f.Events)
	if len(names) > realtime.MaxActionEvents {
		return req, apperr.Field("events", fmt.Sprintf("at most %d event names", realtime.MaxActionEvents))
	}
	for _, name := range names {
		if len(name) > 64 {
			return req, apperr.Field("events", "unknown event "+strconv.Quote(name[:64]+"…"))
		}
	}
	if err := catalog.Events.Check("events", names, true); err != nil {
		return req, err
	}
	for _, name := range names {
		if name == "*" {
			req.Events = nil
			return req, nil
		}
		if !slices.Contains(req.Events, name) {
			req.Events = append(req.Events, name)
		}
	}
	return req, nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

type listEventsInput struct {
	EventFilters
	After int64 `query:"after" minimum:"0" doc:"Return events with a greater seq."`
	Limit int   `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

type streamEventsInput struct {
	EventFilters
	After       string `query:"after" doc:"Replay the events after this seq (default: live only)."`
	LastEventID string `header:"Last-Event-ID" doc:"Sent by EventSource on reconnect; wins over ?after=."`
}

func (s *Server) eventRoutes() {
	tag := "Events"
	huma.Register(s.api, op(scopeKey, "list-events", http.MethodGet, "/api/events", "The event log after a seq, oldest first", tag), s.listEvents)
	streamOp := op(scopeKey, "stream-events", http.MethodGet, "/api/events/stream",
		"The event log as Server-Sent Events: stored events after Last-Event-ID (or ?after=), then live ones", tag)
	streamOp.Responses = map[string]*huma.Response{"200": {Description: "text/event-stream: `id: <seq>`, `event: <name>`, `data: <event JSON>`.",
		Content: map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{Type: "string"}}}}}
	huma.Register(s.api, streamOp, s.streamEvents)
}

// listEvents reads the log; a session key reads only its sessions' events.
func (s *Server) listEvents(ctx context.Context, in *listEventsInput) (*Out[EventPage], error) {
	req, err := subscription(ctx, in.EventFilters, in.After)
	if err != nil {
		return nil, err
	}
	f := event.Filter{After: in.After, Sessions: req.Allowed, Names: req.Events, Limit: in.Limit}
	if req.Sessions != nil {
		f.Sessions = req.Sessions
	}
	evs, err := s.opts.Events.List(ctx, f)
	if err != nil {
		return nil, err
	}
	page := EventPage{Events: evs, NextAfter: in.After}
	if len(evs) > 0 {
		page.NextAfter = evs[len(evs)-1].Seq
	}
	if page.Events == nil {
		page.Events = []event.Event{}
	}
	return reply(ctx, http.StatusOK, page), nil
}

// streamEvents serves the log as Server-Sent Events, filtered like listEvents.
func (s *Server) streamEvents(ctx context.Context, in *streamEventsInput) (*huma.StreamResponse, error) {
	after, err := afterParam(in.LastEventID, in.After)
	if err != nil {
		return nil, err
	}
	req, err := subscription(ctx, in.EventFilters, after)
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		r, w := humago.Unwrap(hctx)
		s.opts.Realtime.ServeSSE(w, r, req)
	}}, nil
}

// afterParam reads the resume point: Last-Event-ID, else ?after=, else -1 (live only).
func afterParam(lastEventID, after string) (int64, error) {
	for _, v := range []struct{ name, val string }{{"Last-Event-ID", lastEventID}, {"after", after}} {
		if v.val == "" {
			continue
		}
		n, err := strconv.ParseInt(v.val, 10, 64)
		if err != nil || n < 0 {
			return 0, apperr.Field(v.name, "want a seq: a whole number, 0 or more")
		}
		return n, nil
	}
	return -1, nil
}

// serveWS upgrades GET /ws (scopeKey; filtered like listEvents).
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := afterParam("", q.Get("after"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	req, err := subscription(r.Context(), EventFilters{Sessions: q.Get("sessions"), Events: q.Get("events")}, after)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.opts.Realtime.ServeWS(w, r, req)
}
