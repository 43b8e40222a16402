// Package directory answers for what a session's WhatsApp account knows:
// contacts, groups, chats, presence and read receipts.
//
// It finds the engine of a READY session (SESSION_NOT_READY otherwise, with
// the session's status), normalizes the ids clients send (phone numbers,
// …@c.us, …@s.whatsapp.net, …@g.us) into canonical JIDs, checking them before
// it looks at the session so that bad input is a VALIDATION_ERROR whatever the
// session's state, and maps engine errors to *apperr.Error: a contact or group
// the engine does not know is CONTACT_NOT_FOUND or GROUP_NOT_FOUND.
//
// Chat lists and chat messages read OpenWA's stored messages, so they need a
// session that exists, not a READY one. Authorization (which key may use
// which session) stays with the HTTP layer.
package directory
