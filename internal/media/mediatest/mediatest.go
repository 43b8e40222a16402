// Package mediatest is the conformance suite every media.Store passes, and
// gives tests an S3 bucket of their own on the server of OPENWA_TEST_S3_ENDPOINT.
package mediatest

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/openwa/openwa/internal/media"
	"github.com/openwa/openwa/internal/media/s3"
	"github.com/openwa/openwa/internal/testsvc"
)

// Run checks a store: what is put can be read, listed as existing, deleted
// (alone or by prefix), and no key can leave the store's root.
func Run(t *testing.T, s media.Store) {
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
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
	if ok, err := s.Exists(ctx, "sessions/a/media/x.png"); !ok || err != nil {
		t.Fatalf("exists: %v %v", ok, err)
	}
	if _, _, err := s.Get(ctx, "sessions/a/media/none"); !errors.Is(err, media.ErrNotFound) {
		t.Fatalf("missing blob: %v", err)
	}
	if ok, err := s.Exists(ctx, "sessions/a/media/none"); ok || err != nil {
		t.Fatalf("missing exists: %v %v", ok, err)
	}
	if err := s.Delete(ctx, "sessions/a/media/x.png"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Exists(ctx, "sessions/a/media/x.png"); ok {
		t.Fatal("deleted blob exists")
	}
	if err := s.Delete(ctx, "sessions/a/media/x.png"); err != nil {
		t.Fatalf("deleting a missing blob: %v", err)
	}
	s.Put(ctx, "sessions/a/media/1", []byte("1"), "")
	s.Put(ctx, "sessions/a/media/2", []byte("2"), "")
	s.Put(ctx, "sessions/ab/media/3", []byte("3"), "")
	if err := s.DeletePrefix(ctx, "sessions/a"); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{"sessions/a/media/1": false, "sessions/a/media/2": false, "sessions/ab/media/3": true} {
		if ok, _ := s.Exists(ctx, key); ok != want {
			t.Errorf("after DeletePrefix(sessions/a): %s exists=%v, want %v", key, ok, want)
		}
	}
	if _, err := s.URL(ctx, "sessions/ab/media/3", "attachment"); err != nil {
		t.Fatalf("url: %v", err)
	}
	for _, key := range []string{"../secret", "sessions/../../secret", "/etc/passwd", "a/./b", "a//b", "..",
		`..\\secret`, "a/\x00b", "", "C:/x", "sessions/a/../../../secret"} {
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
}

// S3Config returns the configuration of a new, empty bucket, removed when the test ends.
func S3Config(t testing.TB) s3.Config {
	t.Helper()
	endpoint := testsvc.Need(t, "OPENWA_TEST_S3_ENDPOINT", "S3-compatible server")
	cfg := s3.Config{Bucket: testsvc.Name("openwa-test-"), Region: "us-east-1", Endpoint: endpoint,
		AccessKeyID: os.Getenv("OPENWA_TEST_S3_ACCESS_KEY"), SecretAccessKey: os.Getenv("OPENWA_TEST_S3_SECRET_KEY"),
		ForcePathStyle: true}
	st, err := s3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureBucket(context.Background(), cfg.Region); err != nil {
		t.Fatalf("create bucket on %s: %v", endpoint, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = st.DeletePrefix(ctx, "sessions")
		_ = st.RemoveBucket(ctx)
	})
	return cfg
}
