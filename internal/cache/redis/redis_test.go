package redis_test

import (
	"testing"
	"time"

	"github.com/openwa/openwa/internal/cache/cachetest"
	"github.com/openwa/openwa/internal/cache/redis"
)

func TestConformance(t *testing.T) {
	url, prefix := cachetest.RedisURL(t)
	c, err := redis.New(url, prefix, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cachetest.Run(t, c)
}
