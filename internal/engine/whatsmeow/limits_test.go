package whatsmeow

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
)

// A sender declares a small file but the media host serves more than the
// download limit: the engine stops reading at the limit, the message
// arrives without bytes (and a log line), no temporary file is left behind,
// and media within the limit still arrives whole.
func TestReceiveMediaOverLimit(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	srv := fakeServer(t)
	alice := fakewa.NewContact("6281234567890")
	srv.AddContact(alice)
	e, events := paired(t, srv)
	e.mu.Lock()
	e.maxDownload = 64 << 10
	e.mu.Unlock()

	big := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte{7}, 1<<20)...)
	up, err := srv.Upload(big, whatsmeow.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	up.FileLength = 2000 // what the sender claims
	if err := srv.SendMessage(ctx, alice, "3EB0BIGLIE", "media", up.Image("image/jpeg", "small, really")); err != nil {
		t.Fatal(err)
	}
	m := waitFor[engine.MessageReceived](t, events).Message
	if m.WAMessageID != "3EB0BIGLIE" || m.Media == nil || m.Media.Data != nil || m.Caption != "small, really" {
		t.Fatalf("received %+v", m)
	}

	small := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte{8}, 60<<10)...)
	up, err = srv.Upload(small, whatsmeow.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SendMessage(ctx, alice, "3EB0SMALL", "media", up.Image("image/jpeg", "")); err != nil {
		t.Fatal(err)
	}
	m = waitFor[engine.MessageReceived](t, events).Message
	if m.WAMessageID != "3EB0SMALL" || m.Media == nil || !bytes.Equal(m.Media.Data, small) {
		t.Fatalf("received %s with %d bytes", m.WAMessageID, len(m.Media.Data))
	}
	// The file is kept until the commit returns, removed right after.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		left, _ := filepath.Glob(filepath.Join(tmp, "openwa-media-*"))
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("temporary files left: %v", left)
		}
	}
}

// The download limit is one for the process: every engine of a factory
// takes its tokens from the same eight.
func TestDownloadLimitIsProcessWide(t *testing.T) {
	f := Factory(nil, Config{})
	a, _ := f(engine.Options{SessionID: "a"})
	b, _ := f(engine.Options{SessionID: "b"})
	da, db := a.(*Engine).shared.downloads, b.(*Engine).shared.downloads
	if da != db || cap(da) != 8 {
		t.Fatalf("sessions have their own download limits (%d, %d)", cap(da), cap(db))
	}
}
