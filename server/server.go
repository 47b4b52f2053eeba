package server

import (
	"crypto/ed25519"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"minping/assets"
	"minping/server/console"
	"minping/survey"
)

// Server is minping's HTTP side. Its handlers sit on one small struct per
// audience, each holding only the store methods it needs (stores.go): voter
// (the ballot) and api (the JSON API of organisers, administrators and
// appraisal groups); the console (their browser pages) is a package of its
// own, server/console, which reaches the server through console.Host.
type Server struct {
	cfg     Config
	log     *slog.Logger
	voter   *voter
	api     *api
	console *console.Console
	counts  requestCounts // requests counted rather than logged, see requestLog
	csp     string        // the Content-Security-Policy of every response
	store   opsStore      // for /readyz
	metrics *metrics      // /metrics

	readyMu sync.Mutex
	readyAt time.Time   // when the readiness checks last ran
	ready   []readiness // what they found
}

// base is what every audience's handlers share: the config, the log, the
// parsed templates, and the responses built from them (fail, html).
type base struct {
	cfg     Config
	log     *slog.Logger
	tmpl    *template.Template
	proxies []*net.IPNet // Config.TrustedProxies
}

// voter serves the ballot: the page, its form post and the ballot API.
type voter struct {
	*base
	store   ballotStore
	pagesMu sync.Mutex
	pages   map[pageKey]*renderedPage // rendered ballot pages, by unit and category
}

// api serves the JSON API under /api/v1 to organisers, administrators and
// appraisal groups.
type api struct {
	*base
	store     apiStore
	sealer    *sealer
	badTokens *failureCounts // wrong bearer tokens per address
}

// sealer seals rounds and finalizes their results, and says with which
// key: the API and the console share it.
type sealer struct {
	*base
	store resultsStore
	key   ed25519.PrivateKey
}

// New makes the HTTP side of minping over an open store, signing sealed
// documents with key. It fails only if an embedded template does not parse.
func New(store Store, key ed25519.PrivateKey, cfg Config, log *slog.Logger) (*Server, error) {
	cfg = cfg.withDefaults()
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	csp, err := contentPolicy(assets.Templates())
	if err != nil {
		return nil, err
	}
	proxies, err := parseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	if n := len(cfg.AdminToken); n > 0 && n < MinAdminToken {
		return nil, fmt.Errorf("MINPING_ADMIN_TOKEN has %d characters: give at least %d (e.g. the output of `openssl rand -hex 32`)", n, MinAdminToken)
	}
	b := &base{cfg: cfg, log: log, tmpl: tmpl, proxies: proxies}
	sl := &sealer{base: b, store: store, key: key}
	con := console.New(host{base: b, sealer: sl}, store, log, console.Options{
		BaseURL: cfg.BaseURL, Now: cfg.Now, TurnoutEvery: cfg.turnoutEvery, TZ: cfg.TZ, Zone: ZoneName(cfg.TZ),
	})
	return &Server{
		cfg: cfg, log: log,
		voter:   &voter{base: b, store: store, pages: map[pageKey]*renderedPage{}},
		api:     &api{base: b, store: store, sealer: sl, badTokens: newFailureCounts(cfg.Now)},
		console: con,
		counts:  requestCounts{since: time.Now()},
		csp:     csp,
		store:   store,
		metrics: newMetrics(store),
	}, nil
}

// parseProxies reads trusted proxies, each an address or a CIDR range.
func parseProxies(list []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, p := range list {
		if ip := net.ParseIP(p); ip != nil {
			bits := 8 * len(ip.To16())
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("trusted proxies: %q is neither an address nor a CIDR range", p)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseTemplates parses every embedded template once, at start.
func parseTemplates() (*template.Template, error) {
	t, err := template.New("").Funcs(templateFuncs).ParseFS(assets.Templates(), "*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return t, nil
}

// gradingForm is one grading's part of the console's scheme form.
type gradingForm struct {
	Prefix  string
	G       *survey.GradingScheme
	Grades  []survey.GradeScheme
	Bars    []string
	Members bool
}

// templateFuncs are the few helpers templates need.
var templateFuncs = template.FuncMap{
	"add":     func(a, b int) int { return a + b },
	"percent": percent,
	"deref":   func(p *int) int { return *p },
	"derefs":  func(p *string) string { return *p },
	"has":     slices.Contains[[]string],
	"gradingForm": func(prefix string, g *survey.GradingScheme, grades []survey.GradeScheme, bars []string, members bool) gradingForm {
		if g == nil {
			g = &survey.GradingScheme{}
		}
		return gradingForm{Prefix: prefix, G: g, Grades: grades, Bars: bars, Members: members}
	},
}
