// Package mock is OpenWA's offline WhatsApp engine, deterministic in behaviour
// and timing (its message ids and group JIDs are random, like WhatsApp's): a
// product feature for development, demos and tests. It pairs by itself (or on
// /mock/pair), acknowledges what it sends, keeps a small address book and
// group list, and takes inbound messages and dropped connections from the
// mock controls of API.md.
package mock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/openwa/openwa/internal/engine"
)

var (
	_ engine.Engine = (*Engine)(nil)
	_ engine.Mock   = (*Engine)(nil)
)

// Timings of the simulated connection.
const (
	qrTTL          = 20 * time.Second
	reconnectDelay = 100 * time.Millisecond
	restoreDelay   = 10 * time.Millisecond
)

// authState is what the mock keeps between runs: the pairing, and the ledger
// of delivered messages (the last ledgerMax), so that a resend after a crash
// is recognised as WhatsApp recognises it, by its message id.
type authState struct {
	Phone    string            `json:"phone"`
	PushName string            `json:"pushName"`
	Ledger   engine.MockLedger `json:"ledger"`
}

// ledgerMax bounds the ledger: it is rewritten on every send, and recovery after
// a crash needs only the last few ids (a session sends one message at a time).
const ledgerMax = 100

// Engine is one mock WhatsApp connection.
type Engine struct {
	opts      engine.Options
	autoPair  bool
	pairDelay time.Duration
	ackDelay  time.Duration
	sendDelay time.Duration

	mu       sync.Mutex
	auth     *authState // nil when not paired
	ready    bool
	conn     context.CancelFunc // non-nil while connected
	connCtx  context.Context    // cancelled when the current connection ends
	wg       sync.WaitGroup     // the goroutines of the current connection
	pairCh   chan string        // a phone to pair as, while waiting for pairing
	seq      uint64
	sent     map[string]string // waMessageID → chatID
	contacts map[string]*engine.Contact
	groups   map[string]*engine.Group
}

// New builds a mock engine; it is an engine.Factory.
func New(opts engine.Options) (engine.Engine, error) {
	var s engine.MockConfig
	if len(opts.Settings) > 0 && string(opts.Settings) != "null" {
		if err := json.Unmarshal(opts.Settings, &s); err != nil {
			return nil, fmt.Errorf("mock settings: %w", err)
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		opts:      opts,
		autoPair:  s.AutoPair == nil || *s.AutoPair,
		pairDelay: time.Duration(valueOr(s.PairDelayMs, 500)) * time.Millisecond,
		ackDelay:  time.Duration(valueOr(s.AckDelayMs, 100)) * time.Millisecond,
		sendDelay: time.Duration(valueOr(s.SendDelayMs, 0)) * time.Millisecond,
		sent:      map[string]string{},
	}
	e.seedDirectory()
	return e, nil
}

func valueOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// PhoneFor is the phone number the mock engine links a session as, unless it
// was paired by phone number: derived from the session id, so it is stable.
func PhoneFor(sessionID string) string {
	h := fnv.New64a()
	h.Write([]byte(sessionID))
	return fmt.Sprintf("1555%07d", h.Sum64()%10_000_000)
}

// Connect starts the simulated connection.
func (e *Engine) Connect(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn != nil {
		return nil
	}
	if e.auth == nil && e.opts.Auth != nil {
		b, err := e.opts.Auth.LoadAuth(ctx)
		if err != nil {
			return fmt.Errorf("load pairing: %w", err)
		}
		if len(b) > 0 {
			var a authState
			if err := json.Unmarshal(b, &a); err != nil {
				return fmt.Errorf("stored pairing is unreadable: %w", err)
			}
			e.auth = &a
		}
	}
	e.startLocked(0)
	return nil
}

// startLocked runs a new connection after delay. e.mu is held.
func (e *Engine) startLocked(delay time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	e.conn, e.connCtx = cancel, ctx
	e.pairCh = make(chan string, 1)
	pairCh := e.pairCh
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if !sleep(ctx, delay) {
			return
		}
		e.run(ctx, pairCh)
	}()
}

// run is the life of one connection; it ends when ctx is cancelled or the session is ready.
func (e *Engine) run(ctx context.Context, pairCh chan string) {
	e.emit(ctx, engine.Connecting{})
	e.mu.Lock()
	paired := e.auth != nil
	e.mu.Unlock()
	if paired {
		if sleep(ctx, restoreDelay) {
			e.becomeReady(ctx)
		}
		return
	}
	var autoPair <-chan time.Time
	if e.autoPair {
		t := time.NewTimer(e.pairDelay * 4 / 5)
		defer t.Stop()
		autoPair = t.C
	}
	for n := 0; ; n++ {
		code := e.qrCode(n)
		e.emit(ctx, engine.QR{Code: code, ExpiresAt: time.Now().Add(qrTTL).UTC()})
		expiry := time.NewTimer(qrTTL)
		select {
		case <-ctx.Done():
			expiry.Stop()
			return
		case <-expiry.C:
			continue
		case <-autoPair:
			expiry.Stop()
			e.pair(ctx, PhoneFor(e.opts.SessionID))
			return
		case phone := <-pairCh:
			expiry.Stop()
			e.pair(ctx, phone)
			return
		}
	}
}

