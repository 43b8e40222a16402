package local

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwa/openwa/internal/media"
)

func TestStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := New(filepath.Join(dir, "media"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "sessions/a/media/x.png", []byte("png"), "image/png"); err != nil {
		t.Fatal(err)
	}
	r, n, err := s.Get(ctx, "sessions/a/media/x.png")
	if err != nil || n != 3 {
		t.Fatalf("get: %d %v", n, err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "png" {
		t.Fatalf("read %q", b)
	}
	if ok, _ := s.Exists(ctx, "sessions/a/media/x.png"); !ok {
		t.Fatal("exists")
	}
	if _, _, err := s.Get(ctx, "sessions/a/media/none"); !errors.Is(err, media.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if _, _, err := s.Get(ctx, "sessions/a/media"); !errors.Is(err, media.ErrNotFound) {
		t.Fatalf("a folder is not a blob: %v", err)
	}
	if err := s.Delete(ctx, "sessions/a/media/x.png"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Exists(ctx, "sessions/a/media/x.png"); ok {
		t.Fatal("deleted blob exists")
	}
	s.Put(ctx, "sessions/a/media/y", []byte("y"), "")
	if err := s.DeletePrefix(ctx, "sessions/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "media", "sessions", "a")); !os.IsNotExist(err) {
		t.Fatal("prefix not removed")
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// No key reaches outside the root, whatever it looks like.
func TestPathTraversal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("s"), 0o600)
	s, _ := New(filepath.Join(dir, "media"))
	for _, key := range []string{"../secret", "sessions/../../secret", "/etc/passwd", "a/./b", "a//b", "..",
		`..\secret`, "a/\x00b", "", "C:/x", "sessions/a/../../../secret"} {
		if err := s.Put(ctx, key, []byte("x"), ""); err == nil {
			t.Errorf("Put %q accepted", key)
		}
		if _, _, err := s.Get(ctx, key); err == nil {
			t.Errorf("Get %q accepted", key)
		}
		if err := s.Delete(ctx, key); err == nil {
			t.Errorf("Delete %q accepted", key)
		}
		if err := s.DeletePrefix(ctx, key); err == nil {
			t.Errorf("DeletePrefix %q accepted", key)
		}
	}
	if b, _ := os.ReadFile(secret); string(b) != "s" {
		t.Fatal("the file outside the root was touched")
	}
}
