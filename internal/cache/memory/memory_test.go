package memory

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/cache"
	"github.com/openwa/openwa/internal/cache/cachetest"
)

func TestLRUAndTTL(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	c := New(2, time.Minute)
	c.now = func() time.Time { return now }

	c.Set(ctx, "a", []byte("1"), 0)
	c.Set(ctx, "b", []byte("2"), time.Second)
	if v, err := c.Get(ctx, "a"); err != nil || string(v) != "1" {
		t.Fatalf("a: %q %v", v, err)
	}
	c.Set(ctx, "c", []byte("3"), 0) // evicts b, the least recently used
	if _, err := c.Get(ctx, "b"); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("b survived eviction: %v", err)
	}
	now = now.Add(59 * time.Second)
	if _, err := c.Get(ctx, "a"); err != nil {
		t.Fatal("a expired early")
	}
	now = now.Add(2 * time.Second)
	if _, err := c.Get(ctx, "a"); !errors.Is(err, cache.ErrMiss) {
		t.Fatal("a outlived its TTL")
	}
	c.Delete(ctx, "c")
	if _, err := c.Get(ctx, "c"); !errors.Is(err, cache.ErrMiss) || c.Len() != 0 {
		t.Fatalf("delete: %v, %d left", err, c.Len())
	}
	// Values are copies.
	v := []byte("x")
	c.Set(ctx, "k", v, 0)
	v[0] = 'y'
	if got, _ := c.Get(ctx, "k"); string(got) != "x" {
		t.Fatal("cache aliases the caller's slice")
	}
}

func TestConformance(t *testing.T) { cachetest.Run(t, New(100, time.Minute)) }
