package whatsmeow

import (
	"os"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
)

// TestMain lets this test binary also be the fake WhatsApp server process of
// BenchmarkIdleSessions, so that the server's memory is not counted as OpenWA's.
func TestMain(m *testing.M) {
	if os.Getenv("OPENWA_FAKEWA_PROCESS") == "1" {
		fakeServerProcess()
		return
	}
	// Every fake server of this process signs with the same root: trusted once
	// here, before any test runs, so that tests with fake servers may run in parallel.
	whatsmeow.WACertPubKey = fakewa.Root()
	// Keepalive pings every second or so instead of every 20 to 30 s, so that
	// a stalled connection shows within seconds; a loopback answer takes
	// microseconds, the deadline leaves room for a slow (race-detector) run.
	whatsmeow.KeepAliveIntervalMin, whatsmeow.KeepAliveIntervalMax = time.Second, 1500*time.Millisecond
	whatsmeow.KeepAliveResponseDeadline = 3 * time.Second
	os.Exit(m.Run())
}
