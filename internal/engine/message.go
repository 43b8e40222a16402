package engine

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"time"
)

// MessageType names a kind of message (API.md, message object `type`).
type MessageType string

const (
	TypeText     MessageType = "text"
	TypeImage    MessageType = "image"
	TypeVideo    MessageType = "video"
	TypeAudio    MessageType = "audio"
	TypeVoice    MessageType = "voice"
	TypeDocument MessageType = "document"
	TypeSticker  MessageType = "sticker"
	TypeLocation MessageType = "location"
	TypeContact  MessageType = "contact"
	TypeReaction MessageType = "reaction"
	TypePoll     MessageType = "poll"
	TypeRevoked  MessageType = "revoked"
	TypeUnknown  MessageType = "unknown"
	// TypeUndecryptable is the placeholder of a message the device could not
	// decrypt yet; it takes the message's own type when the sender resends it.
	TypeUndecryptable MessageType = "undecryptable"
)

// Content is what a message says: one struct for the message to send
// (Outgoing), the message seen (Message) and the stored content (package
// message converts it to and from its JSON form). Exactly the fields of the
// message's Type are set. A new message type adds its field here.
type Content struct {
	Text     string        `json:"text,omitempty"`
	Caption  string        `json:"caption,omitempty"`
	ReplyTo  string        `json:"replyTo,omitempty"` // WhatsApp id of the quoted message
	Mentions []string      `json:"mentions,omitempty"`
	Location *Location     `json:"location,omitempty"`
	Contacts []ContactCard `json:"contacts,omitempty"`
	Reaction *Reaction     `json:"reaction,omitempty"`
	Poll     *Poll         `json:"poll,omitempty"`
	// Media carries the bytes; they are stored apart from the content
	// (package message keeps a reference instead).
	Media *Media `json:"-"`
}

// Outgoing is a message to send.
type Outgoing struct {
	// ID is the WhatsApp message id to send with, chosen before the first
	// attempt, so that a retry after a crash is the same message to WhatsApp.
	ID     string
	ChatID string
	Type   MessageType
	Content
	Quoted *Quoted // what OpenWA knows of the quoted message, nil when it does not have it
}

// Quoted is the message a reply quotes, as OpenWA stored it: WhatsApp shows
// a quote from its sender and content.
type Quoted struct {
	Sender string `json:"sender"`
	Text   string `json:"text,omitempty"` // its text or caption
}

// Media is message media. Data is set on send; on receipt either Data holds
// the downloaded bytes or Open reads them (Size of them) from where the
// engine keeps them until the message is committed, so that large media go
// to storage without being held in memory.
type Media struct {
	Data []byte
	// Open reads the received bytes from the start; valid only while the
	// engine's commit of the message runs, ErrMediaGone after.
	Open     func() (io.ReadCloser, error)
	Size     int64
	Mimetype string
	Filename string
}

// ErrMediaGone is Media.Open after the engine stopped waiting for the
// commit: the message is not acknowledged, WhatsApp delivers it again.
var ErrMediaGone = errors.New("engine: the received media is no longer kept")

// Body opens the received bytes, whichever form they take, with their size;
// nil when there are none.
func (m *Media) Body() (io.ReadCloser, int64, error) {
	switch {
	case m == nil:
		return nil, 0, nil
	case m.Open != nil && m.Size > 0:
		r, err := m.Open()
		return r, m.Size, err
	case len(m.Data) > 0:
		return io.NopCloser(bytes.NewReader(m.Data)), int64(len(m.Data)), nil
	}
	return nil, 0, nil
}

// Location is a point on the map.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// ContactCard is a shared contact.
type ContactCard struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Reaction reacts to a message; an empty Emoji removes the reaction.
type Reaction struct {
	MessageID string `json:"messageId"`
	Emoji     string `json:"emoji"`
	// FromMe tells whether the message reacted to is the linked account's own
	// (WhatsApp addresses a reaction by chat, sender and id).
	FromMe bool `json:"fromMe,omitempty"`
	// Sender is who sent the message reacted to, as WhatsApp named them (its
	// LID where it gave one); in a group the reaction's key must name them.
	Sender string `json:"sender,omitempty"`
}

// Poll is a poll to create.
type Poll struct {
	Name            string   `json:"name"`
	Options         []string `json:"options"`
	MultipleAnswers bool     `json:"multipleAnswers"`
}

// SendResult is what the engine reports for a sent message.
type SendResult struct {
	WAMessageID string
	Timestamp   time.Time
	ChatLID     string // the recipient's LID when the engine knows it (1:1 chats)
}

// StatusChat is the chat WhatsApp delivers statuses (stories) in.
const StatusChat = "status@broadcast"

// IsStatus reports whether a chat id is the status broadcast.
func IsStatus(jid string) bool { return jid == StatusChat }

// IsChannel reports whether a chat id is a channel (newsletter).
func IsChannel(jid string) bool { return strings.HasSuffix(jid, "@"+ChannelServer) }

// Message is a message seen by the engine: received, or sent from another device.
type Message struct {
	WAMessageID string
	ChatID      string // the phone JID of a 1:1 chat where known, else as WhatsApp named it
	ChatLID     string // the LID of a 1:1 chat when known
	From        string
	FromLID     string // the sender's LID when WhatsApp named the sender by it; From is then the phone JID where known
	SenderAs    string // the sender exactly as WhatsApp named it in this message (LID or phone JID); receipts and reaction keys name it so
	FromMe      bool
	PushName    string
	Type        MessageType
	Content
	Timestamp time.Time
}
