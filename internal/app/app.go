// Package app wires OpenWA together: it chooses each adapter from the
// configuration, starts the components in order and stops them in reverse:
// stop accepting HTTP → stop the sessions (engines) → close the store.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/openwa/openwa/internal/auth"
	"github.com/openwa/openwa/internal/cache"
	"github.com/openwa/openwa/internal/cache/memory"
	"github.com/openwa/openwa/internal/cache/redis"
	"github.com/openwa/openwa/internal/config"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/registry"
	"github.com/openwa/openwa/internal/engine/whatsmeow"
	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/httpapi"
	"github.com/openwa/openwa/internal/media"
	"github.com/openwa/openwa/internal/media/local"
	"github.com/openwa/openwa/internal/media/s3"
	"github.com/openwa/openwa/internal/message"
	"github.com/openwa/openwa/internal/metrics"
	"github.com/openwa/openwa/internal/netguard"
	"github.com/openwa/openwa/internal/realtime"
	"github.com/openwa/openwa/internal/realtime/redisbus"
	"github.com/openwa/openwa/internal/session"
	"github.com/openwa/openwa/internal/store"
	"github.com/openwa/openwa/internal/webhook"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"golang.org/x/sync/errgroup"
)

// Version is OpenWA's version, set at build time with -ldflags "-X ...app.Version=v1.2.3".
var Version = "0.1.0-dev"

// NewLogger builds the process logger from LOG_LEVEL and LOG_FORMAT.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OpenStore opens the configured database.
func OpenStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	switch cfg.DatabaseType {
	case "postgres":
		return store.OpenPostgres(ctx, cfg.DatabaseURL.Reveal(), cfg.DatabasePoolMax, cfg.DatabaseSSL)
	case "sqlite":
		return store.OpenSQLite(ctx, cfg.DatabaseSQLitePath)
	default:
		return nil, unknown("DATABASE_TYPE", cfg.DatabaseType, "sqlite", "postgres")
	}
}

// Migrate opens the database, applies migrations and closes it.
func Migrate(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "applied", applied, "schema_version", st.LatestVersion())
	return nil
}

// Engines is the engine factory: ENGINE_TYPE and a session's `engine` name one of these.
func Engines(devices *sqlstore.Container, wa whatsmeow.Config) map[string]engine.Factory {
	return registry.Factories(registry.Deps{Devices: devices, Whatsmeow: wa})
}

// Option changes how New builds the app.
type Option func(*options)

type options struct {
	whatsmeowTransport         http.RoundTripper
	bodyTimeout, uploadTimeout time.Duration
	resolver                   netguard.Resolver
	public                     []netip.AddrPort
}

// WithBodyTimeouts changes how long a request body may take to arrive (see
// httpapi.DefaultBodyTimeout): tests make them short.
func WithBodyTimeouts(body, upload time.Duration) Option {
	return func(o *options) { o.bodyTimeout, o.uploadTimeout = body, upload }
}

// WithNetguard makes the SSRF guard of media URLs and webhooks look names up
// with r and treat the listed addresses as public: tests run "public"
// servers on loopback and point names where they like.
func WithNetguard(r netguard.Resolver, public ...netip.AddrPort) Option {
	return func(o *options) { o.resolver, o.public = r, public }
}

// WithWhatsmeowTransport sends the whatsmeow engine's connections through rt
// instead of the network: tests point it at a fake WhatsApp server.
func WithWhatsmeowTransport(rt http.RoundTripper) Option {
	return func(o *options) { o.whatsmeowTransport = rt }
}

// unknown is the error of an adapter factory given a value it does not know:
// no value falls back to a default.
func unknown(name, value string, want ...string) error {
	return fmt.Errorf("%s=%q: want %s", name, value, strings.Join(want, "|"))
}

