// Package webhook is OpenWA's webhook manager, made durable: webhook CRUD,
// Standard Webhooks signing, and delivery of the delivery rows the event log
// writes with each event (one per event and webhook), with retries, backoff
// and jitter, through an SSRF-safe client. A slow or dead receiver only holds
// its own worker.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/event/catalog"
	"github.com/openwa/openwa/internal/ident"
	"github.com/openwa/openwa/internal/keyed"
	"github.com/openwa/openwa/internal/netguard"
	"github.com/openwa/openwa/internal/stamp"
	"github.com/openwa/openwa/internal/store"
)

// Limits of a webhook.
const (
	DefaultRetryCount = 8 // the schedule's retries: about a day
	MaxRetryCount     = 20
	maxHeaders        = 20
)

// Webhook is the webhook object of API.md. Secret is set only in the response that creates it.
type Webhook struct {
	ID         string            `json:"id"`
	SessionID  *string           `json:"sessionId" doc:"null for a global webhook (events of every session)."`
	URL        string            `json:"url"`
	Events     []string          `json:"events"`
	Headers    map[string]string `json:"headers"`
	Active     bool              `json:"active"`
	RetryCount int               `json:"retryCount"`
	Secret     string            `json:"secret,omitempty" doc:"Shown only when the webhook is created."`
	CreatedAt  stamp.Time        `json:"createdAt"`
	UpdatedAt  stamp.Time        `json:"updatedAt"`
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// Statuses of a delivery.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryFailed    DeliveryStatus = "failed"
)

// DeliveryStatuses lists every delivery status.
var DeliveryStatuses = []DeliveryStatus{DeliveryPending, DeliveryDelivered, DeliveryFailed}

// Delivery is one (event, webhook) delivery and its latest attempt.
type Delivery struct {
	ID             string         `json:"id"`
	WebhookID      string         `json:"webhookId"`
	EventID        string         `json:"eventId"`
	Event          string         `json:"event"`
	Seq            int64          `json:"seq"`
	Status         DeliveryStatus `json:"status"`
	Attempts       int            `json:"attempts"`
	NextAttemptAt  *stamp.Time    `json:"nextAttemptAt" doc:"When the next attempt is due, while pending."`
	LastStatusCode *int           `json:"lastStatusCode"`
	LastError      *string        `json:"lastError"`
	LastAttemptAt  *stamp.Time    `json:"lastAttemptAt"`
	DurationMs     int64          `json:"durationMs" doc:"Duration of the last attempt."`
	AttemptLog     []Attempt      `json:"attemptLog" doc:"The recent attempts, oldest first, each with why it failed."`
	CreatedAt      stamp.Time     `json:"createdAt"`
	UpdatedAt      stamp.Time     `json:"updatedAt"`
}

// Attempt is one delivery attempt in a delivery's log.
type Attempt struct {
	Attempt    int        `json:"attempt" doc:"1 for the first attempt; a retry by hand starts again at 1."`
	At         stamp.Time `json:"at"`
	StatusCode *int       `json:"statusCode" doc:"The receiver's answer; null when none came."`
	Error      *string    `json:"error" doc:"Why it failed: the answer's status and the start of its body, or the kind of network failure."`
	DurationMs int64      `json:"durationMs"`
}

// attemptLogMax bounds the attempts a delivery keeps: a full schedule and more.
const attemptLogMax = 30

func deliveryView(d *store.Delivery) *Delivery {
	v := &Delivery{ID: d.ID, WebhookID: d.WebhookID, EventID: d.EventID, Event: d.EventName, Seq: d.EventSeq,
		Status: DeliveryStatus(d.Status), Attempts: d.Attempts, DurationMs: d.DurationMs,
		CreatedAt: store.Time(d.CreatedAt), UpdatedAt: store.Time(d.UpdatedAt)}
	if d.Status == "pending" {
		t := store.Time(d.NextAttemptAt)
		v.NextAttemptAt = &t
	}
	if d.LastStatus != 0 {
		c := d.LastStatus
		v.LastStatusCode = &c
	}
	if d.LastError != "" {
		e := d.LastError
		v.LastError = &e
	}
	if d.LastAttemptAt != 0 {
		t := store.Time(d.LastAttemptAt)
		v.LastAttemptAt = &t
	}
	v.AttemptLog = attemptLog(d)
	return v
}

func attemptLog(d *store.Delivery) []Attempt {
	out := []Attempt{}
	_ = json.Unmarshal([]byte(d.AttemptLog), &out)
	return out
}

