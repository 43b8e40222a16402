package whatsmeow

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/openwa/openwa/internal/engine"
)

// Engine is one session's connection to WhatsApp through whatsmeow.
//
// This first part covers the lifecycle (connect, QR pairing, pairing by
// phone number, honest status from whatsmeow's events, disconnect, logout)
// and turns incoming messages and receipts into engine events. Sending,
// media, contacts and groups come with the protocol-level fake WhatsApp
// server that proves them; until then the engine is not offered by the
// factory, and those operations answer engine.ErrUnsupported.
type Engine struct {
	opts    engine.Options
	devices *sqlstore.Container
	// transport, when set, carries every connection (websocket and HTTP): tests
	// point it at a fake server or at nothing at all.
	transport http.RoundTripper

	mu     sync.Mutex
	client *whatsmeow.Client
	cancel context.CancelFunc // ends the QR reader of the current connection
	wg     sync.WaitGroup
}

// authState is what OpenWA keeps for a session: which device of the device store is its own.
type authState struct {
	JID string `json:"jid"`
}

// New builds an engine on the device store.
func New(devices *sqlstore.Container, opts engine.Options) *Engine {
	return &Engine{opts: opts, devices: devices}
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
	cli := whatsmeow.NewClient(dev, nil)
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
	cli.AddEventHandler(e.handle)
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
	e.emit(engine.Connecting{})
	if err := cli.ConnectContext(ctx); err != nil {
		cancel()
		e.wg.Wait()
		return fmt.Errorf("cannot reach WhatsApp: %w", err)
	}
	e.client, e.cancel = cli, cancel
	return nil
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

// handle runs on whatsmeow's event goroutine: it translates and hands on, never blocks.
func (e *Engine) handle(evt any) {
	switch v := evt.(type) {
	case *events.PairSuccess:
		b, _ := json.Marshal(authState{JID: v.ID.String()})
		if err := e.opts.Auth.SaveAuth(context.Background(), b); err != nil {
			e.emit(engine.Failed{Reason: "could not store the pairing: " + err.Error()})
			return
		}
	case *events.LoggedOut:
		_ = e.opts.Auth.ClearAuth(context.Background())
	case *events.Message:
		e.emit(engine.MessageReceived{Message: receivedMessage(v)})
		return
	case *events.Receipt:
		if st, ok := ackStatus(v.Type); ok && !v.IsFromMe {
			e.emit(engine.Ack{ChatID: v.Chat.ToNonAD().String(), WAMessageIDs: v.MessageIDs, Status: st, Timestamp: v.Timestamp.UTC()})
		}
		return
	}
	if ev, ok := connectionEvent(evt, e.me(), time.Now()); ok {
		e.emit(ev)
	}
}

// me is the linked account, as the device store knows it.
func (e *Engine) me() engine.Account {
	e.mu.Lock()
	cli := e.client
	e.mu.Unlock()
	if cli == nil || cli.Store.ID == nil {
		return engine.Account{}
	}
	return account(*cli.Store.ID, cli.Store.LID, cli.Store.PushName)
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
	cli, cancel := e.client, e.cancel
	e.client, e.cancel = nil, nil
	e.mu.Unlock()
	if cli != nil {
		cli.Disconnect()
		cli.RemoveEventHandlers()
	}
	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
	return nil
}

// Logout unlinks the device (telling WhatsApp when connected) and forgets it.
func (e *Engine) Logout(ctx context.Context) error {
	e.mu.Lock()
	cli := e.client
	e.mu.Unlock()
	var err error
	if cli != nil && cli.IsConnected() && cli.Store.ID != nil {
		err = cli.Logout(ctx)
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
	if cli == nil {
		return "", engine.ErrNotConnected
	}
	return cli.PairPhone(ctx, p, true, whatsmeow.PairClientChrome, "Chrome (Linux)")
}
