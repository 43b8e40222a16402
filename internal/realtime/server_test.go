package realtime

import "testing"

// A server without its hub or store is a programming error, caught when it is built.
func TestNewServerRequiresHubAndStore(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("NewServer without a store did not panic")
		}
	}()
	NewServer(NewHub(), nil, nil, nil)
}
