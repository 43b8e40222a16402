package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/auth"
	"github.com/openwa/openwa/internal/config"
	"github.com/openwa/openwa/internal/ident"
)

// CreateKey stores a new API key in the configured database, applying
// migrations first, and prints the key alone on out. It needs no running
// server: it is the way back in when the only admin key was lost or expired.
func CreateKey(ctx context.Context, cfg *config.Config, in auth.CreateInput, out io.Writer, log *slog.Logger) error {
	if in.Name == "" || len(in.Name) > 128 {
		return errors.New("--name: want 1 to 128 characters")
	}
	for _, id := range in.Sessions {
		if !ident.ValidSession(id) {
			return fmt.Errorf("--sessions: %q is not a session id (1 to 64 letters, digits, _ or -)", id)
		}
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	k, err := auth.NewService(st, log).Create(ctx, in)
	if e, ok := apperr.As(err); ok && e.Code == apperr.Validation {
		return errors.New(flagMessage(e))
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, k.Key)
	log.Info("API key created; it is shown only this once", "key_id", k.ID, "role", k.Role, "name", k.Name)
	return nil
}

// flagMessage names the command's flag instead of the API's field.
func flagMessage(e *apperr.Error) string {
	flags := map[string]string{"role": "--role", "sessions": "--sessions", "expiresAt": "--expires", "name": "--name"}
	if fields, ok := e.Details["fields"].([]apperr.FieldError); ok && len(fields) == 1 {
		if f, ok := flags[fields[0].Field]; ok {
			return f + ": " + fields[0].Message
		}
	}
	return e.Message
}
