package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwa/openwa/internal/config"
)

// An adapter factory given a value it does not know fails, naming the
// variable, instead of building a default adapter.
func TestFactoriesRefuseUnknownValues(t *testing.T) {
	ctx := context.Background()
	good := func(t *testing.T) *config.Config {
		dir := t.TempDir()
		cfg, err := config.Load(func(k string) string {
			return map[string]string{"API_KEY": strings.Repeat("k", 32), "ENGINE_TYPE": "mock",
				"DATABASE_SQLITE_PATH": filepath.Join(dir, "db"), "STORAGE_LOCAL_PATH": filepath.Join(dir, "media")}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	for _, c := range []struct {
		variable string
		set      func(*config.Config)
	}{
		{"DATABASE_TYPE", func(c *config.Config) { c.DatabaseType = "mysql" }},
		{"CACHE_TYPE", func(c *config.Config) { c.CacheType = "memcached" }},
		{"STORAGE_TYPE", func(c *config.Config) { c.StorageType = "ftp" }},
		{"ENGINE_TYPE", func(c *config.Config) { c.EngineType = "nope" }},
	} {
		t.Run(c.variable, func(t *testing.T) {
			cfg := good(t)
			c.set(cfg)
			a, err := New(ctx, cfg, io.Discard, slog.New(slog.DiscardHandler))
			if err == nil {
				a.Close(ctx)
				t.Fatalf("an unknown %s built an app", c.variable)
			}
			if !strings.Contains(err.Error(), c.variable+"=") {
				t.Fatalf("error %q does not name %s", err, c.variable)
			}
		})
	}
	// The direct factories too: OpenStore is also what `openwa migrate` uses.
	cfg := good(t)
	cfg.DatabaseType = "mysql"
	if st, err := OpenStore(ctx, cfg); err == nil {
		st.Close()
		t.Fatal("OpenStore opened a default database for DATABASE_TYPE=mysql")
	}
}
