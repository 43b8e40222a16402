package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// tables in the order their rows can be written (foreign keys first).
var tables = []string{"sessions", "api_keys", "audit_log", "messages", "idempotency_keys", "media",
	"events", "webhooks", "deliveries"}

// serials are the generated columns whose sequences follow the copied rows on PostgreSQL.
var serials = map[string]string{"audit_log": "id", "messages": "seq", "events": "seq"}

// TableCount is the row count of one table.
type TableCount struct {
	Table string
	Rows  int64
}

// Counts counts the rows of every table.
func (s *Store) Counts(ctx context.Context) ([]TableCount, error) {
	out := make([]TableCount, 0, len(tables))
	for _, t := range tables {
		var n int64
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out = append(out, TableCount{t, n})
	}
	return out, nil
}

// CopyTo copies every row of every table into dst, whose schema must be
// migrated and empty, each table in one transaction. progress is told each table's count.
func (s *Store) CopyTo(ctx context.Context, dst *Store, progress func(table string, rows int64)) error {
	counts, err := dst.Counts(ctx)
	if err != nil {
		return err
	}
	for _, c := range counts {
		if c.Rows > 0 {
			return fmt.Errorf("the target already holds data (%d rows in %s): copy into an empty database", c.Rows, c.Table)
		}
	}
	extra, err := s.foreignTables(ctx)
	if err != nil {
		return err
	}
	for _, t := range append(append([]string{}, tables...), extra...) {
		n, err := s.copyTable(ctx, dst, t)
		if err != nil {
			return fmt.Errorf("copy %s: %w", t, err)
		}
		if progress != nil {
			progress(t, n)
		}
	}
	if kind, err := s.GetMeta(ctx, "database_type"); err == nil && kind != "" {
		if err := dst.SetMeta(ctx, "migrated_from", kind); err != nil {
			return err
		}
	}
	return dst.SetMeta(ctx, "database_type", dst.dialect.name)
}

func (s *Store) copyTable(ctx context.Context, dst *Store, table string) (int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	// What each column is on the target: text columns take strings, never
	// bytes; boolean ones true and false, not SQLite's 1 and 0.
	text, boolean, err := dst.columnKinds(ctx, table)
	if err != nil {
		return 0, err
	}
	insert := dst.rebind(`INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (?` +
		strings.Repeat(", ?", len(cols)-1) + `)`)
	var n int64
	err = dst.Tx(ctx, func(tx *sql.Tx) error {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok && text[cols[i]] {
					vals[i] = string(b)
				}
				if n, ok := v.(int64); ok && boolean[cols[i]] {
					vals[i] = n != 0
				}
			}
			if _, err := tx.ExecContext(ctx, insert, vals...); err != nil {
				return err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if col, ok := serials[table]; ok && dst.dialect.resetSerial != nil {
			_, err := tx.ExecContext(ctx, dst.dialect.resetSerial(table, col))
			return err
		}
		return nil
	})
	return n, err
}

// foreignTables lists the tables other components keep in this database
// (whatsmeow's device store: whatsmeow_*), devices first because the others
// refer to them; the version table is the target's own.
func (s *Store) foreignTables(ctx context.Context) ([]string, error) {
	names, err := s.column(ctx, s.dialect.foreignTables)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, n := range names {
		switch n {
		case "whatsmeow_version":
		case "whatsmeow_device":
			out = append([]string{n}, out...)
		default:
			out = append(out, n)
		}
	}
	return out, nil
}

// columnKinds names the text and boolean columns of a table.
func (s *Store) columnKinds(ctx context.Context, table string) (text, boolean map[string]bool, err error) {
	rows, err := s.r.QueryContext(ctx, `SELECT * FROM `+table+` WHERE 1 = 0`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, nil, err
	}
	text, boolean = map[string]bool{}, map[string]bool{}
	for _, t := range types {
		name := strings.ToUpper(t.DatabaseTypeName())
		text[t.Name()] = name == "TEXT" || strings.HasPrefix(name, "VARCHAR")
		boolean[t.Name()] = name == "BOOL" || name == "BOOLEAN"
	}
	return text, boolean, nil
}
