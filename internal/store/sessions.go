package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/openwa/openwa/internal/event"
)

// Session is a stored session row. Config is JSON owned by the session service;
// AuthState is an engine's opaque pairing state (nil when not paired).
type Session struct {
	ID        string
	Name      string
	Engine    string
	Status    string
	Phone     string
	PushName  string
	LastError string
	Config    []byte
	AuthState []byte
	Started   bool // the session should run: restored on boot
	CreatedAt int64
	UpdatedAt int64
}

const sessionCols = `id, name, engine, status, COALESCE(phone, ''), COALESCE(push_name, ''), COALESCE(last_error, ''),
	config, auth_state, started, created_at, updated_at`

func scanSession(row scanner) (*Session, error) {
	var s Session
	var started int
	err := row.Scan(&s.ID, &s.Name, &s.Engine, &s.Status, &s.Phone, &s.PushName, &s.LastError,
		&s.Config, &s.AuthState, &started, &s.CreatedAt, &s.UpdatedAt)
	if err != nil {
		return nil, classify(err)
	}
	s.Started = started != 0
	return &s, nil
}

// CreateSession inserts s unless maxSessions sessions exist already (then it
// returns ErrLimit) or the id is taken (ErrConflict). The count and the insert
// are one transaction.
func (s *Store) CreateSession(ctx context.Context, sess *Session, maxSessions int) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		// Concurrent creates would each count below the limit: take turns.
		if err := s.dialect.takeTurns(ctx, tx, turnSessions); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil {
			return err
		}
		var exists int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM sessions WHERE id = ?`), sess.ID).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return fmt.Errorf("session %s: %w", sess.ID, ErrConflict)
		}
		if n >= maxSessions {
			return ErrLimit
		}
		// Rows an earlier session of this id left (an event written while it
		// was being deleted) must not reach the new one.
		if err := s.deleteUnder(ctx, tx, sess.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO sessions (id, name, engine, status, phone, push_name,
			last_error, config, auth_state, started, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			sess.ID, sess.Name, sess.Engine, sess.Status, nullStr(sess.Phone), nullStr(sess.PushName),
			nullStr(sess.LastError), string(sess.Config), sess.AuthState, boolInt(sess.Started), sess.CreatedAt, sess.UpdatedAt)
		return err
	})
}

// ErrLimit means a configured maximum was reached.
var ErrLimit = errors.New("limit reached")

// GetSession reads one session.
func (s *Store) GetSession(ctx context.Context, id string) (*Session, error) {
	return scanSession(s.r.QueryRowContext(ctx, s.rebind(`SELECT `+sessionCols+` FROM sessions WHERE id = ?`), id))
}

// SessionFilter narrows ListSessions.
type SessionFilter struct {
	Status string   // "" for any
	IDs    []string // nil for any; empty non-nil for none
	Limit  int
	Offset int
}

// ListSessions returns a page of sessions ordered by creation, and the total matching.
func (s *Store) ListSessions(ctx context.Context, f SessionFilter) ([]*Session, int, error) {
	where, args := "WHERE 1=1", []any{}
	if f.Status != "" {
		where += " AND status = ?"
		args = append(args, f.Status)
	}
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			return nil, 0, nil
		}
		where += " AND id IN (?" + strings.Repeat(",?", len(f.IDs)-1) + ")"
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	if f.Limit <= 0 {
		f.Limit = 1 << 31 // every row; both dialects take this
	}
	return page(ctx, s, `SELECT COUNT(*) FROM sessions `+where, `SELECT `+sessionCols+` FROM sessions `+where+
		` ORDER BY created_at, id LIMIT ? OFFSET ?`, args, f.Limit, f.Offset, scanSession)
}

// UpdateSession writes the mutable columns of sess but its auth state: that
// belongs to the engine, which writes it with SetSessionAuth at any time, and
// a row read earlier must not put an older one back.
//
// The events are written in the same transaction.
func (s *Store) UpdateSession(ctx context.Context, sess *Session, evs ...*event.Row) error {
	return s.txEvents(ctx, &evs, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE sessions SET name = ?, status = ?, phone = ?, push_name = ?,
			last_error = ?, config = ?, started = ?, updated_at = ? WHERE id = ?`),
			sess.Name, sess.Status, nullStr(sess.Phone), nullStr(sess.PushName), nullStr(sess.LastError),
			string(sess.Config), boolInt(sess.Started), sess.UpdatedAt, sess.ID)
		return mustAffect(res, err)
	})
}

