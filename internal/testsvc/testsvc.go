// Package testsvc tells tests where the real services they need are
// (PostgreSQL, Redis, S3): a variable names each. Without it a test skips,
// unless CI=true: CI runs every test against real services, so a missing one
// fails the run instead of passing it silently.
package testsvc

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
)

// Need returns the value of the variable naming a service, or ends the test.
func Need(t testing.TB, variable, service string) string {
	t.Helper()
	v := os.Getenv(variable)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI runs every test against a real %s", variable, service)
		}
		t.Skipf("%s not set: no %s for this test", variable, service)
	}
	return v
}

// Name returns prefix followed by random hex, for a database, bucket or key prefix of a test's own.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
