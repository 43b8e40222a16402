package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/event/catalog"
	"github.com/openwa/openwa/internal/ident"
	"github.com/openwa/openwa/internal/store"
)

// Intervals of keep-alives.
const (
	pingEvery      = 25 * time.Second
	heartbeatEvery = 15 * time.Second
	writeTimeout   = 10 * time.Second
)

// Server serves the two real-time transports. Build it with NewServer.
type Server struct {
	Hub            *Hub
	Store          *store.Store
	Log            *slog.Logger
	OriginPatterns []string // CORS_ORIGINS, for browsers' WebSocket Origin check
	// KeyActive reports whether the API key keyID still exists. It is asked
	// once a stream is subscribed, so that a key deleted while the stream was
	// opening (its revocation then missed) does not keep the stream, and by
	// RunKeyCheck; nil: never asked.
	KeyActive func(ctx context.Context, keyID string) (bool, error)
}

// NewServer returns the server of the real-time transports: live events come
// from hub, replays from st. originPatterns (CORS_ORIGINS) are the origins a
// browser's WebSocket may come from. hub and st are required; a nil log
// discards.
func NewServer(hub *Hub, st *store.Store, log *slog.Logger, originPatterns []string) *Server {
	if hub == nil || st == nil {
		panic("realtime.NewServer: hub and store are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{Hub: hub, Store: st, Log: log, OriginPatterns: originPatterns}
}

// Request is a validated subscription: what the key may see and what the client asks for.
type Request struct {
	KeyID     string    // the API key the client authenticated with: its revocation ends the stream
	ExpiresAt time.Time // when that key expires, ending the stream; zero: never
	Allowed   []string  // nil: every session
	Sessions  []string  // nil: every allowed session
	Events    []string  // nil: every event
	After     int64     // replay the events after this seq; -1: live only
}

// KeyCheckEvery is how often RunKeyCheck looks for deleted keys.
const KeyCheckEvery = 30 * time.Second

// RunKeyCheck ends, every `every`, the streams whose key no longer exists,
// until ctx ends. Deletions normally end streams at once (Hub.Revoke, here and
// through the bus); this catches one whose message was lost, for instance
// while Redis was away.
func (s *Server) RunKeyCheck(ctx context.Context, every time.Duration) error {
	if s.KeyActive == nil {
		return nil
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for _, id := range s.Hub.Keys() {
			ok, err := s.KeyActive(ctx, id)
			if err != nil {
				if ctx.Err() == nil {
					s.Log.Warn("check the keys of open streams", "err", err)
				}
				break // the database is away: try again next time
			}
			if !ok {
				s.Hub.Revoke(id)
			}
		}
	}
}

// Limits of a WebSocket subscribe or unsubscribe action.
const (
	MaxActionSessions = 64       // session ids in one action
	MaxActionEvents   = 32       // event names in one action
	maxFrame          = 16 << 10 // bytes of one client frame; larger ones close the connection (1009)
)

// Close codes and reasons of a stream whose key stops being valid.
const (
	StatusKeyInvalid websocket.StatusCode = 4401
	reasonRevoked                         = "API key revoked"
	reasonExpired                         = "API key expired"
)

// ended is closed when the stream's key can no longer be used: revoked
// (deleted, on any instance) or expired. why says which; stop releases the timer.
func (s *Server) ended(ctx context.Context, sub *Sub, req Request) (ended <-chan struct{}, why func() string, stop func()) {
	done := make(chan struct{})
	reason := reasonRevoked
	var once sync.Once
	end := func(r string) { once.Do(func() { reason = r; close(done) }) }
	var timer *time.Timer
	if !req.ExpiresAt.IsZero() {
		timer = time.AfterFunc(time.Until(req.ExpiresAt), func() { end(reasonExpired) })
	}
	if s.KeyActive != nil && req.KeyID != "" {
		if ok, err := s.KeyActive(ctx, req.KeyID); err == nil && !ok {
			end(reasonRevoked)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { // ends with the stream (cancel) or the revocation
		select {
		case <-sub.Revoked:
			end(reasonRevoked)
		case <-cctx.Done():
		}
	}()
	return done, func() string { <-done; return reason }, func() {
		cancel()
		if timer != nil {
			timer.Stop()
		}
	}
}

func marshal(ev *event.Row) []byte {
	b, _ := json.Marshal(event.View(ev))
	return b
}

// ServeSSE streams events as Server-Sent Events until the client goes or falls behind.
func (s *Server) ServeSSE(w http.ResponseWriter, r *http.Request, req Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	sub := s.Hub.Subscribe(req)
	defer s.Hub.Unsubscribe(sub)
	ctx := r.Context()
	keyEnded, why, stopKey := s.ended(ctx, sub, req)
	defer stopKey()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	flusher.Flush()
	rc := http.NewResponseController(w)
	send := func(ev *event.Row) error {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Name, marshal(ev))
		flusher.Flush()
		return err
	}
	last := int64(-1)
	if req.After >= 0 {
		var err error
		if last, err = Replay(ctx, s.Store, sub, req.After, send); err != nil {
			return
		}
	}
	beat := time.NewTicker(heartbeatEvery)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.Hub.Done():
			return
		case <-sub.Evicted:
			s.Log.Warn("real-time client dropped: too slow", "transport", "sse")
			return
		case <-keyEnded:
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			fmt.Fprintf(w, ": closed: %s\n\n", why())
			flusher.Flush()
			return
		case <-beat.C:
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case ev := <-sub.C:
			if ev.Seq <= last {
				continue
			}
			if err := send(ev); err != nil {
				return
			}
		}
	}
}

// action is what a WebSocket client may send.
type action struct {
	Action   string   `json:"action"`
	Sessions []string `json:"sessions"`
	Events   []string `json:"events"`
}

// ServeWS serves one WebSocket client.
func (s *Server) ServeWS(w http.ResponseWriter, r *http.Request, req Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.OriginPatterns})
	if err != nil {
		return // Accept answered the client
	}
	defer conn.CloseNow()
	conn.SetReadLimit(maxFrame)
	sub := s.Hub.Subscribe(req)
	defer s.Hub.Unsubscribe(sub)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	keyEnded, why, stopKey := s.ended(ctx, sub, req)
	defer stopKey()

	// The reader takes subscribe/unsubscribe actions and notices the client going.
	go func() {
		defer cancel()
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if err := applyAction(sub, req.Allowed, b); err != nil {
				s.writeJSON(ctx, conn, map[string]string{"error": err.Error()})
			}
		}
	}()

	send := func(ev *event.Row) error {
		wctx, c := context.WithTimeout(ctx, writeTimeout)
		defer c()
		return conn.Write(wctx, websocket.MessageText, marshal(ev))
	}
	last := int64(-1)
	if req.After >= 0 {
		if last, err = Replay(ctx, s.Store, sub, req.After, send); err != nil {
			return
		}
	}
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			conn.Close(websocket.StatusNormalClosure, "")
			return
		case <-s.Hub.Done():
			conn.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-sub.Evicted:
			s.Log.Warn("real-time client dropped: too slow", "transport", "websocket")
			conn.Close(websocket.StatusTryAgainLater, "client too slow: reconnect with ?after=<last seq>")
			return
		case <-keyEnded:
			conn.Close(StatusKeyInvalid, why())
			return
		case <-ping.C:
			pctx, c := context.WithTimeout(ctx, writeTimeout)
			err := conn.Ping(pctx)
			c()
			if err != nil {
				return
			}
		case ev := <-sub.C:
			if ev.Seq <= last {
				continue
			}
			if err := send(ev); err != nil {
				if !errors.Is(err, context.Canceled) {
					s.Log.Debug("websocket write", "err", err)
				}
				return
			}
		}
	}
}

