package whatsmeow

import (
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
	"github.com/openwa/openwa/internal/media/local"
)

// TestMeasureReceivedMediaMemory measures the heap one received 50 MiB media
// takes on its way from WhatsApp into the local media store: the peak heap
// in use above what it was before the message was sent (the fake's own copy
// of the upload included in that baseline). A measurement, run on demand:
// OPENWA_MEASURE_MEDIA=1 go test -run TestMeasureReceivedMediaMemory -v ./internal/engine/whatsmeow/
func TestMeasureReceivedMediaMemory(t *testing.T) {
	if os.Getenv("OPENWA_MEASURE_MEDIA") == "" {
		t.Skip("a measurement: set OPENWA_MEASURE_MEDIA=1")
	}
	ctx := context.Background()
	blobs, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := fakeServer(t)
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	e, events := pairedWith(t, srv, func(ev engine.Event) engine.Event {
		if rcv, ok := ev.(engine.MessageReceived); ok && rcv.Message.Media != nil {
			r, n, err := rcv.Message.Media.Body()
			if err != nil || r == nil {
				t.Errorf("no media: %v", err)
				return ev
			}
			defer r.Close()
			if err := blobs.Put(ctx, "sessions/s/media/m", r, n, "image/jpeg"); err != nil {
				t.Error(err)
			}
		}
		return ev
	})
	e.mu.Lock()
	e.maxDownload = 100 << 20
	e.mu.Unlock()
	const size = 50 << 20
	plain := make([]byte, size)
	for i := range plain {
		plain[i] = byte(i * 31)
	}
	up, err := srv.Upload(plain, whatsmeow.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	plain = nil
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, allocs := ms.HeapInuse, ms.TotalAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	if err := srv.SendMessage(ctx, alice, "3EB0BIGPHOTO", "media", up.Image("image/jpeg", "")); err != nil {
		t.Fatal(err)
	}
	m := waitFor[engine.MessageReceived](t, events).Message
	close(stop)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	r, n, err := blobs.Get(ctx, "sessions/s/media/m")
	if err != nil || n != size {
		t.Fatalf("stored %d bytes: %v (%s)", n, err, m.WAMessageID)
	}
	r.Close()
	t.Logf("50 MiB received media: peak heap in use %.1f MiB above baseline, %.1f MiB allocated in all",
		float64(peak.Load()-min(base, peak.Load()))/(1<<20), float64(ms.TotalAlloc-allocs)/(1<<20))
}
