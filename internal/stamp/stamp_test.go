package stamp

import (
	"encoding/json"
	"testing"
	"time"
)

func TestWrittenWithThreeDigits(t *testing.T) {
	cases := []struct {
		name string
		in   time.Time
		want string
	}{
		{"trailing zero", time.Date(2026, 1, 1, 10, 0, 17, 320_000_000, time.UTC), `"2026-01-01T10:00:17.320Z"`},
		{"whole second", time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), `"2026-01-01T10:00:00.000Z"`},
		{"sub-millisecond truncated", time.Date(2026, 1, 1, 10, 0, 0, 315_999_999, time.UTC), `"2026-01-01T10:00:00.315Z"`},
		{"other zone in UTC", time.Date(2026, 1, 1, 17, 0, 0, 5_000_000, time.FixedZone("WIB", 7*3600)), `"2026-01-01T10:00:00.005Z"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(Of(c.in))
			if err != nil || string(b) != c.want {
				t.Fatalf("got %s %v, want %s", b, err, c.want)
			}
			var back Time
			if err := json.Unmarshal(b, &back); err != nil || !back.Equal(c.in.Truncate(time.Millisecond)) {
				t.Fatalf("read back %v %v", back, err)
			}
		})
	}
	if _, err := json.Marshal(Of(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))); err == nil {
		t.Fatal("a year past 9999 is not RFC 3339")
	}
	var bad Time
	if err := json.Unmarshal([]byte(`"yesterday"`), &bad); err == nil {
		t.Fatal("accepted a time that is not RFC 3339")
	}
}
