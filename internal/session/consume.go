package session

import (
	"context"
	"encoding/json"
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
		ev, ok := rt.queue.pop()
		if !ok {
			return
		}
		for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
			err := m.apply(m.ctx, id, rt, ev)
			if err == nil || !apperr.Unavailable(err) {
				if err != nil {
					m.log.Warn("engine event not applied", "session_id", id, "event", fmt.Sprintf("%T", ev), "err", err)
				}
				break
			}
			m.log.Warn("engine event waits for the database", "session_id", id, "event", fmt.Sprintf("%T", ev), "err", err)
			select {
			case <-m.ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}

// apply handles one engine event under the session lock. Events of a runtime
// that was stopped or replaced meanwhile are stale and dropped.
func (m *Manager) apply(ctx context.Context, id string, rt *runtime, ev engine.Event) error {
	switch ev.(type) {
	case engine.MessageReceived, engine.Ack, engine.Revoked, engine.GroupUpdated:
		if m.runtimeOf(id) == rt && m.opts.Observer != nil {
			return m.opts.Observer.EngineEvent(ctx, id, ev)
		}
		return nil
	}
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
		return nil
	}
	return m.setStatus(ctx, row, to, reason, mutate)
}
