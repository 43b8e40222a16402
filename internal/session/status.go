package session

import "slices"

// Status is a session's status (docs/api.md lists them and their transitions).
type Status string

const (
	StatusCreated       Status = "CREATED"
	StatusInitializing  Status = "INITIALIZING"
	StatusQRReady       Status = "QR_READY"
	StatusAuthenticated Status = "AUTHENTICATED"
	StatusReady         Status = "READY"
	StatusDisconnected  Status = "DISCONNECTED"
	StatusFailed        Status = "FAILED"
)

// Statuses lists every status, in lifecycle order.
var Statuses = []Status{StatusCreated, StatusInitializing, StatusQRReady, StatusAuthenticated,
	StatusReady, StatusDisconnected, StatusFailed}

// transitions is the state machine: the statuses each status may move to.
// Staying in the same status is always allowed (a QR refresh, a repeated event).
var transitions = map[Status][]Status{
	StatusCreated:       {StatusInitializing, StatusDisconnected},
	StatusInitializing:  {StatusQRReady, StatusAuthenticated, StatusReady, StatusDisconnected, StatusFailed},
	StatusQRReady:       {StatusAuthenticated, StatusReady, StatusDisconnected, StatusFailed},
	StatusAuthenticated: {StatusReady, StatusDisconnected, StatusFailed},
	StatusReady:         {StatusInitializing, StatusDisconnected, StatusFailed},
	StatusDisconnected:  {StatusInitializing, StatusFailed},
	StatusFailed:        {StatusInitializing, StatusDisconnected},
}

// CanBecome reports whether the state machine allows s → to.
func (s Status) CanBecome(to Status) bool {
	return s == to || slices.Contains(transitions[s], to)
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// active statuses are those of a session whose engine is running.
func (s Status) active() bool {
	return s == StatusInitializing || s == StatusQRReady || s == StatusAuthenticated || s == StatusReady
}