func (s *Server) writeJSON(ctx context.Context, conn *websocket.Conn, v any) {
	b, _ := json.Marshal(v)
	wctx, c := context.WithTimeout(ctx, writeTimeout)
	defer c()
	_ = conn.Write(wctx, websocket.MessageText, b)
}

const actionUsage = `want {"action": "subscribe"|"unsubscribe", "sessions": [...], "events": [...]}`

// applyAction validates a client's subscribe or unsubscribe frame and applies it.
// A session key's action is bounded by its sessions (allowed).
func applyAction(sub *Sub, allowed []string, frame []byte) error {
	var a action
	dec := json.NewDecoder(bytes.NewReader(frame))
	dec.DisallowUnknownFields()
	if dec.Decode(&a) != nil || (a.Action != "subscribe" && a.Action != "unsubscribe") {
		return errors.New(actionUsage)
	}
	if len(a.Sessions) > MaxActionSessions {
		return fmt.Errorf("sessions: at most %d in one action", MaxActionSessions)
	}
	if len(a.Events) > MaxActionEvents {
		return fmt.Errorf("events: at most %d in one action", MaxActionEvents)
	}
	for _, id := range a.Sessions {
		if id != "*" && !ident.ValidSession(id) {
			return fmt.Errorf("sessions: %q is not a session id (1 to 64 letters, digits, _ or -)", truncate(id))
		}
	}
	for _, name := range a.Events {
		if name != "*" && !catalog.Events.Valid(name) {
			return fmt.Errorf("events: unknown event %q; want * or one of %s", truncate(name), strings.Join(catalog.Events.Names(), ", "))
		}
	}
	sessions := a.Sessions
	if allowed != nil && !slices.Contains(sessions, "*") {
		// Sessions the key may not use change nothing: it never sees them.
		sessions = slices.DeleteFunc(slices.Clone(sessions), func(id string) bool { return !slices.Contains(allowed, id) })
	}
	return sub.Change(a.Action == "subscribe", sessions, a.Events)
}

// truncate keeps a client's string short enough to quote back.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
