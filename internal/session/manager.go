package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/cache"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/ident"
	"github.com/openwa/openwa/internal/media"
	"github.com/openwa/openwa/internal/store"
)

// Observer receives the engine events the session manager does not own
// (messages, acks, revokes, group changes), for the services that do.
type Observer interface {
	// EngineEvent handles ev; an error for which apperr.Unavailable holds makes
	// the manager try again later.
	EngineEvent(ctx context.Context, sessionID string, ev engine.Event) error
}

// Options configure a Manager.
type Options struct {
	Store         *store.Store
	Cache         cache.Cache
	Engines       map[string]engine.Factory
	DefaultEngine string
	MaxSessions   int
	Observer      Observer
	// Media holds the sessions' media bytes under "sessions/<id>"; Delete
	// removes them. Nil: no media to remove.
	Media  media.Store
	Logger *slog.Logger
	// Deleted, if set, is told the id of each deleted session once its rows are gone.
	Deleted func(id string)
}

// Manager owns every session and its engine.
type Manager struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex             // guards running, locks and closed
	running map[string]*runtime    // sessions whose engine runs
	locks   map[string]*sync.Mutex // one per session: serialises its state changes
	closed  bool
	wg      sync.WaitGroup // event consumers

	ctx    context.Context // of the event consumers; cancelled by Close
	cancel context.CancelFunc

	unhandled unhandled // engine events no consumer applied
}

// runtime is a running session: its engine and the queue of its events.
type runtime struct {
	eng   engine.Engine
	queue *queue
}

// NewManager returns a manager; call Restore to bring stored sessions back.
func NewManager(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		ctx:     ctx,
		cancel:  cancel,
		opts:    opts,
		log:     opts.Logger.With("component", "session"),
		running: map[string]*runtime{},
		locks:   map[string]*sync.Mutex{},
	}
}

// CreateInput is what a session is created from.
type CreateInput struct {
	ID     string
	Name   string
	Engine string
	Config Config
}

// Create stores a new session and, unless config.autoStart is false, starts it.
func (m *Manager) Create(ctx context.Context, in CreateInput) (*Session, error) {
	if in.ID == "" {
		in.ID = ident.NewSession()
	} else if !ident.ValidSession(in.ID) {
		return nil, apperr.Field("id", "want 1 to 64 letters, digits, _ or -")
	}
	if in.Engine == "" {
		in.Engine = m.opts.DefaultEngine
	}
	if _, ok := m.opts.Engines[in.Engine]; !ok {
		return nil, apperr.New(apperr.EngineNotSupported, "engine %q is not available; this build has %s", in.Engine, m.engineNames()).
			With("engine", in.Engine)
	}
	if in.Name == "" {
		in.Name = in.ID
	}
	if err := in.Config.validate(); err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(in.Config)
	if err != nil {
		return nil, err
	}
	now := store.Now()
	row := &store.Session{ID: in.ID, Name: in.Name, Engine: in.Engine, Status: string(StatusCreated),
		Config: cfg, CreatedAt: now, UpdatedAt: now}
	unlock := m.lock(in.ID)
	switch err := m.opts.Store.CreateSession(ctx, row, m.opts.MaxSessions); {
	case errors.Is(err, store.ErrConflict):
		unlock()
		return nil, apperr.New(apperr.SessionExists, "Session with id '%s' already exists", in.ID).With("id", in.ID)
	case errors.Is(err, store.ErrLimit):
		unlock()
		return nil, apperr.New(apperr.SessionLimit, "MAX_SESSIONS=%d sessions exist already; delete one or raise MAX_SESSIONS", m.opts.MaxSessions).
			With("maxSessions", m.opts.MaxSessions)
	case err != nil:
		unlock()
		return nil, fmt.Errorf("create session: %w", err)
	}
	// Media bytes an earlier session of this id left behind (a delete cut off
	// between its commit and the removal of the bytes) go before the new session
	// can store any: it is not started, and its lock is held.
	m.purgeMedia(ctx, in.ID)
	unlock()
	m.log.Info("session created", "session_id", in.ID, "engine", in.Engine)
	if in.Config.autoStart() {
		sess, err := m.Start(ctx, in.ID)
		if apperr.Is(err, apperr.EngineError) {
			// The session exists; it could not start. It says why (FAILED, lastError).
			return m.Get(ctx, in.ID)
		}
		return sess, err
	}
	return m.view(row), nil
}

