package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestFailures(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	f := NewFailures(3, 100).WithClock(func() time.Time { return now })
	for i := range 3 {
		if blocked, _ := f.Blocked("192.0.2.1"); blocked {
			t.Fatalf("blocked after %d failures", i)
		}
		f.Fail("192.0.2.1")
	}
	blocked, wait := f.Blocked("192.0.2.1")
	if !blocked || wait != 20*time.Minute {
		t.Fatalf("after 3 failures: blocked %v, wait %v; want blocked for 20m", blocked, wait)
	}
	if blocked, _ := f.Blocked("192.0.2.2"); blocked {
		t.Fatal("another address is blocked")
	}
	now = now.Add(19 * time.Minute)
	if blocked, wait := f.Blocked("192.0.2.1"); !blocked || wait != time.Minute {
		t.Fatalf("19 minutes later: blocked %v, wait %v", blocked, wait)
	}
	now = now.Add(time.Minute)
	if blocked, _ := f.Blocked("192.0.2.1"); blocked {
		t.Fatal("still blocked when a token is back")
	}
	f.Fail("192.0.2.1")
	if blocked, _ := f.Blocked("192.0.2.1"); !blocked {
		t.Fatal("one token back allows one failure only")
	}
	// A full hour gives the whole bucket back, never more.
	now = now.Add(5 * time.Hour)
	for range 3 {
		f.Fail("192.0.2.1")
	}
	if blocked, _ := f.Blocked("192.0.2.1"); !blocked {
		t.Fatal("the bucket grew past its limit")
	}

	// The table is bounded: the least recently seen address is forgotten first.
	f = NewFailures(1, 10).WithClock(func() time.Time { return now })
	for i := range 1000 {
		f.Fail(fmt.Sprintf("198.51.100.%d", i%250) + fmt.Sprint("/", i))
	}
	if f.Len() != 10 {
		t.Fatalf("%d addresses remembered, want 10", f.Len())
	}
	f.Fail("a")
	for i := range 9 {
		f.Fail(fmt.Sprint("b", i))
	}
	f.Blocked("a") // seen: now the most recent
	f.Fail("c")    // evicts b0, the least recently seen
	if blocked, _ := f.Blocked("a"); !blocked {
		t.Fatal("the recently seen address was forgotten")
	}
	if blocked, _ := f.Blocked("b0"); blocked {
		t.Fatal("the least recently seen address was kept")
	}

	if blocked, _ := NewFailures(0, 10).Blocked("x"); blocked {
		t.Fatal("a limit of 0 blocks")
	}
}
