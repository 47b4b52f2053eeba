package server

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// requestLog logs one line per request — method, route, status and
// duration — except on voter routes and /healthz, whose requests it counts
// instead (see requestCounts) unless they fail with a 5xx. The route is the
// pattern that matched ("/b/:code"), never the path, so no
// code reaches the log however it was spelt; a path no route matches is
// logged as "(no route)". No query string (GET /b?code=…), and no client
// address on voter routes or unmatched paths, so the log cannot place a
// voter.
func (s *Server) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route, status, took := c.FullPath(), c.Writer.Status(), time.Since(start)
		s.metrics.observe(c, route, status, took)
		voter := isVoterPath(route)
		if (voter || route == "/healthz") && status < 500 {
			s.counts.add(c.Request.Method, route, status, took)
			return
		}
		client := route != "" && !voter
		if route == "" {
			route = "(no route)"
		}
		attrs := append(make([]slog.Attr, 0, 5),
			slog.String("method", c.Request.Method), slog.String("route", route),
			slog.Int("status", status), slog.Int64("ms", took.Milliseconds()))
		if client {
			attrs = append(attrs, slog.String("client", c.ClientIP()))
		}
		s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "request", attrs...)
	}
}

// requestCounts counts requests by method, route and status between the
// summary lines logRequestCounts writes. At a meeting's peak voters send
// thousands of requests a second. A line for each, written to a pipe, took
// 10-20 % off the bench's ballot rate before the journal did any work on
// it, and journald, whose default rate limit is 10,000 lines per service
// in 30 s, would drop the excess together with any error line among it.
// Health checks are counted too: they say nothing new each time.
type requestCounts struct {
	mu    sync.Mutex
	m     map[countKey]routeCount
	since time.Time // when counting began afresh
}

type countKey struct {
	method, route string
	status        int
}

type routeCount struct {
	n       int
	slowest time.Duration
}

func (rc *requestCounts) add(method, route string, status int, took time.Duration) {
	k := countKey{method, route, status}
	rc.mu.Lock()
	if rc.m == nil {
		rc.m = map[countKey]routeCount{}
	}
	n := rc.m[k]
	n.n++
	n.slowest = max(n.slowest, took)
	rc.m[k] = n
	rc.mu.Unlock()
}

// take returns the counts so far, sorted, and the time since counting
// began, and starts counting afresh.
func (rc *requestCounts) take() ([]countLine, time.Duration) {
	now := time.Now()
	rc.mu.Lock()
	m, since := rc.m, rc.since
	rc.m, rc.since = nil, now
	rc.mu.Unlock()
	lines := make([]countLine, 0, len(m))
	for k, n := range m {
		lines = append(lines, countLine{k, n})
	}
	slices.SortFunc(lines, func(a, b countLine) int {
		return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.method, b.method), cmp.Compare(a.status, b.status))
	})
	return lines, now.Sub(since)
}

type countLine struct {
	countKey
	routeCount
}

// logRequestCounts writes a line for each method, route and status counted
// since the last call, with the time they were counted over.
func (s *Server) logRequestCounts() {
	lines, period := s.counts.take()
	for _, l := range lines {
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "requests",
			slog.String("method", l.method), slog.String("route", l.route), slog.Int("status", l.status),
			slog.Int("count", l.n), slog.Int64("slowest_ms", l.slowest.Milliseconds()),
			slog.Duration("period", period.Round(time.Second)))
	}
}

// summarizeRequests calls logRequestCounts every period until ctx ends.
func (s *Server) summarizeRequests(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.logRequestCounts()
		case <-ctx.Done():
			return
		}
	}
}

// isVoterPath says whether a route is one voters use; "/" sends them on to
// "/b".
func isVoterPath(p string) bool {
	return p == "/" || p == "/b" || strings.HasPrefix(p, "/b/") || strings.HasPrefix(p, "/api/v1/ballots/")
}

// recover turns a panic into a 500 and logs it with its route, not its
// path.
func (s *Server) recover() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic", "route", c.FullPath(), "value", fmt.Sprint(v))
				c.AbortWithStatusJSON(http.StatusInternalServerError, apiError{Error: "服务器内部错误"})
			}
		}()
		c.Next()
	}
}

// securityHeaders sets headers every response carries. Pages are
// self-contained (inline CSS and script, no outside source); scripts run
// only from the server's own files or as the inline scripts of the
// templates, each allowed by its hash (see contentPolicy).
func securityHeaders(csp string) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", csp)
		c.Next()
	}
}

// inlineScript is a script element's text in a template.
var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// contentPolicy is the Content-Security-Policy of every response: scripts
// from the server's own files, or inline scripts whose SHA-256 is that of
// one in the templates (ballot pages stay cacheable, unlike with a nonce,
// and a script injected into a page does not run). An inline script with a
// template action in it would change from page to page and is refused.
func contentPolicy(templates fs.FS) (string, error) {
	var hashes []string
	err := fs.WalkDir(templates, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates, p)
		if err != nil {
			return err
		}
		for _, m := range inlineScript.FindAllSubmatch(b, -1) {
			if bytes.Contains(m[1], []byte("{{")) {
				return fmt.Errorf("template %s: an inline script holds a template action, so no hash can allow it", p)
			}
			sum := sha256.Sum256(m[1])
			hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("content policy: %w", err)
	}
	slices.Sort(hashes)
	hashes = slices.Compact(hashes)
	return "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self' " + strings.Join(hashes, " ") +
		"; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'", nil
}
