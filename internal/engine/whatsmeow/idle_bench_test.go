package whatsmeow

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
)

// fakeServerProcess serves a fake WhatsApp and takes commands on stdin:
// "pair QR PHONE" plays the phone scanning QR.
func fakeServerProcess() {
	srv := fakewa.New()
	defer srv.Close()
	fmt.Printf("FAKEWA %s %s\n", srv.Addr(), hex.EncodeToString(srv.Root.Pub[:]))
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "pair" {
			fmt.Printf("PAIRED %v\n", srv.Pair(context.Background(), f[1], f[2]))
		}
		if len(f) == 1 && f[0] == "shape" {
			fmt.Printf("SHAPED %v\n", shapeAccount(context.Background(), srv))
		}
	}
}

// A real-shaped account, as the phone hands it to a newly linked device:
// shapeContacts address-book contacts (names in the app state, push names in
// a push-name history sync), shapeGroups groups, and shapeHistory messages of
// history spread over the groups and as many contacts' chats.
const (
	shapeContacts = 500
	shapeGroups   = 50
	shapeHistory  = 1000
)

// shapeAccount plays the phone of the newest connection sending a real-shaped account.
func shapeAccount(ctx context.Context, srv *fakewa.Server) error {
	names := make(map[types.JID]string, shapeContacts)
	pushNames := make(map[types.JID]string, shapeContacts)
	var chats []types.JID
	for i := range shapeContacts {
		jid := types.NewJID(fmt.Sprintf("6281%09d", i), types.DefaultUserServer)
		names[jid], pushNames[jid] = fmt.Sprintf("Contact %d", i), fmt.Sprintf("Push %d", i)
		if i < shapeGroups {
			chats = append(chats, jid, types.NewJID(fmt.Sprintf("1203630000%08d", i), types.GroupServer))
		}
	}
	if err := srv.SetAppState(ctx, fakewa.AppState{PushName: "Shop", Contacts: names, Archived: chats[:5]}); err != nil {
		return err
	}
	convs := make([]fakewa.HistoryConversation, len(chats))
	old := time.Now().Add(-30 * 24 * time.Hour)
	for i := range shapeHistory {
		c := &convs[i%len(chats)]
		c.ChatID = chats[i%len(chats)]
		c.Messages = append(c.Messages, fakewa.HistoryMessage{ID: fmt.Sprintf("3EB0HIST%014d", i), FromMe: i%3 == 0,
			Text: fmt.Sprintf("message %d of the history, of a typical length for a chat message", i), Time: old.Add(time.Duration(i) * time.Minute)})
	}
	if err := srv.SendHistorySync(ctx, "3EB0HISTORY000000001", convs, nil); err != nil {
		return err
	}
	return srv.SendHistorySync(ctx, "3EB0HISTORY000000002", nil, pushNames)
}

// remoteFake is the fake server process, seen from the benchmark.
type remoteFake struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	addr string
}

func startRemoteFake(b *testing.B) *remoteFake {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "OPENWA_FAKEWA_PROCESS=1")
	in, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	r := &remoteFake{cmd: cmd, in: in, out: bufio.NewScanner(outPipe)}
	b.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	if !r.out.Scan() {
		b.Fatal("the fake server process did not start")
	}
	f := strings.Fields(r.out.Text())
	if len(f) != 3 || f[0] != "FAKEWA" {
		b.Fatalf("fake server process said %q", r.out.Text())
	}
	root, err := hex.DecodeString(f[2])
	if err != nil || len(root) != 32 {
		b.Fatalf("root key %q", f[2])
	}
	saved := whatsmeow.WACertPubKey
	whatsmeow.WACertPubKey = [32]byte(root)
	b.Cleanup(func() { whatsmeow.WACertPubKey = saved })
	r.addr = f[1]
	return r
}

// shape has the newest connection's phone send a real-shaped account.
func (r *remoteFake) shape(b *testing.B) {
	fmt.Fprintf(r.in, "shape\n")
	if !r.out.Scan() || r.out.Text() != "SHAPED <nil>" {
		b.Fatalf("shaping: %q", r.out.Text())
	}
}

func (r *remoteFake) pair(b *testing.B, qr, phone string) {
	fmt.Fprintf(r.in, "pair %s %s\n", qr, phone)
	if !r.out.Scan() || r.out.Text() != "PAIRED <nil>" {
		b.Fatalf("pairing: %q", r.out.Text())
	}
}

// memory is the process's resident set (from /proc) and live heap after a GC.
func memory() (rss, heap uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				rss = kb << 10
			}
		}
	}
	return rss, ms.HeapInuse
}

