// Package message is OpenWA's message manager. Outbound: Validate → Queue
// (a durable outbox row, committed before the request returns) → Worker (one
// per session, in acceptance order) → Engine → Store. Inbound: engine event →
// Store → event. Acks move a message's status forward only.
package message

import (
	"log/slog"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/stamp"
	"github.com/openwa/openwa/internal/store"
)

// Status of a message.
type Status string

const (
	StatusQueued    Status = "queued"
	StatusSending   Status = "sending"
	StatusSent      Status = "sent"
	StatusDelivered Status = "delivered"
	StatusRead      Status = "read"
	StatusPlayed    Status = "played"
	StatusFailed    Status = "failed"
)

// Statuses lists every message status, in the order a message goes through them.
var Statuses = []Status{StatusQueued, StatusSending, StatusSent, StatusDelivered, StatusRead, StatusPlayed, StatusFailed}

// Media describes a message's stored media.
type Media struct {
	ID       string `json:"id"`
	Mimetype string `json:"mimetype"`
	Size     int64  `json:"size"`
	Filename string `json:"filename,omitempty"`
	URL      string `json:"url"`
	Missing  bool   `json:"missing,omitempty" doc:"The bytes could not be fetched from WhatsApp when the message arrived (id and url are empty)."`
}

// content is the JSON stored in messages.content: the engine's Content,
// with a reference to the stored media instead of its bytes, and what
// OpenWA knows besides. stored and engineContent are the one converter pair.
type content struct {
	engine.Content
	Media    *Media         `json:"media,omitempty"`
	Quoted   *engine.Quoted `json:"quoted,omitempty"`
	PushName string         `json:"pushName,omitempty"`
	FromLID  string         `json:"fromLid,omitempty"`
	ChatLID  string         `json:"chatLid,omitempty"`
	// SenderAs is the sender as WhatsApp named it in the message (internal:
	// read receipts and reaction keys must name the sender the same way).
	SenderAs string `json:"senderAs,omitempty"`
}

// stored is c's stored form; its media (the bytes) is stored apart and
// referenced by the caller.
func stored(c engine.Content) content {
	c.Media = nil
	return content{Content: c}
}

// engineContent is the engine's Content of c, without media bytes (the
// caller loads them).
func (c content) engineContent() engine.Content {
	out := c.Content
	out.Media = nil
	return out
}

// parseContent reads a stored content column; a row that cannot be read has
// no content.
func parseContent(log *slog.Logger, id string, b []byte) content {
	var c content
	store.DecodeJSON(log, "messages", id, b, &c)
	return c
}

// Message is the message object of API.md.
type Message struct {
	ID          string               `json:"id"`
	WAMessageID *string              `json:"waMessageId"`
	SessionID   string               `json:"sessionId"`
	ChatID      string               `json:"chatId"`
	ChatLID     string               `json:"chatLid,omitempty" doc:"The LID of a 1:1 chat when known; chatId is then the phone JID (or the LID itself when no phone is known)."`
	IsChannel   bool                 `json:"isChannel,omitempty" doc:"True for a message of a channel (newsletter, chatId …@newsletter)."`
	From        string               `json:"from"`
	FromLID     string               `json:"fromLid,omitempty" doc:"The sender's LID (WhatsApp's phone-number-free id) when WhatsApp addressed the sender by it; from is then the phone JID where known."`
	FromMe      bool                 `json:"fromMe"`
	Type        engine.MessageType   `json:"type"`
	Text        *string              `json:"text"`
	Caption     *string              `json:"caption"`
	Media       *Media               `json:"media"`
	Location    *engine.Location     `json:"location"`
	Contacts    []engine.ContactCard `json:"contacts"`
	Reaction    *engine.Reaction     `json:"reaction,omitempty"`
	Poll        *engine.Poll         `json:"poll,omitempty"`
	Mentions    []string             `json:"mentions,omitempty"`
	ReplyTo     *string              `json:"replyTo"`
	Status      Status               `json:"status"`
	Error       *string              `json:"error"`
	Timestamp   stamp.Time           `json:"timestamp"`
	CreatedAt   stamp.Time           `json:"createdAt"`
	UpdatedAt   stamp.Time           `json:"updatedAt"`
}

func (s *Service) view(row *store.Message) *Message {
	c := parseContent(s.log, row.ID, row.Content)
	m := &Message{ID: row.ID, WAMessageID: opt(row.WAMessageID), SessionID: row.SessionID, ChatID: row.ChatID,
		ChatLID: c.ChatLID, IsChannel: engine.IsChannel(row.ChatID), From: row.Sender, FromLID: c.FromLID, FromMe: row.FromMe, Type: engine.MessageType(row.Type), Text: opt(c.Text),
		Caption: opt(c.Caption), Media: c.Media, Location: c.Location, Contacts: c.Contacts, Reaction: c.Reaction,
		Poll: c.Poll, Mentions: c.Mentions, ReplyTo: opt(c.ReplyTo), Status: Status(row.Status), Error: opt(row.Error),
		Timestamp: store.Time(row.Timestamp), CreatedAt: store.Time(row.CreatedAt), UpdatedAt: store.Time(row.UpdatedAt)}
	if m.Contacts == nil {
		m.Contacts = []engine.ContactCard{}
	}
	return m
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// rank orders statuses so that acks only move forward.
var rank = map[Status]int{StatusQueued: 0, StatusSending: 1, StatusSent: 2, StatusDelivered: 3, StatusRead: 4, StatusPlayed: 5}

// earlier lists the statuses before s, from which an ack may move a message to s.
func earlier(s Status) []string {
	var out []string
	for st, r := range rank {
		if r < rank[s] && st != StatusQueued {
			out = append(out, string(st))
		}
	}
	return out
}

// AckEvent is the data of a message.ack event.
type AckEvent struct {
	ID             string `json:"id"`
	WAMessageID    string `json:"waMessageId"`
	ChatID         string `json:"chatId"`
	ChatLID        string `json:"chatLid,omitempty"`
	Status         Status `json:"status"`
	PreviousStatus Status `json:"previousStatus"`
}

// GroupEvent is the data of group.updated: the group as it is now, and what changed.
type GroupEvent struct {
	engine.Group
	Changed []string `json:"changed" doc:"subject, description, participants, settings, inviteLink, deleted, joined or other."`
}

// RevokedEvent is the data of a message.revoked event.
type RevokedEvent struct {
	ID          string `json:"id"`
	WAMessageID string `json:"waMessageId"`
	ChatID      string `json:"chatId"`
	ChatLID     string `json:"chatLid,omitempty"`
}
