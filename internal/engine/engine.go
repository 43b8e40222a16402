// Package engine is the contract between OpenWA and a WhatsApp protocol
// implementation (an engine: whatsmeow or mock). The session manager owns one
// Engine per running session; engines report everything that happens through
// the Emit callback of Options and never import the API or the services.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/openwa/openwa/internal/stamp"
)

// Engine is everything OpenWA asks of a WhatsApp connection, grouped by concern.
type Engine interface {
	Lifecycle
	Messenger
	Directory
	Groups
}

// Lifecycle covers connection and pairing. Connect returns once the engine is
// connecting; progress (QR codes, pairing, ready, disconnects) arrives as events.
type Lifecycle interface {
	Connect(ctx context.Context) error
	// Disconnect closes the connection and keeps the pairing. The engine emits
	// nothing after Disconnect returns.
	Disconnect(ctx context.Context) error
	// Logout unlinks the device and clears the stored pairing.
	Logout(ctx context.Context) error
	// PairPhone asks for a pairing code to type on the phone instead of scanning a QR.
	PairPhone(ctx context.Context, phone string) (string, error)
	// Me is the linked account, nil when not paired.
	Me() *Account
}

// Messenger sends messages and chat state.
type Messenger interface {
	Send(ctx context.Context, msg *Outgoing) (*SendResult, error)
	Revoke(ctx context.Context, chatID, waMessageID string) error
	// MarkRead sends read receipts for messages of a chat; in a group, sender
	// is who sent them ("" when unknown), in a 1:1 chat it is ignored.
	MarkRead(ctx context.Context, chatID, sender string, waMessageIDs []string) error
	SendPresence(ctx context.Context, chatID string, state Presence) error
}

// Directory covers contacts.
type Directory interface {
	Contacts(ctx context.Context) ([]Contact, error)
	Contact(ctx context.Context, jid string) (*Contact, error)
	ProfilePictureURL(ctx context.Context, jid string) (string, error)
	IsOnWhatsApp(ctx context.Context, phone string) (exists bool, jid string, err error)
	SetBlocked(ctx context.Context, jid string, blocked bool) error
	// LID pairs a user's LID and phone JID: jid is either; ErrNotFound when
	// the engine knows no pair for it.
	LID(ctx context.Context, jid string) (LIDPair, error)
}

// LIDPair is one user under both of WhatsApp's ids.
type LIDPair struct {
	LID string `json:"lid" doc:"The user's LID (…@lid)."`
	PN  string `json:"pn" doc:"The user's phone JID (…@s.whatsapp.net)."`
}

// Groups covers group chats.
type Groups interface {
	Groups(ctx context.Context) ([]Group, error)
	Group(ctx context.Context, jid string) (*Group, error)
	CreateGroup(ctx context.Context, name string, participants []string) (*Group, error)
	// UpdateParticipants changes membership and reports the outcome for each participant.
	UpdateParticipants(ctx context.Context, jid string, action ParticipantAction, participants []string) ([]ParticipantResult, error)
	SetGroupInfo(ctx context.Context, jid string, subject, description *string) (*Group, error)
	InviteLink(ctx context.Context, jid string, revoke bool) (string, error)
	LeaveGroup(ctx context.Context, jid string) error
}

// Mock is implemented by engines that offer the mock controls of API.md.
type Mock interface {
	MockPair(ctx context.Context) error
	MockInbound(ctx context.Context, msg *Message) (*Message, error)
	MockDisconnect(ctx context.Context, reason string) error
	// MockSent reports what reached "WhatsApp": each message id once, and how
	// many sends repeated an id already delivered.
	MockSent() MockLedger
}

// MockConfig is the mock engine's settings: config.mock of a session (API.md).
type MockConfig struct {
	AutoPair    *bool `json:"autoPair,omitempty" doc:"Pair by itself after pairDelayMs (default true)."`
	PairDelayMs *int  `json:"pairDelayMs,omitempty" minimum:"0" maximum:"600000" doc:"Time from start to READY when pairing by itself (default 500)."`
	AckDelayMs  *int  `json:"ackDelayMs,omitempty" minimum:"0" maximum:"600000" doc:"Time between a send and each of its acks (default 100)."`
	SendDelayMs *int  `json:"sendDelayMs,omitempty" minimum:"0" maximum:"600000" doc:"Simulated time each send takes (default 0)."`
}

// MockLedger is the mock engine's durable record of what it delivered.
type MockLedger struct {
	Messages   []MockSentMessage `json:"messages"`
	Duplicates int               `json:"duplicates" doc:"Sends that repeated a message id already delivered (WhatsApp drops them)."`
}

// MockSentMessage is one delivered message.
type MockSentMessage struct {
	ID        string `json:"id"`
	ChatID    string `json:"chatId"`
	Type      string `json:"type"`
	Mimetype  string `json:"mimetype,omitempty"`
	MediaSize int    `json:"mediaSize,omitempty" doc:"Bytes of media the engine was given."`
}

