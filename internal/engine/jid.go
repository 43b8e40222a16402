package engine

import (
	"errors"
	"strings"
)

// Servers of WhatsApp JIDs.
const (
	UserServer  = "s.whatsapp.net"
	GroupServer = "g.us"
	LIDServer   = "lid"
	// ChannelServer is the server of channels (newsletters).
	ChannelServer = "newsletter"
)

// ErrBadChatID explains what a chat id may look like.
var ErrBadChatID = errors.New("want a phone number with country code, a user JID (…@s.whatsapp.net or …@c.us) or a group JID (…@g.us)")

// NormalizeChatID turns any accepted way of writing a chat into its canonical
// JID: "+62 812-3456-7890" and "6281234567890@c.us" both become
// "6281234567890@s.whatsapp.net"; group and LID JIDs are kept.
func NormalizeChatID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 128 {
		return "", ErrBadChatID
	}
	user, server, hasServer := strings.Cut(s, "@")
	if !hasServer {
		phone, err := NormalizePhone(s)
		if err != nil {
			return "", err
		}
		return phone + "@" + UserServer, nil
	}
	// A device suffix (user:device@server) is not a chat.
	user, _, _ = strings.Cut(user, ":")
	switch strings.ToLower(server) {
	case "c.us", UserServer:
		phone, err := NormalizePhone(user)
		if err != nil {
			return "", err
		}
		return phone + "@" + UserServer, nil
	case GroupServer:
		if !validGroupUser(user) {
			return "", ErrBadChatID
		}
		return user + "@" + GroupServer, nil
	case LIDServer, ChannelServer:
		if !allDigits(user) || len(user) > 32 {
			return "", ErrBadChatID
		}
		return user + "@" + strings.ToLower(server), nil
	}
	return "", ErrBadChatID
}

// NormalizePhone strips the decoration people write around phone numbers and
// checks that an international number (7 to 15 digits, E.164) remains.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0, r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return "", ErrBadChatID
		}
	}
	d := strings.TrimPrefix(b.String(), "00")
	if len(d) < 7 || len(d) > 15 || d[0] == '0' {
		return "", ErrBadChatID
	}
	return d, nil
}

// PhoneOf returns the phone number of a user JID ("" for other JIDs).
func PhoneOf(jid string) string {
	user, server, ok := strings.Cut(jid, "@")
	if !ok || server != UserServer {
		return ""
	}
	user, _, _ = strings.Cut(user, ":")
	return user
}

// IsGroup reports whether jid is a group.
func IsGroup(jid string) bool { return strings.HasSuffix(jid, "@"+GroupServer) }

func validGroupUser(u string) bool {
	// Groups are "<digits>" or the older "<creator>-<timestamp>".
	if u == "" || len(u) > 64 {
		return false
	}
	for _, part := range strings.Split(u, "-") {
		if !allDigits(part) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
