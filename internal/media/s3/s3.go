// Package s3 keeps media in an S3-compatible bucket (AWS S3, MinIO,
// versitygw and the like), with signed URLs for downloads.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/openwa/openwa/internal/media"
)

var _ media.Store = (*Store)(nil)

// Config is STORAGE_S3_* of API.md.
type Config struct {
	Bucket          string
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	Endpoint        string // "" for AWS; http(s)://host:port for others
	ForcePathStyle  bool   // MinIO-style http://host/bucket/key addressing
	URLExpiry       time.Duration
}

// Store is a bucket.
type Store struct {
	c      *minio.Client
	bucket string
	expiry time.Duration
}

// New connects to the bucket's service; it does not create the bucket.
func New(cfg Config) (*Store, error) {
	endpoint, secure := "s3.amazonaws.com", true
	if cfg.Region != "" && cfg.Endpoint == "" {
		endpoint = "s3." + cfg.Region + ".amazonaws.com"
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("STORAGE_S3_ENDPOINT=%q: want http(s)://host[:port]", cfg.Endpoint)
		}
		endpoint, secure = u.Host, u.Scheme == "https"
	}
	lookup := minio.BucketLookupAuto
	if cfg.ForcePathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, err
	}
	if cfg.URLExpiry <= 0 {
		cfg.URLExpiry = time.Hour
	}
	return &Store{c: c, bucket: cfg.Bucket, expiry: cfg.URLExpiry}, nil
}

func notFound(err error) bool {
	var r minio.ErrorResponse
	return errors.As(err, &r) && (r.Code == "NoSuchKey" || r.StatusCode == 404)
}

// Put uploads a blob, streamed with its size known: one request, or a
// multipart upload of bounded parts for large blobs; a reader that yields
// another size fails the upload and stores nothing.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := media.CheckKey(key); err != nil {
		return err
	}
	cr := &countingReader{r: r}
	_, err := s.c.PutObject(ctx, s.bucket, key, cr, size, minio.PutObjectOptions{ContentType: contentType})
	if err == nil && cr.n == size {
		var one [1]byte
		if n, _ := io.ReadFull(r, one[:]); n > 0 {
			cr.n++ // more than announced
		}
	}
	if err == nil && cr.n != size {
		_ = s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
		return fmt.Errorf("%w: %d bytes, want %d", media.ErrSize, cr.n, size)
	}
	return err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Get opens a blob.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if err := media.CheckKey(key); err != nil {
		return nil, 0, err
	}
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, err
	}
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		if notFound(err) {
			return nil, 0, media.ErrNotFound
		}
		return nil, 0, err
	}
	return obj, st.Size, nil
}

// Delete removes a blob; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := media.CheckKey(key); err != nil {
		return err
	}
	err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if notFound(err) {
		return nil
	}
	return err
}

// DeletePrefix removes every blob under prefix/.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if err := media.CheckKey(prefix); err != nil {
		return err
	}
	objects := s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: strings.TrimSuffix(prefix, "/") + "/", Recursive: true})
	for e := range s.c.RemoveObjects(ctx, s.bucket, objects, minio.RemoveObjectsOptions{}) {
		if e.Err != nil {
			return e.Err
		}
	}
	return nil
}

// Exists reports whether a blob is there.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	if err := media.CheckKey(key); err != nil {
		return false, err
	}
	_, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if notFound(err) {
		return false, nil
	}
	return err == nil, err
}

// URL is a signed download URL, valid for the configured expiry.
func (s *Store) URL(ctx context.Context, key, disposition string) (string, error) {
	if err := media.CheckKey(key); err != nil {
		return "", err
	}
	params := url.Values{}
	if disposition != "" {
		params.Set("response-content-disposition", disposition)
	}
	u, err := s.c.PresignedGetObject(ctx, s.bucket, key, s.expiry, params)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Ping checks that the bucket is reachable.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("bucket %q does not exist", s.bucket)
	}
	return nil
}

// EnsureBucket creates the bucket if it is not there.
func (s *Store) EnsureBucket(ctx context.Context, region string) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil || ok {
		return err
	}
	return s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
}

// RemoveBucket deletes the (empty) bucket; for tests.
func (s *Store) RemoveBucket(ctx context.Context) error {
	return s.c.RemoveBucket(ctx, s.bucket)
}
