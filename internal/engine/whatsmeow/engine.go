package whatsmeow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"
	"google.golang.org/protobuf/proto"

	"github.com/openwa/openwa/internal/engine"
)

// Engine is one session's connection to WhatsApp through whatsmeow: the
// lifecycle (connect, QR pairing, pairing by phone number, honest status from
// whatsmeow's events, disconnect, logout) here, sending and receiving in
// send.go, contacts and groups in directory.go. All of it is proven against
// the protocol-level fake WhatsApp server in fakewa.
type Engine struct {
	opts    engine.Options
	devices *sqlstore.Container
	// transport, when set, carries every connection (websocket and HTTP): tests
	// point it at a fake server or at nothing at all.
	transport http.RoundTripper

	mu      sync.Mutex
	online  bool           // READY was reported and nothing took it back since
	account engine.Account // the linked account; kept here, not read from whatsmeow's store, which its goroutines change
	client  *whatsmeow.Client
	ctx     context.Context    // the current connection's: ends with it
	cancel  context.CancelFunc // ends the QR reader and media downloads of the current connection
	// connCancel ends the connection's context (after whatsmeow closed it);
	// stopRetry ends keepConnected (first).
	connCancel, stopRetry context.CancelFunc
	wg                    sync.WaitGroup
	// maxDownload bounds the bytes of one received media download.
	maxDownload int64
	// groupQueue (under mu) holds group changes for readGroups; groupKick wakes it.
	groupQueue []groupChange
	groupKick  chan struct{}
	// retry paces reconnects; attempts (under mu) counts those since the last
	// login; redial wakes keepConnected (true: drop the connection first).
	retry    backoff
	attempts int
	redial   chan redial
	// outdated (under mu) is set when WhatsApp refused this client as
	// outdated since the last login: the first time, the version is refreshed.
	outdated bool
	shared   *shared
}

// authState is what OpenWA keeps for a session: which device of the device store is its own.
type authState struct {
	JID string `json:"jid"`
}

// New builds an engine on the device store.
func New(devices *sqlstore.Container, opts engine.Options) *Engine {
	return &Engine{opts: opts, devices: devices, maxDownload: maxDownload,
		groupKick: make(chan struct{}, 1), retry: defaultBackoff, redial: make(chan redial, 1),
		shared: newShared()}
}

func (e *Engine) emit(ev engine.Event) {
	if e.opts.Emit != nil {
		e.opts.Emit(ev)
	}
}

// device finds the session's device in the store, or makes a new, unpaired one.
func (e *Engine) device(ctx context.Context) (*store.Device, error) {
	b, err := e.opts.Auth.LoadAuth(ctx)
	if err != nil {
		return nil, fmt.Errorf("load pairing: %w", err)
	}
	var a authState
	if len(b) > 0 && json.Unmarshal(b, &a) == nil && a.JID != "" {
		jid, err := types.ParseJID(a.JID)
		if err != nil {
			return nil, fmt.Errorf("stored device id %q: %w", a.JID, err)
		}
		dev, err := e.devices.GetDevice(ctx, jid)
		if err != nil {
			return nil, err
		}
		if dev != nil {
			return dev, nil
		}
		// The device store lost it (logged out elsewhere): pair again.
	}
	return e.devices.NewDevice(), nil
}

