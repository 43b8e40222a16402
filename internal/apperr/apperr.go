// Package apperr holds the error codes of OpenWA's public contract (API.md).
// It knows nothing of HTTP: the API layer maps each Code to a status in one table.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code of the public contract.
type Code string

// The codes of API.md, "Error codes".
const (
	Validation          Code = "VALIDATION_ERROR"
	SessionNotReady     Code = "SESSION_NOT_READY"
	Unauthorized        Code = "UNAUTHORIZED"
	Forbidden           Code = "FORBIDDEN"
	NotFound            Code = "NOT_FOUND"
	SessionNotFound     Code = "SESSION_NOT_FOUND"
	MessageNotFound     Code = "MESSAGE_NOT_FOUND"
	WebhookNotFound     Code = "WEBHOOK_NOT_FOUND"
	ContactNotFound     Code = "CONTACT_NOT_FOUND"
	GroupNotFound       Code = "GROUP_NOT_FOUND"
	MediaNotFound       Code = "MEDIA_NOT_FOUND"
	SessionExists       Code = "SESSION_ALREADY_EXISTS"
	QRNotAvailable      Code = "QR_NOT_AVAILABLE"
	IdempotencyConflict Code = "IDEMPOTENCY_CONFLICT"
	Conflict            Code = "CONFLICT"
	LastAdminKey        Code = "LAST_ADMIN_KEY"
	PayloadTooLarge     Code = "PAYLOAD_TOO_LARGE"
	UnsupportedMedia    Code = "UNSUPPORTED_MEDIA_TYPE"
	EngineNotSupported  Code = "ENGINE_NOT_SUPPORTED"
	RateLimited         Code = "RATE_LIMITED"
	SessionLimit        Code = "SESSION_LIMIT_REACHED"
	WebhookLimit        Code = "WEBHOOK_LIMIT_REACHED"
	EngineError         Code = "ENGINE_ERROR"
	ServiceUnavailable  Code = "SERVICE_UNAVAILABLE"
	Internal            Code = "INTERNAL_ERROR"
)

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error a user can cause or needs to know about. Message is safe
// to show to clients; Err (if any) is the underlying cause, for logs only.
type Error struct {
	Code       Code
	Message    string
	Details    map[string]any
	RetryAfter time.Duration // for RATE_LIMITED and SESSION_LIMIT_REACHED; zero when not applicable
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with a formatted client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// With adds a detail and returns e.
func (e *Error) With(key string, value any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = value
	return e
}

// Wrap records the underlying cause, kept out of client responses.
func (e *Error) Wrap(err error) *Error {
	e.Err = err
	return e
}

// Invalid is a VALIDATION_ERROR naming the offending fields.
func Invalid(fields ...FieldError) *Error {
	msg := "invalid input"
	if len(fields) == 1 {
		msg = fmt.Sprintf("%s: %s", fields[0].Field, fields[0].Message)
	}
	return &Error{Code: Validation, Message: msg, Details: map[string]any{"fields": fields}}
}

// Field is a shorthand for a single-field VALIDATION_ERROR.
func Field(field, message string) *Error {
	return Invalid(FieldError{Field: field, Message: message})
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool {
	e, ok := As(err)
	return ok && e.Code == code
}
