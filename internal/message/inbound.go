package message

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/ident"
	"github.com/openwa/openwa/internal/session"
	"github.com/openwa/openwa/internal/store"
)

// EngineEvent stores inbound messages and applies acks and revokes. It
// returns the errors worth trying again: a backing service that is away.
func (s *Service) EngineEvent(ctx context.Context, sessionID string, ev engine.Event) error {
	switch e := ev.(type) {
	case engine.MessageReceived:
		return s.received(ctx, sessionID, e.Message)
	case engine.Undecryptable:
		return s.undecryptable(ctx, sessionID, e)
	case engine.Ack:
		for _, id := range e.WAMessageIDs {
			if err := s.ack(ctx, sessionID, id, Status(e.Status)); err != nil {
				return err // acks already applied are not applied twice: they only move forward
			}
		}
	case engine.Revoked:
		m, err := s.opts.Store.MessageByWAID(ctx, sessionID, e.WAMessageID)
		if errors.Is(err, store.ErrNotFound) {
			return s.tombstone(ctx, sessionID, e)
		}
		if err != nil {
			return retryable(err)
		}
		if m.Type == string(engine.TypeRevoked) {
			return nil // revoked already (it arrived revoked)
		}
		return s.markRevoked(ctx, m)
	case engine.GroupUpdated:
		return retryable(s.opts.Store.AddEvents(ctx, event.New(event.GroupUpdated, sessionID, GroupEvent{Group: e.Group, Changed: e.Changed})))
	default:
		return fmt.Errorf("%w: %T", session.ErrUnhandledEvent, ev)
	}
	return nil
}

// retryable keeps err only when trying again may help.
func retryable(err error) error {
	if apperr.Unavailable(err) {
		return err
	}
	return nil
}

// Committed wakes the worker of every session whose status changed: one that
// became READY may have an outbox waiting.
func (s *Service) Committed(evs []*event.Row) {
	for _, ev := range evs {
		if ev.Name == event.SessionStatus {
			s.Wake(ev.SessionID)
		}
	}
}

// tombstone records a revoke of a message OpenWA has not stored (yet): a
// revoked message row under its WhatsApp id, content-free. The message itself,
// should it arrive later, is then a duplicate of that row and is dropped: the
// revoke wins, its content is never stored or forwarded.
func (s *Service) tombstone(ctx context.Context, sessionID string, r engine.Revoked) error {
	now := store.Now()
	ts := r.Timestamp.UnixMilli()
	if r.Timestamp.IsZero() {
		ts = now
	}
	row := &store.Message{ID: ident.NewMessage(), SessionID: sessionID, WAMessageID: r.WAMessageID, ChatID: r.ChatID,
		Sender: r.By, FromMe: r.FromMe, Type: string(engine.TypeRevoked), Content: []byte("{}"), Status: string(StatusDelivered),
		Timestamp: ts, CreatedAt: now, UpdatedAt: now}
	if r.FromMe {
		row.Status = string(StatusSent)
	}
	ev := event.New(event.MessageRevoked, sessionID, RevokedEvent{ID: row.ID, WAMessageID: row.WAMessageID, ChatID: row.ChatID})
	if err := s.opts.Store.SaveInbound(ctx, row, ev); err != nil && !errors.Is(err, store.ErrDuplicate) {
		return fmt.Errorf("store revoke: %w", err)
	}
	return nil
}

