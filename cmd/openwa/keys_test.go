package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// keysCreate runs `openwa keys create args…` in dir and returns its stdout, stderr and error.
func keysCreate(t *testing.T, bin, dir string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"keys", "create"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LOG_LEVEL=error")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// TestKeysCreateRecoversFromLockOut drives the real binary through a lock-out:
// the only admin key expires, API_KEY no longer helps, and `openwa keys create`
// on the stopped server's data folder makes a key that administers again.
func TestKeysCreateRecoversFromLockOut(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	first := "lockout-test-admin-key-0123"
	p := start(t, bin, dir, "API_KEY="+first)
	expires := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	st, d := p.call(t, first, "POST", "/api/keys", map[string]any{"name": "soon", "role": "admin", "expiresAt": expires})
	if st != 201 {
		t.Fatalf("create: %d", st)
	}
	short := d["key"].(string)
	var firstID string
	for _, k := range listKeys(t, p, first) {
		if k["name"] == "admin" {
			firstID = k["id"].(string)
		}
	}
	if st, _ := p.call(t, short, "DELETE", "/api/keys/"+firstID, nil); st != 200 {
		t.Fatalf("delete the first admin key while another is active: %d", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := p.call(t, short, "GET", "/api/keys", nil)
		if st == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the short-lived admin key never expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()

	// Locked out: API_KEY seeds only an empty key table.
	p = start(t, bin, dir, "API_KEY="+first)
	if st, _ := p.call(t, first, "GET", "/api/keys", nil); st != 401 {
		t.Fatalf("API_KEY after the lock-out: %d, want 401", st)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()

	out, errOut, err := keysCreate(t, bin, dir, "--role", "admin", "--name", "rescue")
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, errOut)
	}
	key := strings.TrimSpace(out)
	if !strings.HasPrefix(key, "owa_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout should be the key alone, got %q", out)
	}
	p = start(t, bin, dir)
	if st, _ := p.call(t, key, "GET", "/api/keys", nil); st != 200 {
		t.Fatalf("the new key: %d, want 200", st)
	}
	// A session key with an expiry, for completeness.
	out, errOut, err = keysCreate(t, bin, dir, "--role", "session", "--name", "s", "--sessions", "a,b",
		"--expires", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if err != nil {
		t.Fatalf("keys create session: %v\n%s", err, errOut)
	}
	if st, _ := p.call(t, strings.TrimSpace(out), "GET", "/api/sessions", nil); st != 200 {
		t.Fatalf("the session key: %d", st)
	}
}

func listKeys(t *testing.T, p *proc, key string) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", p.base+"/api/keys", nil)
	req.Header.Set("X-API-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct{ Data []map[string]any }
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Data
}

func TestKeysCreateRefusesBadFlags(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no role", []string{"--name", "x"}, "--role"},
		{"unknown role", []string{"--role", "root", "--name", "x"}, "--role \"root\": want admin or session"},
		{"no name", []string{"--role", "admin"}, "--name: required"},
		{"bad expiry", []string{"--role", "admin", "--name", "x", "--expires", "tomorrow"}, "--expires \"tomorrow\": want an RFC 3339 time"},
		{"past expiry", []string{"--role", "admin", "--name", "x", "--expires", "2001-01-01T00:00:00Z"}, "--expires: must be in the future"},
		{"admin with sessions", []string{"--role", "admin", "--name", "x", "--sessions", "a"}, "--sessions: an admin key sees every session"},
		{"session key without sessions", []string{"--role", "session", "--name", "x"}, "--sessions: a session key needs"},
		{"bad session id", []string{"--role", "session", "--name", "x", "--sessions", "a b"}, "--sessions: \"a b\" is not a session id"},
		{"unknown flag", []string{"--role", "admin", "--name", "x", "--colour", "red"}, "flag provided but not defined: -colour"},
		{"extra argument", []string{"--role", "admin", "--name", "x", "now"}, "unexpected argument \"now\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := keysCreate(t, bin, dir, tc.args...)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("exit: %v, want non-zero", err)
			}
			if out != "" {
				t.Fatalf("printed %q on a refusal", out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Fatalf("stderr %q, want it to say %q", errOut, tc.want)
			}
		})
	}
	_, errOut, err := keysCreate(t, bin, dir)
	if err == nil || !strings.Contains(errOut, "--role") {
		t.Fatalf("no flags: %v %q", err, errOut)
	}
	cmd := exec.Command(bin, "keys", "list")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "keys create") {
		t.Fatalf("keys list: %v %q", err, b)
	}
}
