package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/openwa/openwa/internal/engine"
)

var _ engine.Engine = (*Engine)(nil)

// maxDownload bounds the media the engine downloads for one received
// message, counting the bytes that arrive, not what the sender declared;
// parallelDownloads bounds how many all sessions of the process download at once.
const (
	maxDownload       = 100 << 20
	parallelDownloads = 8
)

// conn is the live client, or ErrNotConnected.
func (e *Engine) conn() (*whatsmeow.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client == nil || !e.online {
		return nil, engine.ErrNotConnected
	}
	return e.client, nil
}

// target is the live client and the id it is asked about, parsed by parse.
func (e *Engine) target(id string, parse func(string) (types.JID, error)) (*whatsmeow.Client, types.JID, error) {
	cli, err := e.conn()
	if err != nil {
		return nil, types.JID{}, err
	}
	j, err := parse(id)
	return cli, j, err
}

func parseJID(s string) (types.JID, error) {
	jid, err := types.ParseJID(s)
	if err != nil || jid.User == "" {
		return types.JID{}, fmt.Errorf("not a WhatsApp id: %q", s)
	}
	return jid, nil
}

// Send sends a message with the id OpenWA chose for it; media is uploaded first.
func (e *Engine) Send(ctx context.Context, out *engine.Outgoing) (*engine.SendResult, error) {
	cli, to, err := e.target(out.ChatID, parseJID)
	if err != nil {
		return nil, err
	}
	var msg *waE2E.Message
	switch out.Type {
	case engine.TypeReaction:
		msg = reactionTo(cli, to, out.Reaction)
	case engine.TypePoll:
		selectable := 1
		if out.Poll.MultipleAnswers {
			selectable = 0 // any number
		}
		msg = cli.BuildPollCreation(out.Poll.Name, out.Poll.Options, selectable)
	default:
		if kind, ok := mediaKind(out.Type); ok {
			if out.Media == nil {
				return nil, fmt.Errorf("%s message without media", out.Type)
			}
			up, err := cli.Upload(ctx, out.Media.Data, kind)
			if err != nil {
				return nil, fmt.Errorf("upload media: %w", err)
			}
			msg = mediaMessage(out, up)
		} else if msg, err = textual(out); err != nil {
			return nil, err
		}
	}
	resp, err := cli.SendMessage(ctx, to, msg, whatsmeow.SendRequestExtra{ID: types.MessageID(out.ID)})
	if err != nil && to.Server == types.DefaultUserServer && strings.Contains(err.Error(), "no LID found") {
		// WhatsApp knows no account for the number: final, not worth a retry.
		return nil, fmt.Errorf("%s is not on WhatsApp: %w", to.User, engine.ErrNotFound)
	}
	if errors.Is(err, whatsmeow.ErrServerReturnedError) && strings.HasSuffix(err.Error(), " 463") {
		// WhatsApp's limit on first messages to people the account has not
		// talked to: a retry within minutes is refused the same way.
		return nil, fmt.Errorf("WhatsApp refused a first message to a new contact for now (error 463, its limit on reaching out "+
			"to people who have not written to this account): not sent, not retried; try again later or wait for them to write: %w",
			engine.ErrRefused)
	}
	if err != nil {
		return nil, err
	}
	res := &engine.SendResult{WAMessageID: resp.ID, Timestamp: resp.Timestamp.UTC()}
	if to.Server == types.DefaultUserServer {
		if lid, err := cli.Store.LIDs.GetLIDForPN(ctx, to); err == nil && !lid.IsEmpty() {
			res.ChatLID = lid.ToNonAD().String()
		}
	}
	return res, nil
}

// reactionTo builds a reaction with whatsmeow's own builder, which names the
// message by chat, id and sender (in a group the key must carry the sender
// of someone else's message, or the reaction lands nowhere).
func reactionTo(cli *whatsmeow.Client, chat types.JID, r *engine.Reaction) *waE2E.Message {
	sender := types.EmptyJID // the account's own message
	if !r.FromMe {
		s, err := types.ParseJID(r.Sender)
		switch {
		case err == nil && r.Sender != "":
			sender = s
		case chat.Server == types.DefaultUserServer || chat.Server == types.HiddenUserServer:
			sender = chat // in a 1:1 chat the other person sent it
		default:
			return reaction(chat, r, time.Now()) // a message OpenWA does not have: sender unknown
		}
	}
	return cli.BuildReaction(chat, sender, r.MessageID, r.Emoji)
}

// Revoke deletes one of the linked account's messages for everyone.
func (e *Engine) Revoke(ctx context.Context, chatID, waMessageID string) error {
	cli, chat, err := e.target(chatID, parseJID)
	if err != nil {
		return err
	}
	_, err = cli.SendMessage(ctx, chat, cli.BuildRevoke(chat, types.EmptyJID, waMessageID))
	return err
}

