package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/stamp"
)

// Sentinels the services translate into API errors.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

//go:embed migrations
var migrationFS embed.FS

// Store is the database. On SQLite all writes go through one connection, a
// write queue: SQLite has one writer, and a single connection with
// BEGIN IMMEDIATE and a busy_timeout means SQLITE_BUSY never reaches a caller);
// reads use a separate pool, which WAL lets run beside the writer.
type Store struct {
	dialect  *dialect
	w        *sql.DB // writes and transactions
	r        *sql.DB // reads
	onCommit func([]*event.Row)
	commitMu sync.Mutex // see txEvents
}

// OpenSQLite opens (creating if needed) the SQLite database at path.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	dsn := func(extra string) string {
		return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate" + extra
	}
	w, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn("&_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(8)
	s := &Store{dialect: sqliteDialect, w: w, r: r}
	if err := w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database at url with at most
// poolMax connections. With requireTLS, a URL that names no sslmode gets sslmode=require.
func OpenPostgres(ctx context.Context, url string, poolMax int, requireTLS bool) (*Store, error) {
	if requireTLS && !strings.Contains(url, "sslmode=") {
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		url += sep + "sslmode=require"
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(poolMax)
	db.SetMaxIdleConns(min(poolMax, 10))
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{dialect: postgresDialect, w: db, r: db}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return s, nil
}

// DB returns the writer pool, for components that keep tables of their own
// in the same database (whatsmeow's device store).
func (s *Store) DB() *sql.DB { return s.w }

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.name }

// Close closes both pools.
func (s *Store) Close() error {
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.r.PingContext(ctx)
}

// Migrate applies every embedded migration not yet applied, each in its own
// transaction, and refuses a schema newer than this binary.
func (s *Store) Migrate(ctx context.Context) (applied []int, err error) {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	files, err := s.migrations()
	if err != nil {
		return nil, err
	}
	current, err := s.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if latest := files[len(files)-1].version; current > latest {
		return nil, fmt.Errorf("database schema version %d is newer than this binary's %d: upgrade OpenWA", current, latest)
	}
	for _, m := range files {
		if m.version <= current {
			continue
		}
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
				m.version, Now())
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migration %04d: %w", m.version, err)
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}

// SchemaVersion is the highest applied migration, 0 for an empty database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	if err != nil {
		if isMissingTable(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// LatestVersion is the newest migration this binary carries.
func (s *Store) LatestVersion() int {
	files, err := s.migrations()
	if err != nil || len(files) == 0 {
		return 0
	}
	return files[len(files)-1].version
}

type migration struct {
	version int
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := "migrations/" + s.dialect.name
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its number", name)
		}
		b, err := migrationFS.ReadFile(dir + "/" + name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, sql: string(b)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no migrations for %s", s.dialect.name)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// Tx runs fn in a write transaction, committing if it returns nil.
func (s *Store) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return classify(err)
	}
	return classify(tx.Commit())
}

// exec runs one write statement.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := s.w.ExecContext(ctx, s.rebind(query), args...)
	return res, classify(err)
}

// rebind turns ? placeholders into the dialect's own.
func (s *Store) rebind(q string) string { return s.dialect.rebind(q) }

// classify maps driver errors to the store's sentinels.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if isConflict(err) {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}

// Now is the current time in Unix milliseconds, the store's time unit.
func Now() int64 { return time.Now().UnixMilli() }

// Time converts stored milliseconds into a UTC time, in the form OpenWA writes.
func Time(ms int64) stamp.Time { return stamp.Millis(ms) }

// GetMeta reads a value from the meta table ("" when absent).
func (s *Store) GetMeta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, s.rebind(`SELECT value FROM meta WHERE key = ?`), key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetMeta writes a value to the meta table.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// column reads a one-column query of strings.
func (s *Store) column(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, s.rebind(query), args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// countBy reads a (key, count) query into a map.
func (s *Store) countBy(ctx context.Context, query string, args ...any) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, s.rebind(query), args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// page reads one page of a list and the total: countSQL counts the rows
// listSQL returns, both take args, and listSQL ends in LIMIT ? OFFSET ?.
func page[T any](ctx context.Context, s *Store, countSQL, listSQL string, args []any, limit, offset int,
	scan func(scanner) (T, error)) ([]T, int, error) {
	var total int
	if err := s.r.QueryRowContext(ctx, s.rebind(countSQL), args...).Scan(&total); err != nil {
		return nil, 0, classify(err)
	}
	rows, err := s.r.QueryContext(ctx, s.rebind(listSQL), append(args[:len(args):len(args)], limit, offset)...)
	if err != nil {
		return nil, 0, classify(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, v)
	}
	return out, total, classify(rows.Err())
}
