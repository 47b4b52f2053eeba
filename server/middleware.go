package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// redactPath removes ballot codes from a path before it is logged: every
// voter path is logged as its route, never with the code.
func redactPath(path string) string {
	switch {
	case strings.HasPrefix(path, "/b/") && path != "/b/done":
		return "/b/:code"
	case strings.HasPrefix(path, "/api/v1/ballots/"):
		return "/api/v1/ballots/:code"
	}
	return path
}

// requestLog logs one line per request: method, redacted path, status and
// duration. No query string (GET /b?code=… carries a code), and no client
// address on voter paths, so the log cannot place a voter.
func (s *server) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		path := redactPath(c.Request.URL.Path)
		attrs := []any{"method", c.Request.Method, "path", path, "status", c.Writer.Status(),
			"ms", time.Since(start).Milliseconds()}
		if !isVoterPath(path) {
			attrs = append(attrs, "client", c.ClientIP())
		}
		s.log.Info("request", attrs...)
	}
}

func isVoterPath(p string) bool {
	return p == "/b" || strings.HasPrefix(p, "/b/") || strings.HasPrefix(p, "/api/v1/ballots/")
}

// recover turns a panic into a 500 and logs it without the request path's
// code.
func (s *server) recover() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic", "path", redactPath(c.Request.URL.Path), "value", fmt.Sprint(v))
				c.AbortWithStatusJSON(http.StatusInternalServerError, apiError{Error: "服务器内部错误"})
			}
		}()
		c.Next()
	}
}

// securityHeaders sets headers every response carries. Pages are
// self-contained (inline CSS and script, no outside source).
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'")
		c.Next()
	}
}
