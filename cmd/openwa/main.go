// Command openwa is the OpenWA server: a self-hosted WhatsApp HTTP API gateway.
//
//	openwa            serve (the default)
//	openwa serve      serve
//	openwa migrate    apply database migrations and exit
//	openwa version    print the version
//	openwa migrate-data --from <database URL> --to <database URL>
//	                  copy everything into another (empty) database
//	openwa canary --url <OpenWA URL> --session-a <id> --session-b <id>
//	                  check a running OpenWA end to end through its API
//	openwa keys create --role admin|session --name NAME [--sessions a,b] [--expires RFC3339]
//	                  store a new API key in the configured database and print it once
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/joho/godotenv"

	"github.com/openwa/openwa/internal/app"
	"github.com/openwa/openwa/internal/auth"
	"github.com/openwa/openwa/internal/canary"
	"github.com/openwa/openwa/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "openwa:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	var newKey auth.CreateInput
	switch cmd {
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "openwa", app.Version)
		return nil
	case "migrate-data":
		fs := flag.NewFlagSet("migrate-data", flag.ContinueOnError)
		fs.SetOutput(stderr)
		from := fs.String("from", "", "source database: sqlite:<path> or postgres://…")
		to := fs.String("to", "", "target database, empty: postgres://… or sqlite:<path>")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *from == "" || *to == "" {
			return errors.New("migrate-data needs --from and --to")
		}
		return app.MigrateData(ctx, *from, *to, stdout)
	case "canary":
		return runCanary(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		in, err := keysCreateFlags(args[1:], stderr)
		if err != nil {
			return err
		}
		newKey = in
	case "serve", "migrate":
	case "help", "--help", "-h":
		fmt.Fprintln(stdout, "usage: openwa [serve|migrate|version|migrate-data --from <url> --to <url>|\n"+
			"  canary --url <url> --session-a <id> --session-b <id>|\n"+
			"  keys create --role admin|session --name NAME [--sessions a,b] [--expires RFC3339]]\n"+
			"Configuration comes from the environment and ./.env; see README.md.")
		return nil
	default:
		return fmt.Errorf("unknown command %q: want serve, migrate, migrate-data, canary, keys or version", cmd)
	}
	// .env fills in what the environment does not set.
	dotenv, err := godotenv.Read()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf(".env: %w", err)
	}
	cfg, err := config.Load(func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return dotenv[k]
	})
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg, stderr)
	switch cmd {
	case "migrate":
		return app.Migrate(ctx, cfg, log)
	case "keys":
		return app.CreateKey(ctx, cfg, newKey, stdout, log)
	}
	return app.Run(ctx, cfg, stdout, log)
}

// runCanary drives a running OpenWA through its API with two paired
// sessions of two accounts (see docs/canary.md); any failed step is an error,
// so the exit code is 1.
func runCanary(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("canary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", getenv("OPENWA_URL"), "OpenWA's base URL (default $OPENWA_URL)")
	key := fs.String("api-key", getenv("OPENWA_API_KEY"), "an API key that may use both sessions (default $OPENWA_API_KEY)")
	a := fs.String("session-a", "", "the paired session that sends")
	b := fs.String("session-b", "", "the paired session of another account that receives")
	timeout := fs.Duration("timeout", time.Minute, "how long each step waits for WhatsApp (a message, an ack, a revoke)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *a == "" || *b == "" {
		return errors.New("canary needs --url (or OPENWA_URL), --session-a and --session-b")
	}
	_, err := canary.Run(ctx, canary.Config{URL: *url, APIKey: *key, SessionA: *a, SessionB: *b, Timeout: *timeout}, stdout)
	return err
}

// keysCreateFlags parses `keys create` (args after "keys").
func keysCreateFlags(args []string, stderr io.Writer) (auth.CreateInput, error) {
	var in auth.CreateInput
	if len(args) == 0 || args[0] != "create" {
		return in, errors.New("keys: want `keys create --role admin|session --name NAME [--sessions a,b] [--expires RFC3339]`")
	}
	fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "", "admin or session")
	name := fs.String("name", "", "a name to recognise the key by")
	sessions := fs.String("sessions", "", "for session keys: comma-separated session ids")
	expires := fs.String("expires", "", "expiry, RFC 3339 (e.g. 2027-01-31T00:00:00Z); default: never")
	if err := fs.Parse(args[1:]); err != nil {
		return in, fmt.Errorf("keys create: %w", err)
	}
	if fs.NArg() > 0 {
		return in, fmt.Errorf("keys create: unexpected argument %q", fs.Arg(0))
	}
	if r := auth.Role(*role); r != auth.RoleAdmin && r != auth.RoleSession {
		return in, fmt.Errorf("--role %q: want admin or session", *role)
	}
	if *name == "" {
		return in, errors.New("--name: required: a name to recognise the key by")
	}
	in.Role, in.Name = auth.Role(*role), *name
	for _, id := range strings.Split(*sessions, ",") {
		if id = strings.TrimSpace(id); id != "" {
			in.Sessions = append(in.Sessions, id)
		}
	}
	if *expires != "" {
		t, err := time.Parse(time.RFC3339, *expires)
		if err != nil {
			return in, fmt.Errorf("--expires %q: want an RFC 3339 time such as 2027-01-31T00:00:00Z", *expires)
		}
		in.ExpiresAt = &t
	}
	return in, nil
}
