package httpapi_test

import (
	"testing"

	"github.com/openwa/openwa/internal/engine/registry"
)

// The engines a session may name are the registry's: each registered name is
// accepted, any other is a VALIDATION_ERROR naming the field.
func TestSessionEngineComesFromRegistry(t *testing.T) {
	e := newEnv(t, nil)
	for _, name := range registry.Names() {
		r := e.do("POST", "/api/sessions", map[string]any{"id": "s-" + name, "engine": name,
			"config": map[string]any{"autoStart": false}})
		e.expect(r, 201, "")
		if got := r.data()["engine"]; got != name {
			t.Fatalf("engine %v, want %s", got, name)
		}
	}
	r := e.do("POST", "/api/sessions", map[string]any{"id": "other", "engine": "selenium"})
	e.expect(r, 400, "VALIDATION_ERROR")
	fields, _ := r.errDetails()["fields"].([]any)
	if len(fields) != 1 || fields[0].(map[string]any)["field"] != "engine" {
		t.Fatalf("details %v do not name the engine field", r.errDetails())
	}
}
