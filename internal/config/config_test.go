package config

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr() != "0.0.0.0:2785" || c.DatabaseType != "sqlite" || c.DatabaseSQLitePath != "./data/openwa.db" ||
		c.StorageType != "local" || c.StorageLocalPath != "./media" || c.CacheType != "memory" ||
		c.EngineType != "whatsmeow" || c.SendWait != 15*time.Second || c.MessageQueueTTL != 24*time.Hour ||
		c.MessageRetentionDays != 30 || c.MaxUploadMB != 64 || c.WebhookTimeout != 10*time.Second ||
		c.RateLimitRPS != 0 || c.BaseURL != "http://localhost:2785" || c.CacheTTL != 300*time.Second || c.CacheMax != 1000 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestProfiles(t *testing.T) {
	c, err := Load(env(map[string]string{"OPENWA_PROFILE": "enterprise", "DATABASE_URL": "postgres://x/y",
		"REDIS_URL": "redis://r", "STORAGE_S3_BUCKET": "b"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseType != "postgres" || c.StorageType != "s3" || c.CacheType != "redis" || c.MaxSessions != 50 ||
		!c.EnableClusterMode || c.LogFormat != "json" || c.DatabasePoolMax != 50 {
		t.Fatalf("enterprise: %+v", c)
	}
	// The environment wins over the profile.
	c, err = Load(env(map[string]string{"OPENWA_PROFILE": "minimal", "MAX_SESSIONS": "7"}))
	if err != nil || c.MaxSessions != 7 || c.DatabaseType != "sqlite" {
		t.Fatalf("minimal + MAX_SESSIONS: %+v %v", c, err)
	}
	// A profile's requirements are named.
	_, err = Load(env(map[string]string{"OPENWA_PROFILE": "standard"}))
	if err == nil || !strings.HasPrefix(err.Error(), "DATABASE_URL=") {
		t.Fatalf("standard without DATABASE_URL: %v", err)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{"OPENWA_PROFILE", "huge"}, {"PORT", "0"}, {"PORT", "http"}, {"DATABASE_TYPE", "mysql"},
		{"STORAGE_TYPE", "ftp"}, {"CACHE_TYPE", "memcached"}, {"ENGINE_TYPE", "selenium"}, {"MAX_SESSIONS", "-1"},
		{"LOG_LEVEL", "loud"}, {"LOG_FORMAT", "xml"}, {"RATE_LIMIT_RPS", "fast"}, {"RATE_LIMIT_RPS", "-2"},
		{"RATE_LIMIT_BURST", "0"}, {"SEND_WAIT_MS", "soon"}, {"MESSAGE_QUEUE_TTL", "1 day"}, {"MAX_UPLOAD_MB", "0"},
		{"WEBHOOK_TIMEOUT_MS", "5"}, {"WEBHOOK_ALLOW_PRIVATE", "maybe"}, {"BASE_URL", "ftp://x"},
		{"CACHE_TTL", "0"}, {"DATABASE_SSL", "yes please"}, {"API_KEY", "short"}, {"ENCRYPTION_KEY", "short"},
		{"TLS_CERT_FILE", "cert.pem"},
	} {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			_, err := Load(env(map[string]string{c.name: c.value}))
			if err == nil {
				t.Fatal("accepted")
			}
			if c.name == "TLS_CERT_FILE" {
				if !strings.Contains(err.Error(), "TLS_CERT_FILE") {
					t.Fatalf("error %q does not name TLS_CERT_FILE", err)
				}
				return
			}
			if !strings.HasPrefix(err.Error(), c.name) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q does not start with %s", err, c.name)
			}
			if (c.name == "API_KEY" || c.name == "ENCRYPTION_KEY") && strings.Contains(err.Error(), c.value) {
				t.Fatalf("error %q shows the secret", err)
			}
		})
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	c, err := Load(env(map[string]string{"API_KEY": "super-secret-key-123456", "DATABASE_URL": "postgres://u:pw@h/db"}))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("cfg", "key", c.APIKey, "db", c.DatabaseURL)
	for _, s := range []string{fmt.Sprint(c.APIKey), fmt.Sprintf("%v %+v %#v", c, c, c.APIKey), b.String()} {
		if strings.Contains(s, "super-secret") || strings.Contains(s, "pw@") {
			t.Fatalf("secret printed: %s", s)
		}
	}
	if c.APIKey.Reveal() != "super-secret-key-123456" {
		t.Fatal("Reveal")
	}
}

func TestRecommend(t *testing.T) {
	for _, c := range []struct {
		mem, cores int
		want       string
	}{{512, 1, "minimal"}, {2048, 2, "standard"}, {16384, 8, "enterprise"}} {
		if got, _ := Recommend(Resources{TotalMemoryMB: c.mem, CPUCores: c.cores}); got != c.want {
			t.Errorf("%d MB, %d cores: %s, want %s", c.mem, c.cores, got, c.want)
		}
	}
}

// The linked-devices name: "OpenWA" unless set; a name the phone could not
// show fails start-up naming the variable.
func TestWhatsAppDeviceName(t *testing.T) {
	if c, err := Load(env(nil)); err != nil || c.WhatsAppDeviceName != "OpenWA" {
		t.Fatalf("default: %v %v", c.WhatsAppDeviceName, err)
	}
	if c, err := Load(env(map[string]string{"WHATSAPP_DEVICE_NAME": "Shop desk"})); err != nil || c.WhatsAppDeviceName != "Shop desk" {
		t.Fatalf("set: %v %v", c.WhatsAppDeviceName, err)
	}
	for _, bad := range []string{strings.Repeat("x", 51), "two\nlines"} {
		if _, err := Load(env(map[string]string{"WHATSAPP_DEVICE_NAME": bad})); err == nil || !strings.HasPrefix(err.Error(), "WHATSAPP_DEVICE_NAME=") {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}
