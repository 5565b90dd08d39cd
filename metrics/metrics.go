// Package metrics is what the station tells Prometheus: documents and pages by stage and
// result, failures by reason, queue depth, stage latencies, the token's state and OCR
// confidence. It keeps its own registry (no global state), served by Handler.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// TokenStates are the states the token gauge knows; the current one is 1, the others 0.
var TokenStates = []string{"not opened", "ready", "waiting for token", "wrong PIN", "PIN locked",
	"certificate expired", "certificate not yet valid", "certificate does not match key", "key not found", "failed", "closed"}

// Metrics holds the station's instruments. The zero value is not usable; call New.
type Metrics struct {
	registry   *prometheus.Registry
	documents  *prometheus.CounterVec
	pages      *prometheus.CounterVec
	failures   *prometheus.CounterVec
	queue      *prometheus.GaugeVec
	latency    *prometheus.HistogramVec
	token      *prometheus.GaugeVec
	confidence prometheus.Histogram
	waiting    *prometheus.GaugeVec
}

// New makes the instruments in a registry of their own, with the Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		documents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scanstation_documents_total",
			Help: "Documents that finished a stage, by stage and result (ok, failed, waiting).",
		}, []string{"stage", "result"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scanstation_pages_total",
			Help: "Pages that finished a stage, by stage and result.",
		}, []string{"stage", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scanstation_failures_total",
			Help: "Documents sent to failed/, by the stage that refused them (decode, quality, ocr, sign, ...).",
		}, []string{"reason"}),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scanstation_queue_documents",
			Help: "Documents not yet finished, by state.",
		}, []string{"state"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scanstation_stage_seconds",
			Help:    "Time a document spent in a stage.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800},
		}, []string{"stage"}),
		token: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scanstation_token_state",
			Help: "1 for the state the signing token is in, 0 for the others.",
		}, []string{"state"}),
		confidence: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scanstation_ocr_confidence",
			Help:    "Mean OCR confidence of each document, 0 to 100.",
			Buckets: []float64{30, 50, 60, 70, 80, 85, 90, 95, 100},
		}),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scanstation_waiting_since_seconds",
			Help: "For each place the station waits for (archive, outbox, hot-folder, state, failed, disk, journal, source), the Unix time since when; 0 when it does not wait.",
		}, []string{"place"}),
	}
	m.registry.MustRegister(m.documents, m.pages, m.failures, m.queue, m.latency, m.token, m.confidence, m.waiting,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	// Under ProcSubset=pid the process collector cannot read /proc/stat; serve the rest anyway.
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Stage records that a document with pages finished stage with result after d.
func (m *Metrics) Stage(stage, result string, pages int, d time.Duration) {
	if m == nil {
		return
	}
	m.documents.WithLabelValues(stage, result).Inc()
	m.pages.WithLabelValues(stage, result).Add(float64(pages))
	if d > 0 {
		m.latency.WithLabelValues(stage).Observe(d.Seconds())
	}
}

// Failed records a document refused at stage.
func (m *Metrics) Failed(stage string) {
	if m == nil {
		return
	}
	m.failures.WithLabelValues(stage).Inc()
}

// Confidence records a document's mean OCR confidence.
func (m *Metrics) Confidence(c float64) {
	if m == nil {
		return
	}
	m.confidence.Observe(c)
}

// Queue sets the number of unfinished documents per state.
func (m *Metrics) Queue(byState map[string]int) {
	if m == nil {
		return
	}
	m.queue.Reset()
	for state, n := range byState {
		m.queue.WithLabelValues(state).Set(float64(n))
	}
}

// Token sets the token's state.
func (m *Metrics) Token(state string) {
	if m == nil {
		return
	}
	for _, s := range TokenStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.token.WithLabelValues(s).Set(v)
	}
}

// Waiting records that documents wait for place (the archive share, the outbox...) since
// since, or no longer wait for it when since is zero. Waiting is not failing: nothing is lost
// and the station tries again by itself.
func (m *Metrics) Waiting(place string, since time.Time) {
	if m == nil {
		return
	}
	v := 0.0
	if !since.IsZero() {
		v = float64(since.Unix())
	}
	m.waiting.WithLabelValues(place).Set(v)
}