// DeleteSession removes a session and everything stored under its id, in one
// transaction: its events (with every delivery of them, global webhooks'
// included), its webhooks and their deliveries, messages, idempotency records
// and media rows; and it takes the id off every session key, deleting a key
// left with no session. It returns ErrNotFound when there was no session row;
// what was stored under the id is removed all the same, so a second call after
// an interrupted one finishes the work. The media bytes are the caller's.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	var gone error
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.deleteUnder(ctx, tx, id); err != nil {
			return err
		}
		if err := s.dropKeySession(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM sessions WHERE id = ?`), id)
		if gone = mustAffect(res, err); errors.Is(gone, ErrNotFound) {
			return nil // commit the rest
		}
		return gone
	})
	if err != nil {
		return err
	}
	return gone
}

// deleteUnder removes the rows stored under session id but the session's own.
// The statements do not lean on ON DELETE CASCADE: events have no foreign key
// to their session, and the order keeps every reference valid on the way.
func (s *Store) deleteUnder(ctx context.Context, tx *sql.Tx, id string) error {
	for _, q := range []string{
		`DELETE FROM deliveries WHERE event_seq IN (SELECT seq FROM events WHERE session_id = ?)`,
		`DELETE FROM deliveries WHERE webhook_id IN (SELECT id FROM webhooks WHERE session_id = ?)`,
		`DELETE FROM events WHERE session_id = ?`,
		`DELETE FROM webhooks WHERE session_id = ?`,
		`DELETE FROM idempotency_keys WHERE session_id = ?`,
		`DELETE FROM media WHERE session_id = ?`,
		`DELETE FROM messages WHERE session_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, s.rebind(q), id); err != nil {
			return err
		}
	}
	return nil
}

// dropKeySession takes session id off every session key; a key left with no
// session is deleted (revoked), never widened.
func (s *Store) dropKeySession(ctx context.Context, tx *sql.Tx, id string) error {
	rows, err := tx.QueryContext(ctx, s.rebind(`SELECT id, sessions FROM api_keys WHERE role = 'session' AND sessions LIKE ?`),
		`%"`+id+`"%`)
	if err != nil {
		return err
	}
	type key struct {
		id       string
		sessions []string
	}
	var keys []key
	for rows.Next() {
		var k key
		var raw string
		if err := rows.Scan(&k.id, &raw); err != nil {
			rows.Close()
			return err
		}
		if err := json.Unmarshal([]byte(raw), &k.sessions); err != nil {
			rows.Close()
			return fmt.Errorf("api key %s sessions: %w", k.id, err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range keys {
		kept := slices.DeleteFunc(k.sessions, func(s string) bool { return s == id })
		if len(kept) == 0 {
			if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM api_keys WHERE id = ?`), k.id); err != nil {
				return err
			}
			continue
		}
		b, err := json.Marshal(kept)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE api_keys SET sessions = ? WHERE id = ?`), string(b), k.id); err != nil {
			return err
		}
	}
	return nil
}

func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SetSessionAuth replaces a session's engine pairing state (nil clears it).
func (s *Store) SetSessionAuth(ctx context.Context, id string, state []byte) error {
	res, err := s.exec(ctx, `UPDATE sessions SET auth_state = ?, updated_at = ? WHERE id = ?`, state, Now(), id)
	return mustAffect(res, err)
}

// SessionAuth reads a session's engine pairing state.
func (s *Store) SessionAuth(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, s.rebind(`SELECT auth_state FROM sessions WHERE id = ?`), id).Scan(&b)
	return b, classify(err)
}

// CountSessionsByStatus counts sessions per status.
func (s *Store) CountSessionsByStatus(ctx context.Context) (map[string]int, error) {
	return s.countBy(ctx, `SELECT status, COUNT(*) FROM sessions GROUP BY status`)
}
