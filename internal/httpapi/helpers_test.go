package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/app"
	"github.com/openwa/openwa/internal/cache/cachetest"
	"github.com/openwa/openwa/internal/config"
	"github.com/openwa/openwa/internal/media"
	"github.com/openwa/openwa/internal/media/local"
	"github.com/openwa/openwa/internal/media/mediatest"
	"github.com/openwa/openwa/internal/media/s3"
	"github.com/openwa/openwa/internal/store/storetest"
	"github.com/openwa/openwa/internal/testutil"
)

const adminKey = "test-admin-key-0123456789"

// env is one OpenWA on the mock engine and SQLite in a temporary folder.
type env struct {
	t    *testing.T
	srv  *httptest.Server
	app  *app.App
	cfg  *config.Config
	opts []app.Option
	key  string
	dir  string // holds openwa.db and media/
	// logOut receives the server's log from the next boot on (default: discarded).
	logOut io.Writer
}

func newEnv(t *testing.T, vars map[string]string) *env { return newEnvWith(t, vars) }

// newEnvWith is newEnv with options for the app (a fake WhatsApp server).
func newEnvWith(t *testing.T, vars map[string]string, opts ...app.Option) *env {
	t.Helper()
	dir := t.TempDir()
	base := map[string]string{
		"API_KEY":              adminKey,
		"DATABASE_SQLITE_PATH": filepath.Join(dir, "openwa.db"),
		"STORAGE_LOCAL_PATH":   filepath.Join(dir, "media"),
		"ENGINE_TYPE":          "mock",
		"MAX_SESSIONS":         "20",
		// Every test client is 127.0.0.1: the limit of failed
		// authentications per address is off unless a test turns it on.
		"AUTH_FAILURE_LIMIT": "0",
	}
	// OPENWA_TEST_DATABASE=postgres runs the whole API suite on PostgreSQL.
	if os.Getenv("OPENWA_TEST_DATABASE") == "postgres" {
		base["DATABASE_TYPE"], base["DATABASE_URL"] = "postgres", storetest.PostgresURL(t)
	}
	// OPENWA_TEST_CACHE=redis puts the cache on Redis, under a prefix of the test's own.
	if os.Getenv("OPENWA_TEST_CACHE") == "redis" {
		base["CACHE_TYPE"] = "redis"
		base["REDIS_URL"], base["REDIS_PREFIX"] = cachetest.RedisURL(t)
	}
	// OPENWA_TEST_STORAGE=s3 keeps the media in a bucket of the test's own.
	if os.Getenv("OPENWA_TEST_STORAGE") == "s3" {
		c := mediatest.S3Config(t)
		base["STORAGE_TYPE"], base["STORAGE_S3_BUCKET"], base["STORAGE_S3_ENDPOINT"] = "s3", c.Bucket, c.Endpoint
		base["STORAGE_S3_ACCESS_KEY_ID"], base["STORAGE_S3_SECRET_ACCESS_KEY"] = c.AccessKeyID, c.SecretAccessKey
		base["STORAGE_S3_FORCE_PATH_STYLE"], base["STORAGE_S3_REGION"] = "true", c.Region
	}
	for k, v := range vars {
		base[k] = v
	}
	cfg, err := config.Load(func(k string) string { return base[k] })
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cfg: cfg, opts: opts, key: adminKey, dir: dir}
	e.boot()
	t.Cleanup(e.stop)
	return e
}

// boot starts an OpenWA on e's folder.
func (e *env) boot() {
	e.t.Helper()
	var out io.Writer = io.Discard
	if e.logOut != nil {
		out = e.logOut
	}
	log := slog.New(slog.NewTextHandler(out, nil))
	a, err := app.New(context.Background(), e.cfg, io.Discard, log, e.opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.app, e.srv = a, httptest.NewServer(a.Handler)
}

func (e *env) stop() {
	if e.srv != nil {
		e.srv.CloseClientConnections()
		e.srv.Close()
		e.app.Close(context.Background())
		e.srv = nil
	}
}

// rawDB opens the test's database directly, to look at what is stored.
func (e *env) rawDB() *sql.DB {
	e.t.Helper()
	driver, dsn := "sqlite", e.cfg.DatabaseSQLitePath
	if e.cfg.DatabaseType == "postgres" {
		driver, dsn = "pgx", e.cfg.DatabaseURL.Reveal()
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

// mediaStore opens the test's media storage directly.
func (e *env) mediaStore() media.Store {
	e.t.Helper()
	if e.cfg.StorageType == "local" {
		st, err := local.New(e.cfg.StorageLocalPath)
		if err != nil {
			e.t.Fatal(err)
		}
		return st
	}
	st, err := s3.New(s3.Config{Bucket: e.cfg.S3Bucket, Region: e.cfg.S3Region, Endpoint: e.cfg.S3Endpoint,
		AccessKeyID: e.cfg.S3AccessKeyID, SecretAccessKey: e.cfg.S3SecretAccessKey.Reveal(), ForcePathStyle: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// restart stops the server gracefully and starts it again on the same data.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.boot()
}

// resp is a decoded response.
type resp struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// data returns body.data as an object.
func (r *resp) data() map[string]any {
	d, _ := r.Body["data"].(map[string]any)
	return d
}

func (r *resp) list() []any {
	d, _ := r.Body["data"].([]any)
	return d
}

// code returns body.error.code.
func (r *resp) code() string {
	e, _ := r.Body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r *resp) errDetails() map[string]any {
	e, _ := r.Body["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	return d
}

// decode returns the response's data decoded into T (a type of the test's
// own, with the JSON names of the API), and fails the test if it does not decode.
func decode[T any](t *testing.T, r *resp) T {
	t.Helper()
	var env struct{ Data T }
	if err := json.Unmarshal(r.Raw, &env); err != nil {
		t.Fatalf("decode %T: %v; body %s", env.Data, err, r.Raw)
	}
	return env.Data
}

type reqOpt func(*http.Request)

func withKey(k string) reqOpt { return func(r *http.Request) { r.Header.Set("X-API-Key", k) } }
func noKey() reqOpt           { return func(r *http.Request) { r.Header.Del("X-API-Key") } }
func header(k, v string) reqOpt {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// do sends a request. body may be nil, a string (sent as is) or a value (JSON).
func (e *env) do(method, path string, body any, opts ...reqOpt) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-API-Key", e.key)
	for _, o := range opts {
		o(req)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := &resp{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			e.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return r
}

// expect fails unless the response has the status (and, for errors, the code).
func (e *env) expect(r *resp, status int, code string) {
	e.t.Helper()
	if r.Status != status || r.code() != code {
		e.t.Fatalf("got %d %s, want %d %s; body %s", r.Status, r.code(), status, code, r.Raw)
	}
}

// createSession creates a mock session with fast, optional pairing.
func (e *env) createSession(id string, autoPair bool) map[string]any {
	e.t.Helper()
	r := e.do("POST", "/api/sessions", map[string]any{"id": id, "engine": "mock",
		"config": map[string]any{"mock": map[string]any{"autoPair": autoPair, "pairDelayMs": 20, "ackDelayMs": 10}}})
	e.expect(r, 201, "")
	return r.data()
}

// waitStatus polls the session until it has the status, for up to 10 s.
func (e *env) waitStatus(id, status string) map[string]any {
	e.t.Helper()
	var last map[string]any
	testutil.Eventually(e.t, 10*time.Second, func() bool {
		last = e.do("GET", "/api/sessions/"+id, nil).data()
		return last["status"] == status
	}, "session %s becomes %s; last %v", id, status, &last)
	return last
}
