package store

import "context"

// Media is a stored media row.
type Media struct {
	ID         string
	SessionID  string
	StorageKey string
	Mimetype   string
	Size       int64
	Filename   string
	CreatedAt  int64
}

// CreateMedia records a blob that was put in the media store.
func (s *Store) CreateMedia(ctx context.Context, m *Media) error {
	_, err := s.exec(ctx, `INSERT INTO media (id, session_id, storage_key, mimetype, size, filename, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, m.ID, m.SessionID, m.StorageKey, m.Mimetype, m.Size, nullStr(m.Filename), m.CreatedAt)
	return err
}

// GetMedia reads one media row of a session.
func (s *Store) GetMedia(ctx context.Context, sessionID, id string) (*Media, error) {
	var m Media
	err := s.r.QueryRowContext(ctx, s.rebind(`SELECT id, session_id, storage_key, mimetype, size, COALESCE(filename, ''),
		created_at FROM media WHERE session_id = ? AND id = ?`), sessionID, id).
		Scan(&m.ID, &m.SessionID, &m.StorageKey, &m.Mimetype, &m.Size, &m.Filename, &m.CreatedAt)
	if err != nil {
		return nil, classify(err)
	}
	return &m, nil
}

// MediaBefore lists up to limit media rows created before t (Unix ms).
func (s *Store) MediaBefore(ctx context.Context, t int64, limit int) ([]*Media, error) {
	rows, err := s.r.QueryContext(ctx, s.rebind(`SELECT id, session_id, storage_key, mimetype, size, COALESCE(filename, ''),
		created_at FROM media WHERE created_at < ? ORDER BY created_at LIMIT ?`), t, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []*Media
	for rows.Next() {
		var m Media
		if err := rows.Scan(&m.ID, &m.SessionID, &m.StorageKey, &m.Mimetype, &m.Size, &m.Filename, &m.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, &m)
	}
	return out, rows.Err()
}

// DeleteMedia removes a media row.
func (s *Store) DeleteMedia(ctx context.Context, id string) error {
	_, err := s.exec(ctx, `DELETE FROM media WHERE id = ?`, id)
	return err
}
