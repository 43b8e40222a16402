// Package registry lists the engines OpenWA can run: each by its name (what
// ENGINE_TYPE and a session's `engine` say), the factory that builds it, and
// the type of its settings. Adding an engine is one entry here; the list of
// valid names (configuration, the OpenAPI schema) comes from it.
package registry

import (
	"reflect"

	"go.mau.fi/whatsmeow/store/sqlstore"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/mock"
	"github.com/openwa/openwa/internal/engine/whatsmeow"
)

// Deps are what the factories need from the running app.
type Deps struct {
	// Devices is whatsmeow's device store, in OpenWA's database.
	Devices *sqlstore.Container
	// Whatsmeow is the whatsmeow engine's configuration.
	Whatsmeow whatsmeow.Config
}

// Engine is one engine OpenWA can run.
type Engine struct {
	Name string
	// Settings is the type of the engine's section of a session's config
	// (config.<Name>), nil when it has none. The engine receives that
	// section as engine.Options.Settings.
	Settings reflect.Type
	// MockControls: the engine offers the mock controls (engine.Mock).
	MockControls bool
	// Factory builds the engine's factory from the app's dependencies.
	Factory func(Deps) engine.Factory
}

// engines, in the order the schema lists them.
var engines = []Engine{
	{Name: "whatsmeow", Factory: func(d Deps) engine.Factory { return whatsmeow.Factory(d.Devices, d.Whatsmeow) }},
	{Name: "mock", Settings: reflect.TypeFor[engine.MockConfig](), MockControls: true,
		Factory: func(Deps) engine.Factory { return mock.New }},
}

// All returns every engine, in the order the schema lists them.
func All() []Engine { return append([]Engine(nil), engines...) }

// Names lists the engines' names.
func Names() []string {
	out := make([]string, len(engines))
	for i, e := range engines {
		out[i] = e.Name
	}
	return out
}

// Lookup finds an engine by name.
func Lookup(name string) (Engine, bool) {
	for _, e := range engines {
		if e.Name == name {
			return e, true
		}
	}
	return Engine{}, false
}

// Factories builds every engine's factory, by name.
func Factories(d Deps) map[string]engine.Factory {
	out := make(map[string]engine.Factory, len(engines))
	for _, e := range engines {
		out[e.Name] = e.Factory(d)
	}
	return out
}
