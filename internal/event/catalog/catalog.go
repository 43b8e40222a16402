// Package catalog registers OpenWA's public events (API.md, "Events"), each
// once, with the Go type of its data. It sits above the services that own
// the payload types; the event package below holds the names and the
// registry mechanism.
package catalog

import (
	"github.com/openwa/openwa/internal/event"
	"github.com/openwa/openwa/internal/message"
	"github.com/openwa/openwa/internal/session"
)

// WebhookTest is the data of webhook.test: an empty object.
type WebhookTest struct{}

// Events is every public event. A new event is one line here (and its
// constant in package event); the valid names of webhook, event-log and
// stream filters and the OpenAPI webhooks section follow from it.
var Events = event.NewRegistry(
	event.Define[message.Message](event.MessageReceived, "A message arrived, or was sent from another linked device."),
	event.Define[message.Message](event.MessageSent, "A message from the outbox reached WhatsApp."),
	event.Define[message.AckEvent](event.MessageAck, "A message reached a new delivery status."),
	event.Define[message.RevokedEvent](event.MessageRevoked, "A message was deleted for everyone."),
	event.Define[message.Message](event.MessageFailed, "A message from the outbox could not be sent."),
	event.Define[message.UndecryptableEvent](event.MessageUndecryptable,
		"A message arrived that could not be decrypted; its placeholder is replaced, with message.received, when it is resent."),
	event.Define[message.Message](event.StatusReceived, "A status (story) was posted by a contact."),
	event.Define[session.StatusChange](event.SessionStatus, "A session changed status."),
	event.Define[session.QR](event.SessionQR, "A new QR code to scan."),
	event.Define[message.GroupEvent](event.GroupUpdated, "A group changed."),
	event.Define[WebhookTest](event.WebhookTest, "Sent by the webhook test route."),
)