// AuthStore keeps an engine's pairing state between runs. The session manager
// provides it; the bytes are the engine's own.
type AuthStore interface {
	LoadAuth(ctx context.Context) ([]byte, error)
	SaveAuth(ctx context.Context, state []byte) error
	ClearAuth(ctx context.Context) error
}

// Options are what an engine is built with.
type Options struct {
	SessionID string
	ProxyURL  string
	// Settings is the engine's own section of the session config (for the mock
	// engine, config.mock), nil when absent.
	Settings json.RawMessage
	Auth     AuthStore
	// Emit receives every event. It never blocks: the session manager queues
	// events per session, so an engine may call it from its own handlers.
	Emit func(Event)
	// Deliver hands on an event, in order with those of Emit, and waits until
	// OpenWA has committed it (the message row, its event and its webhook
	// deliveries in one transaction): nil then, else why not. An engine
	// acknowledges a message to WhatsApp only after Deliver returned nil, so
	// that WhatsApp redelivers what a crash lost. An event handed on is
	// applied even when ctx ends first or the session stops meanwhile; nil
	// Deliver (tests) falls back to Emit.
	Deliver func(ctx context.Context, ev Event) error
	Logger  *slog.Logger
	// DownloadStatusMedia makes the engine download the media of statuses
	// (off by default: statuses are many and short-lived).
	DownloadStatusMedia bool
}

// Commit hands ev on through o.Deliver and waits for its commit, or through
// o.Emit when there is no Deliver.
func (o Options) Commit(ctx context.Context, ev Event) error {
	if o.Deliver != nil {
		return o.Deliver(ctx, ev)
	}
	if o.Emit != nil {
		o.Emit(ev)
	}
	return nil
}

// Factory builds an engine for one session.
type Factory func(Options) (Engine, error)

// ErrNotPaired is returned by operations that need a linked device.
var ErrNotPaired = errors.New("engine: not paired")

// ErrNotConnected is returned by operations that need a live connection.
var ErrNotConnected = errors.New("engine: not connected")

// ErrNotFound is returned for an unknown contact, group or message.
var ErrNotFound = errors.New("engine: not found")

// ErrUnsupported is returned for what an engine cannot do.
var ErrUnsupported = errors.New("engine: not supported")

// ErrRefused is returned for a send WhatsApp refused for a reason that a
// retry soon would not change: the message fails at once.
var ErrRefused = errors.New("engine: refused by WhatsApp")

// Account is a linked WhatsApp account.
type Account struct {
	JID      string `json:"id"`
	Phone    string `json:"phone"`
	PushName string `json:"pushName"`
	LID      string `json:"lid,omitempty"`
}

// Presence is a chat state.
type Presence string

const (
	PresenceTyping    Presence = "typing"
	PresenceRecording Presence = "recording"
	PresencePaused    Presence = "paused"
)

// ParticipantAction changes group membership.
type ParticipantAction string

const (
	ParticipantAdd     ParticipantAction = "add"
	ParticipantRemove  ParticipantAction = "remove"
	ParticipantPromote ParticipantAction = "promote"
	ParticipantDemote  ParticipantAction = "demote"
)

// Contact is an address-book entry.
type Contact struct {
	JID         string `json:"id" doc:"The phone JID, or the LID when no phone number is known for the person."`
	Phone       string `json:"phone"`
	LID         string `json:"lid,omitempty" doc:"The person's LID (WhatsApp's phone-number-free id) when known."`
	Name        string `json:"name,omitempty"`
	PushName    string `json:"pushName,omitempty"`
	IsBusiness  bool   `json:"isBusiness"`
	IsBlocked   bool   `json:"isBlocked"`
	IsMyContact bool   `json:"isMyContact"`
}

// Group is a group chat.
type Group struct {
	JID          string        `json:"id"`
	Subject      string        `json:"subject"`
	Description  string        `json:"description,omitempty"`
	Owner        string        `json:"owner,omitempty"`
	Participants []Participant `json:"participants"`
	CreatedAt    stamp.Time    `json:"createdAt"`
}

// ParticipantResult is what became of one participant of a membership change.
type ParticipantResult struct {
	Participant string `json:"participant" doc:"The participant, as phone JID where known."`
	Status      string `json:"status" enum:"added,removed,promoted,demoted,invited,failed" doc:"invited: WhatsApp refused to add them (their privacy settings) and an invitation to join was sent to them instead."`
	Code        int    `json:"code" doc:"WhatsApp's code for this participant: 200 done, 403 not allowed (see status invited), 404 no such account, 409 already a member (add) or not a member, …"`
	Reason      string `json:"reason,omitempty" doc:"Why it failed, in words."`
	InviteLink  string `json:"inviteLink,omitempty" doc:"With invited: the group's invite link, for sending by other means."`
}

// Participant is a member of a group.
type Participant struct {
	JID          string `json:"id"`
	IsAdmin      bool   `json:"isAdmin"`
	IsSuperAdmin bool   `json:"isSuperAdmin"`
}