func (m *Manager) engineNames() []string {
	names := make([]string, 0, len(m.opts.Engines))
	for n := range m.opts.Engines {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Get returns one session.
func (m *Manager) Get(ctx context.Context, id string) (*Session, error) {
	row, err := m.row(ctx, id)
	if err != nil {
		return nil, err
	}
	return m.view(row), nil
}

func (m *Manager) row(ctx context.Context, id string) (*store.Session, error) {
	row, err := m.opts.Store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("read session %s: %w", id, err)
	}
	return row, nil
}

func notFound(id string) *apperr.Error {
	return apperr.New(apperr.SessionNotFound, "Session with id '%s' not found", id).With("id", id)
}

// ListFilter narrows List.
type ListFilter struct {
	Status Status
	IDs    []string // nil: all; otherwise only these (a session key's sessions)
	Limit  int
	Offset int
}

// List returns a page of sessions and the total.
func (m *Manager) List(ctx context.Context, f ListFilter) ([]*Session, int, error) {
	rows, total, err := m.opts.Store.ListSessions(ctx, store.SessionFilter{
		Status: string(f.Status), IDs: f.IDs, Limit: f.Limit, Offset: f.Offset})
	if err != nil {
		return nil, 0, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]*Session, len(rows))
	for i, r := range rows {
		out[i] = m.view(r)
	}
	return out, total, nil
}

// UpdateInput changes a session; nil fields stay as they are.
type UpdateInput struct {
	Name   *string
	Config *Config
	// Tenant is set when a session key asks: the operator's settings
	// (proxyUrl, pacing) left out of Config keep their values, and any other
	// value is refused with 403 FORBIDDEN naming the field.
	Tenant bool
}

// Update changes name and/or config. A new config applies from the next start.
func (m *Manager) Update(ctx context.Context, id string, in UpdateInput) (*Session, error) {
	if in.Config != nil {
		if err := in.Config.validate(); err != nil {
			return nil, err
		}
	}
	unlock := m.lock(id)
	defer unlock()
	row, err := m.row(ctx, id)
	if err != nil {
		return nil, err
	}
	if in.Name != nil {
		row.Name = *in.Name
	}
	if in.Config != nil {
		var old Config
		store.DecodeJSON(m.log, "sessions", row.ID, row.Config, &old)
		if in.Tenant {
			if err := keepOperatorSettings(in.Config, old); err != nil {
				return nil, err
			}
		}
		// A client that sends back the masked proxy URL it was shown keeps the stored one.
		if p := in.Config.ProxyURL; p != nil && old.ProxyURL != nil && *p != *old.ProxyURL && *p == MaskProxyURL(*old.ProxyURL) {
			in.Config.ProxyURL = old.ProxyURL
		}
		if row.Config, err = json.Marshal(in.Config); err != nil {
			return nil, err
		}
	}
	row.UpdatedAt = store.Now()
	if err := m.opts.Store.UpdateSession(ctx, row); err != nil {
		return nil, fmt.Errorf("update session %s: %w", id, err)
	}
	return m.view(row), nil
}

