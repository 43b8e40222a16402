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
	"syscall"
	"time"

	"github.com/joho/godotenv"

	"github.com/openwa/openwa/internal/app"
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
	case "serve", "migrate":
	case "help", "--help", "-h":
		fmt.Fprintln(stdout, "usage: openwa [serve|migrate|version|migrate-data --from <url> --to <url>|\n"+
			"  canary --url <url> --session-a <id> --session-b <id>]\n"+
			"Configuration comes from the environment and ./.env; see README.md.")
		return nil
	default:
		return fmt.Errorf("unknown command %q: want serve, migrate, migrate-data, canary or version", cmd)
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
	if cmd == "migrate" {
		return app.Migrate(ctx, cfg, log)
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
