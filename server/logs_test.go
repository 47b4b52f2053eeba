package server

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"
)

// TestLogsNeverHoldACode runs minping as main does, uses codes in every way
// a voter or a script can, and then looks for each code, in each spelling,
// in everything the process wrote: its stdout and stderr, gin's writers and
// the standard logger (where net/http reports its own errors).
func TestLogsNeverHoldACode(t *testing.T) {
	var side testOutput
	oldOut, oldErr, oldLog := gin.DefaultWriter, gin.DefaultErrorWriter, log.Writer()
	gin.DefaultWriter, gin.DefaultErrorWriter = &side, &side
	log.SetOutput(&side)
	t.Cleanup(func() {
		gin.DefaultWriter, gin.DefaultErrorWriter = oldOut, oldErr
		log.SetOutput(oldLog)
	})

	m := startMinping(t)
	admin := m.admin(t)
	round := admin.createRound()
	var all []string
	issue := func(unit, category string, n int) []string {
		_, codes := admin.issue(round, unit, category, n)
		all = append(all, codes...)
		return codes
	}
	staff := issue("czj", "staff", 8)
	clients := issue("fgj", "clients", 2)
	voidBatch, voided := admin.issue(round, "zzb", "staff", 2)
	all = append(all, voided...)
	// A print sheet: its codes too must stay out of the logs.
	sheet := admin.must(201, "POST", "/api/v1/rounds/"+round+"/batches",
		map[string]any{"unit": "czj", "category": "leaders", "count": 3}, "Accept", "text/html")
	all = append(all, printedCodeAnywhere.FindAllString(string(sheet.body), -1)...)

	get := func(path string) testResponse { return testRequest(t, m.base, "GET", path, "", nil) }

	// Before the round opens: 423 on every voter path.
	for _, c := range codeSpellings(staff[0]) {
		get("/b/" + c)
		get("/api/v1/ballots/" + c)
	}
	admin.state(round, "open")
	admin.must(200, "POST", "/api/v1/rounds/"+round+"/batches/"+voidBatch+"/void", nil)

	// The mobile pages, in every spelling, by path and by query.
	for i, c := range staff[:4] {
		for _, s := range codeSpellings(c) {
			get("/b/" + s)
			get("/b?code=" + url.QueryEscape(s))
			get("/api/v1/ballots/" + s)
		}
		sp := codeSpellings(c)[i%4]
		postBallotForm(t, m.base, sp, ballotFormValues(czjStaffSlots, "1", "review", 3)) // 422: one missing
		postBallotForm(t, m.base, sp, ballotFormValues(czjStaffSlots, "1", "review"))
		if r := postBallotForm(t, m.base, sp, ballotFormValues(czjStaffSlots, "1", "confirm")); r.status != http.StatusSeeOther {
			t.Fatalf("confirm on /b/%s: got %d, want 303", sp, r.status)
		}
		postBallotForm(t, m.base, sp, ballotFormValues(czjStaffSlots, "1", "confirm")) // 409
		get("/b/" + sp)                                                                // 409 page
	}
	// The JSON API in every spelling: a 422, a 201, a 409.
	for i, c := range append(staff[4:], clients...) {
		s := codeSpellings(c)[i%4]
		good := answerAll(admin.ballot(s), nil)
		submitBallot(t, m.base, s, good[1:])
		if r := submitBallot(t, m.base, s, good); r.status != 201 {
			t.Fatalf("POST /api/v1/ballots/%s: got %s, want 201", s, r)
		}
		submitBallot(t, m.base, s, good)
	}
	// Voided codes, odd spellings and odd methods.
	for _, c := range voided {
		for _, s := range codeSpellings(c) {
			get("/b/" + s)
			get("/api/v1/ballots/" + s)
		}
	}
	for _, p := range []string{
		"/b/" + staff[0] + "/", "/api/v1/ballots/" + staff[0] + "/", "/b/" + staff[0] + "?from=qr",
		"/b/%20" + staff[0], "/b/" + url.PathEscape(" "+staff[0]+" "),
	} {
		get(p)
	}
	testRequest(t, m.base, "PUT", "/b/"+staff[1], "", "x")
	testRequest(t, m.base, "DELETE", "/api/v1/ballots/"+staff[1], "", nil)
	admin.state(round, "close")
	for _, c := range staff[5:] {
		get("/b/" + c) // 409 after close
	}
	m.stop()

	logs := m.stdout.String() + m.stderr.String() + side.String()
	if !strings.Contains(logs, "/b/:code") || !strings.Contains(logs, "/api/v1/ballots/:code") {
		t.Fatalf("the request log names no voter route; is it written where this test looks?\n%s", logs)
	}
	if len(all) != 8+2+2+3 {
		t.Fatalf("got %d codes to look for, want 15", len(all))
	}
	for _, c := range all {
		for _, s := range codeSpellings(c) {
			if i := strings.Index(logs, s); i >= 0 {
				t.Errorf("the logs hold the code %s: …%s…", s, logs[max(0, i-200):min(len(logs), i+len(s)+40)])
			}
		}
	}
	// Voter requests are logged without the client's address.
	for _, line := range strings.Split(logs, "\n") {
		if (strings.Contains(line, "route=/b") || strings.Contains(line, "route=/api/v1/ballots") || strings.Contains(line, "route=(no route)")) && strings.Contains(line, "127.0.0.1") {
			t.Errorf("a voter request is logged with the client address: %s", line)
		}
	}
}

