package session

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/openwa/openwa/internal/engine"
)

// engineEventTypes reads package engine's source and lists the types with an
// isEvent method: every engine.Event type there is.
func engineEventTypes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "engine", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "isEvent" || fn.Recv == nil || len(fn.Recv.List) != 1 {
				continue
			}
			typ := fn.Recv.List[0].Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if id, ok := typ.(*ast.Ident); ok {
				out = append(out, id.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Every engine.Event type has a consumer in the dispatch table: adding one to
// package engine without a handler fails here.
func TestEveryEngineEventIsDispatched(t *testing.T) {
	want := engineEventTypes(t)
	if len(want) < 12 {
		t.Fatalf("found only %d engine event types in package engine: %v", len(want), want)
	}
	if got := dispatchedTypes(); !slices.Equal(got, want) {
		t.Fatalf("engine event types and the dispatch table differ:\n package engine: %v\n dispatch:       %v", want, got)
	}
}

// novel is an engine event type the dispatch table does not know, as one
// added to package engine without a handler would be.
type novel struct{ engine.Ack }

// refuser is an Observer with no case for revokes.
type refuser struct{ recorder }

func (r *refuser) EngineEvent(ctx context.Context, id string, ev engine.Event) error {
	if _, ok := ev.(engine.Revoked); ok {
		return errors.Join(errors.New("message service"), ErrUnhandledEvent)
	}
	return r.recorder.EngineEvent(ctx, id, ev)
}

// An engine event without a consumer, or one its consumer has no case for,
// is counted by type (and logged), not dropped in silence; the queue goes on.
func TestUnhandledEngineEventsAreCounted(t *testing.T) {
	obs := &refuser{}
	m, opts := newTestManager(t, obs)
	ctx := context.Background()
	for _, ev := range []engine.Event{novel{}, engine.Revoked{WAMessageID: "X"}, novel{}} {
		if err := opts.Deliver(ctx, ev); err != nil {
			t.Fatalf("Deliver(%T): %v", ev, err)
		}
	}
	if err := opts.Deliver(ctx, engine.MessageReceived{Message: &engine.Message{WAMessageID: "A"}}); err != nil {
		t.Fatal(err)
	}
	if got := obs.stored(); !slices.Equal(got, []string{"A"}) {
		t.Fatalf("stored %v after the unhandled events, want [A]", got)
	}
	got := m.UnhandledEvents()
	if got["session.novel"] != 2 || got["engine.Revoked"] != 1 || len(got) != 2 {
		t.Fatalf("unhandled = %v, want session.novel: 2, engine.Revoked: 1", got)
	}
}
