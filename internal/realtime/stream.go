package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/event/catalog"
	"github.com/openwa/openwa/internal/store"
)

// Intervals of keep-alives.
const (
	pingEvery      = 25 * time.Second
	heartbeatEvery = 15 * time.Second
	writeTimeout   = 10 * time.Second
)

// Server serves the two real-time transports.
type Server struct {
	Hub            *Hub
	Store          *store.Store
	Log            *slog.Logger
	OriginPatterns []string // CORS_ORIGINS, for browsers' WebSocket Origin check
	AllSessions    func(ctx context.Context) []string
}

// Request is a validated subscription: what the key may see and what the client asks for.
type Request struct {
	Allowed  []string // nil: every session
	Sessions []string // nil: every allowed session
	Events   []string // nil: every event
	After    int64    // replay the events after this seq; -1: live only
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
	sub := s.Hub.Subscribe(req.Allowed, req.Sessions, req.Events)
	defer s.Hub.Unsubscribe(sub)
	ctx := r.Context()
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
	conn.SetReadLimit(64 << 10)
	sub := s.Hub.Subscribe(req.Allowed, req.Sessions, req.Events)
	defer s.Hub.Unsubscribe(sub)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	// The reader takes subscribe/unsubscribe actions and notices the client going.
	go func() {
		defer cancel()
		for {
			var a action
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if json.Unmarshal(b, &a) != nil || (a.Action != "subscribe" && a.Action != "unsubscribe") {
				s.writeJSON(ctx, conn, map[string]string{"error": `want {"action": "subscribe"|"unsubscribe", "sessions": [...], "events": [...]}`})
				continue
			}
			sessions := a.Sessions
			if req.Allowed != nil {
				sessions = slicesIntersect(sessions, req.Allowed)
			}
			all := req.Allowed
			if all == nil && s.AllSessions != nil {
				all = s.AllSessions(ctx)
			}
			sub.Change(a.Action == "subscribe", sessions, a.Events, all, catalog.Events.Names())
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

func slicesIntersect(a, allowed []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range allowed {
			if x == y {
				out = append(out, x)
			}
		}
	}
	return out
}