func newCache(ctx context.Context, cfg *config.Config) (cache.Cache, error) {
	switch cfg.CacheType {
	case "memory":
		return memory.New(cfg.CacheMax, cfg.CacheTTL), nil
	case "redis":
	default:
		return nil, unknown("CACHE_TYPE", cfg.CacheType, "memory", "redis")
	}
	c, err := redis.New(cfg.RedisURL.Reveal(), cfg.RedisPrefix, cfg.CacheTTL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("REDIS_URL: redis does not answer: %w", err)
	}
	return c, nil
}

// App is a built OpenWA: its HTTP handler and the components behind it.
type App struct {
	Handler  http.Handler
	Sessions *session.Manager
	Messages *message.Service
	Webhooks *webhook.Service
	Events   *event.Log
	Audit    *auth.AuditRetention
	Hub      *realtime.Hub
	Store    *store.Store
	Devices  *sqlstore.Container // whatsmeow's device store, in Store's database
	cache    cache.Cache
	bus      *redisbus.Bus // nil without Redis
	rt       *realtime.Server
	log      *slog.Logger

	stop context.CancelFunc // ends the background workers
	done chan struct{}      // closed when they have stopped
}

// New opens every adapter, applies migrations and makes sure an admin key
// exists. Sessions are not restored yet: Restore does that.
func New(ctx context.Context, cfg *config.Config, stdout io.Writer, log *slog.Logger, opts ...Option) (_ *App, err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if _, ok := registry.Lookup(cfg.EngineType); !ok {
		return nil, unknown("ENGINE_TYPE", cfg.EngineType, registry.Names()...)
	}
	// Should a step fail, what the earlier steps opened is closed again,
	// newest first: a failed start-up leaves no connection or goroutine.
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	c, err := newCache(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cl, ok := c.(io.Closer); ok {
		undo = append(undo, func() { cl.Close() })
	}
	blobs, err := newMediaStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { st.Close() })
	fail := func(err error) (*App, error) { return nil, err }
	applied, err := st.Migrate(ctx)
	if err != nil {
		return fail(err)
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "applied", applied)
	}
	if err := checkDatabaseKind(ctx, cfg, st, log); err != nil {
		return fail(err)
	}
	// whatsmeow's device store lives in the same database, on either dialect.
	devices, err := whatsmeow.OpenDevices(ctx, st.DB(), st.Dialect())
	if err != nil {
		return fail(err)
	}
	engines := Engines(devices, whatsmeow.Config{DeviceName: cfg.WhatsAppDeviceName, Transport: o.whatsmeowTransport})
	keys := auth.NewService(st, log)
	if err := keys.Bootstrap(ctx, cfg.APIKey.Reveal(), stdout); err != nil {
		return fail(err)
	}
	hub := realtime.NewHub()
	var bus *redisbus.Bus
	if rc, ok := c.(*redis.Cache); ok {
		// Several instances: each one's clients get every instance's events,
		// key revocations and session deletions.
		bus = redisbus.New(rc.Client(), cfg.RedisPrefix+"events", log)
	}
	obs := &observer{}
	sessions := session.NewManager(session.Options{
		Store: st, Cache: c, Engines: engines, DefaultEngine: cfg.EngineType, MaxSessions: cfg.MaxSessions,
		Observer: obs, Media: blobs, Logger: log,
		Deleted: func(id string) { // session keys' streams stop taking the id, here and elsewhere
			hub.DropSession(id)
			if bus != nil {
				bus.DropSession(id)
			}
		},
	})
	messages := message.New(message.Options{Store: st, Sessions: sessions,
		SendWait: cfg.SendWait, QueueTTL: cfg.MessageQueueTTL,
		Retention: time.Duration(cfg.MessageRetentionDays) * 24 * time.Hour, Logger: log,
		Media: blobs, Cache: c, Fetcher: netguard.New(netguard.Options{AllowPrivate: cfg.MediaAllowPrivate,
			Resolver: o.resolver, Public: o.public}).Client(mediaFetchTimeout),
		AllowPrivate: cfg.MediaAllowPrivate, MaxUpload: int64(cfg.MaxUploadMB) << 20, BaseURL: cfg.BaseURL})
	obs.messages = messages
	m := metrics.New(metrics.Sources{
		MessagesByStatus:      st.CountMessagesByStatus,
		SessionsByStatus:      st.CountSessionsByStatus,
		PendingDeliveries:     func(ctx context.Context) (int, error) { return st.CountDeliveries(ctx, "pending") },
		EngineEvents:          sessions.QueueDepth,
		RealtimeClients:       hub.Count,
		UnhandledEngineEvents: sessions.UnhandledEvents,
	})
	hooks, err := webhook.New(webhook.Options{Store: st, Timeout: cfg.WebhookTimeout, AllowPrivate: cfg.WebhookAllowPrivate,
		Resolver: o.resolver, Public: o.public, EncryptionKey: cfg.EncryptionKey.Reveal(), UserAgent: "OpenWA/" + Version, Logger: log, Observe: m.ObserveDelivery})
	if err != nil {
		return fail(err)
	}
	// Every committed event goes to the real-time clients and the webhook
	// workers; a session that changed status may have an outbox to send.
	st.SetOnCommit(func(evs []*event.Row) {
		hub.Publish(evs)
		hooks.Committed(evs)
		messages.Committed(evs)
		if bus != nil {
			bus.Publish(evs)
		}
	})
	events := event.NewLog(st, time.Duration(cfg.EventRetentionDays)*24*time.Hour, log)
	audit := auth.NewAuditRetention(st, time.Duration(cfg.AuditRetentionDays)*24*time.Hour, log)
	// A deleted key's streams end here and, through the bus, on every other instance.
	keys.OnRevoke(func(keyID string) {
		hub.Revoke(keyID)
		if bus != nil {
			bus.Revoke(keyID)
		}
	})
	rt := realtime.NewServer(hub, st, log.With("component", "realtime"), originPatterns(cfg.CORSOrigins))
	rt.KeyActive = func(ctx context.Context, keyID string) (bool, error) {
		_, err := st.GetKey(ctx, keyID)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	var limiter httpapi.Limiter = auth.NewLimiter(cfg.RateLimitRPS, cfg.RateLimitBurst)
	if rc, ok := c.(*redis.Cache); ok {
		limiter = redis.NewLimiter(rc, cfg.RateLimitRPS, cfg.RateLimitBurst, log.With("component", "ratelimit"))
	}
	api := httpapi.New(httpapi.Options{
		Config: cfg, Version: Version, Sessions: sessions, Auth: keys, Messages: messages, Logger: log, Limiter: limiter,
		Webhooks: hooks, Events: events, Realtime: rt, Metrics: m,
		BodyTimeout: o.bodyTimeout, UploadTimeout: o.uploadTimeout,
		Health: map[string]httpapi.Checker{
			"database": st.Ping,
			"cache":    c.Ping,
			"storage":  blobs.Ping,
			"queue":    func(context.Context) error { return nil },
		},
		Ready: func(ctx context.Context) error {
			if err := st.Ping(ctx); err != nil {
				return err
			}
			v, err := st.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			if v != st.LatestVersion() {
				return fmt.Errorf("schema version %d, want %d", v, st.LatestVersion())
			}
			return nil
		},
	})
	return &App{Handler: api, Sessions: sessions, Messages: messages, Webhooks: hooks, Events: events, Audit: audit, Hub: hub,
		Store: st, Devices: devices, cache: c, bus: bus, rt: rt, log: log}, nil
}

