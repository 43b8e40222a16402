package local

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/openwa/openwa/internal/media/mediatest"
)

func TestConformance(t *testing.T) {
	s, err := New(filepath.Join(t.TempDir(), "media"))
	if err != nil {
		t.Fatal(err)
	}
	mediatest.Run(t, s)
}

// Whatever is tried, the file outside the root is untouched.
func TestPathTraversal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("s"), 0o600)
	s, _ := New(filepath.Join(dir, "media"))
	for _, key := range []string{"../secret", "sessions/../../secret", "sessions/a/../../../secret"} {
		s.Put(ctx, key, strings.NewReader("x"), 1, "")
		s.Delete(ctx, key)
		s.DeletePrefix(ctx, key)
	}
	if b, _ := os.ReadFile(secret); string(b) != "s" {
		t.Fatal("the file outside the root was touched")
	}
}

// A reader that fails part way leaves neither the blob nor a temporary file
// in the folder; a later put of the same key works.
func TestPutAtomic(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := New(dir)
	broken := io.MultiReader(strings.NewReader("partial bytes"), iotest.ErrReader(errors.New("reset")))
	if err := s.Put(ctx, "sessions/a/media/m", broken, 100, ""); err == nil {
		t.Fatal("a failing reader was stored")
	}
	if err := s.Put(ctx, "sessions/a/media/m", strings.NewReader("short"), 100, ""); err == nil {
		t.Fatal("a short reader was stored")
	}
	entries, err := os.ReadDir(filepath.Join(dir, "sessions", "a", "media"))
	if err != nil || len(entries) != 0 {
		t.Fatalf("left in the folder: %v %v", entries, err)
	}
	if err := s.Put(ctx, "sessions/a/media/m", strings.NewReader("whole"), 5, ""); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "sessions", "a", "media", "m")); string(b) != "whole" {
		t.Fatalf("stored %q", b)
	}
}
