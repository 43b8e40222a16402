package httpapi

import (
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openwa/openwa/internal/auth"
	"github.com/openwa/openwa/internal/message"
	"github.com/openwa/openwa/internal/session"
	"github.com/openwa/openwa/internal/webhook"
)

// The status and role types take their schema from their constants: a
// constant added to the list of its package (session.Statuses, …) is in the
// document and accepted by validation, with no struct tag to update. Each
// type below stands in for one enum type in the schema registry; the services
// keep their types free of the HTTP layer.
type (
	sessionStatusSchema  string
	messageStatusSchema  string
	deliveryStatusSchema string
	roleSchema           string
)

func (sessionStatusSchema) Schema(huma.Registry) *huma.Schema { return enumSchema(session.Statuses) }
func (messageStatusSchema) Schema(huma.Registry) *huma.Schema { return enumSchema(message.Statuses) }
func (deliveryStatusSchema) Schema(huma.Registry) *huma.Schema {
	return enumSchema(webhook.DeliveryStatuses)
}
func (roleSchema) Schema(huma.Registry) *huma.Schema { return enumSchema(auth.Roles) }

// registerEnums makes r describe each enum type by its constants.
func registerEnums(r huma.Registry) {
	r.RegisterTypeAlias(reflect.TypeFor[session.Status](), reflect.TypeFor[sessionStatusSchema]())
	r.RegisterTypeAlias(reflect.TypeFor[message.Status](), reflect.TypeFor[messageStatusSchema]())
	r.RegisterTypeAlias(reflect.TypeFor[webhook.DeliveryStatus](), reflect.TypeFor[deliveryStatusSchema]())
	r.RegisterTypeAlias(reflect.TypeFor[auth.Role](), reflect.TypeFor[roleSchema]())
}

// enumSchema is a string schema that allows values only.
func enumSchema[T ~string](values []T) *huma.Schema {
	enum := make([]any, len(values))
	for i, v := range values {
		enum[i] = string(v)
	}
	return &huma.Schema{Type: huma.TypeString, Enum: enum}
}
