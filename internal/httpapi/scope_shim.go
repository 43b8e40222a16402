package httpapi

import "github.com/danielgtaylor/huma/v2"

// Temporary: the declared scopes of issue 11 until declarative authorization
// lands; op2 registers as op does and ignores the scope.
type scope int

const (
	scopePublic scope = iota
	scopeAdmin
	scopeSession
)

func op2(_ scope, id, method, path, summary string, tags ...string) huma.Operation {
	return op(id, method, path, summary, tags...)
}
