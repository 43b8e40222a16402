package httpapi

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/session"
)

// AdapterState values of an adapter's lifecycle, as /health reports them.
const (
	StateReady    = "ready"
	StateDegraded = "degraded"
	StateFailed   = "failed"
)

// Component is the health of one adapter.
type Component struct {
	State     string  `json:"state" enum:"uninitialized,initializing,ready,active,degraded,failed,disconnecting,disconnected"`
	LatencyMs float64 `json:"latencyMs"`
	Error     *string `json:"error"`
}

// Health is the body of GET /health.
type Health struct {
	Status        string               `json:"status" enum:"ok,degraded,down"`
	Version       string               `json:"version"`
	UptimeSeconds int64                `json:"uptimeSeconds"`
	Components    map[string]Component `json:"components"`
	Sessions      SessionCounts        `json:"sessions"`
}

// SessionCounts counts sessions.
type SessionCounts struct {
	Total    int            `json:"total"`
	ByStatus map[string]int `json:"byStatus"`
}

// Probe is the body of the liveness and readiness probes.
type Probe struct {
	Status string `json:"status"`
}

func (s *Server) healthRoutes() {
	tag := "Health"
	// /health answers 503 with its own body when a component is down.
	healthOp := op(scopePublic, "health", http.MethodGet, "/health", "Health of the server and each adapter", tag)
	healthOp.Responses = map[string]*huma.Response{"503": {Description: "A component is down; the body says which.",
		Content: map[string]*huma.MediaType{"application/json": {
			Schema: s.api.OpenAPI().Components.Schemas.Schema(reflectType[Envelope[Health]](), true, "")}}}}
	huma.Register(s.api, healthOp, s.getHealth)
	huma.Register(s.api, op(scopePublic, "health-live", http.MethodGet, "/health/live", "Liveness: the process is up", tag), s.healthLive)
	huma.Register(s.api, withErrors(op(scopePublic, "health-ready", http.MethodGet, "/health/ready", "Readiness: database reachable and migrated", tag),
		http.StatusServiceUnavailable), s.healthReady)
}

func (s *Server) getHealth(ctx context.Context, _ *struct{}) (*Out[Health], error) {
	h := s.health(ctx)
	status := http.StatusOK
	if h.Status == "down" {
		status = http.StatusServiceUnavailable
	}
	return reply(ctx, status, h), nil
}

func (s *Server) healthLive(ctx context.Context, _ *struct{}) (*Out[Probe], error) {
	return reply(ctx, http.StatusOK, Probe{Status: "ok"}), nil
}

func (s *Server) healthReady(ctx context.Context, _ *struct{}) (*Out[Probe], error) {
	ctx2, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.opts.Ready(ctx2); err != nil {
		return nil, apperr.New(apperr.ServiceUnavailable, "not ready: %v", err)
	}
	return reply(ctx, http.StatusOK, Probe{Status: "ready"}), nil
}

func (s *Server) health(ctx context.Context) Health {
	h := Health{Status: "ok", Version: s.opts.Version, UptimeSeconds: int64(time.Since(s.started).Seconds()),
		Components: map[string]Component{}}
	names := make([]string, 0, len(s.opts.Health))
	for n := range s.opts.Health {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		c := check(ctx, s.opts.Health[name])
		c.State = s.track(name, c.Error == nil)
		h.Components[name] = c
		if c.State != StateReady {
			if name == "database" {
				h.Status = "down"
			} else if h.Status == "ok" {
				h.Status = "degraded"
			}
		}
	}
	h.Sessions.ByStatus = map[string]int{}
	for _, st := range session.Statuses {
		h.Sessions.ByStatus[string(st)] = 0
	}
	if h.Status != "down" {
		if counts, err := s.opts.Sessions.Counts(ctx); err == nil {
			for st, n := range counts {
				h.Sessions.ByStatus[st] = n
				h.Sessions.Total += n
			}
		}
	}
	return h
}

// failedAfter is how many failed checks in a row turn degraded into failed.
const failedAfter = 5

// track keeps each component's state across checks (the adapter
// lifecycle): ready while it answers, degraded when it stops, failed when it
// keeps failing, and ready again as soon as it answers: no restart needed.
func (s *Server) track(name string, ok bool) string {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	if ok {
		if s.failures[name] > 0 {
			s.log.Info("adapter recovered", "component", name, "after_failed_checks", s.failures[name])
		}
		s.failures[name] = 0
		return StateReady
	}
	s.failures[name]++
	if s.failures[name] == 1 {
		s.log.Warn("adapter degraded", "component", name)
	}
	if s.failures[name] >= failedAfter {
		return StateFailed
	}
	return StateDegraded
}

func check(ctx context.Context, fn Checker) Component {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	err := fn(ctx)
	c := Component{State: StateReady, LatencyMs: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		msg := err.Error()
		c.State, c.Error = StateDegraded, &msg
	}
	return c
}
