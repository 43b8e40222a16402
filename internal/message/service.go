package message

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/cache"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/ident"
	"github.com/openwa/openwa/internal/keyed"
	"github.com/openwa/openwa/internal/media"
	"github.com/openwa/openwa/internal/session"
	"github.com/openwa/openwa/internal/store"
)

// Sessions is what the message service needs of the session manager.
type Sessions interface {
	// Ready returns the engine and settings of a READY session, or SESSION_NOT_READY.
	Ready(ctx context.Context, id string) (engine.Engine, *session.Session, error)
}

// Options configure the service.
type Options struct {
	Store     *store.Store
	Sessions  Sessions
	SendWait  time.Duration // SEND_WAIT_MS
	QueueTTL  time.Duration // MESSAGE_QUEUE_TTL
	Retention time.Duration // MESSAGE_RETENTION_DAYS; 0 keeps messages forever
	Logger    *slog.Logger

	Media        media.Store
	Cache        cache.Cache  // signed media URLs, shared by the instances on Redis
	Fetcher      *http.Client // for media URLs: netguard's client
	AllowPrivate bool         // MEDIA_ALLOW_PRIVATE
	MaxUpload    int64        // MAX_UPLOAD_MB in bytes
	BaseURL      string       // BASE_URL, for media URLs
}

// Service sends and stores messages.
type Service struct {
	opts Options
	log  *slog.Logger

	outbox *keyed.Pool // one worker per session with messages to send

	mu       sync.Mutex
	waiters  map[string][]chan struct{} // message id → requests waiting for its send
	paced    map[string]time.Time       // session → no send before this (pacing)
	inflight map[string]chan struct{}   // session + WhatsApp id → closed once the worker recorded the send's outcome
}

// New returns the service; Run starts its workers.
func New(opts Options) *Service {
	s := &Service{opts: opts, log: opts.Logger.With("component", "message"),
		waiters: map[string][]chan struct{}{}, paced: map[string]time.Time{}, inflight: map[string]chan struct{}{}}
	s.outbox = keyed.New(s.step)
	return s
}

// Run starts a worker for every session with a waiting outbox and the retention
// job, and returns when ctx is cancelled and every worker has stopped.
func (s *Service) Run(ctx context.Context) error {
	ids, err := s.opts.Store.SessionsWithOutbox(ctx)
	if err != nil {
		return fmt.Errorf("read outbox: %w", err)
	}
	if len(ids) > 0 {
		s.log.Info("outbox resumed", "sessions", len(ids))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.retention(ctx)
	}()
	s.outbox.Run(ctx, ids)
	<-done
	return nil
}

// Wake makes the session's worker look at its outbox, starting it if needed.
func (s *Service) Wake(sessionID string) { s.outbox.Wake(sessionID) }

// SendInput is a message to send.
type SendInput struct {
	ChatID         string
	Out            engine.Outgoing
	Media          *MediaInput // for image, video, audio, voice, document and sticker
	IdempotencyKey string
	RequestHash    string // of the request body, for Idempotency-Key conflicts
	Async          bool
}

