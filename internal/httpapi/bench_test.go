package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/event"
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

// BenchmarkEventToWebhook measures events from a mock inbound message to its
// delivery at a real HTTP receiver: throughput, and latency at a fixed rate.
//
//	go test -run '^$' -bench EventToWebhook -benchtime 1x ./internal/httpapi/
func BenchmarkEventToWebhook(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t, map[string]string{"LOG_LEVEL": "error", "WEBHOOK_ALLOW_PRIVATE": "true"})
	e.t = t
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	done := make(chan struct{}, 100000)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Data struct {
				Text string `json:"text"`
			} `json:"data"`
		}
		json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		arrived[ev.Data.Text] = time.Now()
		mu.Unlock()
		done <- struct{}{}
	}))
	defer rcv.Close()
	e.do("POST", "/api/sessions", map[string]any{"id": "b", "engine": "mock", "config": map[string]any{"mock": map[string]any{"pairDelayMs": 1}}})
	e.waitStatus("b", "READY")
	e.do("POST", "/api/sessions/b/webhooks", map[string]any{"url": rcv.URL, "events": []string{"message.received"}})
	send := func(text string) {
		if r := e.do("POST", "/api/sessions/b/mock/inbound", map[string]any{"from": "6281234567890", "text": text}); r.Status != 202 {
			b.Fatal(r.Status)
		}
	}
	wait := func(n int) {
		for range n {
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				b.Fatal("deliveries stopped arriving")
			}
		}
	}

	b.Run("throughput", func(b *testing.B) {
		const n = 500
		start := time.Now()
		for i := range n {
			send(fmt.Sprint("t", i))
		}
		wait(n)
		b.ReportMetric(n/time.Since(start).Seconds(), "events/s")
	})
	b.Run("delivery-only", func(b *testing.B) {
		// Events written straight to the log: what one webhook's worker delivers per second.
		const n = 2000
		start := time.Now()
		for i := range n {
			ev := event.New(event.MessageReceived, "b", map[string]string{"text": fmt.Sprint("d", i)})
			if err := e.app.Store.AddEvents(context.Background(), ev); err != nil {
				b.Fatal(err)
			}
		}
		wait(n)
		b.ReportMetric(n/time.Since(start).Seconds(), "events/s")
	})
	b.Run("latency-at-50-per-second", func(b *testing.B) {
		const n, rate = 200, 50
		sent := make([]time.Time, n)
		tick := time.NewTicker(time.Second / rate)
		defer tick.Stop()
		for i := range n {
			<-tick.C
			sent[i] = time.Now()
			send(fmt.Sprint("l", i))
		}
		wait(n)
		lat := make([]time.Duration, n)
		mu.Lock()
		for i := range n {
			lat[i] = arrived[fmt.Sprint("l", i)].Sub(sent[i])
		}
		mu.Unlock()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
	})
}
