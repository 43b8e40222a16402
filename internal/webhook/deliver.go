package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/store"
)

// schedule is the wait after the n-th failed attempt (API.md): about 1 s, 5 s,
// 30 s, 2 min, 10 min, 30 min, then hourly; each ±20 % jitter.
var schedule = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute,
	10 * time.Minute, 30 * time.Minute, time.Hour}

// Backoff is the wait after the attempt-th failed attempt, with jitter.
func Backoff(attempt int) time.Duration {
	d := schedule[min(max(attempt, 1), len(schedule))-1]
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), at most an hour.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.Atoi(h); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), time.Hour), true
}

// Run starts a worker for every webhook with pending deliveries and returns
// when ctx is cancelled and every worker has stopped.
func (s *Service) Run(ctx context.Context) error {
	ids, err := s.opts.Store.WebhooksWithPending(ctx)
	if err != nil {
		return fmt.Errorf("read pending deliveries: %w", err)
	}
	if len(ids) > 0 {
		s.log.Info("pending deliveries resumed", "webhooks", len(ids))
	}
	s.workers.Run(ctx, ids)
	return nil
}

// Committed wakes the workers of the webhooks that committed events were
// written for; a test event is delivered by Test itself.
func (s *Service) Committed(evs []*store.Event) {
	for _, ev := range evs {
		if ev.OnlyWebhook != "" {
			continue
		}
		for _, id := range ev.Webhooks {
			s.workers.Wake(id)
		}
	}
}

// next attempts the webhook's first due delivery. It returns how long until
// one is due (0: look again now), or -1 when there is nothing to do.
func (s *Service) next(ctx context.Context, webhookID string) time.Duration {
	d, err := s.opts.Store.NextDelivery(ctx, webhookID)
	if errors.Is(err, store.ErrNotFound) {
		return -1
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("read deliveries", "webhook_id", webhookID, "err", err)
		}
		return time.Second
	}
	w, err := s.opts.Store.WebhookByID(ctx, webhookID)
	if err != nil || !w.Active {
		return -1 // deleted or off: its pending deliveries wait until it is on again
	}
	if due := time.Until(time.UnixMilli(d.NextAttemptAt)); due > 0 {
		return due
	}
	if _, err := s.attempt(ctx, d.ID, webhookID, false); err != nil && ctx.Err() == nil {
		s.log.Error("deliver", "delivery_id", d.ID, "err", err)
		return time.Second
	}
	return 0
}

func (s *Service) lock(id string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.locks[id]
	if !ok {
		l = &sync.Mutex{}
		s.locks[id] = l
	}
	return l
}

// attempt makes one delivery attempt and records the outcome, unless the
// delivery is settled, or not due yet, or (first) was attempted already.
func (s *Service) attempt(ctx context.Context, deliveryID, webhookID string, first bool) (*Delivery, error) {
	l := s.lock(webhookID)
	l.Lock()
	defer l.Unlock()
	d, err := s.opts.Store.GetDelivery(ctx, webhookID, deliveryID)
	if err != nil {
		return nil, err
	}
	if d.Status != "pending" || (first && d.Attempts > 0) || (!first && d.NextAttemptAt > store.Now()) {
		return deliveryView(d), nil
	}
	w, err := s.opts.Store.WebhookByID(ctx, webhookID)
	if err != nil {
		return nil, err
	}
	ev, err := s.opts.Store.GetEvent(ctx, d.EventSeq)
	if err != nil {
		return nil, err
	}
	secret, err := s.seal.open(w.Secret)
	if err != nil {
		return nil, err
	}
	status, retryIn, outcome, attemptErr := s.post(ctx, w, ev, secret, d.Attempts+1)
	if ctx.Err() != nil && !first {
		return deliveryView(d), nil // shutting down: the attempt does not count; it is redone on start
	}
	now := time.Now()
	d.Attempts++
	d.LastStatus, d.LastAttemptAt, d.UpdatedAt = status, now.UnixMilli(), now.UnixMilli()
	d.DurationMs = outcome.Milliseconds()
	d.LastError = ""
	if attemptErr != nil {
		d.LastError = attemptErr.Error()
	}
	disable := false
	switch {
	case status >= 200 && status < 300:
		d.Status = "delivered"
	case status == http.StatusGone:
		d.Status, disable = "failed", true
		s.log.Warn("webhook answered 410 Gone: disabled", "webhook_id", w.ID)
	case retryIn >= 0 && d.Attempts <= w.RetryCount:
		d.NextAttemptAt = now.Add(retryIn).UnixMilli()
	default:
		d.Status = "failed"
		s.log.Error("webhook delivery failed", "webhook_id", w.ID, "delivery_id", d.ID, "event", ev.Name,
			"attempts", d.Attempts, "status", status, "err", d.LastError)
	}
	if s.opts.Observe != nil {
		o := d.Status
		if o == "pending" {
			o = "retry"
		}
		s.opts.Observe(o, outcome)
	}
	if err := s.opts.Store.UpdateDelivery(context.WithoutCancel(ctx), d, disable); err != nil {
		return nil, err
	}
	return deliveryView(d), nil
}

// post makes the attempt-th signed delivery of ev. It returns the status (0
// when no response came), how long to wait before a retry (-1: do not retry),
// the duration and an error describing a failure.
func (s *Service) post(ctx context.Context, w *store.Webhook, ev *store.Event, secret string, attempt int) (int, time.Duration, time.Duration, error) {
	body, err := json.Marshal(event.View(ev))
	if err != nil {
		return 0, -1, 0, err
	}
	ts := time.Now().Unix()
	sig, err := Sign(secret, ev.ID, ts, body)
	if err != nil {
		return 0, -1, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, -1, 0, err
	}
	headers, err := s.openHeaders(w.Headers)
	if err != nil {
		return 0, -1, 0, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.opts.UserAgent)
	req.Header.Set("webhook-id", ev.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	req.Header.Set("X-OpenWA-Event", ev.Name)
	start := time.Now()
	res, err := s.client.Do(req)
	took := time.Since(start)
	if err != nil {
		return 0, Backoff(attempt), took, fmt.Errorf("no response: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return res.StatusCode, -1, took, nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		wait := Backoff(attempt)
		if ra, ok := retryAfter(res.Header.Get("Retry-After"), time.Now()); ok {
			wait = ra
		}
		return res.StatusCode, wait, took, fmt.Errorf("receiver answered %d", res.StatusCode)
	default:
		return res.StatusCode, -1, took, fmt.Errorf("receiver answered %d: not retried", res.StatusCode)
	}
}
