package session

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/openwa/openwa/internal/engine"
)

// consumer is who applies an engine event.
type consumer int

const (
	// toStatus: the manager itself, as a status change of the session.
	toStatus consumer = iota + 1
	// toObserver: the Observer (the message service): messages, acks,
	// revokes and group changes, stored even from a stopped runtime.
	toObserver
)

// dispatch is the one table of engine event types and their consumers. An
// engine event type missing here is logged and counted as unhandled
// (openwa_engine_events_unhandled_total), never dropped in silence;
// TestEveryEngineEventIsDispatched fails when a type of package engine is
// not listed.
var dispatch = map[reflect.Type]consumer{
	reflect.TypeFor[engine.Connecting]():      toStatus,
	reflect.TypeFor[engine.QR]():              toStatus,
	reflect.TypeFor[engine.Paired]():          toStatus,
	reflect.TypeFor[engine.Ready]():           toStatus,
	reflect.TypeFor[engine.Disconnected]():    toStatus,
	reflect.TypeFor[engine.LoggedOut]():       toStatus,
	reflect.TypeFor[engine.Failed]():          toStatus,
	reflect.TypeFor[engine.MessageReceived](): toObserver,
	reflect.TypeFor[engine.Undecryptable]():   toObserver,
	reflect.TypeFor[engine.Ack]():             toObserver,
	reflect.TypeFor[engine.Revoked]():         toObserver,
	reflect.TypeFor[engine.GroupUpdated]():    toObserver,
}

// ErrUnhandledEvent is what a consumer returns for an engine event type it
// has no case for; the manager logs and counts it like a type without a
// consumer.
var ErrUnhandledEvent = errors.New("unhandled engine event")

// unhandled counts the engine events no consumer applied, by type.
type unhandled struct {
	mu     sync.Mutex
	byType map[string]int
}

func (u *unhandled) add(typ string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byType == nil {
		u.byType = map[string]int{}
	}
	u.byType[typ]++
}

// UnhandledEvents counts, by Go type, the engine events that reached no
// consumer since start.
func (m *Manager) UnhandledEvents() map[string]int {
	m.unhandled.mu.Lock()
	defer m.unhandled.mu.Unlock()
	out := make(map[string]int, len(m.unhandled.byType))
	for k, v := range m.unhandled.byType {
		out[k] = v
	}
	return out
}

// eventType names ev's type for logs and metrics: "engine.Ack".
func eventType(ev engine.Event) string { return fmt.Sprintf("%T", ev) }

// reportUnhandled logs and counts an engine event no consumer applied.
func (m *Manager) reportUnhandled(id string, ev engine.Event) {
	typ := eventType(ev)
	m.unhandled.add(typ)
	m.log.Error("engine event has no consumer", "session_id", id, "event", typ)
}

// dispatchEvent hands ev to its consumer.
func (m *Manager) dispatchEvent(ctx context.Context, id string, rt *runtime, ev engine.Event) error {
	switch dispatch[reflect.TypeOf(ev)] {
	case toObserver:
		if m.opts.Observer == nil {
			return nil
		}
		err := m.opts.Observer.EngineEvent(ctx, id, ev)
		if errors.Is(err, ErrUnhandledEvent) {
			m.reportUnhandled(id, ev)
			return nil
		}
		return err
	case toStatus:
		return m.applyStatus(ctx, id, rt, ev)
	default:
		m.reportUnhandled(id, ev)
		return nil
	}
}

// dispatchedTypes lists the names of the dispatched types, sorted (for tests).
func dispatchedTypes() []string {
	var out []string
	for t := range dispatch {
		out = append(out, t.Name())
	}
	sort.Strings(out)
	return out
}