// Start starts the background workers (outbox, webhook deliveries, event
// and audit retention) and restores the sessions.
func (a *App) Start(ctx context.Context) error {
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(wctx)
	g.Go(func() error { return a.Messages.Run(gctx) })
	g.Go(func() error { return a.Webhooks.Run(gctx) })
	g.Go(func() error { return a.Events.Run(gctx) })
	g.Go(func() error { return a.Audit.Run(gctx) })
	g.Go(func() error { return a.rt.RunKeyCheck(gctx, realtime.KeyCheckEvery) })
	if a.bus != nil {
		g.Go(func() error { return a.bus.Run(gctx, a.Hub) })
	}
	a.stop, a.done = stop, make(chan struct{})
	go func() {
		defer close(a.done)
		if err := g.Wait(); err != nil {
			a.log.Error("background workers", "err", err)
		}
	}()
	return a.Sessions.Restore(ctx)
}

// Close ends the real-time streams, stops the workers, then every session
// (they start again on the next boot), and closes the store.
func (a *App) Close(ctx context.Context) error {
	a.Hub.Close()
	if a.stop != nil {
		a.stop()
		<-a.done
	}
	a.Sessions.Close(ctx)
	if c, ok := a.cache.(io.Closer); ok {
		c.Close()
	}
	return a.Store.Close()
}