// Connect connects; an unpaired device first gets QR codes (session.qr).
func (e *Engine) Connect(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client != nil {
		return nil
	}
	dev, err := e.device(ctx)
	if err != nil {
		return err
	}
	if dev.ID != nil {
		e.account = account(*dev.ID, dev.LID, dev.PushName)
	}
	cli := whatsmeow.NewClient(dev, logger{e.log()})
	// OpenWA reconnects by itself (keepConnected): with backoff and jitter,
	// and also when the first connection fails.
	cli.EnableAutoReconnect = false
	if e.transport != nil {
		h := &http.Client{Transport: e.transport}
		cli.SetWebsocketHTTPClient(h)
		cli.SetPreLoginHTTPClient(h)
		cli.SetMediaHTTPClient(h)
	}
	if e.opts.ProxyURL != "" {
		if err := cli.SetProxyAddress(e.opts.ProxyURL); err != nil {
			return fmt.Errorf("config.proxyUrl: %w", err)
		}
	}
	// A message is acknowledged to WhatsApp only once OpenWA stored it (the
	// handler reports success); a message decrypted but not stored before a
	// crash is kept decrypted in the device store, so that WhatsApp's
	// redelivery is not decrypted twice (the Signal ratchet has moved on).
	cli.SynchronousAck = true
	cli.EnableDecryptedEventBuffer = true
	// Sent messages are kept in the device store for retry receipts, which
	// may come after a restart.
	cli.UseRetryMessageStore = true
	cli.AutomaticMessageRerequestFromPhone = true
	cli.AddEventHandlerWithSuccessStatus(e.handle)
	qctx, cancel := context.WithCancel(context.Background())
	if dev.ID == nil {
		qr, err := cli.GetQRChannel(qctx)
		if err != nil {
			cancel()
			return err
		}
		e.wg.Add(1)
		go e.readQR(qctx, qr)
	}
	// The connection outlives the request that started it. Its context ends
	// only after whatsmeow closed it (ending it first races whatsmeow's
	// socket shutdown); keepConnected's ends first of all.
	connCtx, connCancel := context.WithCancel(context.WithoutCancel(ctx))
	rctx, stopRetry := context.WithCancel(qctx)
	e.client, e.ctx, e.cancel, e.connCancel, e.stopRetry = cli, qctx, cancel, connCancel, stopRetry
	e.attempts = 0
	e.wg.Add(2)
	go e.readGroups(qctx, cli)
	go e.keepConnected(rctx, connCtx, cli)
	e.emit(engine.Connecting{})
	if err := cli.ConnectContext(connCtx); err != nil {
		// Not reachable now (no network, WhatsApp down): keepConnected tries
		// again with backoff; the session says why meanwhile.
		e.reconnect(redial{err: err})
	}
	return nil
}

// backoff paces reconnects: base doubling up to max, each wait moved by up
// to ± jitter of itself, so that many sessions that lost the network
// together do not all knock at once.
type backoff struct {
	base, max time.Duration
	jitter    float64
}

var defaultBackoff = backoff{base: time.Second, max: 2 * time.Minute, jitter: 0.2}

// delay is the wait before reconnect attempt n (0 first), r uniform in [0, 1).
func (b backoff) delay(n int, r float64) time.Duration {
	d := b.base
	for i := 0; i < n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	return time.Duration(float64(d) * (1 + b.jitter*(2*r-1)))
}

// redial asks keepConnected for a new connection.
type redial struct {
	drop bool  // the connection is still open but dead: close it first
	err  error // why the last attempt failed, to tell
	// outdated is the WhatsApp Web version WhatsApp refused: ask for the current one first.
	outdated *store.WAVersionContainer
}

// reconnect wakes keepConnected; it never blocks (one request is enough).
func (e *Engine) reconnect(r redial) {
	select {
	case e.redial <- r:
	default:
	}
}

// conn is the part of whatsmeow's client keepConnected drives.
type conn interface {
	ConnectContext(context.Context) error
	Disconnect()
	IsConnected() bool
}

