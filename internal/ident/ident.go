// Package ident owns the formats of OpenWA's ids: for each kind, the pattern
// it matches and, where OpenWA makes the id, the generator.
//
// Session ids are chosen by clients (or generated); every other id is made
// here: a short prefix naming the kind, then random lowercase hex. The
// patterns are published in the OpenAPI document as the `pattern` of each id
// parameter; Go struct tags cannot name a constant, so the tags repeat them
// and a test of package httpapi checks that they say the same as this package.
package ident

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// SessionExpr is a session id, unanchored, for use inside larger patterns.
const SessionExpr = `[A-Za-z0-9_-]{1,64}`

// Patterns of the ids, anchored.
const (
	SessionPattern  = `^` + SessionExpr + `$`
	KeyPattern      = `^key_[a-f0-9]{16}$`
	WebhookPattern  = `^wh_[a-f0-9]{24}$`
	DeliveryPattern = `^dlv_[a-f0-9]{24}$`
	MessagePattern  = `^msg_[a-f0-9]{24}$`
	MediaPattern    = `^med_[a-f0-9]{24}$`
	EventPattern    = `^evt_[a-f0-9]{28}$`
)

var sessionRe = regexp.MustCompile(SessionPattern)

// ValidSession reports whether id may name a session.
func ValidSession(id string) bool { return sessionRe.MatchString(id) }

// NewSession is the id of a session created without one: "s_" and 12 hex digits.
func NewSession() string { return "s_" + randomHex(6) }

// NewKey is the id of an API key (not the key itself).
func NewKey() string { return "key_" + randomHex(8) }

// NewWebhook is the id of a webhook.
func NewWebhook() string { return "wh_" + randomHex(12) }

// NewDelivery is the id of a webhook delivery.
func NewDelivery() string { return "dlv_" + randomHex(12) }

// NewMessage is the id of a message.
func NewMessage() string { return "msg_" + randomHex(12) }

// NewMedia is the id of a stored media file.
func NewMedia() string { return "med_" + randomHex(12) }

// NewEvent is the id of an event created at now: the time comes first, so
// that ids sort by creation as the seq does.
func NewEvent(now time.Time) string {
	return fmt.Sprintf("evt_%012x%s", now.UnixMilli(), randomHex(8))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}
