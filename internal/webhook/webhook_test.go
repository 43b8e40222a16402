package webhook

import (
	"net/http"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for attempt, base := range map[int]time.Duration{1: 0, 2: 5 * time.Second, 3: 5 * time.Minute,
		4: 30 * time.Minute, 5: 2 * time.Hour, 6: 5 * time.Hour, 7: 10 * time.Hour, 8: 10 * time.Hour, 20: 10 * time.Hour} {
		for range 50 {
			d := Backoff(attempt)
			if d < base*8/10 || d > base*12/10 {
				t.Fatalf("attempt %d: %v outside %v ±20%%", attempt, d, base)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"7", 7 * time.Second, true}, {"0", 0, true}, {"-5", 0, true}, {"999999", 10 * time.Hour, true}, {"99999999999999999999", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true}, {"soon", 0, false},
	} {
		got, ok := retryAfter(c.h, now)
		if got != c.want || ok != c.ok {
			t.Errorf("%q: %v %v, want %v %v", c.h, got, ok, c.want, c.ok)
		}
	}
}

func TestSignAndSeal(t *testing.T) {
	// The example of the Standard Webhooks specification.
	sig, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
		[]byte(`{"test": 2432232314}`))
	if err != nil || sig != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("signature %q %v", sig, err)
	}
	if _, err := Sign("nope", "id", 1, nil); err == nil {
		t.Fatal("a secret without whsec_ was accepted")
	}
	s, _ := newSealer("an-encryption-key-of-32-characters!!")
	sealed := s.seal("whsec_abc")
	if plain, err := s.open(sealed); err != nil || plain != "whsec_abc" || sealed == "whsec_abc" {
		t.Fatalf("seal: %q %q %v", sealed, plain, err)
	}
	other, _ := newSealer("another-encryption-key-of-32-chars!!")
	if _, err := other.open(sealed); err == nil {
		t.Fatal("another key opened the secret")
	}
	none, _ := newSealer("")
	if _, err := none.open(sealed); err == nil {
		t.Fatal("no key opened an encrypted secret")
	}
	if plain, _ := s.open("whsec_plain"); plain != "whsec_plain" {
		t.Fatal("secrets stored before ENCRYPTION_KEY was set must still open")
	}
}
