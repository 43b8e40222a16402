package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openwa/openwa/internal/canary"
)

// openwa canary takes its flags and, for the URL and key, the environment;
// a session that is not paired fails the run with a non-zero exit (an error).
func TestCanaryCommand(t *testing.T) {
	t.Parallel()
	const key = "owa_canarykey"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != key {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"success":false,"error":{"code":"UNAUTHORIZED","message":"no key"}}`)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/api/sessions/")
		fmt.Fprintf(w, `{"success":true,"data":{"id":%q,"status":"QR_READY","engine":"whatsmeow"}}`, id)
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{"OPENWA_URL": srv.URL, "OPENWA_API_KEY": key}

	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"canary", "--session-a", "a", "--session-b", "b", "--timeout", "1s"},
		func(k string) string { return env[k] }, &out, &errOut)
	if !errors.Is(err, canary.ErrFailed) {
		t.Fatalf("err %v\n%s%s", err, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.HasPrefix(lines[0], "session A") || !strings.Contains(lines[0], " FAIL ") ||
		!strings.Contains(lines[0], "session a is QR_READY, not READY") {
		t.Fatalf("first line %q", lines[0])
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "canary: 0 passed, ") || last != fmt.Sprintf("canary: 0 passed, %d failed", len(lines)-1) {
		t.Fatalf("summary %q", last)
	}

	for _, args := range [][]string{{"canary", "--session-a", "a"}, {"canary", "--url", srv.URL, "--session-a", "a", "--session-b", "a"}} {
		if err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard); err == nil ||
			errors.Is(err, canary.ErrFailed) {
			t.Fatalf("%v: err %v, want a usage error", args, err)
		}
	}
}
