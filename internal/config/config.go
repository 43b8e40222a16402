// Package config loads OpenWA's configuration from the environment: profile
// defaults first, then each variable of API.md. A bad value is an error that
// names the variable; nothing falls back silently.
package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/openwa/openwa/internal/engine/registry"
)

// Secret is a string that never prints.
type Secret string

func (Secret) String() string                 { return "[redacted]" }
func (Secret) LogValue() slog.Value           { return slog.StringValue("[redacted]") }
func (Secret) GoString() string               { return "[redacted]" }
func (s Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Reveal returns the secret's value. Call it only where the value is used.
func (s Secret) Reveal() string { return string(s) }

// Config is the whole configuration of one OpenWA process.
type Config struct {
	Profile string

	Host    string
	Port    int
	BaseURL string

	APIKey                Secret
	LogLevel              slog.Level
	LogFormat             string // text|json
	CORSOrigins           []string
	RateLimitRPS          float64
	RateLimitBurst        int
	TLSCertFile           string
	TLSKeyFile            string
	EncryptionKey         Secret
	MetricsAPIKeyRequired bool
	// AuthFailureLimit is how many failed authentications a client address
	// may make an hour (AUTH_FAILURE_LIMIT); 0 means no limit.
	AuthFailureLimit int
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// (TRUSTED_PROXIES); from any other peer the header is ignored.
	TrustedProxies []netip.Prefix

	DatabaseType       string // sqlite|postgres
	DatabaseSQLitePath string
	DatabaseURL        Secret
	DatabasePoolMax    int
	DatabaseSSL        bool

	StorageType       string // local|s3|minio
	StorageLocalPath  string
	S3Bucket          string
	S3Region          string
	S3AccessKeyID     string
	S3SecretAccessKey Secret
	S3Endpoint        string
	S3ForcePathStyle  bool

	CacheType   string // memory|redis
	RedisURL    Secret
	RedisPrefix string // prefix of every key OpenWA writes (REDIS_PREFIX)
	CacheTTL    time.Duration
	CacheMax    int

	EngineType string // whatsmeow|mock
	// WhatsAppDeviceName is the name of OpenWA's devices in the phone's list of linked devices.
	WhatsAppDeviceName string
	MaxSessions        int
	EnableClusterMode  bool

	SendWait             time.Duration
	MessageQueueTTL      time.Duration
	MessageRetentionDays int
	EventRetentionDays   int
	AuditRetentionDays   int
	MaxUploadMB          int
	WebhookTimeout       time.Duration
	WebhookAllowPrivate  bool
	MediaAllowPrivate    bool
}

// Profiles are named sets of defaults (the deployment profiles of the README). The
// environment overrides any of them.
var profiles = map[string]map[string]string{
	"minimal": {
		"DATABASE_TYPE": "sqlite", "STORAGE_TYPE": "local", "CACHE_TYPE": "memory", "MAX_SESSIONS": "3",
	},
	"standard": {
		"DATABASE_TYPE": "postgres", "STORAGE_TYPE": "local", "CACHE_TYPE": "redis", "MAX_SESSIONS": "10",
		"LOG_FORMAT": "json",
	},
	"enterprise": {
		"DATABASE_TYPE": "postgres", "STORAGE_TYPE": "s3", "CACHE_TYPE": "redis", "MAX_SESSIONS": "50",
		"DATABASE_POOL_MAX": "50", "ENABLE_CLUSTER_MODE": "true", "LOG_FORMAT": "json",
	},
}

// defaults apply when neither the profile nor the environment sets a value.
var defaults = map[string]string{
	"HOST": "0.0.0.0", "PORT": "2785",
	"LOG_LEVEL": "info", "LOG_FORMAT": "text",
	"RATE_LIMIT_RPS": "0", "AUTH_FAILURE_LIMIT": "20",
	"DATABASE_TYPE": "sqlite", "DATABASE_SQLITE_PATH": "./data/openwa.db", "DATABASE_POOL_MAX": "20",
	"DATABASE_SSL": "false",
	"STORAGE_TYPE": "local", "STORAGE_LOCAL_PATH": "./media", "STORAGE_S3_REGION": "us-east-1",
	"STORAGE_S3_FORCE_PATH_STYLE": "false",
	"CACHE_TYPE":                  "memory", "CACHE_TTL": "300", "REDIS_PREFIX": "openwa:", "CACHE_MAX": "1000",
	"ENGINE_TYPE": "whatsmeow", "MAX_SESSIONS": "10", "ENABLE_CLUSTER_MODE": "false", "WHATSAPP_DEVICE_NAME": "OpenWA",
	"SEND_WAIT_MS": "15000", "MESSAGE_QUEUE_TTL": "24h", "MESSAGE_RETENTION_DAYS": "30", "EVENT_RETENTION_DAYS": "7", "AUDIT_RETENTION_DAYS": "90", "MAX_UPLOAD_MB": "64",
	"WEBHOOK_TIMEOUT_MS": "10000", "WEBHOOK_ALLOW_PRIVATE": "false", "METRICS_API_KEY_REQUIRED": "false",
	"MEDIA_ALLOW_PRIVATE": "false",
}

// Load reads the configuration through getenv (os.Getenv in production).
func Load(getenv func(string) string) (*Config, error) {
	profile := strings.TrimSpace(getenv("OPENWA_PROFILE"))
	preset := map[string]string{}
	if profile != "" {
		p, ok := profiles[profile]
		if !ok {
			return nil, fmt.Errorf("OPENWA_PROFILE=%q: want minimal|standard|enterprise", profile)
		}
		preset = p
	}
	r := reader{getenv: getenv, preset: preset}
	c := &Config{Profile: profile}

	c.Host = r.str("HOST")
	c.Port = r.intRange("PORT", 1, 65535)
	c.BaseURL = r.str("BASE_URL")
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.fail("BASE_URL", c.BaseURL, "want an absolute http(s) URL")
		}
		c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	}
	c.APIKey = Secret(r.str("API_KEY"))
	if k := c.APIKey.Reveal(); k != "" && len(k) < 16 {
		r.failSecret("API_KEY", "want at least 16 characters")
	}
	switch lvl := strings.ToLower(r.str("LOG_LEVEL")); lvl {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		r.fail("LOG_LEVEL", lvl, "want debug|info|warn|error")
	}
	c.LogFormat = r.oneOf("LOG_FORMAT", "text", "json")
	for _, o := range strings.Split(r.str("CORS_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	c.RateLimitRPS = r.float("RATE_LIMIT_RPS")
	if c.RateLimitRPS < 0 {
		r.fail("RATE_LIMIT_RPS", fmt.Sprint(c.RateLimitRPS), "want 0 (no limit) or more")
	}
	if r.str("RATE_LIMIT_BURST") == "" {
		c.RateLimitBurst = max(1, int(2*c.RateLimitRPS))
	} else {
		c.RateLimitBurst = r.intRange("RATE_LIMIT_BURST", 1, 1_000_000)
	}
	c.TLSCertFile, c.TLSKeyFile = r.str("TLS_CERT_FILE"), r.str("TLS_KEY_FILE")
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		r.fail("TLS_KEY_FILE", c.TLSKeyFile, "TLS_CERT_FILE and TLS_KEY_FILE go together")
	}
	c.EncryptionKey = Secret(r.str("ENCRYPTION_KEY"))
	if k := c.EncryptionKey.Reveal(); k != "" && len(k) < 32 {
		r.failSecret("ENCRYPTION_KEY", "want at least 32 characters")
	}
	c.MetricsAPIKeyRequired = r.boolean("METRICS_API_KEY_REQUIRED")
	c.AuthFailureLimit = r.intRange("AUTH_FAILURE_LIMIT", 0, 1_000_000)
	c.TrustedProxies = r.prefixes("TRUSTED_PROXIES")

	c.DatabaseType = r.oneOf("DATABASE_TYPE", "sqlite", "postgres")
	c.DatabaseSQLitePath = r.str("DATABASE_SQLITE_PATH")
	c.DatabaseURL = Secret(r.str("DATABASE_URL"))
	c.DatabasePoolMax = r.intRange("DATABASE_POOL_MAX", 1, 10_000)
	c.DatabaseSSL = r.boolean("DATABASE_SSL")
	if c.DatabaseType == "postgres" && c.DatabaseURL == "" {
		r.fail("DATABASE_URL", "", "required when DATABASE_TYPE=postgres")
	}
	if c.DatabaseType == "sqlite" && c.DatabaseSQLitePath == "" {
		r.fail("DATABASE_SQLITE_PATH", "", "required when DATABASE_TYPE=sqlite")
	}

	c.StorageType = r.oneOf("STORAGE_TYPE", "local", "s3", "minio")
	c.StorageLocalPath = r.str("STORAGE_LOCAL_PATH")
	c.S3Bucket = r.str("STORAGE_S3_BUCKET")
	c.S3Region = r.str("STORAGE_S3_REGION")
	c.S3AccessKeyID = r.str("STORAGE_S3_ACCESS_KEY_ID")
	c.S3SecretAccessKey = Secret(r.str("STORAGE_S3_SECRET_ACCESS_KEY"))
	c.S3Endpoint = r.str("STORAGE_S3_ENDPOINT")
	c.S3ForcePathStyle = r.boolean("STORAGE_S3_FORCE_PATH_STYLE")
	if c.StorageType != "local" && c.S3Bucket == "" {
		r.fail("STORAGE_S3_BUCKET", "", "required when STORAGE_TYPE="+c.StorageType)
	}
	if c.StorageType == "local" && c.StorageLocalPath == "" {
		r.fail("STORAGE_LOCAL_PATH", "", "required when STORAGE_TYPE=local")
	}

	c.CacheType = r.oneOf("CACHE_TYPE", "memory", "redis")
	c.RedisURL = Secret(r.str("REDIS_URL"))
	c.RedisPrefix = r.str("REDIS_PREFIX")
	if c.CacheType == "redis" && c.RedisURL == "" {
		r.fail("REDIS_URL", "", "required when CACHE_TYPE=redis")
	}
	c.CacheTTL = time.Duration(r.intRange("CACHE_TTL", 1, 30*86400)) * time.Second
	c.CacheMax = r.intRange("CACHE_MAX", 1, 10_000_000)

	c.EngineType = r.oneOf("ENGINE_TYPE", registry.Names()...)
	c.WhatsAppDeviceName = r.str("WHATSAPP_DEVICE_NAME")
	if n := utf8.RuneCountInString(c.WhatsAppDeviceName); n > 50 || strings.IndexFunc(c.WhatsAppDeviceName, unicode.IsControl) >= 0 {
		r.fail("WHATSAPP_DEVICE_NAME", c.WhatsAppDeviceName, "want 1 to 50 printable characters")
	}
	c.MaxSessions = r.intRange("MAX_SESSIONS", 1, 100_000)
	c.EnableClusterMode = r.boolean("ENABLE_CLUSTER_MODE")

	c.SendWait = time.Duration(r.intRange("SEND_WAIT_MS", 0, 300_000)) * time.Millisecond
	c.MessageQueueTTL = r.duration("MESSAGE_QUEUE_TTL")
	c.MessageRetentionDays = r.intRange("MESSAGE_RETENTION_DAYS", 0, 36_500)
	c.EventRetentionDays = r.intRange("EVENT_RETENTION_DAYS", 0, 36_500)
	c.AuditRetentionDays = r.intRange("AUDIT_RETENTION_DAYS", 0, 36_500)
	c.MaxUploadMB = r.intRange("MAX_UPLOAD_MB", 1, 2048)
	c.WebhookTimeout = time.Duration(r.intRange("WEBHOOK_TIMEOUT_MS", 100, 300_000)) * time.Millisecond
	c.WebhookAllowPrivate = r.boolean("WEBHOOK_ALLOW_PRIVATE")
	c.MediaAllowPrivate = r.boolean("MEDIA_ALLOW_PRIVATE")

	if r.err != nil {
		return nil, r.err
	}
	if c.BaseURL == "" {
		scheme, host := "http", c.Host
		if c.TLSCertFile != "" {
			scheme = "https"
		}
		if host == "0.0.0.0" || host == "" || host == "::" {
			host = "localhost"
		}
		c.BaseURL = fmt.Sprintf("%s://%s:%d", scheme, host, c.Port)
	}
	return c, nil
}

