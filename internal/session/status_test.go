package session

import "testing"

func TestStateMachine(t *testing.T) {
	allowed := map[[2]Status]bool{}
	for from, tos := range transitions {
		for _, to := range tos {
			allowed[[2]Status{from, to}] = true
		}
	}
	for _, from := range Statuses {
		for _, to := range Statuses {
			want := from == to || allowed[[2]Status{from, to}]
			if got := from.CanBecome(to); got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
		}
	}
	// The transitions a user would be surprised by are impossible.
	for _, c := range [][2]Status{
		{StatusCreated, StatusReady}, {StatusCreated, StatusQRReady}, {StatusDisconnected, StatusReady},
		{StatusReady, StatusQRReady}, {StatusAuthenticated, StatusQRReady}, {StatusReady, StatusCreated},
		{StatusFailed, StatusReady},
	} {
		if c[0].CanBecome(c[1]) {
			t.Errorf("%s → %s is allowed", c[0], c[1])
		}
	}
	if Status("SLEEPING").Valid() || !StatusReady.Valid() {
		t.Error("Valid")
	}
}