// MarkRead sends read receipts: in a group, naming the messages' sender as
// WhatsApp wants (without one when OpenWA does not know it).
func (e *Engine) MarkRead(ctx context.Context, chatID, senderID string, ids []string) error {
	cli, chat, err := e.target(chatID, parseJID)
	if err != nil {
		return err
	}
	sender := chat
	if chat.Server == types.GroupServer {
		sender = types.EmptyJID
		if senderID != "" {
			if sender, err = parseJID(senderID); err != nil {
				return err
			}
		}
	}
	return cli.MarkRead(ctx, ids, time.Now(), chat, sender)
}

// SendPresence shows typing, recording or nothing in a chat.
func (e *Engine) SendPresence(ctx context.Context, chatID string, state engine.Presence) error {
	cli, chat, err := e.target(chatID, parseJID)
	if err != nil {
		return err
	}
	switch state {
	case engine.PresenceTyping:
		return cli.SendChatPresence(ctx, chat, types.ChatPresenceComposing, types.ChatPresenceMediaText)
	case engine.PresenceRecording:
		return cli.SendChatPresence(ctx, chat, types.ChatPresenceComposing, types.ChatPresenceMediaAudio)
	case engine.PresencePaused:
		return cli.SendChatPresence(ctx, chat, types.ChatPresencePaused, types.ChatPresenceMediaText)
	}
	return fmt.Errorf("presence %q: %w", state, engine.ErrUnsupported)
}

// commitWait bounds how long whatsmeow's event goroutine waits for OpenWA to
// commit a received message before leaving it unacknowledged (it is stored
// all the same once the database answers; WhatsApp's redelivery is then
// recognised as such).
const commitWait = time.Minute

// received hands on an incoming message and reports whether OpenWA committed
// it: only then does whatsmeow acknowledge it to WhatsApp (SynchronousAck), so
// that a message a crash lost is delivered again. It runs on whatsmeow's event
// goroutine, which is what keeps the messages in WhatsApp's order; media is
// downloaded here too, bounded in time, and a message whose bytes could not
// be fetched is handed on without them (its media marked missing).
func (e *Engine) received(v *events.Message) bool {
	ev := incoming(v, e.pnOf)
	if ev == nil {
		return true // protocol traffic: nothing to store
	}
	e.mu.Lock()
	cli, ctx := e.client, e.ctx
	e.mu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		return false // disconnecting: left for WhatsApp to deliver again
	}
	if rcv, ok := ev.(engine.MessageReceived); ok {
		// Statuses are many and short-lived: their media only when the session asks for it.
		fetch := !engine.IsStatus(rcv.Message.ChatID) || e.opts.DownloadStatusMedia
		if media := downloadable(v.Message); fetch && media != nil && rcv.Message.Media != nil && cli != nil {
			// The bytes stay in a temporary file until the message is committed.
			defer e.download(ctx, cli, media, rcv.Message)()
		}
	}
	wctx, cancel := context.WithTimeout(ctx, commitWait)
	defer cancel()
	if err := e.opts.Commit(wctx, ev); err != nil {
		e.log().Warn("received message not stored yet: left unacknowledged", "id", v.Info.ID, "err", err)
		return false
	}
	return true
}

// download fetches a received message's media into a temporary file that
// m's media opens, or leaves it without bytes (and says why in the log); the
// returned func removes the file.
func (e *Engine) download(ctx context.Context, cli *whatsmeow.Client, media whatsmeow.DownloadableMessage, m *engine.Message) (done func()) {
	done = func() {}
	select { // a few downloads at a time in the process: a burst of media cannot take all memory or disk
	case e.shared.downloads <- struct{}{}:
		defer func() { <-e.shared.downloads }()
	case <-ctx.Done():
		return done
	}
	e.mu.Lock()
	limit := e.maxDownload
	e.mu.Unlock()
	if sized, ok := media.(interface{ GetFileLength() uint64 }); ok && sized.GetFileLength() > uint64(limit) {
		e.log().Warn("received media too large to download", "id", m.WAMessageID, "bytes", sized.GetFileLength())
		return done
	}
	dctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	f, size, err := fetchMedia(dctx, cli, media, limit)
	cancel()
	if err != nil {
		e.log().Warn("cannot download received media", "id", m.WAMessageID, "err", err)
		return done
	}
	var mu sync.Mutex
	gone := false
	m.Media.Size = size
	m.Media.Open = func() (io.ReadCloser, error) {
		mu.Lock()
		defer mu.Unlock()
		if gone {
			return nil, engine.ErrMediaGone
		}
		return io.NopCloser(io.NewSectionReader(f, 0, size)), nil
	}
	return func() {
		mu.Lock()
		gone = true
		mu.Unlock()
		f.Close()
		os.Remove(f.Name())
	}
}

