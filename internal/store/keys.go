package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
)

// APIKey is a stored API key. Only the hash of the key is kept.
type APIKey struct {
	ID         string
	Name       string
	Hash       string
	Prefix     string // the first characters of the key, to recognise it in lists
	Role       string
	Sessions   []string
	ExpiresAt  int64 // 0: never
	CreatedAt  int64
	LastUsedAt int64
}

const keyCols = `id, name, key_hash, prefix, role, sessions, COALESCE(expires_at, 0), created_at, COALESCE(last_used_at, 0)`

func scanKey(row scanner) (*APIKey, error) {
	var k APIKey
	var sessions string
	if err := row.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &k.Role, &sessions, &k.ExpiresAt, &k.CreatedAt, &k.LastUsedAt); err != nil {
		return nil, classify(err)
	}
	if err := json.Unmarshal([]byte(sessions), &k.Sessions); err != nil {
		return nil, err
	}
	return &k, nil
}

// CreateKey stores a key.
func (s *Store) CreateKey(ctx context.Context, k *APIKey) error {
	sessions, err := json.Marshal(nonNil(k.Sessions))
	if err != nil {
		return err
	}
	var expires any
	if k.ExpiresAt > 0 {
		expires = k.ExpiresAt
	}
	_, err = s.exec(ctx, `INSERT INTO api_keys (id, name, key_hash, prefix, role, sessions, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, k.ID, k.Name, k.Hash, k.Prefix, k.Role, string(sessions), expires, k.CreatedAt)
	return err
}

// KeyByHash finds a key by its hash.
func (s *Store) KeyByHash(ctx context.Context, hash string) (*APIKey, error) {
	return scanKey(s.r.QueryRowContext(ctx, s.rebind(`SELECT `+keyCols+` FROM api_keys WHERE key_hash = ?`), hash))
}

// GetKey reads one key by id.
func (s *Store) GetKey(ctx context.Context, id string) (*APIKey, error) {
	return scanKey(s.r.QueryRowContext(ctx, s.rebind(`SELECT `+keyCols+` FROM api_keys WHERE id = ?`), id))
}

// ListKeys returns a page of keys, oldest first, and the total.
func (s *Store) ListKeys(ctx context.Context, limit, offset int) ([]*APIKey, int, error) {
	return page(ctx, s, `SELECT COUNT(*) FROM api_keys`,
		`SELECT `+keyCols+` FROM api_keys ORDER BY created_at, id LIMIT ? OFFSET ?`, nil, limit, offset, scanKey)
}

// CountKeys counts stored keys.
func (s *Store) CountKeys(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys`).Scan(&n)
	return n, classify(err)
}

// ErrLastAdmin is returned by DeleteKey for the last admin key that has not expired.
var ErrLastAdmin = errors.New("the last active admin key")

// DeleteKey removes a key, unless it is the last admin key that has not
// expired at now (Unix ms): then it returns ErrLastAdmin. The check and the
// delete are one transaction, so two concurrent deletes cannot remove the
// last two admin keys.
func (s *Store) DeleteKey(ctx context.Context, id string, now int64) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.dialect.takeTurns(ctx, tx, turnKeys); err != nil {
			return err
		}
		var role string
		var expires int64
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT role, COALESCE(expires_at, 0) FROM api_keys WHERE id = ?`), id).Scan(&role, &expires)
		if err != nil {
			return err
		}
		if role == "admin" && (expires == 0 || expires > now) {
			var others int
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM api_keys WHERE role = 'admin' AND id <> ?
				AND (expires_at IS NULL OR expires_at = 0 OR expires_at > ?)`), id, now).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return ErrLastAdmin
			}
		}
		_, err = tx.ExecContext(ctx, s.rebind(`DELETE FROM api_keys WHERE id = ?`), id)
		return err
	})
}

// ShortenKeyPrefixes cuts stored prefixes to what auth.Prefix keeps: 4
// characters after "owa_", 4 of any other key.
func (s *Store) ShortenKeyPrefixes(ctx context.Context) error {
	_, err := s.exec(ctx, `UPDATE api_keys SET prefix = CASE WHEN SUBSTR(prefix, 1, 4) = 'owa_'
		THEN SUBSTR(prefix, 1, 8) ELSE SUBSTR(prefix, 1, 4) END WHERE LENGTH(prefix) > 4`)
	return err
}

// TouchKey records that a key was used.
func (s *Store) TouchKey(ctx context.Context, id string, at int64) error {
	_, err := s.exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, at, id)
	return err
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID        int64
	KeyID     string
	Action    string
	Target    string
	IP        string
	Status    int
	Outcome   string // success|failure
	RequestID string
	CreatedAt int64
}

// AddAudit appends to the audit log.
func (s *Store) AddAudit(ctx context.Context, e *AuditEntry) error {
	_, err := s.exec(ctx, `INSERT INTO audit_log (key_id, action, target, ip, status, outcome, request_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, nullStr(e.KeyID), e.Action, e.Target, e.IP, e.Status, e.Outcome, e.RequestID, e.CreatedAt)
	return err
}

// DeleteAuditBefore deletes the audit rows written before t (Unix ms).
func (s *Store) DeleteAuditBefore(ctx context.Context, t int64) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM audit_log WHERE created_at < ?`, t)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ListAudit returns a page of the audit log, newest first, and the total.
func (s *Store) ListAudit(ctx context.Context, limit, offset int) ([]*AuditEntry, int, error) {
	return page(ctx, s, `SELECT COUNT(*) FROM audit_log`, `SELECT id, COALESCE(key_id, ''), action, target, ip, status, outcome,
		request_id, created_at FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?`, nil, limit, offset,
		func(row scanner) (*AuditEntry, error) {
			var e AuditEntry
			err := row.Scan(&e.ID, &e.KeyID, &e.Action, &e.Target, &e.IP, &e.Status, &e.Outcome, &e.RequestID, &e.CreatedAt)
			return &e, err
		})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
