// Package cache is the contract of OpenWA's cache adapters:
// short-lived values such as QR codes, keyed by string, that may be lost
// without harm. memory/ is the embedded implementation.
package cache

import (
	"context"
	"errors"
	"time"
)

// ErrMiss is returned by Get for an absent or expired key.
var ErrMiss = errors.New("cache: miss")

// Cache stores bytes under keys for a while.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value for ttl; ttl <= 0 means the cache's default TTL.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
	Ping(ctx context.Context) error
}