// keepConnected connects again whenever asked, until the engine stops:
// waiting by e.retry between attempts (the count starts over at each
// login), DISCONNECTED with the reason while waiting, INITIALIZING while
// trying.
//
// It stops when ctx ends; connections are made on connCtx.
func (e *Engine) keepConnected(ctx, connCtx context.Context, cli conn) {
	defer e.wg.Done()
	for {
		var r redial
		select {
		case <-ctx.Done():
			return
		case r = <-e.redial:
		}
		if r.drop {
			cli.Disconnect()
		}
		if r.outdated != nil {
			v, err := e.shared.refreshVersion(ctx, e.httpClient(), *r.outdated)
			if err != nil {
				e.emit(engine.Failed{Reason: fmt.Sprintf("WhatsApp says this client version (%s) is outdated, and the current one could not be fetched: %v", r.outdated, err)})
				continue
			}
			e.log().Info("WhatsApp Web version refreshed after a 405", "from", r.outdated.String(), "to", v.String())
		}
		for !cli.IsConnected() {
			e.mu.Lock()
			n := e.attempts
			e.attempts++
			e.mu.Unlock()
			d := e.retry.delay(n, rand.Float64())
			if r.err != nil {
				// The reason in fixed words; what the far side said goes to the log only.
				viaProxy := e.opts.ProxyURL != ""
				e.log().Warn("connect failed", "proxy", viaProxy, "err", r.err, "retry_in", d)
				e.emit(engine.Disconnected{WillReconnect: true,
					Reason: fmt.Sprintf("%v (trying again in %s)", connectFailure(r.err, viaProxy), d.Round(100*time.Millisecond))})
			}
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			e.emit(engine.Connecting{})
			err := cli.ConnectContext(connCtx)
			if err == nil || errors.Is(err, whatsmeow.ErrAlreadyConnected) || ctx.Err() != nil {
				break
			}
			r.err = err
		}
	}
}

// readQR turns whatsmeow's QR channel into QR events until pairing ends.
func (e *Engine) readQR(ctx context.Context, qr <-chan whatsmeow.QRChannelItem) {
	defer e.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case item, ok := <-qr:
			if !ok {
				return
			}
			switch item.Event {
			case whatsmeow.QRChannelEventCode:
				e.emit(engine.QR{Code: item.Code, ExpiresAt: time.Now().Add(item.Timeout).UTC()})
			case whatsmeow.QRChannelEventError:
				e.emit(engine.Failed{Reason: fmt.Sprintf("pairing failed: %v", item.Error)})
			case whatsmeow.QRChannelTimeout.Event:
				e.emit(engine.Failed{Reason: "no QR code was scanned in time: start the session again for new codes"})
			}
		}
	}
}