func (e *Engine) qrCode(n int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", e.opts.SessionID, n)
	return fmt.Sprintf("2@mock%016x,%s,%d", h.Sum64(), e.opts.SessionID, n)
}

func (e *Engine) pair(ctx context.Context, phone string) {
	a := authState{Phone: phone, PushName: "Mock " + e.opts.SessionID}
	if e.opts.Auth != nil {
		b, _ := json.Marshal(a)
		if err := e.opts.Auth.SaveAuth(ctx, b); err != nil {
			e.emit(ctx, engine.Failed{Reason: "could not store the pairing: " + err.Error()})
			return
		}
	}
	e.mu.Lock()
	e.auth = &a
	e.mu.Unlock()
	e.emit(ctx, engine.Paired{Account: account(a)})
	if sleep(ctx, e.pairDelay/5) {
		e.becomeReady(ctx)
	}
}

func (e *Engine) becomeReady(ctx context.Context) {
	e.mu.Lock()
	if ctx.Err() != nil || e.auth == nil {
		e.mu.Unlock()
		return
	}
	e.ready = true
	a := account(*e.auth)
	e.mu.Unlock()
	e.emit(ctx, engine.Ready{Account: a})
}

func account(a authState) engine.Account {
	return engine.Account{JID: a.Phone + "@" + engine.UserServer, Phone: a.Phone, PushName: a.PushName}
}

// emit reports ev unless the connection was closed: nothing is emitted after Disconnect.
func (e *Engine) emit(ctx context.Context, ev engine.Event) {
	if ctx.Err() == nil && e.opts.Emit != nil {
		e.opts.Emit(ev)
	}
}

// Disconnect closes the connection and waits for its goroutines.
func (e *Engine) Disconnect(context.Context) error {
	e.mu.Lock()
	cancel := e.conn
	e.conn, e.ready = nil, false
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
	return nil
}

// Logout disconnects and forgets the pairing.
func (e *Engine) Logout(ctx context.Context) error {
	if err := e.Disconnect(ctx); err != nil {
		return err
	}
	e.mu.Lock()
	e.auth = nil
	e.mu.Unlock()
	if e.opts.Auth != nil {
		return e.opts.Auth.ClearAuth(ctx)
	}
	return nil
}

// PairPhone returns a pairing code; the simulated phone enters it after pairDelayMs.
func (e *Engine) PairPhone(ctx context.Context, phone string) (string, error) {
	p, err := engine.NormalizePhone(phone)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return "", engine.ErrNotConnected
	}
	if e.auth != nil {
		return "", fmt.Errorf("already paired")
	}
	pairCh, connCtx := e.pairCh, e.connCtx
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if sleep(connCtx, e.pairDelay) {
			select {
			case pairCh <- p:
			default:
			}
		}
	}()
	h := fnv.New64a()
	h.Write([]byte(p))
	sum := h.Sum64()
	const letters = "ABCDEFGHJKLMNPQRSTVWXYZ23456789"
	var code [8]byte
	for i := range code {
		code[i] = letters[sum%uint64(len(letters))]
		sum /= uint64(len(letters))
	}
	return string(code[:4]) + "-" + string(code[4:]), nil
}

// Me is the linked account.
func (e *Engine) Me() *engine.Account {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.auth == nil {
		return nil
	}
	a := account(*e.auth)
	return &a
}

// MockPair completes pairing now, as if the QR code was scanned.
func (e *Engine) MockPair(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return engine.ErrNotConnected
	}
	if e.auth != nil {
		return fmt.Errorf("already paired")
	}
	select {
	case e.pairCh <- PhoneFor(e.opts.SessionID):
	default:
	}
	return nil
}

// MockDisconnect drops the connection; the engine reconnects by itself.
func (e *Engine) MockDisconnect(ctx context.Context, reason string) error {
	e.mu.Lock()
	if e.conn == nil {
		e.mu.Unlock()
		return engine.ErrNotConnected
	}
	cancel := e.conn
	e.conn, e.ready = nil, false
	e.mu.Unlock()
	cancel()
	e.wg.Wait()
	if reason == "" {
		reason = "connection lost"
	}
	e.opts.Emit(engine.Disconnected{Reason: reason, WillReconnect: true})
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		e.startLocked(reconnectDelay)
	}
	return nil
}

// MockInbound delivers msg as if it had arrived from WhatsApp.
func (e *Engine) MockInbound(ctx context.Context, msg *engine.Message) (*engine.Message, error) {
	e.mu.Lock()
	if !e.ready {
		e.mu.Unlock()
		return nil, engine.ErrNotConnected
	}
	if msg.WAMessageID == "" {
		msg.WAMessageID = messageID()
	}
	e.mu.Unlock()
	if msg.Timestamp.IsZero() {
		msg.Timestamp = time.Now().UTC()
	}
	msg.FromMe = false
	// Answered once OpenWA committed it, as a real engine acknowledges.
	if err := e.opts.Commit(ctx, engine.MessageReceived{Message: msg}); err != nil {
		return nil, fmt.Errorf("inbound message not stored: %w", err)
	}
	return msg, nil
}

// messageID is a random id shaped like WhatsApp's (3EB0 and 20 hex digits).
// Ids are random, not counted: a counter starts again with every process, and
// a message id that repeats after a restart is dropped as a redelivery.
func messageID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "3EB0" + strings.ToUpper(hex.EncodeToString(b))
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
