package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/openwa/openwa/internal/event"
)

// Message is a stored message row. Content is JSON owned by the message service.
type Message struct {
	Seq         int64
	ID          string
	SessionID   string
	WAMessageID string
	ChatID      string
	Sender      string
	FromMe      bool
	Type        string
	Content     []byte
	Status      string
	Error       string
	Attempts    int
	ExpiresAt   int64
	Timestamp   int64
	CreatedAt   int64
	UpdatedAt   int64
}

const messageCols = `seq, id, session_id, COALESCE(wa_message_id, ''), chat_id, sender, from_me, type, content, status,
	COALESCE(error, ''), attempts, COALESCE(expires_at, 0), timestamp, created_at, updated_at`

func scanMessage(row scanner) (*Message, error) {
	var m Message
	var fromMe int
	err := row.Scan(&m.Seq, &m.ID, &m.SessionID, &m.WAMessageID, &m.ChatID, &m.Sender, &fromMe, &m.Type, &m.Content,
		&m.Status, &m.Error, &m.Attempts, &m.ExpiresAt, &m.Timestamp, &m.CreatedAt, &m.UpdatedAt)
	if err != nil {
		return nil, classify(err)
	}
	m.FromMe = fromMe != 0
	return &m, nil
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func insertMessage(ctx context.Context, s *Store, tx *sql.Tx, m *Message) error {
	_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO messages (id, session_id, wa_message_id, chat_id, sender, from_me,
		type, content, status, error, attempts, expires_at, timestamp, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		m.ID, m.SessionID, nullStr(m.WAMessageID), m.ChatID, m.Sender, boolInt(m.FromMe), m.Type, string(m.Content),
		m.Status, nullStr(m.Error), m.Attempts, nullInt(m.ExpiresAt), m.Timestamp, m.CreatedAt, m.UpdatedAt)
	return err
}

// Idempotency records which message an Idempotency-Key produced.
type Idempotency struct {
	Key         string
	RequestHash string
}

// EnqueueMessage stores an outgoing message in the outbox; with idem it also
// records the key, in the same transaction. If the key exists already it
// returns the message it produced and ErrDuplicate, or ErrConflict when the
// key was used with another request.
func (s *Store) EnqueueMessage(ctx context.Context, m *Message, idem *Idempotency) (*Message, error) {
	var existing *Message
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if idem != nil {
			var hash, msgID string
			err := tx.QueryRowContext(ctx, s.rebind(`SELECT request_hash, message_id FROM idempotency_keys
				WHERE session_id = ? AND key = ?`), m.SessionID, idem.Key).Scan(&hash, &msgID)
			switch {
			case err == nil:
				if hash != idem.RequestHash {
					return fmt.Errorf("idempotency key reused: %w", ErrConflict)
				}
				existing, err = scanMessage(tx.QueryRowContext(ctx, s.rebind(`SELECT `+messageCols+` FROM messages WHERE id = ?`), msgID))
				if err != nil {
					return err
				}
				return ErrDuplicate
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO idempotency_keys (session_id, key, request_hash, message_id, created_at)
				VALUES (?, ?, ?, ?, ?)`), m.SessionID, idem.Key, idem.RequestHash, m.ID, m.CreatedAt); err != nil {
				return err
			}
		}
		return insertMessage(ctx, s, tx, m)
	})
	if errors.Is(err, ErrDuplicate) {
		return existing, ErrDuplicate
	}
	if errors.Is(err, ErrConflict) && idem != nil {
		// A concurrent request with the same key committed first (PostgreSQL
		// lets both look before either writes): answer with its message.
		if m, hash, lerr := s.IdempotentMessage(ctx, m.SessionID, idem.Key); lerr == nil && hash == idem.RequestHash {
			return m, ErrDuplicate
		}
	}
	return nil, err
}

// IdempotentMessage returns the message an Idempotency-Key produced and the
// hash of the request that used it, or ErrNotFound.
func (s *Store) IdempotentMessage(ctx context.Context, sessionID, key string) (*Message, string, error) {
	var hash, msgID string
	err := s.r.QueryRowContext(ctx, s.rebind(`SELECT request_hash, message_id FROM idempotency_keys
		WHERE session_id = ? AND key = ?`), sessionID, key).Scan(&hash, &msgID)
	if err != nil {
		return nil, "", classify(err)
	}
	m, err := s.GetMessage(ctx, sessionID, msgID)
	return m, hash, err
}

// ErrDuplicate means the row exists already; the existing one is returned with it.
var ErrDuplicate = errors.New("duplicate")

// SaveInbound stores a message seen by the engine, with its events; a message
// already stored (same session and WhatsApp id) is left as it is and
// ErrDuplicate returned.
func (s *Store) SaveInbound(ctx context.Context, m *Message, evs ...*event.Row) error {
	err := s.txEvents(ctx, &evs, func(tx *sql.Tx) error { return insertMessage(ctx, s, tx, m) })
	if errors.Is(err, ErrConflict) {
		return ErrDuplicate
	}
	return err
}

// GetMessage reads one message of a session.
func (s *Store) GetMessage(ctx context.Context, sessionID, id string) (*Message, error) {
	return scanMessage(s.r.QueryRowContext(ctx, s.rebind(`SELECT `+messageCols+` FROM messages WHERE session_id = ? AND id = ?`), sessionID, id))
}

// MessageByWAID reads a message by its WhatsApp id.
func (s *Store) MessageByWAID(ctx context.Context, sessionID, waID string) (*Message, error) {
	return scanMessage(s.r.QueryRowContext(ctx, s.rebind(`SELECT `+messageCols+` FROM messages WHERE session_id = ? AND wa_message_id = ?`), sessionID, waID))
}

// MessageFilter narrows ListMessages.
type MessageFilter struct {
	SessionID string
	ChatID    string
	Direction string // in|out|""
	Status    string
	Since     int64
	Until     int64
	Limit     int
	Offset    int
}

// ListMessages returns a page of a session's messages, newest first, and the total.
func (s *Store) ListMessages(ctx context.Context, f MessageFilter) ([]*Message, int, error) {
	where, args := "WHERE session_id = ?", []any{f.SessionID}
	if f.ChatID != "" {
		where += " AND chat_id = ?"
		args = append(args, f.ChatID)
	} else {
		where += " AND chat_id <> '" + StatusChat + "'" // statuses are listed on their own
	}
	switch f.Direction {
	case "in":
		where += " AND from_me = 0"
	case "out":
		where += " AND from_me = 1"
	}
	if f.Status != "" {
		where += " AND status = ?"
		args = append(args, f.Status)
	}
	if f.Since > 0 {
		where += " AND timestamp >= ?"
		args = append(args, f.Since)
	}
	if f.Until > 0 {
		where += " AND timestamp < ?"
		args = append(args, f.Until)
	}
	return page(ctx, s, `SELECT COUNT(*) FROM messages `+where, `SELECT `+messageCols+` FROM messages `+where+
		` ORDER BY timestamp DESC, seq DESC LIMIT ? OFFSET ?`, args, f.Limit, f.Offset, scanMessage)
}

// OutgoingSince counts a session's outgoing messages accepted at or after t
// (Unix ms), failed ones aside, and returns when the oldest of them was accepted.
func (s *Store) OutgoingSince(ctx context.Context, sessionID string, t int64) (n int, oldest int64, err error) {
	var o sql.NullInt64
	err = s.r.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*), MIN(created_at) FROM messages
		WHERE session_id = ? AND from_me = 1 AND created_at >= ? AND status <> 'failed'`),
		sessionID, t).Scan(&n, &o)
	return n, o.Int64, classify(err)
}

// NextOutgoing returns the oldest message of the session's outbox (queued or
// sending), or ErrNotFound. The outbox is worked in order, one at a time per
// session, so messages to a chat go out in the order they were accepted.
func (s *Store) NextOutgoing(ctx context.Context, sessionID string) (*Message, error) {
	return scanMessage(s.r.QueryRowContext(ctx, s.rebind(`SELECT `+messageCols+` FROM messages
		WHERE session_id = ? AND status IN ('queued', 'sending') ORDER BY seq LIMIT 1`), sessionID))
}

// UpdateMessage writes the mutable columns of m (the WhatsApp id, status,
// error, attempts and timestamp) and the events, in one transaction.
func (s *Store) UpdateMessage(ctx context.Context, m *Message, evs ...*event.Row) error {
	return s.txEvents(ctx, &evs, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE messages SET wa_message_id = ?, status = ?, error = ?, attempts = ?,
			content = ?, timestamp = ?, updated_at = ? WHERE id = ?`), nullStr(m.WAMessageID), m.Status, nullStr(m.Error),
			m.Attempts, string(m.Content), m.Timestamp, m.UpdatedAt, m.ID)
		return mustAffect(res, err)
	})
}

// AdvanceStatus moves a message found by WhatsApp id to status, but only
// forward (from one of the given earlier statuses), and writes the event
// newEvent makes of the row before the change. It returns that row.
func (s *Store) AdvanceStatus(ctx context.Context, sessionID, waID, status string, from []string, newEvent func(*Message) *event.Row) (*Message, error) {
	var before *Message
	var evs []*event.Row
	err := s.txEvents(ctx, &evs, func(tx *sql.Tx) error {
		m, err := scanMessage(tx.QueryRowContext(ctx, s.rebind(`SELECT `+messageCols+` FROM messages
			WHERE session_id = ? AND wa_message_id = ?`), sessionID, waID))
		if err != nil {
			return err
		}
		ok := false
		for _, f := range from {
			ok = ok || m.Status == f
		}
		if !ok {
			return ErrConflict
		}
		before = m
		if newEvent != nil {
			evs = append(evs, newEvent(m))
		}
		_, err = tx.ExecContext(ctx, s.rebind(`UPDATE messages SET status = ?, updated_at = ? WHERE id = ?`), status, Now(), m.ID)
		return err
	})
	return before, err
}

// DeleteMessagesBefore removes messages older than t (Unix ms), outside the
// outbox, and returns how many went.
func (s *Store) DeleteMessagesBefore(ctx context.Context, t int64) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM messages WHERE timestamp < ? AND status NOT IN ('queued', 'sending')`, t)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if _, err := s.exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, t); err != nil {
		return n, err
	}
	return n, nil
}

