package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestSecurityHeaders checks that every kind of response — voter pages, the
// console, the API, a static file, a miss — tells the browser not to sniff
// types, frame the page, send a referrer or load anything from elsewhere.
func TestSecurityHeaders(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	_, codes := admin.issue(id, "czj", "staff", 1)
	admin.state(id, "open")

	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	}
	css := e.srv.console.StaticURL("console.css")
	if css == "" {
		t.Fatal("no hashed URL for console.css")
	}
	for _, path := range []string{"/b", "/b/" + codes[0], "/api/v1/ballots/" + codes[0], "/console/login", css, "/healthz", "/no/such/page"} {
		r := e.do(http.MethodGet, path, "", nil)
		if r.status >= 500 || path == css && r.status != http.StatusOK {
			t.Errorf("GET %s: %d", path, r.status)
			continue
		}
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("GET %s (%d): %s = %q, want %q", path, r.status, k, got, v)
			}
		}
		csp := r.header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("GET %s (%d): Content-Security-Policy %q lacks %q", path, r.status, csp, d)
			}
		}
		if strings.Contains(csp, "http") || strings.Contains(csp, "*") {
			t.Errorf("GET %s: Content-Security-Policy %q allows a source outside minping", path, csp)
		}
	}
}