// undecryptable reports a message the device could not decrypt; whatsmeow
// already asked the sender (and the account's phone) to send it again.
func (e *Engine) undecryptable(v *events.UndecryptableMessage) {
	m := receivedMessage(&events.Message{Info: v.Info}, e.pnOf)
	m.Type = engine.TypeUndecryptable
	reason := "the message could not be decrypted"
	if v.IsUnavailable {
		reason = "the message is not available on this device"
	}
	e.mu.Lock()
	ctx := e.ctx
	e.mu.Unlock()
	if ctx == nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, commitWait)
	defer cancel()
	if err := e.opts.Commit(wctx, engine.Undecryptable{Message: m, Reason: reason}); err != nil {
		e.log().Warn("undecryptable message not stored", "id", v.Info.ID, "err", err)
	}
}

// errTooLarge is a download that grew past the engine's limit.
var errTooLarge = errors.New("media larger than the download limit")

// fetchMedia fetches and decrypts media into a temporary file that may not
// grow past the limit (plus the encryption's padding and MAC), whatever size
// the sender declared, and returns the file with the decrypted size; the
// caller closes and removes it. The bytes never sit whole in memory.
func fetchMedia(ctx context.Context, cli *whatsmeow.Client, media whatsmeow.DownloadableMessage, limit int64) (*os.File, int64, error) {
	f, err := os.CreateTemp("", "openwa-media-*")
	if err != nil {
		return nil, 0, err
	}
	fail := func(err error) (*os.File, int64, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	if err := cli.DownloadToFile(ctx, media, &cappedFile{File: f, max: limit + 32}); err != nil {
		return fail(err)
	}
	st, err := f.Stat()
	switch {
	case err != nil:
		return fail(err)
	case st.Size() > limit:
		return fail(errTooLarge)
	}
	return f, st.Size(), nil
}

// cappedFile is a file that refuses writes past max bytes.
type cappedFile struct {
	*os.File
	max int64
}

func (f *cappedFile) Write(p []byte) (int, error) {
	off, err := f.File.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	if off+int64(len(p)) > f.max {
		return 0, errTooLarge
	}
	return f.File.Write(p)
}

func (f *cappedFile) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.max {
		return 0, errTooLarge
	}
	return f.File.WriteAt(p, off)
}

func (f *cappedFile) Truncate(size int64) error {
	if size > f.max {
		return errTooLarge
	}
	return f.File.Truncate(size)
}

// groupChange is a group notification waiting for the group to be read.
type groupChange struct {
	jid     types.JID
	changed []string
}

// groupChanged queues a change WhatsApp notified; the connection's group
// reader reports it with the group as it is then. It never blocks.
func (e *Engine) groupChanged(jid types.JID, changed []string) {
	e.mu.Lock()
	e.groupQueue = append(e.groupQueue, groupChange{jid, changed})
	e.mu.Unlock()
	select {
	case e.groupKick <- struct{}{}:
	default: // the reader is awake already
	}
}

// readGroups reports queued group changes in order, each with the group read
// fresh from WhatsApp (not on whatsmeow's event goroutine); a group the
// account can no longer read (it left or was removed) is reported by id alone.
func (e *Engine) readGroups(ctx context.Context, cli *whatsmeow.Client) {
	defer e.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.groupKick:
		}
		e.mu.Lock()
		queue := e.groupQueue
		e.groupQueue = nil
		e.mu.Unlock()
		for _, c := range queue {
			gctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			info, err := cli.GetGroupInfo(gctx, c.jid)
			cancel()
			g := &engine.Group{JID: c.jid.String(), Participants: []engine.Participant{}}
			if err == nil {
				g = group(info)
			} else {
				e.log().Info("changed group not readable", "group", c.jid.String(), "err", err)
			}
			if ctx.Err() != nil {
				return
			}
			e.emit(engine.GroupUpdated{Group: *g, Changed: c.changed})
		}
	}
}

// notFound maps whatsmeow's "no such thing" answers to the contract's.
func notFound(err error) error {
	if errors.Is(err, whatsmeow.ErrIQNotFound) || errors.Is(err, whatsmeow.ErrGroupNotFound) ||
		errors.Is(err, whatsmeow.ErrNotInGroup) || errors.Is(err, whatsmeow.ErrIQForbidden) {
		return fmt.Errorf("%w: %v", engine.ErrNotFound, err)
	}
	return err
}
