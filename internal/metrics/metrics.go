// Package metrics exposes OpenWA's Prometheus metrics: HTTP requests,
// messages and sessions by status, webhook deliveries by outcome with a
// latency histogram, queue depths and connected real-time clients. It keeps
// its own registry (no global state).
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sources are read at each scrape.
type Sources struct {
	MessagesByStatus  func(ctx context.Context) (map[string]int, error)
	SessionsByStatus  func(ctx context.Context) (map[string]int, error)
	PendingDeliveries func(ctx context.Context) (int, error)
	EngineEvents      func() int // engine events waiting in the sessions' queues
	RealtimeClients   func() int
	// UnhandledEngineEvents counts, by type, the engine events no consumer applied.
	UnhandledEngineEvents func() map[string]int
}

// Metrics is the registry and the instruments the code updates.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	latency    prometheus.Histogram
}

// New builds the registry.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "openwa_http_requests_total",
			Help: "HTTP requests by method, route and status."}, []string{"method", "route", "status"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "openwa_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome (delivered, retry, failed)."}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "openwa_webhook_delivery_duration_seconds",
			Help: "Duration of webhook delivery attempts.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
	}
	m.reg.MustRegister(m.requests, m.deliveries, m.latency, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &scrape{src: src})
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveRequest counts an HTTP request; route is the matched pattern, not the path.
func (m *Metrics) ObserveRequest(method, route string, status int) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
}

// ObserveDelivery counts a webhook delivery attempt.
func (m *Metrics) ObserveDelivery(outcome string, d time.Duration) {
	m.deliveries.WithLabelValues(outcome).Inc()
	m.latency.Observe(d.Seconds())
}

// scrape reads the gauges from their sources at each scrape.
type scrape struct{ src Sources }

var (
	descMessages  = prometheus.NewDesc("openwa_messages", "Stored messages by status.", []string{"status"}, nil)
	descSessions  = prometheus.NewDesc("openwa_sessions", "Sessions by status.", []string{"status"}, nil)
	descQueue     = prometheus.NewDesc("openwa_queue_depth", "Items waiting, by queue.", []string{"queue"}, nil)
	descClients   = prometheus.NewDesc("openwa_realtime_clients", "Connected WebSocket and SSE clients.", nil, nil)
	descUnhandled = prometheus.NewDesc("openwa_engine_events_unhandled_total",
		"Engine events that reached no consumer, by Go type (a new engine event type without a handler).", []string{"type"}, nil)
)

func (s *scrape) Describe(ch chan<- *prometheus.Desc) {
	ch <- descMessages
	ch <- descSessions
	ch <- descQueue
	ch <- descClients
	ch <- descUnhandled
}

func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	byStatus := func(desc *prometheus.Desc, fn func(context.Context) (map[string]int, error)) {
		if fn == nil {
			return
		}
		counts, err := fn(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(desc, err)
			return
		}
		for st, n := range counts {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n), st)
		}
	}
	byStatus(descMessages, s.src.MessagesByStatus)
	byStatus(descSessions, s.src.SessionsByStatus)
	if counts, err := s.src.MessagesByStatus(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(counts["queued"]+counts["sending"]), "outbox")
	}
	if s.src.PendingDeliveries != nil {
		if n, err := s.src.PendingDeliveries(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(n), "webhook_deliveries")
		}
	}
	if s.src.EngineEvents != nil {
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(s.src.EngineEvents()), "engine_events")
	}
	if s.src.RealtimeClients != nil {
		ch <- prometheus.MustNewConstMetric(descClients, prometheus.GaugeValue, float64(s.src.RealtimeClients()))
	}
	if s.src.UnhandledEngineEvents != nil {
		for typ, n := range s.src.UnhandledEngineEvents() {
			ch <- prometheus.MustNewConstMetric(descUnhandled, prometheus.CounterValue, float64(n), typ)
		}
	}
}
