// Package mediatest is the conformance suite every media.Store passes, and
// gives tests an S3 bucket of their own on the server of OPENWA_TEST_S3_ENDPOINT.
package mediatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

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
	if err := s.Put(ctx, "sessions/a/media/x.png", strings.NewReader("png"), 3, "image/png"); err != nil {
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
	put(t, s, "sessions/a/media/1", "1")
	put(t, s, "sessions/a/media/2", "2")
	put(t, s, "sessions/ab/media/3", "3")
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
		if err := s.Put(ctx, key, strings.NewReader("x"), 1, ""); err == nil {
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
	runStreaming(t, s)
}

func put(t *testing.T, s media.Store, key, data string) {
	t.Helper()
	if err := s.Put(context.Background(), key, strings.NewReader(data), int64(len(data)), ""); err != nil {
		t.Fatal(err)
	}
}

// runStreaming checks that a blob larger than one upload part arrives
// byte-identical with its size, and that a reader that fails, or yields
// fewer or more bytes than announced, stores nothing and leaves an existing
// blob as it was.
func runStreaming(t *testing.T, s media.Store) {
	ctx := context.Background()
	const size = 17<<20 + 3 // past the S3 client's 16 MiB part: a multipart upload
	want := sha256.New()
	if _, err := io.Copy(want, pattern(size)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "sessions/big/media/b", pattern(size), size, "video/mp4"); err != nil {
		t.Fatalf("put %d bytes: %v", size, err)
	}
	r, n, err := s.Get(ctx, "sessions/big/media/b")
	if err != nil || n != size {
		t.Fatalf("get big: %d %v", n, err)
	}
	got := sha256.New()
	m, _ := io.Copy(got, r)
	r.Close()
	if m != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("big blob: %d bytes read, same=%v", m, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}

	put(t, s, "sessions/big/media/old", "old")
	broken := errors.New("connection reset")
	for name, c := range map[string]struct {
		r    io.Reader
		size int64
	}{
		"failing": {io.MultiReader(pattern(1<<20), iotest.ErrReader(broken)), 2 << 20},
		"short":   {pattern(1000), 1001},
		"long":    {pattern(1002), 1001},
	} {
		for _, key := range []string{"sessions/big/media/new", "sessions/big/media/old"} {
			if err := s.Put(ctx, key, c.r, c.size, ""); err == nil {
				t.Errorf("%s reader into %s: stored", name, key)
			}
		}
		if ok, _ := s.Exists(ctx, "sessions/big/media/new"); ok {
			t.Errorf("%s reader: a blob was left", name)
		}
		r, _, err := s.Get(ctx, "sessions/big/media/old")
		if err != nil {
			t.Fatalf("%s reader: the old blob is gone: %v", name, err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != "old" {
			t.Errorf("%s reader: the old blob became %q", name, b)
		}
	}
	if err := s.DeletePrefix(ctx, "sessions/big"); err != nil {
		t.Fatal(err)
	}
}

// pattern yields n bytes that are not all alike, without holding them.
func pattern(n int64) io.Reader {
	return io.LimitReader(&counter{}, n)
}

type counter struct{ i uint32 }

func (c *counter) Read(p []byte) (int, error) {
	for k := range p {
		c.i = c.i*1664525 + 1013904223
		p[k] = byte(c.i >> 24)
	}
	return len(p), nil
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