// logAttempt adds d's latest attempt to its log, keeping the last attemptLogMax.
func logAttempt(d *store.Delivery) {
	a := Attempt{Attempt: d.Attempts, At: store.Time(d.LastAttemptAt), DurationMs: d.DurationMs}
	if d.LastStatus != 0 {
		c := d.LastStatus
		a.StatusCode = &c
	}
	if d.LastError != "" {
		e := d.LastError
		a.Error = &e
	}
	l := append(attemptLog(d), a)
	if len(l) > attemptLogMax {
		l = l[len(l)-attemptLogMax:]
	}
	b, _ := json.Marshal(l)
	d.AttemptLog = string(b)
}

// Options configure the service.
type Options struct {
	Store         *store.Store
	Timeout       time.Duration // WEBHOOK_TIMEOUT_MS
	AllowPrivate  bool          // WEBHOOK_ALLOW_PRIVATE
	EncryptionKey string        // ENCRYPTION_KEY; "" stores secrets as they are
	UserAgent     string
	Logger        *slog.Logger
	// Observe, if set, is told each attempt's outcome (delivered, retry,
	// failed) and duration, for metrics.
	Observe func(outcome string, d time.Duration)
	// Client makes the deliveries; nil: the guard's client (the SSRF guard,
	// Timeout). Tests give one whose transport stays in memory.
	Client *http.Client
	// Resolver looks up webhook hosts; nil: the system resolver.
	Resolver netguard.Resolver
	// Public lists addresses treated as public; for tests (see netguard.Options).
	Public []netip.AddrPort
}

// Service manages webhooks and delivers to them.
type Service struct {
	opts   Options
	log    *slog.Logger
	seal   *sealer
	guard  *netguard.Guard
	client *http.Client

	workers *keyed.Pool // one worker per webhook with pending deliveries

	mu    sync.Mutex
	locks map[string]*sync.Mutex // webhook → one attempt at a time
}

// New returns the service; Run starts delivering.
func New(opts Options) (*Service, error) {
	seal, err := newSealer(opts.EncryptionKey)
	if err != nil {
		return nil, err
	}
	guard := netguard.New(netguard.Options{AllowPrivate: opts.AllowPrivate, Resolver: opts.Resolver, Public: opts.Public})
	if opts.Client == nil {
		opts.Client = guard.Client(opts.Timeout)
	}
	s := &Service{opts: opts, log: opts.Logger.With("component", "webhook"), seal: seal, guard: guard,
		client: opts.Client, locks: map[string]*sync.Mutex{}}
	s.workers = keyed.New(func(ctx context.Context, id string) (time.Duration, bool) {
		wait := s.next(ctx, id)
		return wait, wait < 0
	})
	return s, nil
}

// Input is a webhook to create or, with nil fields left as they are, to update.
type Input struct {
	URL        *string
	Events     []string
	Headers    map[string]string
	Active     *bool
	RetryCount *int
	Secret     *string
}

