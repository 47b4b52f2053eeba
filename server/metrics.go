package server

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"minping/server/datadir"
)

// Operators' view: /readyz says whether this instance can take ballots
// now (the database writable, disk space above a floor, the keys
// readable), beside /healthz, which only says it serves. /metrics gives
// Prometheus counts: requests by route (the pattern, never a path with a
// code in it), ballots by outcome, the ballot writer's commits and the
// ballots each carried, slips issued. Nothing in them is per voter.

// metrics are minping's Prometheus collectors, on a registry of its own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	ballots  *prometheus.CounterVec
}

func newMetrics(store opsStore) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "minping_http_requests_total",
		Help: "HTTP requests by method, route pattern and status."}, []string{"method", "route", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "minping_http_request_seconds",
		Help: "HTTP request latency by route pattern.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}},
		[]string{"route"})
	m.ballots = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "minping_ballots_total",
		Help: "Ballots submitted, by outcome: accepted, or why refused."}, []string{"outcome"})
	m.reg.MustRegister(m.requests, m.latency, m.ballots,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if store != nil {
		m.reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "minping_writer_commits_total",
				Help: "Group commits of the ballot writer."}, func() float64 { return float64(store.WriterStats().Commits) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "minping_writer_submissions_total",
				Help: "Submissions the ballot writer committed or refused; ÷ commits is the ballots a commit carries."},
				func() float64 { return float64(store.WriterStats().Submissions) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "minping_slips_issued_total",
				Help: "Ballot slips (codes) issued since start."}, func() float64 { return float64(store.IssuedCodes()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "minping_writer_busy_seconds_total",
				Help: "Time the ballot writer spent committing."}, func() float64 { return store.WriterStats().Busy.Seconds() }),
		)
	}
	for _, o := range []string{"accepted", "invalid", "used", "unknown", "not_open", "error"} {
		m.ballots.WithLabelValues(o) // every outcome present from the start
	}
	return m
}

// observe counts a finished request, and a ballot's outcome on the ballot
// routes.
func (m *metrics) observe(c *gin.Context, route string, status int, took time.Duration) {
	if route == "" {
		route = "(no route)"
	}
	m.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
	if c.Request.Method != http.MethodPost || (route != "/b/:code" && route != "/api/v1/ballots/:code") {
		return
	}
	switch {
	case route == "/b/:code" && status == http.StatusSeeOther && c.Writer.Header().Get("Location") == "/b/done",
		route == "/api/v1/ballots/:code" && status == http.StatusCreated:
		m.ballots.WithLabelValues("accepted").Inc()
	case status == http.StatusUnprocessableEntity, status == http.StatusBadRequest:
		m.ballots.WithLabelValues("invalid").Inc()
	case status == http.StatusConflict:
		m.ballots.WithLabelValues("used").Inc()
	case status == http.StatusNotFound:
		m.ballots.WithLabelValues("unknown").Inc()
	case status == http.StatusLocked:
		m.ballots.WithLabelValues("not_open").Inc()
	case status >= 500:
		m.ballots.WithLabelValues("error").Inc()
	}
}

// handler serves the metrics.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// metricsHere serves /metrics on the main address to a scraper that
// presents the administrator's token (MINPING_ADMIN_TOKEN, as Prometheus's
// bearer_token): behind a reverse proxy every request comes from loopback,
// so the address says nothing. With --metrics-addr they are served there
// instead, and not here.
func (s *Server) metricsHere(c *gin.Context) {
	token := s.cfg.AdminToken
	got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if s.cfg.MetricsAddr != "" || token == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		c.Status(http.StatusNotFound)
		return
	}
	s.metrics.handler().ServeHTTP(c.Writer, c.Request)
}

// MinFreeDisk is the free space below which /readyz fails: a ballot that
// cannot be written is refused, so say so before the hall fills.
const MinFreeDisk = 256 << 20

// readiness is one check of /readyz.
type readiness struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Says string `json:"message,omitempty"`
}

// readyz answers 200 when every check passes, else 503, with each check.
// The checks run at most once a second, whoever asks (the write lock they
// take competes with the ballot writer), and say what is wrong without a
// path or an error's text.
func (s *Server) readyz(c *gin.Context) {
	s.readyMu.Lock()
	if time.Since(s.readyAt) >= time.Second {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
		s.ready = []readiness{s.checkWritable(ctx), s.checkDisk(), s.checkKeys()}
		s.readyAt = time.Now()
		cancel()
	}
	checks := s.ready
	s.readyMu.Unlock()
	status := http.StatusOK
	for _, ch := range checks {
		if !ch.OK {
			status = http.StatusServiceUnavailable
		}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, gin.H{"ready": status == http.StatusOK, "checks": checks})
}

func (s *Server) checkWritable(ctx context.Context) readiness {
	r := readiness{Name: "database"}
	if err := s.store.Writable(ctx); err != nil {
		s.log.Warn("readyz: the database cannot be written", "err", err)
		r.Says = "数据库不可写入（详见服务日志）"
		return r
	}
	r.OK = true
	return r
}

func (s *Server) checkDisk() readiness {
	r := readiness{Name: "disk"}
	floor := s.cfg.MinFreeDisk
	if floor == 0 {
		floor = MinFreeDisk
	}
	// Where minping writes: the data directory with its SQLite file; on
	// PostgreSQL (whose disk is the database server's to watch) the key
	// directory, where each open round's ballot key is written.
	dir, what := s.cfg.Data, "数据目录"
	if datadir.IsPostgres(s.cfg.DB) {
		dir, what = s.cfg.Keys, "密钥目录"
	}
	free, err := freeDisk(dir)
	if err != nil {
		s.log.Warn("readyz: free disk space", "dir", dir, "err", err)
		r.Says = "无法读取" + what + "所在磁盘的剩余空间（详见服务日志）"
		return r
	}
	if free < floor {
		r.Says = fmt.Sprintf("%s所在磁盘只剩 %d MB，低于 %d MB：请清理磁盘，否则测评票可能无法保存", what, free>>20, floor>>20)
		return r
	}
	r.OK = true
	return r
}

func (s *Server) checkKeys() readiness {
	r := readiness{Name: "keys"}
	for _, name := range []string{"code.key", "seal.key"} {
		f, err := os.Open(filepath.Join(s.cfg.Keys, name))
		if err != nil {
			s.log.Warn("readyz: a key is unreadable", "key", name, "err", err)
			r.Says = "密钥不可读：" + name + "（详见服务日志）"
			return r
		}
		f.Close()
	}
	r.OK = true
	return r
}
