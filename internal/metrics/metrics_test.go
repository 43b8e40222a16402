package metrics

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// Engine events no consumer applied are exposed as a counter by type.
func TestUnhandledEngineEventsCounter(t *testing.T) {
	m := New(Sources{MessagesByStatus: func(context.Context) (map[string]int, error) { return nil, nil },
		UnhandledEngineEvents: func() map[string]int { return map[string]int{"engine.Novel": 3} }})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if want := `openwa_engine_events_unhandled_total{type="engine.Novel"} 3`; !strings.Contains(string(body), want) {
		t.Fatalf("metrics lack %q:\n%s", want, body)
	}
}
