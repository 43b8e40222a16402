// Package storetest gives tests a database of each dialect: SQLite in a
// temporary folder, and a PostgreSQL database of its own on the server of
// OPENWA_TEST_POSTGRES_URL, dropped when the test ends. (A database, not a
// schema: whatsmeow's device store looks for its tables database-wide.) Without that variable
// PostgreSQL tests skip, unless CI=true: then they fail.
package storetest

import (
	"context"
	"database/sql"
	"net/url"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/openwa/openwa/internal/testsvc"
)

// PostgresURL creates a fresh database and returns a URL that uses it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := testsvc.Need(t, "OPENWA_TEST_POSTGRES_URL", "PostgreSQL")
	name := testsvc.Name("openwa_test_")
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(context.Background(), `CREATE DATABASE `+name); err != nil {
		db.Close()
		t.Fatalf("create database on %s: %v", redact(base), err)
	}
	t.Cleanup(func() {
		_, _ = db.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the database"
	}
	return u.Redacted()
}
