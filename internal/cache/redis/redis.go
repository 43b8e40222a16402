// Package redis is the shared cache on Redis (CACHE_TYPE=redis): every
// instance sees the same entries. Keys are prefixed, so one Redis can serve
// several deployments.
package redis

import (
	"context"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwa/openwa/internal/cache"
)

var _ cache.Cache = (*Cache)(nil)

// Cache is a Redis-backed cache.
type Cache struct {
	c      *goredis.Client
	prefix string
	ttl    time.Duration
}

// New connects to the Redis of url (redis://[user:pass@]host:port/db).
func New(url, prefix string, ttl time.Duration) (*Cache, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	return &Cache{c: goredis.NewClient(opts), prefix: prefix, ttl: ttl}, nil
}

// Client is the underlying client, for other Redis-backed components.
func (c *Cache) Client() *goredis.Client { return c.c }

// Get returns the value, or cache.ErrMiss.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := c.c.Get(ctx, c.prefix+key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, cache.ErrMiss
	}
	return b, err
}

// Set stores value for ttl (the default TTL when ttl <= 0).
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		ttl = c.ttl
	}
	return c.c.Set(ctx, c.prefix+key, value, ttl).Err()
}

// Delete removes key.
func (c *Cache) Delete(ctx context.Context, key string) error {
	return c.c.Del(ctx, c.prefix+key).Err()
}

// Ping checks that Redis answers.
func (c *Cache) Ping(ctx context.Context) error { return c.c.Ping(ctx).Err() }

// Close closes the connections.
func (c *Cache) Close() error { return c.c.Close() }
