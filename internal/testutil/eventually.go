// Package testutil holds helpers shared by OpenWA's tests.
package testutil

import (
	"fmt"
	"testing"
	"time"
)

// Eventually polls cond every 10 ms until it holds, and ends the test when it
// does not hold within timeout. what (formatted with args) names the
// condition in the failure; it is formatted after the last try, so a pointer
// to a map, slice or struct among args shows the last value seen.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, what string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, fmt.Sprintf(what, args...))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