func (s *Service) received(ctx context.Context, sessionID string, in *engine.Message) error {
	c := stored(in.Content)
	c.PushName, c.FromLID, c.ChatLID, c.SenderAs = in.PushName, in.FromLID, in.ChatLID, in.SenderAs
	if in.Type == engine.TypeRevoked { // deleted for everyone before it reached OpenWA: no content at all
		c = content{PushName: in.PushName, FromLID: in.FromLID, ChatLID: in.ChatLID, SenderAs: in.SenderAs}
	}
	if in.Type != engine.TypeRevoked && in.Media != nil {
		// Kept without its bytes rather than lost when they could not be fetched.
		c.Media = &Media{Mimetype: in.Media.Mimetype, Filename: in.Media.Filename, Missing: true}
	}
	if in.Type != engine.TypeRevoked && in.Media != nil && (len(in.Media.Data) > 0 || in.Media.Open != nil && in.Media.Size > 0) {
		if old, err := s.opts.Store.MessageByWAID(ctx, sessionID, in.WAMessageID); err == nil && old.Type != string(engine.TypeUndecryptable) {
			return nil // redelivered: stored already, media included
		}
		m, err := s.storeReceivedMedia(ctx, sessionID, in)
		switch {
		case errors.Is(err, engine.ErrMediaGone):
			return err // the engine gave up waiting: WhatsApp delivers it again, bytes included
		case apperr.Unavailable(err):
			return err // the storage is away: try again
		case err != nil:
			// The message is kept without its bytes rather than lost.
			s.log.Error("store inbound media", "session_id", sessionID, "err", err)
		default:
			c.Media = m
		}
	}
	b, _ := json.Marshal(c)
	now := store.Now()
	row := &store.Message{ID: ident.NewMessage(), SessionID: sessionID, WAMessageID: in.WAMessageID,
		ChatID: in.ChatID, Sender: in.From, FromMe: in.FromMe, Type: string(in.Type), Content: b,
		Status: string(StatusDelivered), Timestamp: in.Timestamp.UnixMilli(), CreatedAt: now, UpdatedAt: now}
	if in.FromMe {
		row.Status = string(StatusSent)
	}
	ev := event.New(event.MessageReceived, sessionID, s.view(row))
	switch {
	case in.Type == engine.TypeRevoked:
		ev = event.New(event.MessageRevoked, sessionID, RevokedEvent{ID: row.ID, WAMessageID: row.WAMessageID, ChatID: row.ChatID, ChatLID: in.ChatLID})
	case engine.IsStatus(in.ChatID):
		ev = event.New(event.StatusReceived, sessionID, s.view(row))
	}
	switch err := s.opts.Store.SaveInbound(ctx, row, ev); {
	case errors.Is(err, store.ErrDuplicate):
		// WhatsApp redelivered a message already stored, or the sender resent
		// one that could not be decrypted: its placeholder becomes the message.
		return s.replacePlaceholder(ctx, sessionID, row)
	case err != nil:
		return fmt.Errorf("store inbound message: %w", err)
	}
	return nil
}

// replacePlaceholder turns the stored placeholder of an undecryptable
// message into row, with message.received; a message already stored
// otherwise changes nothing.
func (s *Service) replacePlaceholder(ctx context.Context, sessionID string, row *store.Message) error {
	old, err := s.opts.Store.MessageByWAID(ctx, sessionID, row.WAMessageID)
	if err != nil {
		return retryable(err)
	}
	if old.Type != string(engine.TypeUndecryptable) {
		return nil
	}
	row.ID, row.CreatedAt, row.Status = old.ID, old.CreatedAt, old.Status
	err = s.opts.Store.ReplacePlaceholder(ctx, row, string(engine.TypeUndecryptable),
		event.New(event.MessageReceived, sessionID, s.view(row)))
	if errors.Is(err, store.ErrNotFound) {
		return nil // replaced meanwhile
	}
	if err != nil {
		return fmt.Errorf("replace undecryptable message: %w", err)
	}
	return nil
}

// undecryptable stores the placeholder of a message that could not be
// decrypted, with message.undecryptable; once per WhatsApp id.
func (s *Service) undecryptable(ctx context.Context, sessionID string, u engine.Undecryptable) error {
	in := u.Message
	b, _ := json.Marshal(content{PushName: in.PushName, FromLID: in.FromLID, ChatLID: in.ChatLID, SenderAs: in.SenderAs})
	now := store.Now()
	row := &store.Message{ID: ident.NewMessage(), SessionID: sessionID, WAMessageID: in.WAMessageID,
		ChatID: in.ChatID, Sender: in.From, FromMe: in.FromMe, Type: string(engine.TypeUndecryptable), Content: b,
		Status: string(StatusDelivered), Timestamp: in.Timestamp.UnixMilli(), CreatedAt: now, UpdatedAt: now}
	if in.FromMe {
		row.Status = string(StatusSent)
	}
	ev := event.New(event.MessageUndecryptable, sessionID, UndecryptableEvent{Message: s.view(row), Reason: u.Reason})
	switch err := s.opts.Store.SaveInbound(ctx, row, ev); {
	case errors.Is(err, store.ErrDuplicate):
		return nil // stored already (decrypted, or as a placeholder)
	case err != nil:
		return fmt.Errorf("store undecryptable message: %w", err)
	}
	return nil
}