// BenchmarkIdleSessions pairs N sessions with a fake WhatsApp server running
// in another process and reports what each idle, connected session costs
// this process: resident memory, live heap and goroutines, as the growth
// over a baseline measured in the same run before the first session.
// Run: go test -run '^$' -bench IdleSessions -benchtime 1x ./internal/engine/whatsmeow/
//
// The "real" runs link real-shaped accounts: after each login the phone
// shares the app state (500 contact names, the push name, archived chats)
// and hands over 1,000 messages of history in 100 chats (50 of them groups)
// and 500 push names, and the session is measured once it has taken them.
func BenchmarkIdleSessions(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			for range b.N {
				idleSessions(b, n, false)
			}
		})
	}
	for _, n := range []int{20, 100, 1000} {
		b.Run(fmt.Sprintf("real/sessions=%d", n), func(b *testing.B) {
			for range b.N {
				idleSessions(b, n, true)
			}
		})
	}
}

func idleSessions(b *testing.B, n int, real bool) {
	ctx := context.Background()
	// WhatsApp's keepalive timing, not the tests' quick one (TestMain).
	saved := []time.Duration{whatsmeow.KeepAliveIntervalMin, whatsmeow.KeepAliveIntervalMax, whatsmeow.KeepAliveResponseDeadline}
	whatsmeow.KeepAliveIntervalMin, whatsmeow.KeepAliveIntervalMax, whatsmeow.KeepAliveResponseDeadline = 20*time.Second, 30*time.Second, 10*time.Second
	defer func() {
		whatsmeow.KeepAliveIntervalMin, whatsmeow.KeepAliveIntervalMax, whatsmeow.KeepAliveResponseDeadline = saved[0], saved[1], saved[2]
	}()
	fake := startRemoteFake(b)
	devices := testDevices(b)
	transport := fakewa.TransportTo(fake.addr)
	rss0, heap0 := memory()
	goroutines0 := runtime.NumGoroutine()
	engines := make([]*Engine, 0, n)
	defer func() {
		for _, e := range engines {
			e.Disconnect(ctx)
		}
	}()
	start := time.Now()
	for i := range n {
		events := make(chan engine.Event, 64)
		e := New(devices, engine.Options{SessionID: fmt.Sprint(i), Auth: &memAuth{}, Logger: benchLog, Emit: func(ev engine.Event) {
			select {
			case events <- ev:
			default: // an idle session's later events are not needed here
			}
		}})
		e.transport = transport
		if err := e.Connect(ctx); err != nil {
			b.Fatal(err)
		}
		engines = append(engines, e)
		qr := waitFor[engine.QR](b, events)
		fake.pair(b, qr.Code, fmt.Sprintf("1555%07d", i))
		waitFor[engine.Ready](b, events)
		if real {
			for deadline := time.Now().Add(20 * time.Second); !e.hasUploadedKeys(); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatal("no prekeys uploaded")
				}
			}
			fake.shape(b)
			for deadline := time.Now().Add(60 * time.Second); e.contacts() < shapeContacts; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					named, pushed := e.contactCounts()
					b.Fatalf("session %d took %d contacts (%d named by the app state, %d push names)", i, e.contacts(), named, pushed)
				}
			}
		}
	}
	paired := time.Since(start)
	time.Sleep(2 * time.Second) // let the logins' background work (prekey uploads) finish
	rss1, heap1 := memory()
	goroutines1 := runtime.NumGoroutine()
	b.ReportMetric(float64(rss1-rss0)/float64(n)/1024, "rss-KiB/session")
	b.ReportMetric(float64(heap1-heap0)/float64(n)/1024, "heap-KiB/session")
	b.ReportMetric(float64(goroutines1-goroutines0)/float64(n), "goroutines/session")
	b.ReportMetric(float64(paired.Milliseconds())/float64(n), "ms-to-pair/session")
	b.ReportMetric(float64(rss0)/(1<<20), "baseline-rss-MiB")
}

// contacts counts the contacts in the session's device store that have a
// name from the app state and a push name from the history.
func (e *Engine) contacts() int {
	e.mu.Lock()
	cli := e.client
	e.mu.Unlock()
	if cli == nil {
		return 0
	}
	all, err := cli.Store.Contacts.GetAllContacts(context.Background())
	if err != nil {
		return 0
	}
	n := 0
	for _, c := range all {
		if c.FullName != "" && c.PushName != "" {
			n++
		}
	}
	return n
}

// hasUploadedKeys tells whether the device uploaded its prekeys (the phone's
// peer messages need them).
func (e *Engine) hasUploadedKeys() bool {
	e.mu.Lock()
	cli := e.client
	e.mu.Unlock()
	if cli == nil {
		return false
	}
	n, err := cli.Store.PreKeys.UploadedPreKeyCount(context.Background())
	return err == nil && n > 0
}

// benchLog shows what went wrong in a session (the fake is not a real account in every detail: its
// warnings are left out).
var benchLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// contactCounts counts the session's contacts with a name and with a push name.
func (e *Engine) contactCounts() (named, pushed int) {
	e.mu.Lock()
	cli := e.client
	e.mu.Unlock()
	if cli == nil {
		return 0, 0
	}
	all, _ := cli.Store.Contacts.GetAllContacts(context.Background())
	for _, c := range all {
		if c.FullName != "" {
			named++
		}
		if c.PushName != "" {
			pushed++
		}
	}
	return named, pushed
}
