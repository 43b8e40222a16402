package whatsmeow

import (
	"log/slog"

	signallog "go.mau.fi/libsignal/logger"
)

// libsignal keeps one process-wide logger that it sets lazily, without a
// lock, on first use: two sessions whose first Signal operation runs at
// once race on it. It is set here once, before any goroutine can use the
// library, to a logger that sends the library's warnings and errors to
// slog (its default prints them on standard output) and drops the rest.
func init() {
	var l signallog.Loggable = signalLogger{}
	signallog.Setup(&l)
}

type signalLogger struct{}

func (signalLogger) Debug(string, string) {}
func (signalLogger) Info(string, string)  {}
func (signalLogger) Warning(caller, msg string) {
	slog.Warn(msg, "component", "libsignal", "caller", caller)
}
func (signalLogger) Error(caller, msg string) {
	slog.Error(msg, "component", "libsignal", "caller", caller)
}
func (signalLogger) Configure(string) {}
