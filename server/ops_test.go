package server

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadyz: ready with the database writable, disk above the floor and
// the keys readable; 503 naming the check when the disk is under the floor
// (a floor above the free space stands for a full disk) or a key is gone.
func TestReadyz(t *testing.T) {
	var keys string
	e := newTestEnv(t, func(c *Config) {
		keys = filepath.Join(c.Data, "keys")
		c.Keys = keys
		c.MinFreeDisk = 1
	})
	if err := os.MkdirAll(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"code.key", "seal.key"} {
		if err := os.WriteFile(filepath.Join(keys, k), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if r := e.do("GET", "/readyz", "", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"ready":true`) {
		t.Fatalf("readyz: %s, want 200 ready", r)
	}
	full := newTestEnv(t, func(c *Config) { c.Keys = keys; c.MinFreeDisk = 1 << 62 })
	if r := full.do("GET", "/readyz", "", nil); r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "磁盘只剩") {
		t.Errorf("readyz on a full disk: %s, want 503 saying the disk is full", r)
	}
	os.Remove(filepath.Join(keys, "seal.key"))
	time.Sleep(1100 * time.Millisecond) // the checks run at most once a second
	if r := e.do("GET", "/readyz", "", nil); r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "密钥不可读") {
		t.Errorf("readyz without a key: %s, want 503 naming the keys", r)
	}
	// /healthz stays cheap and says only that minping serves.
	if r := e.do("GET", "/healthz", "", nil); r.status != http.StatusOK {
		t.Errorf("healthz: %d", r.status)
	}
}

// TestMetrics scrapes /metrics after a ballot is accepted and one refused:
// the counts are there by route pattern and outcome, and no code is.
func TestMetrics(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	round := admin.createRound()
	_, codes := admin.issue(round, "czj", "staff", 2)
	admin.state(round, "open")
	if r := submitBallot(t, e.ts.URL, codes[0], answerAll(admin.ballot(codes[0]), nil)); r.status != http.StatusCreated {
		t.Fatal(r)
	}
	submitBallot(t, e.ts.URL, codes[0], answerAll(admin.ballot(codes[1]), nil)) // used: 409
	// Behind a reverse proxy every request comes from loopback: the
	// address proves nothing, the administrator's token does.
	if r := e.do("GET", "/metrics", "", nil); r.status != http.StatusNotFound {
		t.Errorf("metrics without the token: %d, want 404", r.status)
	}
	r := e.do("GET", "/metrics", testAdminToken, nil)
	if r.status != http.StatusOK {
		t.Fatalf("metrics with the admin token: %d", r.status)
	}
	body := string(r.body)
	for _, want := range []string{
		`minping_ballots_total{outcome="accepted"} 1`,
		`minping_ballots_total{outcome="used"} 1`,
		`minping_http_requests_total{method="POST",route="/api/v1/ballots/:code",status="201"} 1`,
		`minping_writer_commits_total`,
		`minping_slips_issued_total 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, code := range codes {
		if strings.Contains(body, code) || strings.Contains(body, strings.ReplaceAll(code, "-", "")) {
			t.Errorf("metrics hold a code")
		}
	}
	// With an address of their own, they are not served on the main one.
	sep := newTestEnv(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	if r := sep.do("GET", "/metrics", testAdminToken, nil); r.status != http.StatusNotFound {
		t.Errorf("metrics on the main address with --metrics-addr set: %d, want 404", r.status)
	}
}

// TestWorkbookKept: the whole workbook is built at its first download and
// kept, so that the next is a read of the same bytes; an appraisal group
// of some units gets its own, not the kept one.
func TestWorkbookKept(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	_, codes := admin.issue(id, "czj", "staff", 3)
	admin.state(id, "open")
	for _, c := range codes {
		submitBallot(t, e.ts.URL, c, answerAll(admin.ballot(c), nil))
	}
	admin.state(id, "close")
	admin.state(id, "seal")
	if _, err := e.store.Export(t.Context(), id, "tally.xlsx"); err == nil {
		t.Fatal("a workbook is kept before anyone asked for it")
	}
	first := admin.must(http.StatusOK, "GET", "/api/v1/rounds/"+id+"/tally.xlsx", nil)
	kept, err := e.store.Export(t.Context(), id, "tally.xlsx")
	if err != nil || !bytes.Equal(kept, first.body) {
		t.Fatalf("the workbook was not kept: %v", err)
	}
	second := admin.must(http.StatusOK, "GET", "/api/v1/rounds/"+id+"/tally.xlsx", nil)
	if !bytes.Equal(second.body, first.body) {
		t.Error("the second download differs from the first")
	}
	var acc struct{ Token string }
	admin.must(http.StatusCreated, "POST", "/api/v1/accounts", map[string]any{"name": "考核组", "role": "appraiser", "round": id, "units": []string{"czj"}}).decode(t, &acc)
	own := apiClient{t: t, base: e.ts.URL, token: acc.Token}.must(http.StatusOK, "GET", "/api/v1/rounds/"+id+"/tally.xlsx", nil)
	if bytes.Equal(own.body, first.body) {
		t.Error("an appraisal group of one unit got the whole workbook")
	}
}
