package registry_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/openwa/openwa/internal/engine/registry"
	"github.com/openwa/openwa/internal/session"
)

// An engine's settings are the section of a session's config named after it,
// of the type the registry gives; no section is left without an engine.
func TestSettingsAreConfigSections(t *testing.T) {
	sections := map[string]reflect.Type{}
	for f := range reflect.TypeFor[session.Config]().Fields() {
		sections[strings.Split(f.Tag.Get("json"), ",")[0]] = f.Type
	}
	names := map[string]bool{}
	for _, e := range registry.All() {
		names[e.Name] = true
		got, ok := sections[e.Name]
		switch {
		case e.Settings == nil && ok:
			t.Errorf("config.%s exists, but the %s engine has no settings", e.Name, e.Name)
		case e.Settings != nil && got != reflect.PointerTo(e.Settings):
			t.Errorf("config.%s is %v, want *%v", e.Name, got, e.Settings)
		}
		if f, ok := registry.Factories(registry.Deps{})[e.Name]; !ok || f == nil {
			t.Errorf("engine %s has no factory", e.Name)
		}
	}
	if len(names) != len(registry.Names()) {
		t.Fatalf("names %v are not unique", registry.Names())
	}
}
