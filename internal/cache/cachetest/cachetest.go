// Package cachetest is the conformance suite every cache.Cache passes, and
// gives tests a key prefix of their own on the Redis of OPENWA_TEST_REDIS_URL.
package cachetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/cache"
	"github.com/openwa/openwa/internal/testsvc"
)

// Run checks a cache: values come back as stored, copies and all; they
// expire after their TTL; Delete removes them.
func Run(t *testing.T, c cache.Cache) {
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if _, err := c.Get(ctx, "absent"); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("absent key: %v", err)
	}
	v := []byte("value")
	if err := c.Set(ctx, "k", v, time.Minute); err != nil {
		t.Fatal(err)
	}
	v[0] = 'X'
	if got, err := c.Get(ctx, "k"); err != nil || string(got) != "value" {
		t.Fatalf("get: %q %v", got, err)
	}
	if err := c.Set(ctx, "short", []byte("x"), 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := c.Get(ctx, "short"); errors.Is(err, cache.ErrMiss) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an entry outlived its TTL")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("deleted key: %v", err)
	}
	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatalf("deleting an absent key: %v", err)
	}
}

// RedisURL returns OPENWA_TEST_REDIS_URL and a fresh key prefix.
func RedisURL(t testing.TB) (url, prefix string) {
	t.Helper()
	return testsvc.Need(t, "OPENWA_TEST_REDIS_URL", "Redis"), testsvc.Name("openwa-test-") + ":"
}
