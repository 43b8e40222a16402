package testutil

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeT records a failure instead of ending the test.
type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	panic(f)
}

func TestEventuallyWaitsForTheCondition(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	Eventually(t, 5*time.Second, func() bool { return n.Add(1) >= 3 }, "three tries")
	if n.Load() != 3 {
		t.Fatalf("%d tries", n.Load())
	}
}

func TestEventuallyFailsWithTheLastValue(t *testing.T) {
	t.Parallel()
	f := &fakeT{TB: t}
	var last []int
	func() {
		defer func() {
			if r := recover(); r != f {
				t.Fatalf("recovered %v", r)
			}
		}()
		Eventually(f, 30*time.Millisecond, func() bool { last = append(last, 1); return false }, "never; last %v", &last)
	}()
	if !strings.HasPrefix(f.failed, "not within 30ms: never; last &[1 1") {
		t.Fatalf("failure %q", f.failed)
	}
}
