package server

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
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

// TestInlineScriptsAllowedByHash: no page may run a script the server did
// not write. The policy allows no inline script but by its hash, and every
// inline script of the pages that have one (the ballot, its thanks page) is
// among the hashes, so it still runs.
func TestInlineScriptsAllowedByHash(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	_, codes := admin.issue(id, "czj", "staff", 1)
	admin.state(id, "open")
	for _, path := range []string{"/b/" + codes[0], "/b/done"} {
		r := e.do(http.MethodGet, path, "", nil)
		csp := r.header.Get("Content-Security-Policy")
		var scriptSrc string
		for _, d := range strings.Split(csp, ";") {
			if d = strings.TrimSpace(d); strings.HasPrefix(d, "script-src ") {
				scriptSrc = d
			}
		}
		if scriptSrc == "" || strings.Contains(scriptSrc, "'unsafe-inline'") {
			t.Errorf("GET %s: script-src %q: want one without 'unsafe-inline'", path, scriptSrc)
		}
		scripts := inlineScript.FindAllSubmatch(r.body, -1)
		if len(scripts) == 0 {
			t.Errorf("GET %s: no inline script found; the test checks nothing", path)
		}
		for _, m := range scripts {
			sum := sha256.Sum256(m[1])
			if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(scriptSrc, h) {
				t.Errorf("GET %s: inline script %.60q… (%s) is not allowed by %q", path, m[1], h, scriptSrc)
			}
		}
	}
}

// TestContentPolicyRefusesTemplatedScripts: a script whose text a template
// fills in has no fixed hash, so the server refuses to start with it.
func TestContentPolicyRefusesTemplatedScripts(t *testing.T) {
	ok := fstest.MapFS{"a.html": {Data: []byte(`<p>x</p><script>var a=1</script>`)}}
	if csp, err := contentPolicy(ok); err != nil || !strings.Contains(csp, "'sha256-") {
		t.Errorf("a fixed script: got %q, %v; want its hash", csp, err)
	}
	bad := fstest.MapFS{"b.html": {Data: []byte(`<script>var round="{{.Round}}"</script>`)}}
	if _, err := contentPolicy(bad); err == nil {
		t.Error("a templated script: got no error")
	}
}

// TestSmallPages: a report asked for before the seal is a page that says
// why, not JSON; /favicon.ico answers without an error; the code page
// links to the console.
func TestSmallPages(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	r := e.do("GET", "/api/v1/rounds/"+id+"/report", testAdminToken, nil, "Accept", "text/html")
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "结果尚未封存") || strings.HasPrefix(strings.TrimSpace(string(r.body)), "{") {
		t.Errorf("a report before the seal: got %d %.200s, want 409 and a page saying why", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/rounds/"+id+"/report", testAdminToken, nil); r.status != http.StatusConflict || !strings.HasPrefix(strings.TrimSpace(string(r.body)), "{") {
		t.Errorf("a report before the seal, asked by a script: got %d %.200s, want the JSON error", r.status, r.body)
	}
	if r := e.do("GET", "/favicon.ico", "", nil); r.status != http.StatusNoContent {
		t.Errorf("/favicon.ico: got %d, want 204", r.status)
	}
	if r := e.do("GET", "/b", "", nil); !strings.Contains(string(r.body), `href="/console"`) {
		t.Errorf("the code page does not link to the console")
	}
}
