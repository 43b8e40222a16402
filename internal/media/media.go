// Package media is the contract of OpenWA's media storage adapters: blobs
// under keys such as sessions/<id>/media/<file>. local/ keeps them in a
// folder, s3/ in an S3-compatible bucket.
package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrNotFound is returned for a key with no blob.
var ErrNotFound = errors.New("media: not found")

// Store keeps blobs.
type Store interface {
	// Put stores the size bytes r yields under key, streamed, never held
	// whole in memory; a reader that fails or yields another number of
	// bytes stores nothing and leaves an existing blob as it was.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens a blob; the caller closes it.
	Get(ctx context.Context, key string) (io.ReadCloser, int64, error)
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every blob whose key starts with prefix + "/".
	DeletePrefix(ctx context.Context, prefix string) error
	Exists(ctx context.Context, key string) (bool, error)
	// URL is a direct, time-limited download URL for the blob whose response
	// carries the given Content-Disposition, or "" when the store has none
	// (local storage: OpenWA serves the bytes itself).
	URL(ctx context.Context, key, disposition string) (string, error)
	Ping(ctx context.Context) error
}

// ErrSize is a Put whose reader yielded another number of bytes than announced.
var ErrSize = errors.New("media: the reader yielded another size than announced")

// CheckKey refuses keys that could leave the storage root: empty, absolute,
// with empty, "." or ".." segments, backslashes or control characters.
func CheckKey(key string) error {
	if key == "" || len(key) > 512 || strings.HasPrefix(key, "/") {
		return fmt.Errorf("media key %q: must be a relative path", key)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' || r == ':' {
			return fmt.Errorf("media key %q: character %q not allowed", key, r)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("media key %q: segment %q not allowed", key, seg)
		}
	}
	return nil
}
