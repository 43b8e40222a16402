package message

import (
	"regexp"
	"testing"
)

// The WhatsApp ids OpenWA chooses at acceptance look like the ones WhatsApp
// Web (and whatsmeow's GenerateMessageID) make: 3EB0 and 18 upper-case hex digits.
func TestWAIDFormat(t *testing.T) {
	re := regexp.MustCompile(`^3EB0[0-9A-F]{18}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := newWAID()
		if !re.MatchString(id) {
			t.Fatalf("id %q", id)
		}
		if seen[id] {
			t.Fatalf("id %q twice", id)
		}
		seen[id] = true
	}
}
