package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/stamp"
	"github.com/openwa/openwa/internal/store"
)

// consume applies rt's engine events in order until its queue is closed.
//
// An event that fails because the database (or another backing service) is
// unreachable is applied again until it succeeds: the session's later events
// wait in its queue meanwhile, so none is lost while the database is away.
func (m *Manager) consume(id string, rt *runtime) {
	defer m.wg.Done()
	for {
		it, ok := rt.queue.pop()
		if !ok {
			return
		}
		err := m.applyUntilStored(id, rt, it.ev)
		if it.done != nil {
			it.done <- err
		}
		if m.ctx.Err() != nil {
			m.abandon(rt)
			return
		}
	}
}

// applyUntilStored applies ev, again while the database is away, until it is
// applied, fails for good, or the manager closes.
func (m *Manager) applyUntilStored(id string, rt *runtime, ev engine.Event) error {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := m.dispatchEvent(m.ctx, id, rt, ev)
		if err == nil || !apperr.Unavailable(err) {
			if err != nil {
				m.log.Warn("engine event not applied", "session_id", id, "event", fmt.Sprintf("%T", ev), "err", err)
			}
			return err
		}
		m.log.Warn("engine event waits for the database", "session_id", id, "event", fmt.Sprintf("%T", ev), "err", err)
		select {
		case <-m.ctx.Done():
			return fmt.Errorf("not stored before shutdown: %w", err)
		case <-time.After(wait):
		}
	}
}

// abandon tells whoever waits for the commit of rt's remaining events that
// it will not come (the manager closed): their engines do not acknowledge
// them, and WhatsApp delivers them again.
func (m *Manager) abandon(rt *runtime) {
	rt.queue.close()
	for {
		it, ok := rt.queue.pop()
		if !ok {
			return
		}
		if it.done != nil {
			it.done <- errClosed
		}
	}
}

var errClosed = errors.New("the server is shutting down")

// deliver is rt's engine.Options.Deliver: it queues ev behind the events
// emitted before it and waits for its commit.
func (m *Manager) deliver(rt *runtime) func(context.Context, engine.Event) error {
	return func(ctx context.Context, ev engine.Event) error {
		done := make(chan error, 1)
		if !rt.queue.pushItem(item{ev: ev, done: done}) {
			return errStopped
		}
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return fmt.Errorf("waiting for the commit: %w", ctx.Err())
		}
	}
}

var errStopped = errors.New("the session stopped")

// applyStatus applies an engine event that changes the session's status.
// What WhatsApp told (messages, acks, revokes, group changes) goes to the
// Observer instead (dispatch.go), and is stored even when its runtime was
// stopped or replaced meanwhile: a stop drains, it does not drop. Status
// changes of such a stale runtime are dropped; they are applied under the
// session lock.
func (m *Manager) applyStatus(ctx context.Context, id string, rt *runtime, ev engine.Event) error {
	unlock := m.lock(id)
	defer unlock()
	if m.runtimeOf(id) != rt {
		return nil
	}
	row, err := m.opts.Store.GetSession(ctx, id)
	if err != nil {
		return fmt.Errorf("read session: %w", err)
	}
	var to Status
	reason := ""
	var mutate func(*store.Session)
	switch e := ev.(type) {
	case engine.Connecting:
		to, reason = StatusInitializing, "connecting"
	case engine.QR:
		qr := QR{Code: e.Code, ExpiresAt: stamp.Of(e.ExpiresAt)}
		b, _ := json.Marshal(qr)
		if err := m.opts.Cache.Set(ctx, qrKey(id), b, time.Until(e.ExpiresAt)); err != nil {
			m.log.Warn("cache QR code", "session_id", id, "err", err)
		}
		return m.setStatus(ctx, row, StatusQRReady, "qr", nil, event.New(event.SessionQR, id, qr))
	case engine.Paired:
		to, reason = StatusAuthenticated, "paired"
		mutate = func(r *store.Session) { r.Phone, r.PushName = e.Account.Phone, e.Account.PushName }
		_ = m.opts.Cache.Delete(ctx, qrKey(id))
	case engine.Ready:
		to, reason = StatusReady, "connected"
		mutate = func(r *store.Session) {
			r.Phone, r.PushName, r.LastError = e.Account.Phone, e.Account.PushName, ""
		}
	case engine.Disconnected:
		to, reason = StatusDisconnected, e.Reason
		mutate = func(r *store.Session) { r.LastError = e.Reason }
	case engine.LoggedOut:
		to, reason = StatusDisconnected, "logged_out: "+e.Reason
		mutate = func(r *store.Session) {
			r.Started, r.Phone, r.PushName, r.LastError = false, "", "", reason
		}
		if err := m.opts.Store.SetSessionAuth(ctx, id, nil); err != nil {
			return fmt.Errorf("clear pairing: %w", err)
		}
		// The device is gone: retire the engine once the status is stored.
		defer m.stopRuntime(ctx, id)
	case engine.Failed:
		to, reason = StatusFailed, e.Reason
		if !e.Until.IsZero() {
			reason += " until " + e.Until.UTC().Format(time.RFC3339)
		}
		mutate = func(r *store.Session) { r.LastError = reason }
	default:
		m.reportUnhandled(id, ev)
		return nil
	}
	return m.setStatus(ctx, row, to, reason, mutate)
}
