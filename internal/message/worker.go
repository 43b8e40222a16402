package message

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/store"
)

const (
	maxAttempts = 3               // engine failures before a message fails
	idlePoll    = 5 * time.Second // how often a waiting worker looks again unwoken
)

// jitter is a random duration of up to ms milliseconds.
func jitter(ms int) time.Duration {
	if ms <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ms)+1)) * time.Millisecond
}

// step handles the oldest outbox message of a session (a keyed.Step): it
// returns how long to wait before the next step, or idle when the outbox is
// empty. Messages go out no sooner than the session's pacing allows.
func (s *Service) step(ctx context.Context, sessionID string) (time.Duration, bool) {
	s.mu.Lock()
	notBefore := s.paced[sessionID]
	s.mu.Unlock()
	if d := time.Until(notBefore); d > 0 {
		return d, false
	}
	wait, idle, pause := s.send(ctx, sessionID)
	if pause > 0 {
		s.mu.Lock()
		s.paced[sessionID] = time.Now().Add(pause)
		s.mu.Unlock()
	}
	return wait, idle
}

// send sends the oldest outbox message. It returns how long to wait before
// the next step (0: at once), idle when there is nothing left to do, and the
// pause pacing asks for after a message went out.
func (s *Service) send(ctx context.Context, sessionID string) (wait time.Duration, idle bool, pause time.Duration) {
	m, err := s.opts.Store.NextOutgoing(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, true, 0
	}
	if err != nil {
		s.log.Error("read outbox", "session_id", sessionID, "err", err)
		return time.Second, false, 0
	}
	now := store.Now()
	if m.ExpiresAt > 0 && now >= m.ExpiresAt {
		s.fail(ctx, m, "not sent within MESSAGE_QUEUE_TTL: the session was not READY")
		return 0, false, 0
	}
	eng, sess, err := s.opts.Sessions.Ready(ctx, sessionID)
	if err != nil {
		if apperr.Is(err, apperr.SessionNotFound) {
			return 0, true, 0
		}
		// Not READY: wait to be woken (the session became READY) or for the message to expire.
		return min(idlePoll, time.Duration(m.ExpiresAt-now)*time.Millisecond), false, 0
	}
	m.Status, m.Attempts, m.UpdatedAt = string(StatusSending), m.Attempts+1, now
	if err := s.opts.Store.UpdateMessage(ctx, m); err != nil {
		s.log.Error("mark sending", "message_id", m.ID, "err", err)
		return time.Second, false, 0
	}
	defer s.sending(sessionID, m.WAMessageID)()
	out, err := s.outgoing(ctx, m)
	if err != nil {
		s.fail(ctx, m, "stored message unreadable: "+err.Error())
		return 0, false, 0
	}
	res, err := eng.Send(ctx, out)
	if err != nil {
		if ctx.Err() != nil {
			return 0, false, 0 // shutting down: the row stays in the outbox
		}
		if errors.Is(err, engine.ErrNotConnected) {
			m.Status = string(StatusQueued)
			m.Attempts--
			_ = s.opts.Store.UpdateMessage(ctx, m)
			return time.Second, false, 0
		}
		if m.Attempts >= maxAttempts || errors.Is(err, engine.ErrNotFound) || errors.Is(err, engine.ErrUnsupported) ||
			errors.Is(err, engine.ErrRefused) {
			s.fail(ctx, m, err.Error())
			return 0, false, 0
		}
		m.Status, m.Error = string(StatusQueued), err.Error()
		_ = s.opts.Store.UpdateMessage(ctx, m)
		s.log.Warn("send failed, will retry", "message_id", m.ID, "attempt", m.Attempts, "err", err)
		return time.Duration(m.Attempts) * time.Second, false, 0
	}
	sent := *m
	if res.ChatLID != "" && !strings.Contains(string(m.Content), `"chatLid"`) {
		// The engine learned the recipient's LID while sending: keep both forms.
		var c content
		if json.Unmarshal(m.Content, &c) == nil {
			c.ChatLID = res.ChatLID
			sent.Content, _ = json.Marshal(c)
			if err := s.opts.Store.UpdateMessage(ctx, &sent); err != nil {
				s.log.Warn("record chat LID", "message_id", m.ID, "err", err)
			}
		}
	}
	sent.Status, sent.WAMessageID, sent.Timestamp, sent.Error, sent.UpdatedAt =
		string(StatusSent), res.WAMessageID, res.Timestamp.UnixMilli(), "", store.Now()
	// WhatsApp has the message: record it even if OpenWA is stopping.
	if err := s.opts.Store.MarkSent(context.WithoutCancel(ctx), m.ID, res.WAMessageID, sent.Timestamp,
		event.New(event.MessageSent, sessionID, s.view(&sent))); err != nil {
		s.log.Error("mark sent", "message_id", m.ID, "err", err)
	}
	s.settled(m.ID)
	p := pacing(sess)
	return 0, false, time.Duration(p.MinIntervalMs)*time.Millisecond + jitter(p.JitterMs)
}

func (s *Service) fail(ctx context.Context, m *store.Message, reason string) {
	m.Status, m.Error, m.UpdatedAt = string(StatusFailed), reason, store.Now()
	if err := s.opts.Store.UpdateMessage(ctx, m, event.New(event.MessageFailed, m.SessionID, s.view(m))); err != nil {
		s.log.Error("mark failed", "message_id", m.ID, "err", err)
		return
	}
	s.log.Warn("message failed", "session_id", m.SessionID, "message_id", m.ID, "reason", reason)
	s.settled(m.ID)
}

// outgoing rebuilds the engine message from its row, with its media's bytes.
func (s *Service) outgoing(ctx context.Context, m *store.Message) (*engine.Outgoing, error) {
	var c content
	if err := json.Unmarshal(m.Content, &c); err != nil {
		return nil, err
	}
	out := &engine.Outgoing{ID: m.WAMessageID, ChatID: m.ChatID, Type: engine.MessageType(m.Type),
		Content: c.engineContent(), Quoted: c.Quoted}
	if c.Media != nil {
		md, err := s.loadMedia(ctx, m.SessionID, c.Media)
		if err != nil {
			return nil, err
		}
		out.Media = md
	}
	return out, nil
}

// retention deletes messages older than MESSAGE_RETENTION_DAYS once an hour
// (and once at start) until ctx ends.
func (s *Service) retention(ctx context.Context) {
	if s.opts.Retention <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := s.Cleanup(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Error("message retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Cleanup deletes the messages, and the media, older than the retention
// period before now. Media of a message still in the outbox is older than the
// outbox TTL allows, so it is never needed by then.
func (s *Service) Cleanup(ctx context.Context, now time.Time) (int64, error) {
	before := now.Add(-s.opts.Retention).UnixMilli()
	n, err := s.opts.Store.DeleteMessagesBefore(ctx, before)
	if err != nil {
		return n, err
	}
	if n > 0 {
		s.log.Info("old messages deleted", "count", n, "retention", s.opts.Retention)
	}
	for {
		old, err := s.opts.Store.MediaBefore(ctx, before, 500)
		if err != nil || len(old) == 0 {
			return n, err
		}
		for _, m := range old {
			if err := s.opts.Media.Delete(ctx, m.StorageKey); err != nil {
				return n, fmt.Errorf("delete media %s: %w", m.ID, err)
			}
			if err := s.opts.Store.DeleteMedia(ctx, m.ID); err != nil {
				return n, err
			}
		}
	}
}