// lock takes the session's state lock and returns its release.
func (m *Manager) lock(id string) func() {
	m.mu.Lock()
	l, ok := m.locks[id]
	if !ok {
		l = &sync.Mutex{}
		m.locks[id] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (m *Manager) runtimeOf(id string) *runtime {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running[id]
}

// Start starts the session's engine. Starting a running session changes nothing.
func (m *Manager) Start(ctx context.Context, id string) (*Session, error) {
	unlock := m.lock(id)
	defer unlock()
	row, err := m.row(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.runtimeOf(id) != nil {
		return m.view(row), nil
	}
	return m.startLocked(ctx, row)
}

// startLocked starts row's engine. The session lock is held.
func (m *Manager) startLocked(ctx context.Context, row *store.Session) (*Session, error) {
	factory, ok := m.opts.Engines[row.Engine]
	if !ok {
		return nil, apperr.New(apperr.EngineNotSupported, "engine %q is not available in this build", row.Engine)
	}
	var cfg Config
	store.DecodeJSON(m.log, "sessions", row.ID, row.Config, &cfg)
	rt := &runtime{queue: newQueue()}
	opts := engine.Options{
		SessionID: row.ID,
		Auth:      authStore{st: m.opts.Store, id: row.ID},
		Emit:      rt.queue.push,
		Deliver:   m.deliver(rt),
		Logger:    m.opts.Logger.With("component", "engine", "engine", row.Engine, "session_id", row.ID),
	}
	if cfg.ProxyURL != nil {
		opts.ProxyURL = *cfg.ProxyURL
	}
	opts.DownloadStatusMedia = cfg.DownloadStatusMedia != nil && *cfg.DownloadStatusMedia
	// The engine's own settings: the config section named after it.
	var sections map[string]json.RawMessage
	store.DecodeJSON(m.log, "sessions", row.ID, row.Config, &sections)
	if raw, ok := sections[row.Engine]; ok && string(raw) != "null" {
		opts.Settings = raw
	}
	eng, err := factory(opts)
	if err != nil {
		m.setStatus(ctx, row, StatusFailed, err.Error(), func(r *store.Session) { r.LastError = err.Error() })
		return nil, apperr.New(apperr.EngineError, "engine %s could not be created: %v", row.Engine, err).Wrap(err)
	}
	rt.eng = eng

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, apperr.New(apperr.ServiceUnavailable, "the server is shutting down")
	}
	m.running[row.ID] = rt
	m.wg.Add(1)
	m.mu.Unlock()
	go m.consume(row.ID, rt)

	if err := m.setStatus(ctx, row, StatusInitializing, "starting", func(r *store.Session) {
		r.Started, r.LastError = true, ""
	}); err != nil {
		m.stopRuntime(ctx, row.ID)
		return nil, err
	}
	if err := eng.Connect(ctx); err != nil {
		m.stopRuntime(ctx, row.ID)
		msg := err.Error()
		m.setStatus(ctx, row, StatusFailed, msg, func(r *store.Session) { r.LastError = msg })
		return nil, apperr.New(apperr.EngineError, "engine could not connect: %v", err).Wrap(err)
	}
	m.log.Info("session started", "session_id", row.ID)
	return m.view(row), nil
}

// stopRuntime disconnects a running engine and retires its queue. The session
// lock is held, so the consumer applies nothing more for this runtime.
func (m *Manager) stopRuntime(ctx context.Context, id string) *runtime {
	m.mu.Lock()
	rt := m.running[id]
	delete(m.running, id)
	m.mu.Unlock()
	if rt == nil {
		return nil
	}
	if err := rt.eng.Disconnect(ctx); err != nil {
		m.log.Warn("engine disconnect failed", "session_id", id, "err", err)
	}
	rt.queue.close()
	_ = m.opts.Cache.Delete(ctx, qrKey(id))
	return rt
}

// Stop disconnects the session and keeps its pairing; it is not restored on boot.
func (m *Manager) Stop(ctx context.Context, id string) (*Session, error) {
	unlock := m.lock(id)
	defer unlock()
	return m.stopLocked(ctx, id, "stopped", false)
}

func (m *Manager) stopLocked(ctx context.Context, id, reason string, keepStarted bool) (*Session, error) {
	// The engine stops first, so that it stops even when the database is gone.
	m.stopRuntime(ctx, id)
	row, err := m.row(ctx, id)
	if err != nil {
		return nil, err
	}
	to := Status(row.Status)
	if to.active() {
		to = StatusDisconnected
	}
	if err := m.setStatus(ctx, row, to, reason, func(r *store.Session) { r.Started = keepStarted }); err != nil {
		return nil, err
	}
	return m.view(row), nil
}

// Restart stops and starts the session.
func (m *Manager) Restart(ctx context.Context, id string) (*Session, error) {
	unlock := m.lock(id)
	defer unlock()
	if _, err := m.stopLocked(ctx, id, "restarting", true); err != nil {
		return nil, err
	}
	row, err := m.row(ctx, id)
	if err != nil {
		return nil, err
	}
	return m.startLocked(ctx, row)
}

// Logout unlinks the device: the session stays, unpaired and stopped.
func (m *Manager) Logout(ctx context.Context, id string) (*Session, error) {
	unlock := m.lock(id)
	defer unlock()
	row, err := m.row(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := m.logoutLocked(ctx, row); err != nil {
		return nil, apperr.New(apperr.EngineError, "logout failed: %v", err).Wrap(err)
	}
	to := Status(row.Status)
	if to != StatusCreated {
		to = StatusDisconnected
	}
	if err := m.setStatus(ctx, row, to, "logged_out", func(r *store.Session) {
		r.Started, r.Phone, r.PushName, r.LastError = false, "", "", ""
	}); err != nil {
		return nil, err
	}
	m.log.Info("session logged out", "session_id", id)
	return m.view(row), nil
}

// logoutLocked unlinks through the running engine, or a new one for a stopped
// session, and forgets the pairing.
func (m *Manager) logoutLocked(ctx context.Context, row *store.Session) error {
	m.mu.Lock()
	rt := m.running[row.ID]
	delete(m.running, row.ID)
	m.mu.Unlock()
	_ = m.opts.Cache.Delete(ctx, qrKey(row.ID))
	var eng engine.Engine
	if rt != nil {
		defer rt.queue.close()
		eng = rt.eng
	} else if factory, ok := m.opts.Engines[row.Engine]; ok && len(row.AuthState) > 0 {
		e, err := factory(engine.Options{SessionID: row.ID, Auth: authStore{st: m.opts.Store, id: row.ID},
			Emit: func(engine.Event) {}, Logger: m.log})
		if err != nil {
			return err
		}
		eng = e
	}
	if eng != nil {
		if err := eng.Logout(ctx); err != nil {
			return err
		}
	}
	return m.opts.Store.SetSessionAuth(ctx, row.ID, nil)
}

// Delete stops and logs out the session and removes it with everything stored
// under it, so that nothing reaches a later session of the same id: the engine
// first (the device unlinked, its device store row and pairing gone), then in
// one transaction every row under the id and the id in session keys (a key
// left with none is revoked), then the media bytes. A process that dies midway
// leaves either the session (delete it again) or only bytes that no row points
// to, which the next Create of the id removes.
func (m *Manager) Delete(ctx context.Context, id string) error {
	unlock := m.lock(id)
	defer unlock()
	row, err := m.row(ctx, id)
	if err != nil {
		return err
	}
	if err := m.logoutLocked(ctx, row); err != nil {
		// The session goes anyway: a device that could not be told stays listed
		// on the phone until removed there.
		m.log.Warn("logout during delete failed", "session_id", id, "err", err)
	}
	if err := m.opts.Store.DeleteSession(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	if m.opts.Deleted != nil {
		m.opts.Deleted(id)
	}
	// The rows are gone: the bytes go even if the client hangs up now.
	m.purgeMedia(context.WithoutCancel(ctx), id)
	m.mu.Lock()
	delete(m.locks, id)
	m.mu.Unlock()
	m.log.Info("session deleted", "session_id", id)
	return nil
}

// purgeMedia removes the media bytes stored under session id. A failure is
// logged, not returned: no row points to the bytes any more.
func (m *Manager) purgeMedia(ctx context.Context, id string) {
	if m.opts.Media == nil {
		return
	}
	if err := m.opts.Media.DeletePrefix(ctx, "sessions/"+id); err != nil {
		m.log.Error("delete session media", "session_id", id, "err", err)
	}
}

// QR returns the current QR code, or QR_NOT_AVAILABLE unless the session is QR_READY.
func (m *Manager) QR(ctx context.Context, id string) (*QR, Status, error) {
	row, err := m.row(ctx, id)
	if err != nil {
		return nil, "", err
	}
	st := Status(row.Status)
	if st == StatusQRReady {
		if b, err := m.opts.Cache.Get(ctx, qrKey(id)); err == nil {
			var qr QR
			if json.Unmarshal(b, &qr) == nil {
				return &qr, st, nil
			}
		}
	}
	return nil, st, apperr.New(apperr.QRNotAvailable, "no QR code: session '%s' is %s, not QR_READY", id, st).
		With("status", st)
}

// PairingCode asks the engine for a code to link the device by phone number.
func (m *Manager) PairingCode(ctx context.Context, id, phone string) (string, error) {
	unlock := m.lock(id)
	defer unlock()
	row, err := m.row(ctx, id)
	if err != nil {
		return "", err
	}
	st := Status(row.Status)
	rt := m.runtimeOf(id)
	if rt == nil || (st != StatusQRReady && st != StatusInitializing) {
		return "", apperr.New(apperr.QRNotAvailable,
			"pairing by phone number needs a started session waiting to be paired (QR_READY); session '%s' is %s", id, st).
			With("status", st)
	}
	if _, err := engine.NormalizePhone(phone); err != nil {
		return "", apperr.Field("phoneNumber", "want an international phone number with country code, digits only")
	}
	code, err := rt.eng.PairPhone(ctx, phone)
	if err != nil {
		return "", apperr.New(apperr.EngineError, "pairing code refused: %v", err).Wrap(err)
	}
	return code, nil
}

// Me returns the linked account of a READY session.
func (m *Manager) Me(ctx context.Context, id string) (*engine.Account, error) {
	eng, _, err := m.Ready(ctx, id)
	if err != nil {
		return nil, err
	}
	if me := eng.Me(); me != nil {
		return me, nil
	}
	return nil, apperr.New(apperr.SessionNotReady, "session '%s' is not paired", id).With("status", StatusReady)
}

// Ready returns the engine and the session of a READY session, or SESSION_NOT_READY.
func (m *Manager) Ready(ctx context.Context, id string) (engine.Engine, *Session, error) {
	row, err := m.row(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	rt := m.runtimeOf(id)
	if rt == nil || Status(row.Status) != StatusReady {
		return nil, nil, apperr.New(apperr.SessionNotReady, "session '%s' is %s; this needs READY", id, row.Status).
			With("status", row.Status)
	}
	return rt.eng, m.view(row), nil
}

// Engine returns the engine of a started session (any status), or SESSION_NOT_READY.
func (m *Manager) Engine(ctx context.Context, id string) (engine.Engine, *Session, error) {
	row, err := m.row(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	rt := m.runtimeOf(id)
	if rt == nil {
		return nil, m.view(row), apperr.New(apperr.SessionNotReady, "session '%s' is not started (%s)", id, row.Status).
			With("status", row.Status)
	}
	return rt.eng, m.view(row), nil
}

// EngineType returns the engine name of a session.
func (m *Manager) EngineType(ctx context.Context, id string) (string, error) {
	row, err := m.row(ctx, id)
	if err != nil {
		return "", err
	}
	return row.Engine, nil
}

// Counts returns the number of sessions in each status.
func (m *Manager) Counts(ctx context.Context) (map[string]int, error) {
	return m.opts.Store.CountSessionsByStatus(ctx)
}

// QueueDepth is the number of engine events waiting across all sessions.
func (m *Manager) QueueDepth() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, rt := range m.running {
		n += rt.queue.len()
	}
	return n
}

// Restore starts every session that was running when the process last stopped,
// and marks as DISCONNECTED any stopped session left in an active status.
func (m *Manager) Restore(ctx context.Context) error {
	rows, _, err := m.opts.Store.ListSessions(ctx, store.SessionFilter{})
	if err != nil {
		return fmt.Errorf("restore sessions: %w", err)
	}
	restored := 0
	for _, row := range rows {
		if !row.Started {
			if Status(row.Status).active() {
				unlock := m.lock(row.ID)
				m.setStatus(ctx, row, StatusDisconnected, "not running after restart", nil)
				unlock()
			}
			continue
		}
		unlock := m.lock(row.ID)
		if Status(row.Status).active() {
			// The process stopped while the session ran; it starts over.
			row.Status = string(StatusDisconnected)
		}
		_, err := m.startLocked(ctx, row)
		unlock()
		if err != nil {
			m.log.Error("session restore failed", "session_id", row.ID, "err", err)
			continue
		}
		restored++
	}
	m.log.Info("sessions restored", "started", restored, "total", len(rows))
	return nil
}

// Close stops every engine, keeping each session marked to start again on
// boot, and waits for the event consumers.
func (m *Manager) Close(ctx context.Context) {
	m.mu.Lock()
	m.closed = true
	ids := make([]string, 0, len(m.running))
	for id := range m.running {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		unlock := m.lock(id)
		if _, err := m.stopLocked(ctx, id, "shutdown", true); err != nil {
			m.log.Warn("session stop at shutdown failed", "session_id", id, "err", err)
		}
		unlock()
	}
	// The consumers store what the engines delivered before they stopped;
	// past ctx or drainWait, those still waiting for the database give up
	// (what they held was not acknowledged to WhatsApp, which delivers it again).
	drained := make(chan struct{})
	go func() { m.wg.Wait(); close(drained) }()
	t := time.NewTimer(drainWait)
	defer t.Stop()
	select {
	case <-drained:
	case <-ctx.Done():
	case <-t.C:
	}
	m.cancel()
	<-drained
}

// drainWait bounds how long Close waits for the event consumers to store
// what is queued (they wait only while the database is away).
const drainWait = 10 * time.Second

// setStatus moves row to status `to` if the state machine allows it, applies
// mutate, and stores the row with its session.status event (and any extra
// events) in one transaction. The session lock is held.
func (m *Manager) setStatus(ctx context.Context, row *store.Session, to Status, reason string, mutate func(*store.Session), extra ...*event.Row) error {
	from := Status(row.Status)
	if !from.CanBecome(to) {
		return fmt.Errorf("session %s: illegal transition %s → %s", row.ID, from, to)
	}
	row.Status = string(to)
	if mutate != nil {
		mutate(row)
	}
	row.UpdatedAt = store.Now()
	var evs []*event.Row
	if from != to {
		evs = append(evs, event.New(event.SessionStatus, row.ID, StatusChange{Status: to, PreviousStatus: from, Reason: reason}))
	}
	if err := m.opts.Store.UpdateSession(ctx, row, append(evs, extra...)...); err != nil {
		return fmt.Errorf("store session %s: %w", row.ID, err)
	}
	if from != to {
		m.log.Info("session status", "session_id", row.ID, "from", from, "to", to, "reason", reason)
	}
	return nil
}

// StatusChange is the data of a session.status event.
type StatusChange struct {
	Status         Status `json:"status"`
	PreviousStatus Status `json:"previousStatus"`
	Reason         string `json:"reason"`
}

func qrKey(id string) string { return "qr:" + id }

// authStore keeps an engine's pairing in the session row.
type authStore struct {
	st *store.Store
	id string
}

func (a authStore) LoadAuth(ctx context.Context) ([]byte, error) { return a.st.SessionAuth(ctx, a.id) }
func (a authStore) SaveAuth(ctx context.Context, b []byte) error {
	return a.st.SetSessionAuth(ctx, a.id, b)
}
func (a authStore) ClearAuth(ctx context.Context) error { return a.st.SetSessionAuth(ctx, a.id, nil) }