// handle runs on whatsmeow's event goroutine: it translates and hands on. It
// waits only for the commit of received messages, and reports whether the
// event may be acknowledged to WhatsApp.
func (e *Engine) handle(evt any) bool {
	switch v := evt.(type) {
	case *events.PairSuccess:
		e.mu.Lock()
		e.account = account(v.ID, v.LID, v.BusinessName)
		e.mu.Unlock()
		b, _ := json.Marshal(authState{JID: v.ID.String()})
		if err := e.opts.Auth.SaveAuth(context.Background(), b); err != nil {
			e.emit(engine.Failed{Reason: "could not store the pairing: " + err.Error()})
			return true
		}
	case *events.LoggedOut:
		e.mu.Lock()
		e.account = engine.Account{}
		e.mu.Unlock()
		_ = e.opts.Auth.ClearAuth(context.Background())
	case *events.Message:
		return e.received(v)
	case *events.UndecryptableMessage:
		e.undecryptable(v)
		return true
	case *events.HistorySync:
		e.historySynced(v)
		return true
	case *events.IdentityChange:
		e.identityChanged(v)
		return true
	case *events.GroupInfo:
		e.groupChanged(v.JID, groupChanges(v))
		return true
	case *events.JoinedGroup:
		e.emit(engine.GroupUpdated{Group: *group(&v.GroupInfo), Changed: []string{"joined"}})
		return true
	case *events.Receipt:
		// Receipts of others for our messages, and the account's own "read" /
		// "played" from another device (the phone) for messages it received.
		self := v.Type == types.ReceiptTypeReadSelf || v.Type == types.ReceiptTypePlayedSelf
		if st, ok := ackStatus(v.Type); ok && (!v.IsFromMe || self) {
			e.emit(engine.Ack{ChatID: e.phoneJID(v.Chat).String(), WAMessageIDs: v.MessageIDs, Status: st, Timestamp: v.Timestamp.UTC()})
		}
		return true
	}
	switch v := evt.(type) {
	case *events.Connected:
		e.mu.Lock()
		e.attempts, e.outdated = 0, false
		e.mu.Unlock()
		e.announce()
	case *events.PushNameSetting:
		e.announce()
	case *events.AppStateSyncComplete:
		if v.Name == appstate.WAPatchCriticalBlock { // the first sync sets the push name without a PushNameSetting
			e.announce()
		}
	case *events.ClientOutdated:
		e.mu.Lock()
		first := !e.outdated
		e.outdated = true
		e.mu.Unlock()
		if first && e.paired() { // fetch the current version and try once more
			v := store.GetWAVersion()
			e.emit(engine.Disconnected{WillReconnect: true,
				Reason: fmt.Sprintf("WhatsApp says this client version (%s) is outdated: fetching the current one and trying again", v)})
			e.reconnect(redial{drop: true, outdated: &v})
			return true
		}
	case *events.Disconnected:
		if e.paired() {
			e.reconnect(redial{})
		}
	case *events.KeepAliveTimeout:
		if time.Since(v.LastSuccess) > whatsmeow.KeepAliveMaxFailTime {
			e.reconnect(redial{drop: true})
		}
	}
	ev, ok := connectionEvent(evt, e.me(), time.Now())
	if !ok {
		return true
	}
	e.mu.Lock()
	_, ready := ev.(engine.Ready)
	// whatsmeow reconnects by itself and says only "connected": the session
	// passes through INITIALIZING, as the status machine wants.
	reconnected := ready && !e.online
	e.online = ready || (e.online && !isDown(ev))
	e.mu.Unlock()
	if reconnected {
		e.emit(engine.Connecting{})
	}
	e.emit(ev)
	return true
}

// identityChanged forgets a contact's Signal sessions and identity when
// WhatsApp says its identity key changed, so that the next message to it
// starts a session on its new keys. whatsmeow does it by phone number only:
// sessions with a LID (kept under the LID's agent-qualified address) would
// stay, and every device of the contact would be sent what its new keys
// cannot open. It runs before whatsmeow acknowledges the notification.
func (e *Engine) identityChanged(v *events.IdentityChange) {
	e.mu.Lock()
	cli, ctx := e.client, e.ctx
	e.mu.Unlock()
	if cli == nil {
		return
	}
	if !v.Implicit && v.JID.SignalAddressUser() != v.JID.User {
		user := v.JID.SignalAddressUser()
		if err := cli.Store.Sessions.DeleteAllSessions(ctx, user); err != nil {
			e.log().Warn("cannot forget a contact's sessions after its identity changed", "err", err)
		}
		if err := cli.Store.Identities.DeleteAllIdentities(ctx, user); err != nil {
			e.log().Warn("cannot forget a contact's identity after it changed", "err", err)
		}
	}
	e.log().Info("a contact's security code changed", "contact", e.phoneJID(v.JID).String(), "implicit", v.Implicit)
}

// historySynced tells what became of a history sync from the phone: its
// messages are not imported (OpenWA keeps what arrives from the moment the
// device is linked; older chats are the phone's), and never become new
// received messages; whatsmeow keeps the push names and LID mappings it carries.
func (e *Engine) historySynced(v *events.HistorySync) {
	messages := 0
	for _, c := range v.Data.GetConversations() {
		messages += len(c.GetMessages())
	}
	e.log().Info("history sync from the phone: not imported as messages", "type", v.Data.GetSyncType().String(),
		"conversations", len(v.Data.GetConversations()), "messages", messages, "push_names", len(v.Data.GetPushnames()))
}

func isDown(ev engine.Event) bool {
	switch ev.(type) {
	case engine.Disconnected, engine.Failed, engine.LoggedOut:
		return true
	}
	return false
}