// Run serves until ctx is cancelled, then shuts down gracefully: stop
// accepting HTTP, stop the sessions, close the store.
func Run(ctx context.Context, cfg *config.Config, stdout io.Writer, log *slog.Logger) error {
	res := config.DetectResources()
	rec, why := config.Recommend(res)
	log.Info("starting OpenWA", "version", Version, "profile", cfg.Profile, "database", cfg.DatabaseType,
		"storage", cfg.StorageType, "cache", cfg.CacheType, "engine", cfg.EngineType)
	log.Info("profile recommendation", "memory_mb", res.TotalMemoryMB, "cpu_cores", res.CPUCores,
		"recommended", rec, "because", why)

	a, err := New(ctx, cfg, stdout, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		a.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
	}
	srv := NewHTTPServer(a.Handler, log)
	srv.RegisterOnShutdown(a.Hub.Close) // streams end, so that Shutdown does not wait for them
	if err := a.Start(ctx); err != nil {
		ln.Close()
		a.Close(context.Background())
		return err
	}
	serveErr := make(chan error, 1)
	go func() {
		if cfg.TLSCertFile != "" {
			serveErr <- srv.ServeTLS(ln, cfg.TLSCertFile, cfg.TLSKeyFile)
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()
	log.Info("listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "docs", cfg.BaseURL+"/docs")

	select {
	case err := <-serveErr:
		a.Close(context.Background())
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := a.Close(shutCtx); err != nil {
		log.Warn("close", "err", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// HTTP server limits: what a connection may take before its request is
// handled (request bodies have deadlines of their own, see httpapi).
const (
	readHeaderTimeout = 10 * time.Second  // the request line and headers
	idleTimeout       = 120 * time.Second // a keep-alive connection between requests
	maxHeaderBytes    = 64 << 10          // the request line and headers, paths included: 431 past it
)

// NewHTTPServer is the HTTP server of Run, with its limits.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout,
		MaxHeaderBytes: maxHeaderBytes, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// checkDatabaseKind records which database the data was written with and
// warns when the configuration now names another (a restart switches
// adapters; no data moves by itself).
//
// Switching databases is a restart with another DATABASE_TYPE, and the data
// does not move by itself: a PostgreSQL deployment that finds the SQLite file
// of an earlier run says so, and how to move it.
func checkDatabaseKind(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger) error {
	kind, err := st.GetMeta(ctx, "database_type")
	if err != nil {
		return fmt.Errorf("read meta: %w", err)
	}
	if cfg.DatabaseType == "postgres" && kind == "" {
		if fi, err := os.Stat(cfg.DatabaseSQLitePath); err == nil && fi.Size() > 0 {
			log.Warn("DATABASE_TYPE=postgres, but SQLite data of an earlier run is here and is not used; "+
				"to keep it, stop OpenWA and run: openwa migrate-data --from sqlite:"+cfg.DatabaseSQLitePath+" --to <DATABASE_URL>",
				"sqlite_path", cfg.DatabaseSQLitePath)
		}
	}
	if kind == "" {
		return st.SetMeta(ctx, "database_type", st.Dialect())
	}
	if kind != st.Dialect() {
		log.Warn("this database was created for another database type", "recorded", kind, "configured", st.Dialect())
	}
	return nil
}

// newMediaStore opens the configured media storage.
func newMediaStore(ctx context.Context, cfg *config.Config) (media.Store, error) {
	switch cfg.StorageType {
	case "local":
		st, err := local.New(cfg.StorageLocalPath)
		if err != nil {
			return nil, fmt.Errorf("STORAGE_LOCAL_PATH=%q: %w", cfg.StorageLocalPath, err)
		}
		return st, nil
	case "s3", "minio":
	default:
		return nil, unknown("STORAGE_TYPE", cfg.StorageType, "local", "s3", "minio")
	}
	st, err := s3.New(s3.Config{Bucket: cfg.S3Bucket, Region: cfg.S3Region, AccessKeyID: cfg.S3AccessKeyID,
		SecretAccessKey: cfg.S3SecretAccessKey.Reveal(), Endpoint: cfg.S3Endpoint,
		ForcePathStyle: cfg.S3ForcePathStyle || cfg.StorageType == "minio"})
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := st.Ping(pctx); err != nil {
		return nil, fmt.Errorf("STORAGE_S3_BUCKET=%q: %w", cfg.S3Bucket, err)
	}
	return st, nil
}

// mediaFetchTimeout bounds the download of a media URL.
const mediaFetchTimeout = 60 * time.Second

// observer hands the engine events the session manager does not own to the message service.
type observer struct{ messages *message.Service }

func (o *observer) EngineEvent(ctx context.Context, sessionID string, ev engine.Event) error {
	return o.messages.EngineEvent(ctx, sessionID, ev)
}

// originPatterns turns CORS_ORIGINS into the host patterns the WebSocket
// Origin check takes ("*" allows any).
func originPatterns(origins []string) []string {
	var out []string
	for _, o := range origins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			out = append(out, u.Host)
		} else {
			out = append(out, o)
		}
	}
	return out
}

// OpenStoreURL opens a database named by URL: postgres://… or
// postgresql://… for PostgreSQL, sqlite:<path> (or a bare path) for SQLite.
func OpenStoreURL(ctx context.Context, raw string) (*store.Store, error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return store.OpenPostgres(ctx, raw, 10, false)
	case strings.HasPrefix(raw, "sqlite://"):
		return store.OpenSQLite(ctx, strings.TrimPrefix(raw, "sqlite://"))
	case strings.HasPrefix(raw, "sqlite:"):
		return store.OpenSQLite(ctx, strings.TrimPrefix(raw, "sqlite:"))
	case raw != "" && !strings.Contains(raw, "://"):
		return store.OpenSQLite(ctx, raw)
	}
	return nil, fmt.Errorf("%q: want postgres://… or sqlite:<path>", raw)
}

// MigrateData copies everything from one database to another (empty) one,
// then checks that every table holds as many rows on both sides.
func MigrateData(ctx context.Context, from, to string, out io.Writer) error {
	src, err := OpenStoreURL(ctx, from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	defer src.Close()
	dst, err := OpenStoreURL(ctx, to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer dst.Close()
	for _, st := range []*store.Store{src, dst} {
		if _, err := st.Migrate(ctx); err != nil {
			return err
		}
		if _, err := whatsmeow.OpenDevices(ctx, st.DB(), st.Dialect()); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "copying %s → %s\n", src.Dialect(), dst.Dialect())
	if err := src.CopyTo(ctx, dst, func(table string, n int64) { fmt.Fprintf(out, "  %-17s %d rows\n", table, n) }); err != nil {
		return err
	}
	a, err := src.Counts(ctx)
	if err != nil {
		return err
	}
	b, err := dst.Counts(ctx)
	if err != nil {
		return err
	}
	for i := range a {
		if a[i] != b[i] {
			return fmt.Errorf("verification failed: %s has %d rows in the source and %d in the target", a[i].Table, a[i].Rows, b[i].Rows)
		}
	}
	fmt.Fprintln(out, "verified: every table holds the same number of rows on both sides")
	fmt.Fprintln(out, "media bytes stay where they are: point the new configuration at the same STORAGE_* settings")
	return nil
}
