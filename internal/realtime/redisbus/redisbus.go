// Package redisbus carries committed events between OpenWA instances over
// Redis pub/sub, so that a WebSocket or SSE client connected to any instance
// sees the events every instance commits.
package redisbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwa/openwa/internal/event"
)

// Bus publishes this instance's events and receives the others'.
type Bus struct {
	c        *goredis.Client
	channel  string
	instance string
	out      chan []*event.Row
	log      *slog.Logger
}

type message struct {
	Instance string       `json:"instance"`
	Events   []*event.Row `json:"events"`
}

// New returns a bus on channel; Run makes it work.
func New(c *goredis.Client, channel string, log *slog.Logger) *Bus {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Bus{c: c, channel: channel, instance: hex.EncodeToString(b), out: make(chan []*event.Row, 4096),
		log: log.With("component", "redisbus")}
}

// Publish queues committed events for the other instances; it never blocks
// (a commit must not wait for Redis). When the queue is full the events are
// dropped for the other instances' live clients only: they remain in the
// event log, where clients resume from.
func (b *Bus) Publish(evs []*event.Row) {
	select {
	case b.out <- evs:
	default:
		b.log.Warn("event bus full: events not forwarded to other instances", "events", len(evs))
	}
}

// Run forwards queued events to Redis and hands other instances' events to
// deliver, until ctx ends; it reconnects by itself when Redis goes away.
func (b *Bus) Run(ctx context.Context, deliver func([]*event.Row)) error {
	sub := b.c.Subscribe(ctx, b.channel)
	defer sub.Close()
	in := sub.Channel(goredis.WithChannelHealthCheckInterval(30 * time.Second))
	for {
		select {
		case <-ctx.Done():
			return nil
		case evs := <-b.out:
			payload, err := json.Marshal(message{Instance: b.instance, Events: evs})
			if err != nil {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := b.c.Publish(pctx, b.channel, payload).Err(); err != nil && ctx.Err() == nil {
				b.log.Warn("publish events", "err", err)
			}
			cancel()
		case m, ok := <-in:
			if !ok {
				return nil
			}
			var msg message
			if json.Unmarshal([]byte(m.Payload), &msg) != nil || msg.Instance == b.instance {
				continue
			}
			deliver(msg.Events)
		}
	}
}
