package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPanicBecomesInternalError(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	h := s.outer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret token abc123 leaked")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/sessions", nil))
	if w.Code != 500 {
		t.Fatalf("status %d", w.Code)
	}
	var body struct {
		Success bool
		Error   struct{ Code, Message string }
		Meta    struct{ RequestID string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Success || body.Error.Code != "INTERNAL_ERROR" || strings.Contains(w.Body.String(), "abc123") ||
		body.Meta.RequestID == "" || body.Meta.RequestID != w.Header().Get("X-Request-Id") {
		t.Fatalf("response: %s", w.Body)
	}
	if !strings.Contains(logs.String(), "abc123") || !strings.Contains(logs.String(), body.Meta.RequestID) {
		t.Fatalf("the panic is not in the log with its request id: %s", logs.String())
	}
}
