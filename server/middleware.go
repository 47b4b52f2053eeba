package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// requestLog logs one line per request: method, route, status and
// duration. The route is the pattern that matched ("/b/:code"), never the
// path, so no code reaches the log however it was spelt; a path no route
// matches is logged as "(no route)". No query string (GET /b?code=…), and no
// client address on voter routes or unmatched paths, so the log cannot
// place a voter.
func (s *server) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		client := route != "" && !isVoterPath(route)
		if route == "" {
			route = "(no route)"
		}
		attrs := append(make([]slog.Attr, 0, 5),
			slog.String("method", c.Request.Method), slog.String("route", route),
			slog.Int("status", c.Writer.Status()), slog.Int64("ms", time.Since(start).Milliseconds()))
		if client {
			attrs = append(attrs, slog.String("client", c.ClientIP()))
		}
		s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "request", attrs...)
	}
}

func isVoterPath(p string) bool {
	return p == "/b" || strings.HasPrefix(p, "/b/") || strings.HasPrefix(p, "/api/v1/ballots/")
}

// recover turns a panic into a 500 and logs it with its route, not its
// path.
func (s *server) recover() gin.HandlerFunc {
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
