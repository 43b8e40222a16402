package store

import (
	"cmp"
	"context"
	"database/sql"
)

// Webhook is a stored webhook. Events and Headers are JSON; Secret may be encrypted.
type Webhook struct {
	ID         string
	SessionID  string // "" for a global webhook
	URL        string
	Events     string
	Headers    string
	Secret     string
	Active     bool
	RetryCount int
	CreatedAt  int64
	UpdatedAt  int64
}

const webhookCols = `id, COALESCE(session_id, ''), url, events, headers, secret, active, retry_count, created_at, updated_at`

func scanWebhook(row scanner) (*Webhook, error) {
	var w Webhook
	var active int
	if err := row.Scan(&w.ID, &w.SessionID, &w.URL, &w.Events, &w.Headers, &w.Secret, &active, &w.RetryCount,
		&w.CreatedAt, &w.UpdatedAt); err != nil {
		return nil, classify(err)
	}
	w.Active = active != 0
	return &w, nil
}

// CreateWebhook stores a webhook unless its session (or, for a global one, the
// global scope) has max webhooks already: then it returns ErrLimit. The count
// and the insert are one transaction.
func (s *Store) CreateWebhook(ctx context.Context, w *Webhook, max int) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		// Concurrent creates would each count below the cap: take turns.
		if err := s.dialect.takeTurns(ctx, tx, turnWebhooks); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM webhooks WHERE COALESCE(session_id, '') = ?`),
			w.SessionID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return ErrLimit
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO webhooks (id, session_id, url, events, headers, secret,
			active, retry_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), w.ID, nullStr(w.SessionID),
			w.URL, w.Events, w.Headers, w.Secret, boolInt(w.Active), w.RetryCount, w.CreatedAt, w.UpdatedAt)
		return err
	})
}

// GetWebhook reads a webhook; sessionID "" reads a global one.
func (s *Store) GetWebhook(ctx context.Context, sessionID, id string) (*Webhook, error) {
	return scanWebhook(s.r.QueryRowContext(ctx, s.rebind(`SELECT `+webhookCols+` FROM webhooks
		WHERE id = ? AND COALESCE(session_id, '') = ?`), id, sessionID))
}

// WebhookByID reads a webhook of any scope.
func (s *Store) WebhookByID(ctx context.Context, id string) (*Webhook, error) {
	return scanWebhook(s.r.QueryRowContext(ctx, s.rebind(`SELECT `+webhookCols+` FROM webhooks WHERE id = ?`), id))
}

// ListWebhooks returns a page of a session's webhooks ("" for the global ones) and the total.
func (s *Store) ListWebhooks(ctx context.Context, sessionID string, limit, offset int) ([]*Webhook, int, error) {
	return page(ctx, s, `SELECT COUNT(*) FROM webhooks WHERE COALESCE(session_id, '') = ?`,
		`SELECT `+webhookCols+` FROM webhooks WHERE COALESCE(session_id, '') = ? ORDER BY created_at, id LIMIT ? OFFSET ?`,
		[]any{sessionID}, limit, offset, scanWebhook)
}

// UpdateWebhook writes a webhook's mutable columns.
func (s *Store) UpdateWebhook(ctx context.Context, w *Webhook) error {
	res, err := s.exec(ctx, `UPDATE webhooks SET url = ?, events = ?, headers = ?, secret = ?, active = ?, retry_count = ?,
		updated_at = ? WHERE id = ?`, w.URL, w.Events, w.Headers, w.Secret, boolInt(w.Active), w.RetryCount, w.UpdatedAt, w.ID)
	return mustAffect(res, err)
}

// DeleteWebhook removes a webhook and its deliveries.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM webhooks WHERE id = ?`, id)
	return mustAffect(res, err)
}

// Delivery is one (event, webhook) delivery.
type Delivery struct {
	ID            string
	EventSeq      int64
	WebhookID     string
	Status        string // pending|delivered|failed
	Attempts      int
	NextAttemptAt int64
	LastStatus    int
	LastError     string
	LastAttemptAt int64
	DurationMs    int64
	CreatedAt     int64
	UpdatedAt     int64
	AttemptLog    string // JSON array of the recent attempts, kept by the webhook service
	EventID       string // from the event, read with the delivery
	EventName     string
}

