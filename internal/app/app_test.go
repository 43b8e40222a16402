package app

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwa/openwa/internal/cache/cachetest"
	"github.com/openwa/openwa/internal/config"
)

// openFiles lists what the process has open: files and sockets.
func openFiles(t *testing.T) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	var l []string
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil {
			l = append(l, target)
		}
	}
	return l
}

// redisSockets counts the process's TCP connections to port 6379.
func redisSockets(t *testing.T) int {
	t.Helper()
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && strings.HasSuffix(f[2], ":18EB") && f[3] == "01" { // established, to port 6379
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	n := 0
	for _, f := range openFiles(t) {
		if inodes[f] {
			n++
		}
	}
	return n
}

// A start-up that fails after the cache (Redis) and the store opened closes
// them again: the process keeps no connection, socket or file of it.
func TestNewClosesWhatItOpenedWhenALaterStepFails(t *testing.T) {
	redisURL, prefix := cachetest.RedisURL(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "openwa.db")
	// A database of a newer OpenWA: the migration, after the store opened, fails.
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);
		INSERT INTO schema_migrations VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	vars := map[string]string{"API_KEY": "test-admin-key-0123456789", "DATABASE_SQLITE_PATH": dbPath,
		"STORAGE_LOCAL_PATH": filepath.Join(dir, "media"), "ENGINE_TYPE": "mock",
		"CACHE_TYPE": "redis", "REDIS_URL": redisURL, "REDIS_PREFIX": prefix}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	before := redisSockets(t)
	_, err = New(context.Background(), cfg, io.Discard, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Fatalf("New: %v", err)
	}
	// Checked at once: a forgotten client's socket is only closed when the
	// garbage collector finds it.
	if n := redisSockets(t); n > before {
		t.Fatalf("%d connections to Redis after the failed start, %d before", n, before)
	}
	for _, f := range openFiles(t) {
		if strings.Contains(f, dir) {
			t.Fatalf("%s is still open", f)
		}
	}
}
