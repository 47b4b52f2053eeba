package server

import (
	"crypto/ed25519"
	"fmt"
	"html/template"
	"log/slog"
	"sync"
	"time"

	"minping/assets"
	"minping/survey/sqlite"
)

// Server is minping's HTTP side: what the handlers need (the store, the
// signing key, parsed templates and the cache of rendered ballot pages).
type Server struct {
	store   *sqlite.Store
	sealKey ed25519.PrivateKey
	cfg     Config
	log     *slog.Logger
	tmpl    *template.Template

	pagesMu sync.Mutex
	pages   map[pageKey]*renderedPage

	console *console      // the console's sign-in throttle, static files and turnout cache
	counts  requestCounts // requests counted rather than logged, see requestLog
}

// New makes the HTTP side of minping over an open store, signing sealed
// documents with key. It fails only if an embedded template does not parse.
func New(store *sqlite.Store, key ed25519.PrivateKey, cfg Config, log *slog.Logger) (*Server, error) {
	cfg = cfg.withDefaults()
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	return &Server{
		store: store, sealKey: key, cfg: cfg, log: log, tmpl: tmpl,
		pages: map[pageKey]*renderedPage{}, console: newConsole(), counts: requestCounts{since: time.Now()},
	}, nil
}

// parseTemplates parses every embedded template once, at start.
func parseTemplates() (*template.Template, error) {
	t, err := template.New("").Funcs(templateFuncs).ParseFS(assets.Templates(), "*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return t, nil
}

// templateFuncs are the few helpers templates need.
var templateFuncs = template.FuncMap{
	"add":     func(a, b int) int { return a + b },
	"percent": percent,
	"deref":   func(p *int) int { return *p },
	"derefs":  func(p *string) string { return *p },
}
