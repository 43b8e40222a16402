package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/directory"
	"github.com/openwa/openwa/internal/stamp"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[apperr.Code]int{
	apperr.Validation:          http.StatusBadRequest,
	apperr.SessionNotReady:     http.StatusBadRequest,
	apperr.Unauthorized:        http.StatusUnauthorized,
	apperr.Forbidden:           http.StatusForbidden,
	apperr.NotFound:            http.StatusNotFound,
	apperr.SessionNotFound:     http.StatusNotFound,
	apperr.MessageNotFound:     http.StatusNotFound,
	apperr.WebhookNotFound:     http.StatusNotFound,
	apperr.ContactNotFound:     http.StatusNotFound,
	apperr.GroupNotFound:       http.StatusNotFound,
	apperr.MediaNotFound:       http.StatusNotFound,
	apperr.SessionExists:       http.StatusConflict,
	apperr.QRNotAvailable:      http.StatusConflict,
	apperr.IdempotencyConflict: http.StatusConflict,
	apperr.Conflict:            http.StatusConflict,
	apperr.LastAdminKey:        http.StatusConflict,
	apperr.PayloadTooLarge:     http.StatusRequestEntityTooLarge,
	apperr.UnsupportedMedia:    http.StatusUnsupportedMediaType,
	apperr.EngineNotSupported:  http.StatusUnprocessableEntity,
	apperr.RateLimited:         http.StatusTooManyRequests,
	apperr.SessionLimit:        http.StatusTooManyRequests,
	apperr.WebhookLimit:        http.StatusTooManyRequests,
	apperr.EngineError:         http.StatusBadGateway,
	apperr.ServiceUnavailable:  http.StatusServiceUnavailable,
	apperr.Internal:            http.StatusInternalServerError,
}

// ErrorBody is the error block of the error envelope.
type ErrorBody struct {
	Code    apperr.Code    `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// ErrorResponse is the error envelope of API.md. It satisfies huma's
// StatusError and HeadersError so that huma writes it as it is.
type ErrorResponse struct {
	Success bool      `json:"success"`
	Err     ErrorBody `json:"error"`
	Meta    Meta      `json:"meta"`

	status  int
	headers http.Header
}

func (e *ErrorResponse) Error() string           { return string(e.Err.Code) + ": " + e.Err.Message }
func (e *ErrorResponse) GetStatus() int          { return e.status }
func (e *ErrorResponse) GetHeaders() http.Header { return e.headers }

const internalMessage = "an internal error occurred; the request id identifies it in the server log"

// toResponse turns any error into the envelope. Errors that are not
// *apperr.Error are bugs: they become INTERNAL_ERROR with a fixed message, and
// the cause is kept on the request for the log.
func toResponse(info *reqInfo, err error) *ErrorResponse {
	ae, ok := apperr.As(err)
	if !ok || ae.Code == apperr.Internal || statusOf[ae.Code] >= 500 && ae.Err != nil {
		if info != nil && info.err == nil {
			info.err = err // the first cause is the one worth logging
		}
	}
	if !ok && apperr.Unavailable(err) {
		ae = &apperr.Error{Code: apperr.ServiceUnavailable,
			Message: "a backing service (database, cache or storage) is unavailable; retry later (with the same Idempotency-Key for sends)"}
	} else if !ok {
		ae = &apperr.Error{Code: apperr.Internal, Message: internalMessage}
	}
	status, ok := statusOf[ae.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	r := &ErrorResponse{Err: ErrorBody{Code: ae.Code, Message: ae.Message, Details: ae.Details}, status: status}
	if info != nil {
		r.Meta = Meta{Timestamp: stamp.Of(info.start), RequestID: info.id}
	}
	if ae.RetryAfter > 0 {
		secs := int((ae.RetryAfter + 999_999_999) / 1_000_000_000)
		r.headers = http.Header{"Retry-After": {strconv.Itoa(max(1, secs))}}
	}
	return r
}

// fromHuma maps the errors huma raises itself (parsing, validation, limits)
// and the errors handlers return into the envelope.
func fromHuma(info *reqInfo, status int, msg string, errs ...error) *ErrorResponse {
	for _, e := range errs {
		if _, ok := apperr.As(e); ok {
			return toResponse(info, e)
		}
	}
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		var fields []apperr.FieldError
		for _, e := range errs {
			var d *huma.ErrorDetail
			if errors.As(e, &d) {
				fields = append(fields, apperr.FieldError{Field: fieldName(d.Location), Message: d.Message})
			}
		}
		if len(fields) == 0 {
			fields = append(fields, apperr.FieldError{Field: "body", Message: msg})
		}
		return toResponse(info, apperr.Invalid(fields...))
	case http.StatusRequestEntityTooLarge:
		return toResponse(info, apperr.New(apperr.PayloadTooLarge, "the request body is too large"))
	case http.StatusRequestTimeout:
		return timeoutResponse(info)
	case http.StatusUnsupportedMediaType:
		return toResponse(info, apperr.New(apperr.UnsupportedMedia, "unsupported Content-Type: send the body as JSON with Content-Type: application/json"))
	case http.StatusNotFound:
		return toResponse(info, apperr.New(apperr.NotFound, "%s", msg))
	case http.StatusUnauthorized:
		return toResponse(info, apperr.New(apperr.Unauthorized, "%s", msg))
	case http.StatusForbidden:
		return toResponse(info, apperr.New(apperr.Forbidden, "%s", msg))
	}
	if status >= 400 && status < 500 {
		r := toResponse(info, apperr.New(apperr.Validation, "%s", msg))
		r.status = status
		return r
	}
	var cause error = errors.New(msg)
	if len(errs) > 0 {
		cause = errors.Join(errs...)
	}
	return toResponse(info, cause)
}

// fieldName turns huma's locations ("body.config.mock.pairDelayMs",
// "query.limit", "path.id") into the field names clients send.
func fieldName(loc string) string {
	for _, p := range []string{"body.", "query.", "path.", "header."} {
		if strings.HasPrefix(loc, p) {
			return strings.TrimPrefix(loc, p)
		}
	}
	return loc
}

var hookOnce sync.Once

// installErrorHook points huma's error constructors at the envelope. huma
// keeps them in package variables; they are set once and never changed.
func installErrorHook() {
	hookOnce.Do(func() {
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			return fromHuma(nil, status, msg, errs...)
		}
		huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			resp := fromHuma(infoOf(ctx.Context()), status, msg, errs...)
			// huma takes headers only from the handler's own error; ours (Retry-After) are set here.
			for k, vs := range resp.headers {
				for _, v := range vs {
					ctx.SetHeader(k, v)
				}
			}
			return resp
		}
	})
}

// timeoutResponse answers a body that did not arrive within its deadline:
// 408 with VALIDATION_ERROR on body.
func timeoutResponse(info *reqInfo) *ErrorResponse {
	r := toResponse(info, bodyTimeoutError())
	r.status = http.StatusRequestTimeout
	return r
}

// writeError writes err as the error envelope, outside huma (middleware).
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	writeResponse(w, toResponse(infoOf(r.Context()), err))
}

func writeResponse(w http.ResponseWriter, resp *ErrorResponse) {
	for k, v := range resp.headers {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.status)
	_ = json.NewEncoder(w).Encode(resp)
}

// engineError translates engine failures into API errors.
func engineError(err error) error { return directory.EngineError(err) }
