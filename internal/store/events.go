package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/ident"
)

// SetOnCommit registers fn to receive the events of every committed
// transaction, in order, after the commit: the fan-out to webhooks and
// real-time clients starts from what is durable.
func (s *Store) SetOnCommit(fn func([]*event.Row)) { s.onCommit = fn }

// txEvents runs fn, then writes the events it leaves in *evs (with their
// delivery rows), in one transaction; after the commit they are handed to
// the commit hook.
//
// commitMu holds across the commit and the hook, so that the hook sees events
// in seq order (SQLite commits one writer at a time anyway); the hook must not block.
func (s *Store) txEvents(ctx context.Context, evs *[]*event.Row, fn func(*sql.Tx) error) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		// Several instances may share the database: one event writer at a
		// time, cluster-wide.
		if err := s.dialect.takeTurns(ctx, tx, turnEvents); err != nil {
			return err
		}
		if fn != nil {
			if err := fn(tx); err != nil {
				return err
			}
		}
		for _, ev := range *evs {
			if err := s.insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && len(*evs) > 0 && s.onCommit != nil {
		s.onCommit(*evs)
	}
	return err
}

// AddEvents writes events that come with no other state change.
func (s *Store) AddEvents(ctx context.Context, evs ...*event.Row) error {
	return s.txEvents(ctx, &evs, nil)
}

func (s *Store) insertEvent(ctx context.Context, tx *sql.Tx, ev *event.Row) error {
	var sess any
	if ev.SessionID != "" {
		sess = ev.SessionID
	}
	if err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO events (id, name, session_id, data, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING seq`), ev.ID, ev.Name, sess, string(ev.Data), ev.CreatedAt).Scan(&ev.Seq); err != nil {
		return err
	}
	// One delivery row per webhook that wants the event.
	q := `SELECT id FROM webhooks WHERE active = 1 AND (session_id IS NULL OR session_id = ?)
		AND (events LIKE '%"*"%' OR events LIKE ?)`
	args := []any{ev.SessionID, `%"` + ev.Name + `"%`}
	if ev.OnlyWebhook != "" {
		q, args = `SELECT id FROM webhooks WHERE id = ?`, []any{ev.OnlyWebhook}
	}
	rows, err := tx.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return err
	}
	var hooks []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		hooks = append(hooks, id)
	}
	rows.Close()
	ev.Webhooks = hooks
	for _, h := range hooks {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO deliveries (id, event_seq, webhook_id, status, attempts,
			next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)`),
			ident.NewDelivery(), ev.Seq, h, ev.CreatedAt, ev.CreatedAt, ev.CreatedAt); err != nil {
			return err
		}
	}
	return nil
}

// ListEvents returns events after f.After, oldest first.
func (s *Store) ListEvents(ctx context.Context, f event.Filter) ([]*event.Row, error) {
	where, args := "WHERE seq > ?", []any{f.After}
	if f.Sessions != nil {
		if len(f.Sessions) == 0 {
			return nil, nil
		}
		where += " AND session_id IN (?" + strings.Repeat(",?", len(f.Sessions)-1) + ")"
		for _, id := range f.Sessions {
			args = append(args, id)
		}
	}
	if len(f.Names) > 0 {
		where += " AND name IN (?" + strings.Repeat(",?", len(f.Names)-1) + ")"
		for _, n := range f.Names {
			args = append(args, n)
		}
	}
	rows, err := s.r.QueryContext(ctx, s.rebind(`SELECT seq, id, name, COALESCE(session_id, ''), data, created_at
		FROM events `+where+` ORDER BY seq LIMIT ?`), append(args, f.Limit)...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []*event.Row
	for rows.Next() {
		var e event.Row
		var data string
		if err := rows.Scan(&e.Seq, &e.ID, &e.Name, &e.SessionID, &data, &e.CreatedAt); err != nil {
			return nil, err
		}
		e.Data = json.RawMessage(data)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// GetEvent reads one event by seq.
func (s *Store) GetEvent(ctx context.Context, seq int64) (*event.Row, error) {
	var e event.Row
	var data string
	err := s.r.QueryRowContext(ctx, s.rebind(`SELECT seq, id, name, COALESCE(session_id, ''), data, created_at
		FROM events WHERE seq = ?`), seq).Scan(&e.Seq, &e.ID, &e.Name, &e.SessionID, &data, &e.CreatedAt)
	if err != nil {
		return nil, classify(err)
	}
	e.Data = json.RawMessage(data)
	return &e, nil
}

// DeleteEventsBefore removes events older than t (Unix ms) with their deliveries.
func (s *Store) DeleteEventsBefore(ctx context.Context, t int64) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM events WHERE created_at < ?`, t)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