var headerName = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]{1,64}$`)

// reserved headers are OpenWA's own on every delivery.
var reserved = []string{"content-type", "content-length", "host", "webhook-id", "webhook-timestamp",
	"webhook-signature", "x-openwa-event", "transfer-encoding", "connection"}

func (s *Service) validate(ctx context.Context, in *Input) error {
	if in.URL != nil {
		if err := s.checkTarget(ctx, *in.URL); err != nil {
			return err
		}
	}
	if in.Events != nil {
		if len(in.Events) == 0 {
			return apperr.Field("events", `give event names, or ["*"] for all`)
		}
		if err := catalog.Events.Check("events", in.Events, true); err != nil {
			return err
		}
	}
	if in.Headers != nil {
		if len(in.Headers) > maxHeaders {
			return apperr.Field("headers", fmt.Sprintf("at most %d headers", maxHeaders))
		}
		for k, v := range in.Headers {
			if !headerName.MatchString(k) || slices.Contains(reserved, strings.ToLower(k)) {
				return apperr.Field("headers", fmt.Sprintf("header %q is not allowed", k))
			}
			if len(v) > 1024 || strings.ContainsAny(v, "\r\n\x00") {
				return apperr.Field("headers", fmt.Sprintf("the value of %q is not allowed", k))
			}
		}
	}
	if in.RetryCount != nil && (*in.RetryCount < 0 || *in.RetryCount > MaxRetryCount) {
		return apperr.Field("retryCount", fmt.Sprintf("want 0 to %d", MaxRetryCount))
	}
	if in.Secret != nil {
		if _, err := secretKey(*in.Secret); err != nil {
			return apperr.Field("secret", err.Error())
		}
	}
	return nil
}

// checkTarget refuses URLs whose host is, or resolves to, an address the
// guard refuses. The dialer checks again on every delivery (DNS rebinding).
func (s *Service) checkTarget(ctx context.Context, raw string) error {
	if _, err := s.guard.CheckTarget(ctx, raw); err != nil {
		msg := err.Error()
		if errors.Is(err, netguard.ErrForbidden) {
			msg = strings.TrimSuffix(msg, ": "+netguard.ErrForbidden.Error()) +
				": a private, local or special-purpose address, not allowed; set WEBHOOK_ALLOW_PRIVATE=true to allow"
		}
		return apperr.Field("url", msg)
	}
	return nil
}

func (s *Service) view(w *store.Webhook) *Webhook {
	v := &Webhook{ID: w.ID, URL: w.URL, Active: w.Active, RetryCount: w.RetryCount,
		CreatedAt: store.Time(w.CreatedAt), UpdatedAt: store.Time(w.UpdatedAt), Headers: map[string]string{}}
	if w.SessionID != "" {
		id := w.SessionID
		v.SessionID = &id
	}
	store.DecodeJSON(s.log, "webhooks", w.ID, []byte(w.Events), &v.Events)
	var stored map[string]string
	store.DecodeJSON(s.log, "webhooks", w.ID, []byte(w.Headers), &stored)
	for k := range stored {
		v.Headers[k] = HeaderMask
	}
	return v
}

// HeaderMask stands for every header value in answers: the values are often
// credentials (Authorization), and only deliveries carry them.
const HeaderMask = "***"

// sealHeaders stores header values sealed like secrets (in clear without
// ENCRYPTION_KEY). A value sent back as HeaderMask keeps the value stored in
// old under that name (any case); a mask with nothing behind it is refused.
func (s *Service) sealHeaders(in map[string]string, old string) (string, error) {
	prev, err := s.openHeaders(old)
	if err != nil {
		return "", err
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		if v == HeaderMask {
			found := false
			for pk, pv := range prev {
				if strings.EqualFold(pk, k) {
					v, found = pv, true
					break
				}
			}
			if !found {
				return "", apperr.Field("headers", fmt.Sprintf("the value of %q is %s, the mask answers show: send the real value", k, HeaderMask))
			}
		}
		out[k] = s.seal.seal(v)
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// openHeaders returns the stored headers with their values in clear; values
// stored before ENCRYPTION_KEY was set are in clear already.
func (s *Service) openHeaders(stored string) (map[string]string, error) {
	var h map[string]string
	if stored == "" {
		return h, nil
	}
	if err := json.Unmarshal([]byte(stored), &h); err != nil {
		return nil, fmt.Errorf("stored webhook headers: %w", err)
	}
	for k, v := range h {
		plain, err := s.seal.open(v)
		if err != nil {
			return nil, fmt.Errorf("webhook header %s: %w", k, err)
		}
		h[k] = plain
	}
	return h, nil
}

func notFound(id string) error {
	return apperr.New(apperr.WebhookNotFound, "Webhook with id '%s' not found", id)
}

// MaxPerScope caps the webhooks of one session, and the global webhooks: every
// event is matched against each webhook of its session inside the transaction
// that writes it, so unbounded webhooks would slow every session's events.
const MaxPerScope = 50

// Create stores a webhook of a session ("" for a global one) and returns it with its secret.
func (s *Service) Create(ctx context.Context, sessionID string, in Input) (*Webhook, error) {
	if in.URL == nil {
		return nil, apperr.Field("url", "required")
	}
	if in.Events == nil {
		in.Events = []string{"*"}
	}
	if err := s.validate(ctx, &in); err != nil {
		return nil, err
	}
	secret := NewSecret()
	if in.Secret != nil {
		secret = *in.Secret
	}
	events, _ := json.Marshal(in.Events)
	if in.Headers == nil {
		in.Headers = map[string]string{}
	}
	headers, err := s.sealHeaders(in.Headers, "")
	if err != nil {
		return nil, err
	}
	now := store.Now()
	row := &store.Webhook{ID: ident.NewWebhook(), SessionID: sessionID, URL: *in.URL, Events: string(events),
		Headers: headers, Secret: s.seal.seal(secret), Active: in.Active == nil || *in.Active,
		RetryCount: DefaultRetryCount, CreatedAt: now, UpdatedAt: now}
	if in.RetryCount != nil {
		row.RetryCount = *in.RetryCount
	}
	switch err := s.opts.Store.CreateWebhook(ctx, row, MaxPerScope); {
	case errors.Is(err, store.ErrLimit):
		scope := "session '" + sessionID + "' has"
		if sessionID == "" {
			scope = "there are"
		}
		return nil, apperr.New(apperr.WebhookLimit, "%s %d webhooks already; delete one first", scope, MaxPerScope).
			With("maxWebhooks", MaxPerScope)
	case err != nil:
		return nil, fmt.Errorf("store webhook: %w", err)
	}
	v := s.view(row)
	v.Secret = secret
	s.log.Info("webhook created", "webhook_id", row.ID, "session_id", sessionID)
	return v, nil
}

func (s *Service) row(ctx context.Context, sessionID, id string) (*store.Webhook, error) {
	w, err := s.opts.Store.GetWebhook(ctx, sessionID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("read webhook: %w", err)
	}
	return w, nil
}

// Get returns one webhook.
func (s *Service) Get(ctx context.Context, sessionID, id string) (*Webhook, error) {
	w, err := s.row(ctx, sessionID, id)
	if err != nil {
		return nil, err
	}
	return s.view(w), nil
}

// List returns a page of webhooks.
func (s *Service) List(ctx context.Context, sessionID string, limit, offset int) ([]*Webhook, int, error) {
	rows, total, err := s.opts.Store.ListWebhooks(ctx, sessionID, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list webhooks: %w", err)
	}
	out := make([]*Webhook, len(rows))
	for i, r := range rows {
		out[i] = s.view(r)
	}
	return out, total, nil
}

// Update changes the given fields. Turning a webhook on resumes its pending deliveries.
func (s *Service) Update(ctx context.Context, sessionID, id string, in Input) (*Webhook, error) {
	w, err := s.row(ctx, sessionID, id)
	if err != nil {
		return nil, err
	}
	if err := s.validate(ctx, &in); err != nil {
		return nil, err
	}
	if in.URL != nil {
		w.URL = *in.URL
	}
	if in.Events != nil {
		b, _ := json.Marshal(in.Events)
		w.Events = string(b)
	}
	if in.Headers != nil {
		if w.Headers, err = s.sealHeaders(in.Headers, w.Headers); err != nil {
			return nil, err
		}
	}
	if in.Active != nil {
		w.Active = *in.Active
	}
	if in.RetryCount != nil {
		w.RetryCount = *in.RetryCount
	}
	if in.Secret != nil {
		w.Secret = s.seal.seal(*in.Secret)
	}
	w.UpdatedAt = store.Now()
	if err := s.opts.Store.UpdateWebhook(ctx, w); err != nil {
		return nil, fmt.Errorf("update webhook: %w", err)
	}
	if w.Active {
		s.workers.Wake(w.ID)
	}
	return s.view(w), nil
}

// Delete removes a webhook with its deliveries.
func (s *Service) Delete(ctx context.Context, sessionID, id string) error {
	if _, err := s.row(ctx, sessionID, id); err != nil {
		return err
	}
	return s.opts.Store.DeleteWebhook(ctx, id)
}

// Deliveries returns a page of a webhook's deliveries, newest event first.
func (s *Service) Deliveries(ctx context.Context, sessionID, id, status string, limit, offset int) ([]*Delivery, int, error) {
	if _, err := s.row(ctx, sessionID, id); err != nil {
		return nil, 0, err
	}
	rows, total, err := s.opts.Store.ListDeliveries(ctx, id, status, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list deliveries: %w", err)
	}
	out := make([]*Delivery, len(rows))
	for i, r := range rows {
		out[i] = deliveryView(r)
	}
	return out, total, nil
}

// Retry puts a delivery back in the queue, due now, with a fresh set of retries.
func (s *Service) Retry(ctx context.Context, sessionID, id, deliveryID string) (*Delivery, error) {
	if _, err := s.row(ctx, sessionID, id); err != nil {
		return nil, err
	}
	d, err := s.opts.Store.GetDelivery(ctx, id, deliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.New(apperr.NotFound, "Delivery with id '%s' not found", deliveryID)
	}
	if err != nil {
		return nil, err
	}
	if d.Status == "pending" {
		return deliveryView(d), nil
	}
	d.Status, d.Attempts, d.NextAttemptAt, d.UpdatedAt = "pending", 0, store.Now(), store.Now()
	if err := s.opts.Store.UpdateDelivery(ctx, d, false); err != nil {
		return nil, err
	}
	s.workers.Wake(id)
	return deliveryView(d), nil
}

// Test delivers a webhook.test event to the webhook now and returns the attempt.
func (s *Service) Test(ctx context.Context, sessionID, id string) (*Delivery, error) {
	w, err := s.row(ctx, sessionID, id)
	if err != nil {
		return nil, err
	}
	ev := event.New(event.WebhookTest, sessionID, struct{}{})
	ev.OnlyWebhook = w.ID
	if err := s.opts.Store.AddEvents(ctx, ev); err != nil {
		return nil, fmt.Errorf("write test event: %w", err)
	}
	d, err := s.opts.Store.DeliveryForEvent(ctx, w.ID, ev.Seq)
	if err != nil {
		return nil, err
	}
	v, err := s.attempt(ctx, d.ID, w.ID, true)
	if err == nil && v.Status == "pending" {
		s.workers.Wake(w.ID) // its retries are the worker's
	}
	return v, err
}
