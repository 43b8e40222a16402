package httpapi_test

import (
	"testing"
)

// BenchmarkSend measures the send path through HTTP, SQLite and the mock
// engine, against reading a session as the baseline of the same run.
//
//	go test -run '^$' -bench Send -benchtime 2000x ./internal/httpapi/
func BenchmarkSend(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t, map[string]string{"LOG_LEVEL": "error"})
	e.t = t
	r := e.do("POST", "/api/sessions", map[string]any{"id": "b", "engine": "mock",
		"config": map[string]any{"mock": map[string]any{"pairDelayMs": 1, "ackDelayMs": 600000}}})
	if r.Status != 201 {
		b.Fatalf("create: %d", r.Status)
	}
	e.waitStatus("b", "READY")
	body := map[string]any{"chatId": "6281234567890", "text": "benchmark"}
	b.Run("baseline-get-session", func(b *testing.B) {
		for b.Loop() {
			if r := e.do("GET", "/api/sessions/b", nil); r.Status != 200 {
				b.Fatal(r.Status)
			}
		}
	})
	b.Run("send-text-wait", func(b *testing.B) {
		for b.Loop() {
			if r := e.do("POST", "/api/sessions/b/messages/send-text", body); r.Status != 201 {
				b.Fatal(r.Status, string(r.Raw))
			}
		}
	})
	b.Run("send-text-async", func(b *testing.B) {
		for b.Loop() {
			if r := e.do("POST", "/api/sessions/b/messages/send-text?async=true", body); r.Status != 202 {
				b.Fatal(r.Status)
			}
		}
	})
	b.Run("send-text-parallel-wait", func(b *testing.B) {
		b.SetParallelism(25) // 50 concurrent senders on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if r := e.do("POST", "/api/sessions/b/messages/send-text", body); r.Status != 201 && r.Status != 202 {
					b.Error(r.Status, string(r.Raw))
					return
				}
			}
		})
	})
}
