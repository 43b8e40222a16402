// Package auth owns API keys (stored hashed, never in clear), their roles and
// sessions, per-key rate limits, and the audit log of mutating calls.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/ident"
	"github.com/openwa/openwa/internal/stamp"
	"github.com/openwa/openwa/internal/store"
)

// Role is what an API key may do.
type Role string

// Roles of API keys.
const (
	RoleAdmin   Role = "admin"
	RoleSession Role = "session"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleSession}

// Principal is the caller behind a request.
type Principal struct {
	KeyID     string
	Role      Role
	Sessions  []string  // for session keys: the sessions it may use
	ExpiresAt time.Time // when the key expires; zero: never
}

// IsAdmin reports whether p is an admin key.
func (p *Principal) IsAdmin() bool { return p != nil && p.Role == RoleAdmin }

// CanSession reports whether p may see and act on session id.
func (p *Principal) CanSession(id string) bool {
	return p != nil && (p.Role == RoleAdmin || slices.Contains(p.Sessions, id))
}

// Key is the API key object of API.md; Key (the secret) is set only on creation.
type Key struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Role       Role        `json:"role"`
	Sessions   []string    `json:"sessions"`
	Prefix     string      `json:"prefix" doc:"The first characters of the key, to recognise it."`
	ExpiresAt  *stamp.Time `json:"expiresAt"`
	CreatedAt  stamp.Time  `json:"createdAt"`
	LastUsedAt *stamp.Time `json:"lastUsedAt"`
	Key        string      `json:"key,omitempty" doc:"The key itself: shown only in the response that creates it."`
}

// Service manages keys.
type Service struct {
	st  *store.Store
	log *slog.Logger

	mu      sync.Mutex
	touched map[string]time.Time // last time each key's last_used_at was written

	onRevoke func(keyID string) // set once at wiring, before serving
}

// OnRevoke sets what happens after a key is deleted: the real-time streams
// opened with it end, here and on the other instances. Call it before serving.
func (s *Service) OnRevoke(fn func(keyID string)) { s.onRevoke = fn }

// NewService returns the key service.
func NewService(st *store.Store, log *slog.Logger) *Service {
	return &Service{st: st, log: log.With("component", "auth"), touched: map[string]time.Time{}}
}

// Hash is how keys are stored: SHA-256, hex. Keys are long random strings (or
// an operator's API_KEY of at least 16 characters), so a fast hash is the right
// tool: there is nothing to brute-force that a slow hash would protect.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Prefix is the part of a key that is stored and listed to recognise it: at
// most 4 characters after "owa_", and 4 characters of an operator's own key
// (API_KEY, at least 16 characters), so that it reveals little of either.
func Prefix(raw string) string {
	n := 4
	if strings.HasPrefix(raw, "owa_") {
		n += len("owa_")
	}
	return raw[:min(n, len(raw))]
}

// Generate returns a new random key.
func Generate() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "owa_" + base64.RawURLEncoding.EncodeToString(b)
}

// Bootstrap makes sure an admin key exists. With no keys stored it stores
// apiKey (API_KEY) or, if that is empty, a random key printed once to out.
func (s *Service) Bootstrap(ctx context.Context, apiKey string, out io.Writer) error {
	// Keys stored by earlier versions kept 8 characters of any key.
	if err := s.st.ShortenKeyPrefixes(ctx); err != nil {
		return fmt.Errorf("shorten api key prefixes: %w", err)
	}
	n, err := s.st.CountKeys(ctx)
	if err != nil {
		return fmt.Errorf("count api keys: %w", err)
	}
	if n > 0 {
		if apiKey != "" {
			if _, err := s.st.KeyByHash(ctx, Hash(apiKey)); errors.Is(err, store.ErrNotFound) {
				s.log.Warn("API_KEY is not a stored key and is ignored: it only seeds the first admin key; manage keys with /api/keys")
			}
		}
		return nil
	}
	key, generated := apiKey, false
	if key == "" {
		key, generated = Generate(), true
	}
	if _, err := s.store(ctx, "admin", RoleAdmin, nil, nil, key); err != nil {
		return err
	}
	from := "API_KEY"
	if generated {
		from = "generated"
		fmt.Fprintf(out, "\nOpenWA admin API key (shown once, store it now):\n\n    %s\n\n", key)
	}
	s.log.Info("admin API key created", "from", from)
	return nil
}

// CreateInput is a key to create.
type CreateInput struct {
	Name      string
	Role      Role
	Sessions  []string
	ExpiresAt *time.Time
}

