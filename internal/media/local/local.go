// Package local keeps media in a folder (STORAGE_LOCAL_PATH).
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/openwa/openwa/internal/media"
)

var _ media.Store = (*Store)(nil)

// Store is a folder of blobs.
type Store struct{ root string }

// New returns a store rooted at dir, creating it.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, err
	}
	return &Store{root: abs}, nil
}

// path maps a key into the root, refusing any key that would leave it.
func (s *Store) path(key string) (string, error) {
	if err := media.CheckKey(key); err != nil {
		return "", err
	}
	p := filepath.Join(s.root, filepath.FromSlash(key))
	if rel, err := filepath.Rel(s.root, p); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("media key %q leaves the storage root", key)
	}
	return p, nil
}

// Put writes the blob atomically, streamed through a temporary file in the
// same folder renamed into place: a reader sees the old blob or the whole new
// one, and a failed or short write leaves nothing.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, _ string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	n, werr := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, size+1))
	if werr == nil && n != size {
		werr = fmt.Errorf("%w: %d bytes, want %d", media.ErrSize, n, size)
	}
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Get opens a blob.
func (s *Store) Get(_ context.Context, key string) (io.ReadCloser, int64, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, media.ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, media.ErrNotFound
	}
	return f, st.Size(), nil
}

// Delete removes a blob; a missing one is not an error.
func (s *Store) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// DeletePrefix removes the folder of a prefix.
func (s *Store) DeletePrefix(_ context.Context, prefix string) error {
	p, err := s.path(prefix)
	if err != nil {
		return err
	}
	return os.RemoveAll(p)
}

// Exists reports whether a blob is there.
func (s *Store) Exists(_ context.Context, key string) (bool, error) {
	p, err := s.path(key)
	if err != nil {
		return false, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil && st.Mode().IsRegular(), err
}

// URL: local blobs have no direct URL; OpenWA serves them.
func (s *Store) URL(context.Context, string, string) (string, error) { return "", nil }

// Ping checks that the folder accepts files.
func (s *Store) Ping(context.Context) error {
	f, err := os.CreateTemp(s.root, ".health-*")
	if err != nil {
		return fmt.Errorf("storage %s is not writable: %w", s.root, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// ctxReader stops a copy once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