// deliveryFrom selects deliveries with their event's id and name.
const deliveryFrom = `SELECT d.id, d.event_seq, d.webhook_id, d.status, d.attempts, d.next_attempt_at, COALESCE(d.last_status, 0),
	COALESCE(d.last_error, ''), COALESCE(d.last_attempt_at, 0), COALESCE(d.duration_ms, 0), d.created_at, d.updated_at,
	d.attempt_log, e.id, e.name FROM deliveries d JOIN events e ON e.seq = d.event_seq `

func scanDelivery(row scanner) (*Delivery, error) {
	var d Delivery
	if err := row.Scan(&d.ID, &d.EventSeq, &d.WebhookID, &d.Status, &d.Attempts, &d.NextAttemptAt, &d.LastStatus,
		&d.LastError, &d.LastAttemptAt, &d.DurationMs, &d.CreatedAt, &d.UpdatedAt, &d.AttemptLog, &d.EventID, &d.EventName); err != nil {
		return nil, classify(err)
	}
	return &d, nil
}

// NextDelivery returns the webhook's pending delivery that is due first
// (oldest event first among those due), or ErrNotFound when none is pending.
func (s *Store) NextDelivery(ctx context.Context, webhookID string) (*Delivery, error) {
	return scanDelivery(s.r.QueryRowContext(ctx, s.rebind(deliveryFrom+
		`WHERE d.webhook_id = ? AND d.status = 'pending' ORDER BY d.next_attempt_at, d.event_seq LIMIT 1`), webhookID))
}

// UpdateDelivery records an attempt's outcome; with disable it also turns the webhook off.
func (s *Store) UpdateDelivery(ctx context.Context, d *Delivery, disable bool) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?,
			last_status = ?, last_error = ?, last_attempt_at = ?, duration_ms = ?, attempt_log = ?, updated_at = ? WHERE id = ?`),
			d.Status, d.Attempts, d.NextAttemptAt, nullInt(int64(d.LastStatus)), nullStr(d.LastError),
			nullInt(d.LastAttemptAt), d.DurationMs, cmp.Or(d.AttemptLog, "[]"), d.UpdatedAt, d.ID)
		if err := mustAffect(res, err); err != nil {
			return err
		}
		if disable {
			_, err = tx.ExecContext(ctx, s.rebind(`UPDATE webhooks SET active = 0, updated_at = ? WHERE id = ?`), d.UpdatedAt, d.WebhookID)
		}
		return err
	})
}

// GetDelivery reads one delivery of a webhook.
func (s *Store) GetDelivery(ctx context.Context, webhookID, id string) (*Delivery, error) {
	return scanDelivery(s.r.QueryRowContext(ctx, s.rebind(deliveryFrom+`WHERE d.webhook_id = ? AND d.id = ?`), webhookID, id))
}

// DeliveryForEvent reads the delivery of an event to a webhook.
func (s *Store) DeliveryForEvent(ctx context.Context, webhookID string, seq int64) (*Delivery, error) {
	return scanDelivery(s.r.QueryRowContext(ctx, s.rebind(deliveryFrom+`WHERE d.webhook_id = ? AND d.event_seq = ?`), webhookID, seq))
}

// ListDeliveries returns a page of a webhook's deliveries, newest first, and the total.
func (s *Store) ListDeliveries(ctx context.Context, webhookID, status string, limit, offset int) ([]*Delivery, int, error) {
	where, args := "WHERE d.webhook_id = ?", []any{webhookID}
	if status != "" {
		where += " AND d.status = ?"
		args = append(args, status)
	}
	return page(ctx, s, `SELECT COUNT(*) FROM deliveries d `+where, deliveryFrom+where+
		` ORDER BY d.event_seq DESC LIMIT ? OFFSET ?`, args, limit, offset, scanDelivery)
}

// CountDeliveries counts deliveries by status (for metrics).
func (s *Store) CountDeliveries(ctx context.Context, status string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM deliveries WHERE status = ?`), status).Scan(&n)
	return n, classify(err)
}

// WebhooksWithPending lists the webhooks that have pending deliveries.
func (s *Store) WebhooksWithPending(ctx context.Context) ([]string, error) {
	return s.column(ctx, `SELECT DISTINCT webhook_id FROM deliveries WHERE status = 'pending'`)
}