// Send validates the session, writes the message to the outbox and waits up
// to SEND_WAIT_MS for it to go out (not with Async). sent reports whether it did.
func (s *Service) Send(ctx context.Context, sessionID string, in SendInput) (msg *Message, sent bool, err error) {
	if in.IdempotencyKey != "" {
		// A retry gets the first result whatever the session's state is now.
		row, hash, err := s.opts.Store.IdempotentMessage(ctx, sessionID, in.IdempotencyKey)
		switch {
		case err == nil && hash != in.RequestHash:
			return nil, false, idempotencyConflict(in.IdempotencyKey)
		case err == nil:
			return s.replay(row)
		case !errors.Is(err, store.ErrNotFound):
			return nil, false, fmt.Errorf("read idempotency key: %w", err)
		}
	}
	eng, sess, err := s.opts.Sessions.Ready(ctx, sessionID)
	if err != nil {
		return nil, false, err
	}
	from := ""
	if me := eng.Me(); me != nil {
		from = me.JID
	}
	if err := s.checkDailyLimit(ctx, sess); err != nil {
		return nil, false, err
	}
	chat, err := engine.NormalizeChatID(in.ChatID)
	if err != nil {
		return nil, false, apperr.Field("chatId", err.Error())
	}
	in.Out.ChatID = chat
	for i, m := range in.Out.Mentions {
		jid, err := engine.NormalizeChatID(m)
		if err != nil || engine.IsGroup(jid) {
			return nil, false, apperr.Field("mentions", "each mention: a phone number or user JID")
		}
		in.Out.Mentions[i] = jid
	}
	if in.Out.ReplyTo, err = s.waID(ctx, sessionID, in.Out.ReplyTo); err != nil {
		return nil, false, apperr.Field("replyTo", "no such message in this session")
	}
	if in.Out.ReplyTo != "" {
		if q, err := s.opts.Store.MessageByWAID(ctx, sessionID, in.Out.ReplyTo); err == nil && q.Sender != "" {
			qc := parseContent(s.log, q.ID, q.Content)
			in.Out.Quoted = &engine.Quoted{Sender: q.Sender, Text: cmp.Or(qc.Text, qc.Caption)}
		}
	}
	if in.Out.Reaction != nil {
		if in.Out.Reaction.MessageID, err = s.waID(ctx, sessionID, in.Out.Reaction.MessageID); err != nil {
			return nil, false, apperr.Field("messageId", "no such message in this session")
		}
		if m, err := s.opts.Store.MessageByWAID(ctx, sessionID, in.Out.Reaction.MessageID); err == nil {
			in.Out.Reaction.FromMe = m.FromMe
			if !m.FromMe {
				var mc content
				store.DecodeJSON(s.log, "messages", m.ID, m.Content, &mc)
				in.Out.Reaction.Sender = cmp.Or(mc.SenderAs, mc.FromLID, m.Sender) // as WhatsApp named the sender
			}
		}
	}
	c := stored(in.Out.Content)
	c.Quoted = in.Out.Quoted
	if engine.PhoneOf(chat) != "" {
		if pair, err := eng.LID(ctx, chat); err == nil {
			c.ChatLID = pair.LID // both forms where the engine knows them
		}
	}
	if in.Media != nil {
		if c.Media, err = s.ingest(ctx, sessionID, in.Out.Type, *in.Media); err != nil {
			return nil, false, err
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, false, err
	}
	now := store.Now()
	row := &store.Message{ID: ident.NewMessage(), SessionID: sessionID, WAMessageID: newWAID(), ChatID: chat,
		Sender: from, FromMe: true, Type: string(in.Out.Type), Content: b, Status: string(StatusQueued),
		ExpiresAt: now + s.opts.QueueTTL.Milliseconds(), Timestamp: now, CreatedAt: now, UpdatedAt: now}
	var idem *store.Idempotency
	if in.IdempotencyKey != "" {
		idem = &store.Idempotency{Key: in.IdempotencyKey, RequestHash: in.RequestHash}
	}
	existing, err := s.opts.Store.EnqueueMessage(ctx, row, idem)
	switch {
	case errors.Is(err, store.ErrDuplicate):
		return s.replay(existing) // a concurrent retry won the race
	case errors.Is(err, store.ErrConflict):
		return nil, false, idempotencyConflict(in.IdempotencyKey)
	case err != nil:
		return nil, false, fmt.Errorf("enqueue message: %w", err)
	}
	if in.Async || s.opts.SendWait <= 0 {
		s.Wake(sessionID)
		return s.view(row), false, nil
	}
	done := s.wait(row.ID)
	s.Wake(sessionID)
	{
		t := time.NewTimer(s.opts.SendWait)
		select {
		case <-done:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		s.unwait(row.ID, done)
	}
	cur, err := s.opts.Store.GetMessage(context.WithoutCancel(ctx), sessionID, row.ID)
	if err != nil {
		return nil, false, fmt.Errorf("read message: %w", err)
	}
	m := s.view(cur)
	if m.Status == StatusFailed {
		return nil, false, apperr.New(apperr.EngineError, "the message could not be sent: %s", cur.Error).
			With("messageId", m.ID)
	}
	return m, m.Status != StatusQueued && m.Status != StatusSending, nil
}

// checkDailyLimit refuses a send past the session's pacing.dailyLimit in the
// last 24 hours, saying when the oldest of them leaves the window.
func (s *Service) checkDailyLimit(ctx context.Context, sess *session.Session) error {
	p := pacing(sess)
	if p.DailyLimit <= 0 {
		return nil
	}
	sessionID := sess.ID
	now := time.Now()
	n, oldest, err := s.opts.Store.OutgoingSince(ctx, sessionID, now.Add(-24*time.Hour).UnixMilli())
	if err != nil {
		return fmt.Errorf("count sends: %w", err)
	}
	if n < p.DailyLimit {
		return nil
	}
	e := apperr.New(apperr.RateLimited, "session '%s' sent its pacing.dailyLimit of %d messages in the last 24 hours",
		sessionID, p.DailyLimit).With("dailyLimit", p.DailyLimit)
	e.RetryAfter = time.Until(time.UnixMilli(oldest).Add(24 * time.Hour))
	return e
}

// pacing returns the session's pacing settings (none when unset).
func pacing(sess *session.Session) session.Pacing {
	if sess.Config.Pacing == nil {
		return session.Pacing{}
	}
	return *sess.Config.Pacing
}

// replay answers a retried request with the message it produced: never a second send.
func (s *Service) replay(row *store.Message) (*Message, bool, error) {
	m := s.view(row)
	return m, m.Status != StatusQueued && m.Status != StatusSending && m.Status != StatusFailed, nil
}

func idempotencyConflict(key string) error {
	return apperr.New(apperr.IdempotencyConflict, "Idempotency-Key %q was used with another request", key)
}

// waID resolves a message reference (OpenWA id or WhatsApp id) to the WhatsApp id.
func (s *Service) waID(ctx context.Context, sessionID, ref string) (string, error) {
	if ref == "" || !strings.HasPrefix(ref, "msg_") {
		return ref, nil
	}
	m, err := s.opts.Store.GetMessage(ctx, sessionID, ref)
	if err != nil || m.WAMessageID == "" {
		return "", apperr.New(apperr.MessageNotFound, "message %s not found", ref)
	}
	return m.WAMessageID, nil
}

func (s *Service) wait(id string) chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiters[id] = append(s.waiters[id], ch)
	s.mu.Unlock()
	return ch
}

func (s *Service) unwait(id string, ch chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.waiters[id]
	for i, c := range list {
		if c == ch {
			s.waiters[id] = append(list[:i], list[i+1:]...)
		}
	}
	if len(s.waiters[id]) == 0 {
		delete(s.waiters, id)
	}
}

// sending marks a message as being sent until the returned func is called,
// after the send's outcome is stored. Acks of the message wait for it
// (afterSend): an engine may report an ack before Send returns, and applied
// first it would show a message delivered that has no send recorded (no
// timestamp, no message.sent event yet, and none at all if the worker then
// puts it back in the queue or stops).
func (s *Service) sending(sessionID, waID string) (done func()) {
	k := sessionID + "\x00" + waID
	ch := make(chan struct{})
	s.mu.Lock()
	s.inflight[k] = ch
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.inflight, k)
		s.mu.Unlock()
		close(ch)
	}
}

// afterSend waits until the worker has stored the outcome of the message's
// send, if it is being sent.
func (s *Service) afterSend(ctx context.Context, sessionID, waID string) error {
	s.mu.Lock()
	ch := s.inflight[sessionID+"\x00"+waID]
	s.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// settled wakes the requests waiting for message id.
func (s *Service) settled(id string) {
	s.mu.Lock()
	list := s.waiters[id]
	delete(s.waiters, id)
	s.mu.Unlock()
	for _, ch := range list {
		close(ch)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newWAID is a WhatsApp message id in the form WhatsApp Web and whatsmeow
// generate today: "3EB0" and 18 upper-case hex digits (9 random bytes).
func newWAID() string { return "3EB0" + strings.ToUpper(randomHex(9)) }

// HashRequest fingerprints a request body for Idempotency-Key conflicts.
func HashRequest(route string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(route))
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
