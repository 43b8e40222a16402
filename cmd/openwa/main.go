// Command openwa is the OpenWA server: a self-hosted WhatsApp HTTP API gateway.
//
//	openwa            serve (the default)
//	openwa serve      serve
//	openwa migrate    apply database migrations and exit
//	openwa version    print the version
//	openwa migrate-data --from <database URL> --to <database URL>
//	                  copy everything into another (empty) database
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

	"github.com/joho/godotenv"

	"github.com/openwa/openwa/internal/app"
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
	case "serve", "migrate":
	case "help", "--help", "-h":
		fmt.Fprintln(stdout, "usage: openwa [serve|migrate|version|migrate-data --from <url> --to <url>]\n"+
			"Configuration comes from the environment and ./.env; see README.md.")
		return nil
	default:
		return fmt.Errorf("unknown command %q: want serve, migrate, migrate-data or version", cmd)
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