// TestLogsOddPaths sends codes under paths no route matches. Their log lines
// must not carry the code either.
func TestLogsOddPaths(t *testing.T) {
	m := startMinping(t)
	admin := m.admin(t)
	round := admin.createRound()
	_, codes := admin.issue(round, "czj", "staff", 1)
	admin.state(round, "open")
	c := codes[0]
	for _, p := range []string{"//b/" + c, "/B/" + c, "/b//" + c, "/api/v1/ballots//" + c, "/api/v1//ballots/" + c} {
		testRequest(t, m.base, "GET", p, "", nil)
	}
	m.stop()
	logs := m.stdout.String() + m.stderr.String()
	var leaks []string
	for _, line := range strings.Split(logs, "\n") {
		for _, s := range codeSpellings(c) {
			if strings.Contains(line, s) {
				leaks = append(leaks, line)
				break
			}
		}
	}
	if len(leaks) > 0 {
		t.Errorf("requests no route matches were logged with their code:\n%s", strings.Join(leaks, "\n"))
	}
}

// TestRequestsCounted: voter requests and health checks are not logged one
// by one but counted, by method, route and status, and the counts are
// logged — here at the stop.
func TestRequestsCounted(t *testing.T) {
	m := startMinping(t)
	admin := m.admin(t)
	round := admin.createRound()
	_, codes := admin.issue(round, "czj", "staff", 1)
	admin.state(round, "open")
	for range 3 {
		testRequest(t, m.base, "GET", "/b/"+codes[0], "", nil)
	}
	for range 2 {
		testRequest(t, m.base, "GET", "/api/v1/ballots/"+codes[0], "", nil)
	}
	testRequest(t, m.base, "GET", "/api/v1/ballots/AAAA-AAAA-AAAA-AAAA", "", nil)
	testRequest(t, m.base, "GET", "/healthz", "", nil)
	m.stop()

	var counted []string
	for _, line := range strings.Split(m.stdout.String()+m.stderr.String(), "\n") {
		if strings.Contains(line, "msg=request ") && (strings.Contains(line, "route=/b") || strings.Contains(line, "route=/api/v1/ballots/") || strings.Contains(line, "route=/healthz")) {
			t.Errorf("a counted request was logged on its own: %s", line)
		}
		if strings.Contains(line, "msg=requests ") {
			_, rest, _ := strings.Cut(line, "method=")
			counted = append(counted, "method="+rest[:strings.Index(rest, " slowest_ms=")])
		}
	}
	want := []string{
		"method=GET route=/api/v1/ballots/:code status=200 count=2",
		"method=GET route=/api/v1/ballots/:code status=404 count=1",
		"method=GET route=/b/:code status=200 count=3",
		"method=GET route=/healthz status=200 count=1",
	}
	if diff := cmp.Diff(want, counted); diff != "" {
		t.Errorf("request counts (-want +got):\n%s", diff)
	}
}

// TestRequestsSummarized: the counts are logged each period, and only
// what came since the last line.
func TestRequestsSummarized(t *testing.T) {
	var out testOutput
	s := &Server{log: slog.New(slog.NewTextHandler(&out, nil)), counts: requestCounts{since: time.Now()}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.counts.add("POST", "/api/v1/ballots/:code", 201, 3*time.Millisecond)
	s.counts.add("POST", "/api/v1/ballots/:code", 201, 9*time.Millisecond)
	go s.summarizeRequests(ctx, 5*time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "msg=requests ") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	got := out.String()
	if !strings.Contains(got, "method=POST route=/api/v1/ballots/:code status=201 count=2 slowest_ms=9") {
		t.Fatalf("got log %q, want a line counting 2 ballots, the slowest 9 ms", got)
	}
	time.Sleep(30 * time.Millisecond) // several periods with nothing counted
	if n := strings.Count(out.String(), "msg=requests "); n != 1 {
		t.Errorf("got %d summary lines, want 1: periods with no requests log nothing\n%s", n, out.String())
	}
}
