// Package session is OpenWA's session manager. It owns the sessions: their
// stored rows, the status state machine (illegal transitions cannot happen),
// one engine per running session, and the per-session queue through which that
// engine's events arrive, so a slow consumer never blocks an engine. It restores
// every session that was running when the process last stopped.
package session
