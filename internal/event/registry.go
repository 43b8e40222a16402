package event

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/openwa/openwa/internal/apperr"
)

// Spec is a public event: its name, what it tells, and the Go type of its
// data (the payload of the event object).
type Spec struct {
	Name    string
	Summary string
	Payload reflect.Type
}

// Define declares the event name whose data is a T.
func Define[T any](name, summary string) Spec {
	return Spec{Name: name, Summary: summary, Payload: reflect.TypeFor[T]()}
}

// Registry is the set of public events, each registered once. It gives the
// valid names (webhook and stream filters), their validation, and the
// payload types of the OpenAPI document's webhooks section.
type Registry struct {
	specs []Spec
	names []string
}

// NewRegistry registers specs, in order. A name given twice, or without a
// payload type, is a programming error: it panics at start-up.
func NewRegistry(specs ...Spec) *Registry {
	r := &Registry{}
	for _, s := range specs {
		if s.Name == "" || s.Payload == nil || slices.Contains(r.names, s.Name) {
			panic(fmt.Sprintf("event: bad or duplicate registration %q", s.Name))
		}
		r.specs = append(r.specs, s)
		r.names = append(r.names, s.Name)
	}
	return r
}

// Names lists every registered name, in registration order.
func (r *Registry) Names() []string { return slices.Clone(r.names) }

// Specs lists every registered event, in registration order.
func (r *Registry) Specs() []Spec { return slices.Clone(r.specs) }

// Valid tells whether name is a registered event name.
func (r *Registry) Valid(name string) bool { return slices.Contains(r.names, name) }

// Check refuses, as a validation error of field, a name that is not
// registered; with wildcard, "*" (every event) is accepted too.
func (r *Registry) Check(field string, names []string, wildcard bool) error {
	for _, n := range names {
		if r.Valid(n) || (wildcard && n == "*") {
			continue
		}
		want := "one of "
		if wildcard {
			want = "* or one of "
		}
		return apperr.Field(field, fmt.Sprintf("unknown event %q; want %s%s", n, want, strings.Join(r.names, ", ")))
	}
	return nil
}
