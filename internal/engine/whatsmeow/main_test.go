package whatsmeow

import (
	"os"
	"testing"

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
	os.Exit(m.Run())
}
