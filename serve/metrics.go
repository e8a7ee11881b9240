package serve

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	stage     *prometheus.HistogramVec
	images    prometheus.Counter
	queue     prometheus.Gauge
	inFlight  prometheus.Gauge
	rejected  prometheus.Counter
	backbones prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ideal_requests_total",
		Help: "HTTP requests by route and status code."}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ideal_request_duration_seconds",
		Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"route"})
	m.stage = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ideal_stage_duration_seconds",
		Help: "Time per image by stage: queue, decode, features, score.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 20)}, []string{"stage"})
	m.images = prometheus.NewCounter(prometheus.CounterOpts{Name: "ideal_images_scored_total", Help: "Images scored."})
	m.queue = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ideal_queue_depth", Help: "Requests waiting for a scoring slot."})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ideal_in_flight", Help: "Requests being scored."})
	m.rejected = prometheus.NewCounter(prometheus.CounterOpts{Name: "ideal_rejected_total", Help: "Requests refused with 429 (queue full)."})
	m.backbones = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ideal_detectors", Help: "Detectors (backbone, head, size) loaded."})
	m.reg.MustRegister(m.requests, m.latency, m.stage, m.images, m.queue, m.inFlight, m.rejected, m.backbones,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
