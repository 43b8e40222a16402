// Package event is OpenWA's event model (API.md, "Events"): one shape for the
// event log, webhooks, Server-Sent Events and the WebSocket. Events are rows
// of the store's event log, written in the transaction of the state change
// that caused them; fan-out starts from the commit.
package event

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/openwa/openwa/internal/ident"
	"github.com/openwa/openwa/internal/stamp"
)

// Names of the events.
const (
	MessageReceived = "message.received"
	MessageSent     = "message.sent"
	MessageAck      = "message.ack"
	MessageRevoked  = "message.revoked"
	MessageFailed   = "message.failed"
	// MessageUndecryptable: a message arrived that could not be decrypted; a
	// placeholder is stored and replaced (with message.received) when it is resent.
	MessageUndecryptable = "message.undecryptable"
	StatusReceived       = "status.received"
	SessionStatus        = "session.status"
	SessionQR            = "session.qr"
	GroupUpdated         = "group.updated"
	WebhookTest          = "webhook.test"
)

// The registry of these names with their payload types is catalog.Events.

// Row is an event as the event log keeps it. Seq is set when the store writes it.
type Row struct {
	Seq       int64
	ID        string
	Name      string
	SessionID string // "" for events of no session
	Data      json.RawMessage
	CreatedAt int64 // Unix milliseconds
	// OnlyWebhook, when set, delivers the event to that webhook alone (webhook.test).
	OnlyWebhook string
	// Webhooks lists the webhooks a delivery row was written for.
	Webhooks []string
}

// Filter narrows a read of the event log.
type Filter struct {
	After    int64
	Sessions []string // nil: all
	Names    []string // nil: all
	Limit    int
}

// New makes an event row; its seq is set when the store writes it.
func New(name, sessionID string, data any) *Row {
	b, err := json.Marshal(data)
	if err != nil {
		b = []byte("{}")
	}
	now := time.Now()
	return &Row{ID: ident.NewEvent(now), Name: name,
		SessionID: sessionID, Data: b, CreatedAt: now.UnixMilli()}
}

// Event is the event object of API.md.
type Event struct {
	ID        string          `json:"id"`
	Seq       int64           `json:"seq"`
	Event     string          `json:"event"`
	Timestamp stamp.Time      `json:"timestamp"`
	SessionID *string         `json:"sessionId"`
	Data      json.RawMessage `json:"data"`
}

// View is the public shape of a stored event.
func View(e *Row) Event {
	v := Event{ID: e.ID, Seq: e.Seq, Event: e.Name, Timestamp: stamp.Millis(e.CreatedAt), Data: e.Data}
	if e.SessionID != "" {
		s := e.SessionID
		v.SessionID = &s
	}
	return v
}

// Store is the event log's storage (the store).
type Store interface {
	ListEvents(ctx context.Context, f Filter) ([]*Row, error)
	DeleteEventsBefore(ctx context.Context, t int64) (int64, error)
}

// Log reads the event log and keeps it to EVENT_RETENTION_DAYS.
type Log struct {
	st        Store
	retention time.Duration
	log       *slog.Logger
}

// NewLog returns the event log service.
func NewLog(st Store, retention time.Duration, log *slog.Logger) *Log {
	return &Log{st: st, retention: retention, log: log.With("component", "event")}
}

// List returns events after f.After, oldest first.
func (l *Log) List(ctx context.Context, f Filter) ([]Event, error) {
	rows, err := l.st.ListEvents(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = View(r)
	}
	return out, nil
}

// Run deletes events older than the retention period every hour until ctx ends.
func (l *Log) Run(ctx context.Context) error {
	if l.retention <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := l.Cleanup(ctx, time.Now()); err != nil && ctx.Err() == nil {
			l.log.Error("event retention", "err", err)
		} else if n > 0 {
			l.log.Info("old events deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Cleanup deletes the events older than the retention period before now.
func (l *Log) Cleanup(ctx context.Context, now time.Time) (int64, error) {
	return l.st.DeleteEventsBefore(ctx, now.Add(-l.retention).UnixMilli())
}
