package engine

import "time"

// Event is something an engine reports. The concrete types below are all of them.
type Event interface{ isEvent() }

// Connecting: the engine is (re)connecting.
type Connecting struct{}

// QR: a new QR code to scan, valid until ExpiresAt.
type QR struct {
	Code      string
	ExpiresAt time.Time
}

// Paired: the phone linked the device (AUTHENTICATED).
type Paired struct{ Account Account }

// Ready: connected and logged in.
type Ready struct{ Account Account }

// Disconnected: the connection dropped. WillReconnect tells whether the
// engine is reconnecting by itself.
type Disconnected struct {
	Reason        string
	WillReconnect bool
}

// LoggedOut: the device was unlinked; the engine cleared its pairing.
type LoggedOut struct{ Reason string }

// Failed: the engine gave up (banned, outdated, unreachable). Until is set for temporary bans.
type Failed struct {
	Reason string
	Until  time.Time
}

// MessageReceived: an incoming message, or one sent from another linked device.
type MessageReceived struct{ Message *Message }

// Undecryptable: a message arrived that the device could not decrypt. Message
// has what WhatsApp told in the clear (id, chat, sender, time) and type
// TypeUndecryptable; the engine asked the sender to send it again, and the
// same id arrives as a MessageReceived when it does.
type Undecryptable struct {
	Message *Message
	Reason  string
}

// AckStatus is a delivery state reported by WhatsApp.
type AckStatus string

const (
	AckSent      AckStatus = "sent"
	AckDelivered AckStatus = "delivered"
	AckRead      AckStatus = "read"
	AckPlayed    AckStatus = "played"
)

// Ack: messages reached a new delivery state.
type Ack struct {
	ChatID       string
	WAMessageIDs []string
	Status       AckStatus
	Timestamp    time.Time
}

// Revoked: a message was deleted for everyone.
type Revoked struct {
	ChatID      string
	WAMessageID string
	By          string
	FromMe      bool      // revoked by the account (from another of its devices)
	Timestamp   time.Time // when it was revoked
}

// GroupUpdated: a group changed.
type GroupUpdated struct {
	Group   Group
	Changed []string
}

func (Connecting) isEvent()      {}
func (QR) isEvent()              {}
func (Paired) isEvent()          {}
func (Ready) isEvent()           {}
func (Disconnected) isEvent()    {}
func (LoggedOut) isEvent()       {}
func (Failed) isEvent()          {}
func (MessageReceived) isEvent() {}
func (Undecryptable) isEvent()   {}
func (Ack) isEvent()             {}
func (Revoked) isEvent()         {}
func (GroupUpdated) isEvent()    {}