// Addr is the listen address.
func (c *Config) Addr() string {
	if strings.Contains(c.Host, ":") {
		return fmt.Sprintf("[%s]:%d", c.Host, c.Port)
	}
	return fmt.Sprintf("%s:%d", c.Host, c.Port)
}

// reader reads variables and keeps the first error.
type reader struct {
	getenv func(string) string
	preset map[string]string
	err    error
}

func (r *reader) str(name string) string {
	if v, ok := r.lookup(name); ok {
		return v
	}
	if v, ok := r.preset[name]; ok {
		return v
	}
	return defaults[name]
}

func (r *reader) lookup(name string) (string, bool) {
	v := strings.TrimSpace(r.getenv(name))
	return v, v != ""
}

func (r *reader) fail(name, value, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s=%q: %s", name, value, want)
	}
}

func (r *reader) failSecret(name, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %s", name, want)
	}
}

func (r *reader) oneOf(name string, allowed ...string) string {
	v := strings.ToLower(r.str(name))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, v, "want "+strings.Join(allowed, "|"))
	return allowed[0]
}

func (r *reader) intRange(name string, lo, hi int) int {
	s := r.str(name)
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		r.fail(name, s, fmt.Sprintf("want a whole number from %d to %d", lo, hi))
		return lo
	}
	return n
}

// prefixes reads a comma-separated list of IP addresses and CIDR prefixes;
// an address alone stands for itself (/32, /128).
func (r *reader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range strings.Split(r.str(name), ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil || a.Zone() != "" {
				r.fail(name, v, "want IP addresses or CIDR prefixes, comma-separated (e.g. 10.0.0.0/8,127.0.0.1)")
				return nil
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

func (r *reader) float(name string) float64 {
	s := r.str(name)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		r.fail(name, s, "want a number")
	}
	return f
}

func (r *reader) boolean(name string) bool {
	s := r.str(name)
	b, err := strconv.ParseBool(s)
	if err != nil {
		r.fail(name, s, "want true|false")
	}
	return b
}

func (r *reader) duration(name string) time.Duration {
	s := r.str(name)
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		r.fail(name, s, "want a positive duration such as 30m or 24h")
	}
	return d
}
