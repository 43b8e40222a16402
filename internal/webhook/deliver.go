package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/netguard"
	"github.com/openwa/openwa/internal/stamp"
	"github.com/openwa/openwa/internal/store"
)

// schedule is the wait before each retry (API.md, the schedule of Standard
// Webhooks): the first at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
// 10 h, which covers about a day; retries past it wait the last interval.
var schedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// maxRetryAfter caps a receiver's Retry-After: the longest wait of the schedule.
const maxRetryAfter = 10 * time.Hour

// Backoff is the wait before the retry-th retry (the one after attempt number
// retry failed), with ±20 % jitter.
func Backoff(retry int) time.Duration {
	d := schedule[min(max(retry, 1), len(schedule))-1]
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), at most maxRetryAfter.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.Atoi(h); err == nil {
		d = time.Duration(min(secs, int(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), maxRetryAfter), true
}

// failure says why a delivery attempt got no response, by kind: the error's
// text may carry the URL (and its query), so it is not shown.
func failure(err error) string {
	var netErr net.Error
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.Is(err, netguard.ErrForbidden):
		return "target address not allowed: private or reserved (WEBHOOK_ALLOW_PRIVATE is off)"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &dnsErr):
		return "DNS lookup failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &certErr), errors.As(err, &recordErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return "TLS handshake failed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without a response"
	case strings.Contains(err.Error(), "too many redirects"):
		return "too many redirects"
	default:
		return "network error"
	}
}

// excerptMax bounds how much of a receiver's answer a delivery records.
const excerptMax = 200

// excerpt is the start of a receiver's answer, as printable text, for the
// delivery's lastError; the rest of the body is drained, bounded, and dropped.
func excerpt(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, excerptMax+1))
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	cut := len(b) > excerptMax
	if cut {
		b = b[:excerptMax]
	}
	t := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, strings.ToValidUTF8(string(b), ""))
	t = strings.Join(strings.Fields(t), " ")
	if cut && t != "" {
		t += "…"
	}
	return t
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
func (s *Service) Committed(evs []*event.Row) {
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
	logAttempt(d)
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
			"attempts", d.Attempts, "status", status, "err", reason(status, d.LastError))
	}
	if d.Status == "pending" {
		s.log.Warn("webhook attempt failed, will retry", "webhook_id", w.ID, "delivery_id", d.ID, "attempt", d.Attempts,
			"status", status, "err", reason(status, d.LastError), "next_attempt_at", stamp.Millis(d.NextAttemptAt).String())
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
func (s *Service) post(ctx context.Context, w *store.Webhook, ev *event.Row, secret string, attempt int) (int, time.Duration, time.Duration, error) {
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
		// Every failure to get an answer is retried: a receiver that restarts is down for a while.
		return 0, Backoff(attempt), took, errors.New("no response: " + failure(err))
	}
	defer res.Body.Close()
	code := res.StatusCode
	if code >= 200 && code < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		return code, -1, took, nil
	}
	why := fmt.Sprintf("receiver answered %d %s", code, http.StatusText(code))
	if x := excerpt(res.Body); x != "" {
		why += ": " + x
	}
	switch code {
	case http.StatusGone:
		return code, -1, took, errors.New(why + " (the webhook is disabled)")
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if ra, ok := retryAfter(res.Header.Get("Retry-After"), time.Now()); ok {
			return code, ra, took, errors.New(why)
		}
	}
	// Any other answer is retried too: a receiver answers 404 while it starts.
	return code, Backoff(attempt), took, errors.New(why)
}

// reason is what the server log says of a failed attempt: the status, or the
// kind of network failure; never the receiver's answer.
func reason(status int, lastError string) string {
	if status != 0 {
		return strconv.Itoa(status)
	}
	return lastError
}
