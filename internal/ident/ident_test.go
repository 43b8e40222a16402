package ident

import (
	"regexp"
	"testing"
	"time"
)

// Every generated id matches its published pattern, and ids do not repeat.
func TestGeneratedIDsMatchTheirPatterns(t *testing.T) {
	for _, c := range []struct {
		pattern string
		gen     func() string
	}{
		{SessionPattern, NewSession},
		{KeyPattern, NewKey},
		{WebhookPattern, NewWebhook},
		{DeliveryPattern, NewDelivery},
		{MessagePattern, NewMessage},
		{MediaPattern, NewMedia},
		{EventPattern, func() string { return NewEvent(time.Now()) }},
	} {
		re := regexp.MustCompile(c.pattern)
		seen := map[string]bool{}
		for range 100 {
			id := c.gen()
			if !re.MatchString(id) {
				t.Fatalf("%q does not match %s", id, c.pattern)
			}
			if seen[id] {
				t.Fatalf("%q generated twice", id)
			}
			seen[id] = true
		}
	}
}

func TestEventIDsSortByTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if a, b := NewEvent(t0), NewEvent(t0.Add(time.Millisecond)); a >= b {
		t.Fatalf("%s sorts after %s", a, b)
	}
}

func TestValidSession(t *testing.T) {
	for id, want := range map[string]bool{
		"shop": true, "a_b-C9": true, "": false, "a b": false, "é": false, "x/y": false,
		string(make([]byte, 65)): false,
	} {
		if ValidSession(id) != want {
			t.Errorf("ValidSession(%q) = %v", id, !want)
		}
	}
	long := ""
	for range 64 {
		long += "a"
	}
	if !ValidSession(long) || ValidSession(long+"a") {
		t.Fatal("64 characters at most")
	}
}