// Create stores a new key and returns it with its secret.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Key, error) {
	switch in.Role {
	case RoleAdmin:
		if len(in.Sessions) > 0 {
			return nil, apperr.Field("sessions", "an admin key sees every session; leave sessions out")
		}
	case RoleSession:
		if len(in.Sessions) == 0 {
			return nil, apperr.Field("sessions", "a session key needs at least one session id")
		}
	default:
		return nil, apperr.Field("role", "want admin or session")
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(time.Now()) {
		return nil, apperr.Field("expiresAt", "must be in the future")
	}
	raw := Generate()
	k, err := s.store(ctx, in.Name, in.Role, in.Sessions, in.ExpiresAt, raw)
	if err != nil {
		return nil, err
	}
	k.Key = raw
	return k, nil
}

func (s *Service) store(ctx context.Context, name string, role Role, sessions []string, expires *time.Time, raw string) (*Key, error) {
	row := &store.APIKey{ID: ident.NewKey(), Name: name, Hash: Hash(raw), Prefix: Prefix(raw),
		Role: string(role), Sessions: sessions, CreatedAt: store.Now()}
	if expires != nil {
		row.ExpiresAt = expires.UnixMilli()
	}
	if err := s.st.CreateKey(ctx, row); err != nil {
		return nil, fmt.Errorf("store api key: %w", err)
	}
	return view(row), nil
}

func view(k *store.APIKey) *Key {
	out := &Key{ID: k.ID, Name: k.Name, Role: Role(k.Role), Sessions: k.Sessions, Prefix: k.Prefix, CreatedAt: store.Time(k.CreatedAt)}
	if out.Sessions == nil {
		out.Sessions = []string{}
	}
	if k.ExpiresAt > 0 {
		t := store.Time(k.ExpiresAt)
		out.ExpiresAt = &t
	}
	if k.LastUsedAt > 0 {
		t := store.Time(k.LastUsedAt)
		out.LastUsedAt = &t
	}
	return out
}

// List returns a page of keys, without their secrets.
func (s *Service) List(ctx context.Context, limit, offset int) ([]*Key, int, error) {
	rows, total, err := s.st.ListKeys(ctx, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list api keys: %w", err)
	}
	out := make([]*Key, len(rows))
	for i, r := range rows {
		out[i] = view(r)
	}
	return out, total, nil
}

// Get returns one key.
func (s *Service) Get(ctx context.Context, id string) (*Key, error) {
	k, err := s.st.GetKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.New(apperr.NotFound, "API key '%s' not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read api key: %w", err)
	}
	return view(k), nil
}

// Delete revokes a key and ends the real-time streams opened with it. The
// caller's own key may go too, but not the last admin key that has not
// expired: administration would be locked out (LAST_ADMIN_KEY).
func (s *Service) Delete(ctx context.Context, id string) error {
	err := s.st.DeleteKey(ctx, id, time.Now().UnixMilli())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apperr.New(apperr.NotFound, "API key '%s' not found", id)
	case errors.Is(err, store.ErrLastAdmin):
		return apperr.New(apperr.LastAdminKey, "API key '%s' is the last active admin key: create another admin key before deleting it", id)
	case err != nil:
		return fmt.Errorf("delete api key: %w", err)
	}
	if s.onRevoke != nil {
		s.onRevoke(id)
	}
	return nil
}

// Authenticate resolves a presented key to its principal, or UNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, raw string) (*Principal, error) {
	if raw == "" {
		return nil, apperr.New(apperr.Unauthorized, "an API key is required: send it as X-API-Key or Authorization: Bearer")
	}
	if len(raw) > 512 {
		return nil, apperr.New(apperr.Unauthorized, "invalid API key")
	}
	k, err := s.st.KeyByHash(ctx, Hash(raw))
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.New(apperr.Unauthorized, "invalid API key")
	}
	if err != nil {
		return nil, apperr.New(apperr.ServiceUnavailable, "the database is unavailable").Wrap(err)
	}
	now := time.Now()
	if k.ExpiresAt > 0 && now.UnixMilli() >= k.ExpiresAt {
		return nil, apperr.New(apperr.Unauthorized, "API key expired")
	}
	s.touch(ctx, k.ID, now)
	p := &Principal{KeyID: k.ID, Role: Role(k.Role), Sessions: k.Sessions}
	if k.ExpiresAt > 0 {
		p.ExpiresAt = store.Time(k.ExpiresAt).Time
	}
	return p, nil
}

// touch records use of a key at most once a minute, so reads stay reads.
func (s *Service) touch(ctx context.Context, id string, now time.Time) {
	s.mu.Lock()
	last := s.touched[id]
	due := now.Sub(last) >= time.Minute
	if due {
		s.touched[id] = now
	}
	s.mu.Unlock()
	if due {
		if err := s.st.TouchKey(ctx, id, now.UnixMilli()); err != nil {
			s.log.Warn("record key use", "key_id", id, "err", err)
		}
	}
}
