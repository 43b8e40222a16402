package local

import (
	"context"
	"os"
	"path/filepath"
	"testing"

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
		s.Put(ctx, key, []byte("x"), "")
		s.Delete(ctx, key)
		s.DeletePrefix(ctx, key)
	}
	if b, _ := os.ReadFile(secret); string(b) != "s" {
		t.Fatal("the file outside the root was touched")
	}
}