// UndecryptableEvent is the data of a message.undecryptable event: the
// stored placeholder (type "undecryptable") and why it could not be read.
type UndecryptableEvent struct {
	*Message
	Reason string `json:"reason"`
}

func (s *Service) ack(ctx context.Context, sessionID, waID string, to Status) error {
	if err := s.afterSend(ctx, sessionID, waID); err != nil {
		return err
	}
	// An unknown message, or an ack that would move one backwards, changes nothing.
	_, err := s.opts.Store.AdvanceStatus(ctx, sessionID, waID, string(to), earlier(to), func(before *store.Message) *event.Row {
		var c content
		store.DecodeJSON(s.log, "messages", before.ID, before.Content, &c)
		return event.New(event.MessageAck, sessionID, AckEvent{ID: before.ID, WAMessageID: waID, ChatID: before.ChatID,
			ChatLID: c.ChatLID, Status: to, PreviousStatus: Status(before.Status)})
	})
	return retryable(err)
}

func (s *Service) markRevoked(ctx context.Context, m *store.Message) error {
	m.Type, m.UpdatedAt = string(engine.TypeRevoked), store.Now()
	var c content
	store.DecodeJSON(s.log, "messages", m.ID, m.Content, &c)
	ev := event.New(event.MessageRevoked, m.SessionID, RevokedEvent{ID: m.ID, WAMessageID: m.WAMessageID, ChatID: m.ChatID, ChatLID: c.ChatLID})
	if err := s.opts.Store.UpdateMessageType(ctx, m.ID, m.Type, ev); err != nil {
		return fmt.Errorf("mark revoked: %w", err)
	}
	return nil
}

// ListFilter narrows List.
type ListFilter = store.MessageFilter

// List returns a page of a session's messages, newest first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]*Message, int, error) {
	rows, total, err := s.opts.Store.ListMessages(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list messages: %w", err)
	}
	out := make([]*Message, len(rows))
	for i, r := range rows {
		out[i] = s.view(r)
	}
	return out, total, nil
}