// MarkSent records a completed send. The status moves to sent only from
// sending: an ack that arrived first (delivered, read) is not undone.
func (s *Store) MarkSent(ctx context.Context, id, waID string, timestamp int64, evs ...*event.Row) error {
	return s.txEvents(ctx, &evs, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE messages SET status = CASE WHEN status = 'sending' THEN 'sent' ELSE status END,
			wa_message_id = ?, timestamp = ?, error = NULL, updated_at = ? WHERE id = ?`), waID, timestamp, Now(), id)
		return mustAffect(res, err)
	})
}

// UpdateMessageType changes a message's type (to revoked).
func (s *Store) UpdateMessageType(ctx context.Context, id, typ string, evs ...*event.Row) error {
	return s.txEvents(ctx, &evs, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE messages SET type = ?, updated_at = ? WHERE id = ?`), typ, Now(), id)
		return mustAffect(res, err)
	})
}

// ReplacePlaceholder turns a stored placeholder (type placeholderType) into
// the message m (its type, sender, content and timestamp), with the events,
// in one transaction; ErrNotFound when no such placeholder is left.
func (s *Store) ReplacePlaceholder(ctx context.Context, m *Message, placeholderType string, evs ...*event.Row) error {
	return s.txEvents(ctx, &evs, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE messages SET type = ?, sender = ?, content = ?, timestamp = ?,
			updated_at = ? WHERE id = ? AND type = ?`), m.Type, m.Sender, string(m.Content), m.Timestamp, m.UpdatedAt, m.ID,
			placeholderType)
		return mustAffect(res, err)
	})
}

// SessionsWithOutbox lists the sessions that have messages waiting to go out.
func (s *Store) SessionsWithOutbox(ctx context.Context) ([]string, error) {
	return s.column(ctx, `SELECT DISTINCT session_id FROM messages WHERE status IN ('queued', 'sending')`)
}

// CountMessagesByStatus counts messages per status (for metrics).
func (s *Store) CountMessagesByStatus(ctx context.Context) (map[string]int, error) {
	return s.countBy(ctx, `SELECT status, COUNT(*) FROM messages GROUP BY status`)
}

// Chat sums up one chat of a session's stored messages.
type Chat struct {
	ChatID   string
	Messages int
	Unread   int // incoming messages not read yet (status delivered)
}

// StatusChat is the chat id statuses are stored under; they are not a chat.
const StatusChat = "status@broadcast"

// ListChats lists a session's chats, the one with the newest message first
// (statuses are not a chat).
func (s *Store) ListChats(ctx context.Context, sessionID string, limit, offset int) ([]Chat, int, error) {
	return page(ctx, s, `SELECT COUNT(DISTINCT chat_id) FROM messages WHERE session_id = ?
		AND chat_id <> '`+StatusChat+`'`, `SELECT chat_id, COUNT(*),
		SUM(CASE WHEN from_me = 0 AND status = 'delivered' THEN 1 ELSE 0 END)
		FROM messages WHERE session_id = ? AND chat_id <> '`+StatusChat+`' GROUP BY chat_id ORDER BY MAX(timestamp) DESC, chat_id LIMIT ? OFFSET ?`,
		[]any{sessionID}, limit, offset, func(row scanner) (Chat, error) {
			var c Chat
			err := row.Scan(&c.ChatID, &c.Messages, &c.Unread)
			return c, err
		})
}