// phoneJID names a user by phone number where WhatsApp gave a LID and the
// device store knows the number; other ids pass unchanged.
func (e *Engine) phoneJID(jid types.JID) types.JID {
	out, _ := phoneOf(jid, types.EmptyJID, e.pnOf)
	return out
}

// pnOf is the phone JID the device store (whatsmeow's LID map) knows for a
// LID, or the empty JID.
func (e *Engine) pnOf(lid types.JID) types.JID {
	e.mu.Lock()
	cli := e.client
	e.mu.Unlock()
	if cli == nil {
		return types.EmptyJID
	}
	pn, err := cli.Store.LIDs.GetPNForLID(context.Background(), lid.ToNonAD())
	if err != nil {
		return types.EmptyJID
	}
	return pn
}

// announce tells WhatsApp the account is available, with its push name, so
// that the people it writes to see the name instead of "-". Without a push
// name (not synced from the phone yet) WhatsApp takes no presence; the
// push-name sync announces it then. whatsmeow dispatches both events off its
// node-reading goroutine, and the presence is one node written.
func (e *Engine) announce() {
	e.mu.Lock()
	cli, ctx := e.client, e.ctx
	e.mu.Unlock()
	if cli == nil || cli.Store.PushName == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cli.SendPresence(ctx, types.PresenceAvailable); err != nil {
		e.log().Warn("cannot send presence", "err", err)
	}
}

// paired tells whether the session's device is linked to an account.
func (e *Engine) paired() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.account.JID != ""
}

// me is the linked account.
func (e *Engine) me() engine.Account {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.account
}

// Me is the linked account, nil when not paired.
func (e *Engine) Me() *engine.Account {
	a := e.me()
	if a.JID == "" {
		return nil
	}
	return &a
}

// Disconnect closes the connection and keeps the pairing.
func (e *Engine) Disconnect(context.Context) error {
	e.mu.Lock()
	cli, cancel, connCancel, stopRetry := e.client, e.cancel, e.connCancel, e.stopRetry
	e.client, e.ctx, e.cancel, e.connCancel, e.stopRetry = nil, nil, nil, nil, nil
	e.mu.Unlock()
	// Stop reconnecting; end the waits of a handler in progress (what it
	// handed on is stored all the same, and acknowledged at the next
	// connection); then close; RemoveEventHandlers returns once no handler runs.
	if stopRetry != nil {
		stopRetry()
	}
	if cancel != nil {
		cancel()
	}
	if cli != nil {
		cli.Disconnect()
		cli.RemoveEventHandlers()
	}
	if connCancel != nil {
		connCancel()
	}
	e.wg.Wait()
	if cli != nil {
		cli.Disconnect() // what an attempt under way connected meanwhile
	}
	return nil
}

// Logout unlinks the device (telling WhatsApp when connected) and forgets it.
func (e *Engine) Logout(ctx context.Context) error {
	e.mu.Lock()
	cli := e.client
	e.mu.Unlock()
	var err error
	if cli != nil && cli.IsConnected() && cli.Store.ID != nil {
		err = cli.Logout(ctx) // tells WhatsApp, and deletes the device from the store
		if err != nil && !cli.Store.Deleted {
			// WhatsApp did not take the unlink (unreachable, no answer): the
			// device's keys go all the same; the phone lists it until removed there.
			e.log().Warn("WhatsApp did not confirm the unlink; removing the device's keys here", "err", err)
			err = cli.Store.Delete(ctx)
		}
	} else if dev, derr := e.device(ctx); derr == nil && dev.ID != nil {
		err = e.devices.DeleteDevice(ctx, dev) // offline: the phone lists the device until removed there
	}
	_ = e.Disconnect(ctx)
	if cerr := e.opts.Auth.ClearAuth(ctx); err == nil {
		err = cerr
	}
	return err
}

