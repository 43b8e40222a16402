// Package storetest gives tests a database of each dialect: SQLite in a
// temporary folder, and a PostgreSQL database of its own on the server of
// OPENWA_TEST_POSTGRES_URL, dropped when the test ends. (A database, not a
// schema: whatsmeow's device store looks for its tables database-wide.) Without that variable
// PostgreSQL tests skip, unless CI=true: then they fail.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// PostgresURL creates a fresh database and returns a URL that uses it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("OPENWA_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OPENWA_TEST_POSTGRES_URL is not set: CI runs every test against a real PostgreSQL")
		}
		t.Skip("OPENWA_TEST_POSTGRES_URL not set")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "openwa_test_" + hex.EncodeToString(b)
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
