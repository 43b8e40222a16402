// Package redisbus carries committed events and API key revocations between
// OpenWA instances over Redis pub/sub, so that a WebSocket or SSE client
// connected to any instance sees the events every instance commits, and its
// stream ends wherever it is when its key is deleted.
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
	revoked  chan string // ids of deleted API keys
	dropped  chan string // ids of deleted sessions
	log      *slog.Logger
}

// message is one pub/sub message: events, the ids of revoked keys or of deleted sessions.
type message struct {
	Instance string       `json:"instance"`
	Events   []*event.Row `json:"events,omitempty"`
	Revoked  []string     `json:"revoked,omitempty"`
	Dropped  []string     `json:"droppedSessions,omitempty"`
}

// Receiver takes what other instances send: the real-time hub.
type Receiver interface {
	Publish(evs []*event.Row)
	Revoke(keyID string)
	DropSession(id string)
}

// New returns a bus on channel; Run makes it work.
func New(c *goredis.Client, channel string, log *slog.Logger) *Bus {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Bus{c: c, channel: channel, instance: hex.EncodeToString(b), out: make(chan []*event.Row, 4096),
		revoked: make(chan string, 1024), dropped: make(chan string, 1024), log: log.With("component", "redisbus")}
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

// Revoke queues the id of a deleted API key for the other instances, whose
// streams opened with it then end; it never blocks.
func (b *Bus) Revoke(keyID string) {
	select {
	case b.revoked <- keyID:
	default:
		b.log.Warn("event bus full: key revocation not forwarded to other instances", "key_id", keyID)
	}
}

// DropSession queues the id of a deleted session for the other instances,
// whose session keys' streams then stop taking it; it never blocks.
func (b *Bus) DropSession(id string) {
	select {
	case b.dropped <- id:
	default:
		b.log.Warn("event bus full: session deletion not forwarded to other instances", "session_id", id)
	}
}

// Run forwards queued events, revocations and deleted sessions to Redis and
// hands the other instances' to r, until ctx ends; it reconnects by itself
// when Redis goes away.
func (b *Bus) Run(ctx context.Context, r Receiver) error {
	sub := b.c.Subscribe(ctx, b.channel)
	defer sub.Close()
	in := sub.Channel(goredis.WithChannelHealthCheckInterval(30 * time.Second))
	for {
		select {
		case <-ctx.Done():
			return nil
		case evs := <-b.out:
			b.publish(ctx, message{Instance: b.instance, Events: evs})
		case id := <-b.revoked:
			b.publish(ctx, message{Instance: b.instance, Revoked: []string{id}})
		case id := <-b.dropped:
			b.publish(ctx, message{Instance: b.instance, Dropped: []string{id}})
		case m, ok := <-in:
			if !ok {
				return nil
			}
			var msg message
			if json.Unmarshal([]byte(m.Payload), &msg) != nil || msg.Instance == b.instance {
				continue
			}
			if len(msg.Events) > 0 {
				r.Publish(msg.Events)
			}
			for _, id := range msg.Dropped {
				r.DropSession(id)
			}
			for _, id := range msg.Revoked {
				r.Revoke(id)
			}
		}
	}
}

func (b *Bus) publish(ctx context.Context, msg message) {
	payload, err := json.Marshal(msg)
	if err != nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.c.Publish(pctx, b.channel, payload).Err(); err != nil && ctx.Err() == nil {
		b.log.Warn("publish to the event bus", "err", err)
	}
}