// Get returns one message.
func (s *Service) Get(ctx context.Context, sessionID, id string) (*Message, error) {
	row, err := s.opts.Store.GetMessage(ctx, sessionID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.New(apperr.MessageNotFound, "Message with id '%s' not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	return s.view(row), nil
}

// ByWAID returns the session's message with the WhatsApp id, or MESSAGE_NOT_FOUND.
func (s *Service) ByWAID(ctx context.Context, sessionID, waID string) (*Message, error) {
	row, err := s.opts.Store.MessageByWAID(ctx, sessionID, waID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.New(apperr.MessageNotFound, "no message with WhatsApp id '%s'", waID)
	}
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	return s.view(row), nil
}

// Revoke deletes a sent message for everyone.
func (s *Service) Revoke(ctx context.Context, sessionID, id string) (*Message, error) {
	row, err := s.opts.Store.GetMessage(ctx, sessionID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.New(apperr.MessageNotFound, "Message with id '%s' not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	if !row.FromMe {
		return nil, apperr.Field("messageId", "only messages this account sent can be revoked")
	}
	switch Status(row.Status) {
	case StatusQueued, StatusSending, StatusFailed:
		return nil, apperr.New(apperr.Conflict, "message %s was not sent (status %s): nothing to revoke", id, row.Status).
			With("status", row.Status)
	}
	if row.Type == string(engine.TypeRevoked) {
		return s.view(row), nil
	}
	eng, _, err := s.opts.Sessions.Ready(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	if err := eng.Revoke(ctx, row.ChatID, row.WAMessageID); err != nil {
		if errors.Is(err, engine.ErrNotConnected) {
			return nil, apperr.New(apperr.SessionNotReady, "the session is not connected")
		}
		return nil, apperr.New(apperr.EngineError, "revoke failed: %v", err).Wrap(err)
	}
	if err := s.markRevoked(ctx, row); err != nil {
		return nil, err
	}
	return s.view(row), nil
}

// Chat is a conversation of a session, from its stored messages.
type Chat struct {
	ID          string   `json:"id" doc:"Chat JID."`
	IsGroup     bool     `json:"isGroup"`
	UnreadCount int      `json:"unreadCount" doc:"Incoming messages not read yet."`
	Messages    int      `json:"messageCount" doc:"Messages stored for the chat (see MESSAGE_RETENTION_DAYS)."`
	LastMessage *Message `json:"lastMessage"`
}

// Chats lists a session's chats, the most recently active first.
func (s *Service) Chats(ctx context.Context, sessionID string, limit, offset int) ([]Chat, int, error) {
	rows, total, err := s.opts.Store.ListChats(ctx, sessionID, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Chat, 0, len(rows))
	for _, r := range rows {
		c := Chat{ID: r.ChatID, IsGroup: engine.IsGroup(r.ChatID), UnreadCount: r.Unread, Messages: r.Messages}
		last, _, err := s.opts.Store.ListMessages(ctx, store.MessageFilter{SessionID: sessionID, ChatID: r.ChatID, Limit: 1})
		if err != nil {
			return nil, 0, err
		}
		if len(last) > 0 {
			c.LastMessage = s.view(last[0])
		}
		out = append(out, c)
	}
	return out, total, nil
}

// Read sends read receipts for messages of a chat (OpenWA or WhatsApp ids)
// through send, once per sender (WhatsApp wants the sender in a group), and
// the stored incoming ones among them become read, each with a message.ack
// event. The account's own messages are left out: their read state is the
// recipient's to tell.
func (s *Service) Read(ctx context.Context, sessionID, chatID string, refs []string,
	send func(sender string, waIDs []string) error) error {
	bySender := map[string][]string{}
	var order, stored []string
	for _, ref := range refs {
		id, err := s.waID(ctx, sessionID, ref)
		if err != nil {
			return err
		}
		sender := ""
		m, err := s.opts.Store.MessageByWAID(ctx, sessionID, id)
		switch {
		case err == nil && m.FromMe:
			continue
		case err == nil:
			stored = append(stored, id)
			if engine.IsGroup(chatID) {
				c := parseContent(s.log, m.ID, m.Content)
				sender = cmp.Or(c.SenderAs, c.FromLID, m.Sender) // as WhatsApp named the sender
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if _, ok := bySender[sender]; !ok {
			order = append(order, sender)
		}
		bySender[sender] = append(bySender[sender], id)
	}
	for _, sender := range order {
		if err := send(sender, bySender[sender]); err != nil {
			return err
		}
	}
	for _, id := range stored {
		if err := s.ack(ctx, sessionID, id, StatusRead); err != nil {
			return err
		}
	}
	return nil
}

// storeReceivedMedia streams a received message's media into storage; only
// the first bytes, which say the type, are read into memory.
func (s *Service) storeReceivedMedia(ctx context.Context, sessionID string, in *engine.Message) (*Media, error) {
	body, size, err := in.Media.Body()
	if err != nil {
		return nil, fmt.Errorf("open received media: %w", err)
	}
	defer body.Close()
	head := make([]byte, min(size, 512))
	if _, err := io.ReadFull(body, head); err != nil {
		return nil, fmt.Errorf("read received media: %w", err)
	}
	mt := documentType(sniff(head, in.Type), in.Media.Mimetype, in.Media.Filename)
	return s.storeMedia(ctx, sessionID, io.MultiReader(bytes.NewReader(head), body), size, mt, in.Media.Filename)
}
