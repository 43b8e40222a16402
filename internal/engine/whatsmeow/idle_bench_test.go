package whatsmeow

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"

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
	}
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
func BenchmarkIdleSessions(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			for range b.N {
				idleSessions(b, n)
			}
		})
	}
}

func idleSessions(b *testing.B, n int) {
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
		e := New(devices, engine.Options{SessionID: fmt.Sprint(i), Auth: &memAuth{}, Emit: func(ev engine.Event) {
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
