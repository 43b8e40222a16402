package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is what differs between the databases the store speaks; the SQL
// of the store is otherwise one text for both.
type dialect struct {
	// name is "sqlite" or "postgres": the migrations folder, Dialect, and
	// the database_type recorded in meta.
	name string
	// numbered placeholders ($1, $2…) instead of ?.
	numbered bool
	// turns holds, for each write that must take turns across instances,
	// the statement that makes it wait for the others. SQLite has one writer
	// (one connection, BEGIN IMMEDIATE) and needs none.
	turns map[turn]string
	// foreignTables lists the tables named whatsmeow_*.
	foreignTables string
	// resetSerial, when set, moves the sequence of table.col past its largest value.
	resetSerial func(table, col string) string
	// conflict reports a unique or foreign key violation; missingTable an undefined table.
	conflict, missingTable func(error) bool
}

// turn names a write that must not run beside another of its kind.
type turn int

const (
	// turnEvents: seqs must become visible in order, or a reader resuming
	// after seq N could miss a smaller one committed later.
	turnEvents turn = iota
	// turnWebhooks, turnSessions: concurrent creates would each count below the cap.
	turnWebhooks
	turnSessions
	// turnKeys: concurrent deletes of two admin keys would each see the
	// other still there, and leave none.
	turnKeys
)

var sqliteDialect = &dialect{
	name:          "sqlite",
	turns:         map[turn]string{},
	foreignTables: `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'whatsmeow\_%' ESCAPE '\' ORDER BY name`,
	conflict: func(err error) bool {
		var se *sqlite.Error
		return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
	},
	missingTable: func(err error) bool { return strings.Contains(err.Error(), "no such table") },
}

var postgresDialect = &dialect{
	name:     "postgres",
	numbered: true,
	turns: map[turn]string{
		turnEvents:   `SELECT pg_advisory_xact_lock(7072657401)`,
		turnWebhooks: `SELECT pg_advisory_xact_lock(7072657402)`,
		turnSessions: `LOCK TABLE sessions IN SHARE ROW EXCLUSIVE MODE`,
		turnKeys:     `LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE`,
	},
	foreignTables: `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'whatsmeow\_%' ORDER BY tablename`,
	resetSerial: func(table, col string) string {
		return `SELECT setval(pg_get_serial_sequence('` + table + `', '` + col + `'),
			COALESCE((SELECT MAX(` + col + `) FROM ` + table + `), 0) + 1, false)`
	},
	conflict: func(err error) bool {
		var pg *pgconn.PgError
		return errors.As(err, &pg) && (pg.Code == "23505" || pg.Code == "23503") // unique, foreign key
	},
	missingTable: func(err error) bool {
		var pg *pgconn.PgError
		return errors.As(err, &pg) && pg.Code == "42P01"
	},
}

// allDialects are asked, in turn, what a driver error means: an error of one
// driver never matches another's test.
var allDialects = []*dialect{sqliteDialect, postgresDialect}

// rebind turns ? placeholders into the dialect's own.
func (d *dialect) rebind(q string) string {
	if !d.numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// takeTurns makes tx wait for the other writes of kind t, cluster-wide,
// until it ends.
func (d *dialect) takeTurns(ctx context.Context, tx *sql.Tx, t turn) error {
	q, ok := d.turns[t]
	if !ok {
		return nil
	}
	_, err := tx.ExecContext(ctx, q)
	return err
}

// isConflict reports a unique or foreign key violation of any dialect.
func isConflict(err error) bool {
	for _, d := range allDialects {
		if d.conflict(err) {
			return true
		}
	}
	return false
}

// isMissingTable reports an undefined table of any dialect.
func isMissingTable(err error) bool {
	for _, d := range allDialects {
		if d.missingTable(err) {
			return true
		}
	}
	return false
}
