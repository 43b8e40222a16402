package engine

import "testing"

func TestNormalizeChatID(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"6281234567890", "6281234567890@s.whatsapp.net"},
		{"+62 812-3456-7890", "6281234567890@s.whatsapp.net"},
		{"(+1) 555.123.4567", "15551234567@s.whatsapp.net"},
		{"0044 20 7946 0958", "442079460958@s.whatsapp.net"},
		{"6281234567890@c.us", "6281234567890@s.whatsapp.net"},
		{"6281234567890@s.whatsapp.net", "6281234567890@s.whatsapp.net"},
		{"6281234567890:12@s.whatsapp.net", "6281234567890@s.whatsapp.net"},
		{"120363025246125486@g.us", "120363025246125486@g.us"},
		{"6281234567890-1612345678@g.us", "6281234567890-1612345678@g.us"},
		{"123456789012345@lid", "123456789012345@lid"},
	} {
		got, err := NormalizeChatID(c.in)
		if err != nil || got != c.want {
			t.Errorf("%q: %q %v, want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "abc", "123", "+62 812 abc", "0812345678", "1234567890123456", "x@g.us",
		"6281234567890@example.com", "6281234567890@", "@s.whatsapp.net", "12+34567890"} {
		if got, err := NormalizeChatID(bad); err == nil {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}
