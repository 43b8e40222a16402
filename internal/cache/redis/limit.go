package redis

import (
	"context"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// tokenBucket takes a token from KEYS[1] (rate per second ARGV[1], burst
// ARGV[2]) on Redis's own clock, and returns {allowed, ms to wait}.
var tokenBucket = goredis.NewScript(`
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]) or burst, tonumber(b[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
local allowed, wait = 0, 0
if tokens >= 1 then
  tokens, allowed = tokens - 1, 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
`)

// Limiter is a per-key token bucket shared by every instance.
type Limiter struct {
	c      *goredis.Client
	prefix string
	rate   float64
	burst  int
	log    *slog.Logger
}

// NewLimiter returns a limiter on c; rate <= 0 disables it.
func NewLimiter(c *Cache, rate float64, burst int, log *slog.Logger) *Limiter {
	return &Limiter{c: c.c, prefix: c.prefix + "ratelimit:", rate: rate, burst: burst, log: log}
}

// Allow takes a token for key, or says how long until one is there. If Redis
// does not answer, the request is let through (and logged): rate limiting is
// protection, not a reason to stop the API.
func (l *Limiter) Allow(ctx context.Context, key string) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	res, err := tokenBucket.Run(ctx, l.c, []string{l.prefix + key}, l.rate, l.burst).Int64Slice()
	if err != nil || len(res) != 2 {
		l.log.Warn("rate limit unavailable: request let through", "err", err)
		return true, 0
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond
}
