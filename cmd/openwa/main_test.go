package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/store/storetest"
)

// binary builds the real openwa once per test run.
func binary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "openwa")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd    *exec.Cmd
	base   string
	stdout *syncBuffer
	logs   *syncBuffer
}

// syncBuffer is written by the process's output copier and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs the binary in dir with env and waits until it is ready.
func start(t *testing.T, bin, dir string, env ...string) *proc {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port), "ENGINE_TYPE=mock"}, env...)...)
	p := &proc{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), stdout: &syncBuffer{}, logs: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.stdout, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(p.base + "/health/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server did not become ready; logs:\n%s", p.logs)
	return nil
}

func (p *proc) call(t *testing.T, key, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	d, _ := out["data"].(map[string]any)
	return res.StatusCode, d
}

func (p *proc) waitStatus(t *testing.T, key, id, status string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var d map[string]any
	for time.Now().Before(deadline) {
		_, d = p.call(t, key, "GET", "/api/sessions/"+id, nil)
		if d["status"] == status {
			return d
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("session %s never became %s (last %v); logs:\n%s", id, status, d, p.logs)
	return nil
}

// TestRestartRestoresSessions drives the real binary: a session paired by hand
// comes back READY after a graceful stop and after kill -9, with no new QR.
func TestRestartRestoresSessions(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()

	p := start(t, bin, dir)
	key := ""
	sc := bufio.NewScanner(strings.NewReader(p.stdout.String()))
	for sc.Scan() {
		if f := strings.TrimSpace(sc.Text()); strings.HasPrefix(f, "owa_") {
			key = f
		}
	}
	if key == "" {
		t.Fatalf("first start printed no admin key:\n%s", p.stdout)
	}
	if strings.Contains(p.logs.String(), key) {
		t.Fatal("the admin key is in the log")
	}
	if st, _ := p.call(t, key, "POST", "/api/sessions", map[string]any{"id": "keep", "engine": "mock",
		"config": map[string]any{"mock": map[string]any{"autoPair": false}}}); st != 201 {
		t.Fatalf("create: %d", st)
	}
	p.waitStatus(t, key, "keep", "QR_READY")
	if st, _ := p.call(t, key, "POST", "/api/sessions/keep/mock/pair", nil); st != 202 {
		t.Fatalf("pair: %d", st)
	}
	first := p.waitStatus(t, key, "keep", "READY")
	// A stopped session stays stopped across restarts.
	p.call(t, key, "POST", "/api/sessions", map[string]any{"id": "parked", "engine": "mock"})
	p.waitStatus(t, key, "parked", "READY")
	p.call(t, key, "POST", "/api/sessions/parked/stop", nil)

	parent := t // processes outlive each subtest
	for _, stop := range []struct {
		name string
		sig  syscall.Signal
	}{{"SIGTERM", syscall.SIGTERM}, {"SIGKILL", syscall.SIGKILL}} {
		t.Run(stop.name, func(t *testing.T) {
			if err := p.cmd.Process.Signal(stop.sig); err != nil {
				t.Fatal(err)
			}
			err := p.cmd.Wait()
			if stop.sig == syscall.SIGTERM && err != nil {
				t.Fatalf("graceful stop: %v\n%s", err, p.logs)
			}
			if stop.sig == syscall.SIGTERM && !strings.Contains(p.logs.String(), "stopped") {
				t.Fatalf("no clean shutdown in the log:\n%s", p.logs)
			}
			p = start(parent, bin, dir)
			if strings.Contains(p.stdout.String(), "owa_") {
				t.Fatal("a second admin key was printed")
			}
			again := p.waitStatus(t, key, "keep", "READY")
			if again["phone"] != first["phone"] {
				t.Fatalf("phone %v, want %v", again["phone"], first["phone"])
			}
			if strings.Contains(p.logs.String(), "to=QR_READY") {
				t.Fatalf("the restored session asked for a QR again:\n%s", p.logs)
			}
			_, parked := p.call(t, key, "GET", "/api/sessions/parked", nil)
			if parked["status"] != "DISCONNECTED" {
				t.Fatalf("stopped session after restart: %v", parked)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, io.Discard); err != nil ||
		!strings.HasPrefix(out.String(), "openwa ") {
		t.Fatalf("version: %q %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Fatal("unknown command accepted")
	}
	dir := t.TempDir()
	env := map[string]string{"DATABASE_SQLITE_PATH": filepath.Join(dir, "db", "openwa.db"), "LOG_LEVEL": "error"}
	if err := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if _, err := os.Stat(env["DATABASE_SQLITE_PATH"]); err != nil {
		t.Fatalf("migrate made no database: %v", err)
	}
	env["PORT"] = "99999"
	err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), "PORT=") {
		t.Fatalf("bad PORT: %v", err)
	}
}

// TestDotEnvAndTLS serves HTTPS with settings from ./.env, and stops on cancel.
func TestDotEnvAndTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	port := freePort(t)
	dotenv := fmt.Sprintf("PORT=%d\nHOST=127.0.0.1\nTLS_CERT_FILE=%s\nTLS_KEY_FILE=%s\nAPI_KEY=dotenv-admin-key-0123456789\n"+
		"DATABASE_SQLITE_PATH=%s\nSTORAGE_LOCAL_PATH=%s\nLOG_LEVEL=error\n", port, cert, key,
		filepath.Join(dir, "db.sqlite"), filepath.Join(dir, "media"))
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// The environment wins over .env: LOG_LEVEL comes from here.
	go func() {
		done <- run(ctx, nil, func(k string) string { return map[string]string{"LOG_LEVEL": "warn"}[k] }, io.Discard, io.Discard)
	}()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	url := fmt.Sprintf("https://127.0.0.1:%d/api/sessions", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-API-Key", "dotenv-admin-key-0123456789")
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode != 200 || res.TLS == nil {
				t.Fatalf("HTTPS with the .env key: %d", res.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS server: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no shutdown after cancel")
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(priv)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// TestCrashLosesNoMessage: accept N messages with ?async=true, kill -9 the
// server while its outbox is sending, start it again, and every message
// reaches `sent` exactly once, as the mock engine's durable ledger shows.
func TestCrashLosesNoMessage(t *testing.T) {
	const n = 60
	bin := binary(t)
	dir := t.TempDir()
	key := "crash-test-admin-key-0123"
	p := start(t, bin, dir, "API_KEY="+key)
	if st, _ := p.call(t, key, "POST", "/api/sessions", map[string]any{"id": "c", "engine": "mock",
		"config": map[string]any{"mock": map[string]any{"pairDelayMs": 10, "ackDelayMs": 5, "sendDelayMs": 30}}}); st != 201 {
		t.Fatalf("create: %d", st)
	}
	p.waitStatus(t, key, "c", "READY")
	ids := map[string]string{} // OpenWA id → text
	for i := range n {
		st, d := p.call(t, key, "POST", "/api/sessions/c/messages/send-text?async=true",
			map[string]any{"chatId": "6281234567890", "text": fmt.Sprint(i)})
		if st != 202 {
			t.Fatalf("accept %d: %d", i, st)
		}
		ids[d["id"].(string)] = fmt.Sprint(i)
	}
	_, before := p.call(t, key, "GET", "/api/sessions/c/mock/sent", nil)
	if k := len(before["messages"].([]any)); k >= n {
		t.Fatalf("all %d messages went out before the crash; the test proves nothing", k)
	} else {
		t.Logf("killed with %d of %d messages sent", k, n)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()

	p = start(t, bin, dir, "API_KEY="+key)
	p.waitStatus(t, key, "c", "READY")
	wa := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for id := range ids {
		for {
			_, m := p.call(t, key, "GET", "/api/sessions/c/messages/"+id, nil)
			if s := m["status"]; s == "sent" || s == "delivered" || s == "read" {
				wa[m["waMessageId"].(string)] = true
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("message %s never went out after the crash: %v", id, m)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	_, ledger := p.call(t, key, "GET", "/api/sessions/c/mock/sent", nil)
	delivered := ledger["messages"].([]any)
	if len(delivered) != n {
		t.Fatalf("the engine delivered %d messages, want %d", len(delivered), n)
	}
	for _, d := range delivered {
		if !wa[d.(map[string]any)["id"].(string)] {
			t.Fatalf("delivered %v, which no accepted message carries", d)
		}
	}
	t.Logf("%d messages, all sent once; %v resends of an id already delivered", n, ledger["duplicates"])
}

// TestMigrateData moves a running deployment from SQLite to PostgreSQL: the
// paired session comes back READY on PostgreSQL, with its messages, events,
// webhooks and keys, and new events continue the seq.
func TestMigrateData(t *testing.T) {
	pgURL := storetest.PostgresURL(t)
	bin := binary(t)
	dir := t.TempDir()
	key := "migrate-test-admin-key-0123"
	p := start(t, bin, dir, "API_KEY="+key)
	p.call(t, key, "POST", "/api/sessions", map[string]any{"id": "m", "engine": "mock",
		"config": map[string]any{"mock": map[string]any{"pairDelayMs": 10}}})
	first := p.waitStatus(t, key, "m", "READY")
	var sent []string
	for i := range 5 {
		st, d := p.call(t, key, "POST", "/api/sessions/m/messages/send-text", map[string]any{"chatId": "6281234567890", "text": fmt.Sprint(i)})
		if st != 201 {
			t.Fatalf("send: %d", st)
		}
		sent = append(sent, d["id"].(string))
	}
	if st, _ := p.call(t, key, "POST", "/api/sessions/m/webhooks", map[string]any{"url": "https://93.184.215.14/hook"}); st != 201 {
		t.Fatalf("webhook: %d", st)
	}
	_, evs := p.call(t, key, "GET", "/api/events?after=0&limit=1000", nil)
	before := len(evs["events"].([]any))
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()

	// Pointing the SQLite deployment at an empty PostgreSQL says how to bring the data along.
	fresh := start(t, bin, dir, "API_KEY="+key, "DATABASE_TYPE=postgres", "DATABASE_URL="+storetest.PostgresURL(t))
	if !strings.Contains(fresh.logs.String(), "openwa migrate-data --from sqlite:") {
		t.Fatalf("no hint about the SQLite data left behind:\n%s", fresh.logs)
	}
	fresh.cmd.Process.Signal(syscall.SIGTERM)
	fresh.cmd.Wait()

	var out bytes.Buffer
	from, to := "sqlite:"+filepath.Join(dir, "data", "openwa.db"), pgURL
	if err := run(context.Background(), []string{"migrate-data", "--from", from, "--to", to}, os.Getenv, &out, io.Discard); err != nil {
		t.Fatalf("migrate-data: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "verified") || !strings.Contains(out.String(), "messages          5 rows") {
		t.Fatalf("output:\n%s", out.String())
	}
	// Only into an empty database.
	if err := run(context.Background(), []string{"migrate-data", "--from", from, "--to", to}, os.Getenv, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "already holds data") {
		t.Fatalf("a second copy: %v", err)
	}

	p = start(t, bin, t.TempDir(), "DATABASE_TYPE=postgres", "DATABASE_URL="+pgURL)
	again := p.waitStatus(t, key, "m", "READY")
	if again["phone"] != first["phone"] {
		t.Fatalf("phone %v, want %v: the pairing did not move", again["phone"], first["phone"])
	}
	for i, id := range sent {
		if st, m := p.call(t, key, "GET", "/api/sessions/m/messages/"+id, nil); st != 200 || m["text"] != fmt.Sprint(i) {
			t.Fatalf("message %s on postgres: %d %v", id, st, m)
		}
	}
	st, _ := p.call(t, key, "GET", "/api/sessions/m/webhooks", nil)
	if st != 200 {
		t.Fatalf("webhooks on postgres: %d", st)
	}
	_, evs = p.call(t, key, "GET", "/api/events?after=0&limit=1000", nil)
	list := evs["events"].([]any)
	if len(list) <= before {
		t.Fatalf("%d events after the move, want more than the %d before (restart events follow)", len(list), before)
	}
	for i := 1; i < len(list); i++ {
		if list[i].(map[string]any)["seq"].(float64) <= list[i-1].(map[string]any)["seq"].(float64) {
			t.Fatal("seq does not grow across the move")
		}
	}
}
