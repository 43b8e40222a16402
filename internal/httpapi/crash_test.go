package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/openwa/openwa/internal/app"
	"github.com/openwa/openwa/internal/config"
	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
)

// TestMain lets this test binary also be an OpenWA process on a fake
// WhatsApp server of another process, to be killed with SIGKILL. Otherwise
// it trusts the process's fake WhatsApp root key once (whatsmeow.WACertPubKey
// is process-global), so that the tests can run in parallel.
func TestMain(m *testing.M) {
	if addr := os.Getenv("OPENWA_CHILD_FAKEWA"); addr != "" {
		if err := openwaChild(addr); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		return
	}
	whatsmeow.WACertPubKey = fakewa.Root()
	os.Exit(m.Run())
}

// openwaChild serves OpenWA, configured from the environment, with its
// whatsmeow sessions on the fake server at addr; it prints its URL.
func openwaChild(addr string) error {
	root, err := hex.DecodeString(os.Getenv("OPENWA_CHILD_ROOT"))
	if err != nil || len(root) != 32 {
		return fmt.Errorf("root key: %v", err)
	}
	whatsmeow.WACertPubKey = [32]byte(root)
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	ctx := context.Background()
	a, err := app.New(ctx, cfg, io.Discard, slog.New(slog.DiscardHandler), app.WithWhatsmeowTransport(fakewa.TransportTo(addr)))
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("OPENWA http://%s\n", ln.Addr())
	return http.Serve(ln, a.Handler)
}

// child is an OpenWA process of the test.
type child struct {
	t   *testing.T
	cmd *exec.Cmd
	url string
}

func startChild(t *testing.T, srv *fakewa.Server, dir string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "OPENWA_CHILD_FAKEWA="+srv.Addr(), "OPENWA_CHILD_ROOT="+hex.EncodeToString(srv.Root.Pub[:]),
		"API_KEY="+adminKey, "DATABASE_TYPE=sqlite", "DATABASE_SQLITE_PATH="+filepath.Join(dir, "openwa.db"),
		"STORAGE_TYPE=local", "STORAGE_LOCAL_PATH="+filepath.Join(dir, "media"), "ENGINE_TYPE=whatsmeow", "CACHE_TYPE=memory",
		"WEBHOOK_ALLOW_PRIVATE=true", "LOG_LEVEL=error")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd}
	t.Cleanup(c.kill)
	sc := bufio.NewScanner(out)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "OPENWA ") {
		t.Fatalf("the OpenWA process said %q", sc.Text())
	}
	c.url = strings.TrimPrefix(sc.Text(), "OPENWA ")
	go io.Copy(io.Discard, out) // owned by the process: ends when it exits
	return c
}

// kill ends the process as a crash would: SIGKILL, no shutdown.
func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	}
}

func (c *child) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.url+path, rd)
	req.Header.Set("X-API-Key", adminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func (c *child) waitStatus(id, status string) map[string]any {
	c.t.Helper()
	var last map[string]any
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, body := c.do("GET", "/api/sessions/"+id, nil)
		if d, ok := body["data"].(map[string]any); ok {
			last = d
			if d["status"] == status {
				return d
			}
		}
	}
	c.t.Fatalf("session %s never became %s: %v", id, status, last)
	return nil
}

// The key promise: what WhatsApp delivered is stored and forwarded exactly
// once, however often OpenWA dies. A contact sends N messages (every fourth
// an image) while the OpenWA process is killed with SIGKILL at random points
// and started again; WhatsApp (the fake, another process's part here: this
// test's) keeps what the device did not acknowledge and redelivers it at the
// next login. In the end every message is stored once, with its media, with
// exactly one message.received event, and nothing is left unacknowledged.
func TestWhatsmeowKilledWhileReceiving(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts OpenWA processes")
	}
	srv := fakewa.New()
	t.Cleanup(srv.Close)
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	dir := t.TempDir()
	ctx := context.Background()

	c := startChild(t, srv, dir)
	if st, _ := c.do("POST", "/api/sessions", map[string]any{"id": "wa"}); st != 201 {
		t.Fatalf("create: %d", st)
	}
	c.waitStatus("wa", "QR_READY")
	_, qr := c.do("GET", "/api/sessions/wa/qr", nil)
	if err := srv.Pair(ctx, qr["data"].(map[string]any)["qr"].(string), "15557654321"); err != nil {
		t.Fatal(err)
	}
	c.waitStatus("wa", "READY")
	for deadline := time.Now().Add(10 * time.Second); !srv.HasKeys(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the device uploaded no prekeys")
		}
	}

	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(uint64(seed), 1))
	const n = 40
	images := map[string]bool{}
	kills := 0
	for i := range n {
		id := fmt.Sprintf("3EB0CRASH%03d", i)
		var err error
		if i%4 == 3 {
			jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte{byte(i)}, 20000)...)
			up, uerr := srv.Upload(jpeg, whatsmeow.MediaImage)
			if uerr != nil {
				t.Fatal(uerr)
			}
			images[id] = true
			err = srv.SendMessage(ctx, alice, id, "media", up.Image("image/jpeg", fmt.Sprint("photo ", i)))
		} else {
			err = srv.SendText(ctx, alice, id, fmt.Sprint("text ", i))
		}
		if err != nil {
			t.Fatal(err)
		}
		if rnd.IntN(5) == 0 && kills < 6 {
			// Killed while the message is on its way in: decrypted or not,
			// downloaded or not, stored or not, acknowledged or not.
			if rnd.IntN(2) == 0 {
				time.Sleep(time.Duration(rnd.IntN(30)) * time.Millisecond)
			}
			c.kill()
			kills++
			c = startChild(t, srv, dir)
			c.waitStatus("wa", "READY")
		}
	}
	t.Logf("%d messages, %d kills", n, kills)

	var stored []any
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, body := c.do("GET", "/api/sessions/wa/messages?direction=in&limit=100", nil)
		stored, _ = body["data"].([]any)
		if len(stored) >= n && len(srv.Unacknowledged()) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d stored, unacknowledged: %v", len(stored), n, srv.Unacknowledged())
		}
	}
	seen := map[string]int{}
	for _, m := range stored {
		m := m.(map[string]any)
		id := m["waMessageId"].(string)
		seen[id]++
		if images[id] {
			media, _ := m["media"].(map[string]any)
			if media == nil || media["id"] == "" || media["missing"] == true {
				t.Errorf("image %s stored without its bytes: %v", id, m["media"])
			}
		}
	}
	_, evs := c.do("GET", "/api/events?after=0&limit=1000&events=message.received", nil)
	events := map[string]int{}
	for _, ev := range evs["data"].(map[string]any)["events"].([]any) {
		events[ev.(map[string]any)["data"].(map[string]any)["waMessageId"].(string)]++
	}
	for i := range n {
		id := fmt.Sprintf("3EB0CRASH%03d", i)
		if seen[id] != 1 || events[id] != 1 {
			t.Errorf("%s: stored %d times, %d message.received events; want 1 and 1", id, seen[id], events[id])
		}
	}
	if len(stored) != n {
		t.Errorf("%d messages stored, want %d", len(stored), n)
	}
}