// PairPhone asks WhatsApp for a code to link the device by phone number.
func (e *Engine) PairPhone(ctx context.Context, phone string) (string, error) {
	p, err := engine.NormalizePhone(phone)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	cli := e.client
	e.mu.Unlock()
	if cli == nil || !cli.IsConnected() {
		return "", engine.ErrNotConnected
	}
	return cli.PairPhone(ctx, p, true, whatsmeow.PairClientChrome, "Chrome (Linux)")
}

// Config is what all whatsmeow engines of a process share.
type Config struct {
	// DeviceName is the name the phone's list of linked devices shows (WHATSAPP_DEVICE_NAME).
	DeviceName string
	// Transport, when not nil, carries every connection instead of the
	// network: tests point it at a fake WhatsApp server.
	Transport http.RoundTripper
}

// deviceNameMu orders the factories' writes and reads of whatsmeow's
// process-wide device name.
var deviceNameMu sync.Mutex

// Factory builds whatsmeow engines on the device store.
func Factory(devices *sqlstore.Container, cfg Config) engine.Factory {
	if cfg.DeviceName != "" {
		// whatsmeow keeps it process-wide, read by every client that links a
		// device: it is written before any engine of this Factory exists, and
		// only when it changes, so that factories of one name never write it
		// while another's engines read it.
		deviceNameMu.Lock()
		if store.DeviceProps.GetOs() != cfg.DeviceName {
			store.DeviceProps.Os = proto.String(cfg.DeviceName)
		}
		deviceNameMu.Unlock()
	}
	sh := newShared()
	return func(opts engine.Options) (engine.Engine, error) {
		e := New(devices, opts)
		e.transport = cfg.Transport
		e.shared = sh
		return e, nil
	}
}

// shared is what the engines of one process share.
type shared struct {
	// versionMu serializes refreshes of whatsmeow's process-wide WhatsApp Web version.
	versionMu sync.Mutex
	// downloads holds a token per received-media download in progress, in all sessions.
	downloads chan struct{}
}

func newShared() *shared { return &shared{downloads: make(chan struct{}, parallelDownloads)} }

// refreshVersion asks WhatsApp Web for its current version after WhatsApp
// refused outdated: once for all sessions (a session that finds the version
// changed already does not ask again).
func (sh *shared) refreshVersion(ctx context.Context, h *http.Client, outdated store.WAVersionContainer) (store.WAVersionContainer, error) {
	sh.versionMu.Lock()
	defer sh.versionMu.Unlock()
	if cur := store.GetWAVersion(); cur != outdated {
		return cur, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	latest, err := whatsmeow.GetLatestVersion(ctx, h)
	if err != nil {
		return outdated, err
	}
	store.SetWAVersion(*latest)
	return *latest, nil
}

// httpClient is a client for plain HTTPS requests to WhatsApp, through the
// session's transport or proxy like its connection.
func (e *Engine) httpClient() *http.Client {
	if e.transport != nil {
		return &http.Client{Transport: e.transport}
	}
	if e.opts.ProxyURL != "" {
		if u, err := url.Parse(e.opts.ProxyURL); err == nil {
			return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}}
		}
	}
	return http.DefaultClient
}

func (e *Engine) log() *slog.Logger {
	if e.opts.Logger != nil {
		return e.opts.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// logger hands whatsmeow's log to OpenWA's: its warnings and errors as such,
// its chatty info as debug. Message contents are never logged at info or above.
type logger struct{ l *slog.Logger }

func (g logger) Errorf(msg string, args ...any) { g.l.Error(fmt.Sprintf(msg, args...)) }
func (g logger) Warnf(msg string, args ...any)  { g.l.Warn(fmt.Sprintf(msg, args...)) }
func (g logger) Infof(msg string, args ...any) {
	if g.l.Enabled(context.Background(), slog.LevelDebug) {
		g.l.Debug(fmt.Sprintf(msg, args...))
	}
}
func (g logger) Debugf(string, ...any)          {}
func (g logger) Sub(module string) waLog.Logger { return logger{g.l.With("module", module)} }
