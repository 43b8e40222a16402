package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The binary trusts only WhatsApp's real certificate root: it does not link
// the fake WhatsApp server of the tests, and no production code changes the
// root whatsmeow checks.
func TestBinaryTrustsOnlyWhatsApp(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if strings.Contains(string(out), "fakewa") {
		t.Fatal("the binary links the fake WhatsApp server")
	}
	err = filepath.WalkDir(filepath.Join("..", "..", "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), "WACertPubKey =") {
			t.Errorf("%s changes the root whatsmeow trusts", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
