package server

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"minping/assets"
	"minping/survey"
)

// contractError is the JSON error of CONTRACT §4.
type contractError struct {
	Error    string           `json:"error"`
	Problems []survey.Problem `json:"problems"`
}

func contractErrorOf(t *testing.T, r testResponse) contractError {
	t.Helper()
	var e contractError
	r.decode(t, &e)
	if e.Error == "" {
		t.Errorf("error body %s has no \"error\"", r)
	}
	return e
}

func problemPathsOf(ps []survey.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Path
	}
	slices.Sort(out)
	return out
}

func TestAuth(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	round := admin.createRound()
	var org, appr struct{ Token string }
	admin.must(http.StatusCreated, "POST", "/api/v1/accounts", map[string]any{"name": "考核办", "role": "organiser"}).decode(t, &org)
	admin.must(http.StatusCreated, "POST", "/api/v1/accounts",
		map[string]any{"name": "第一考核组", "role": "appraiser", "round": round, "units": []string{"czj"}}).decode(t, &appr)
	if org.Token == "" || appr.Token == "" {
		t.Fatalf("got tokens %q and %q, want both", org.Token, appr.Token)
	}

	tests := []struct {
		name, method, path, auth string
		body                     any
		want                     int
	}{
		{"no token", "GET", "/api/v1/rounds", "", nil, 401},
		{"unknown token", "GET", "/api/v1/rounds", "Bearer nope", nil, 401},
		{"not a bearer token", "GET", "/api/v1/rounds", "Basic " + testAdminToken, nil, 401},
		{"empty bearer", "GET", "/api/v1/rounds", "Bearer ", nil, 401},
		{"no token, create round", "POST", "/api/v1/rounds", "", assets.Example(), 401},
		{"no token, issue", "POST", "/api/v1/rounds/" + round + "/batches", "", map[string]any{"unit": "czj", "category": "staff", "count": 1}, 401},
		{"no token, turnout", "GET", "/api/v1/rounds/" + round + "/turnout", "", nil, 401},
		{"no token, accounts", "POST", "/api/v1/accounts", "", map[string]any{"name": "x", "role": "organiser"}, 401},

		{"admin lists rounds", "GET", "/api/v1/rounds", "Bearer " + testAdminToken, nil, 200},
		{"admin creates an account", "POST", "/api/v1/accounts", "Bearer " + testAdminToken, map[string]any{"name": "考核办2", "role": "organiser"}, 201},

		{"organiser lists rounds", "GET", "/api/v1/rounds", "Bearer " + org.Token, nil, 200},
		{"organiser reads a round", "GET", "/api/v1/rounds/" + round, "Bearer " + org.Token, nil, 200},
		{"organiser reads turnout", "GET", "/api/v1/rounds/" + round + "/turnout", "Bearer " + org.Token, nil, 200},
		{"organiser creates an account", "POST", "/api/v1/accounts", "Bearer " + org.Token, map[string]any{"name": "x", "role": "organiser"}, 403},
		{"organiser reads the round tally", "GET", "/api/v1/rounds/" + round + "/tally", "Bearer " + org.Token, nil, 403},
		{"organiser reads a unit tally", "GET", "/api/v1/rounds/" + round + "/units/czj/tally", "Bearer " + org.Token, nil, 403},

		{"appraiser lists rounds", "GET", "/api/v1/rounds", "Bearer " + appr.Token, nil, 403},
		{"appraiser creates a round", "POST", "/api/v1/rounds", "Bearer " + appr.Token, assets.Example(), 403},
		{"appraiser issues", "POST", "/api/v1/rounds/" + round + "/batches", "Bearer " + appr.Token, map[string]any{"unit": "czj", "category": "staff", "count": 1}, 403},
		{"appraiser opens", "POST", "/api/v1/rounds/" + round + "/open", "Bearer " + appr.Token, nil, 403},
		{"appraiser reads turnout", "GET", "/api/v1/rounds/" + round + "/turnout", "Bearer " + appr.Token, nil, 403},
		{"appraiser creates an account", "POST", "/api/v1/accounts", "Bearer " + appr.Token, map[string]any{"name": "y", "role": "organiser"}, 403},

		{"anyone: pubkey", "GET", "/api/v1/pubkey", "", nil, 200},
		{"anyone: healthz", "GET", "/healthz", "", nil, 200},
		{"anyone: ballot endpoint needs no token", "GET", "/api/v1/ballots/2222-2222-2222-2222", "", nil, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.auth != "" {
				hdr = []string{"Authorization", tt.auth}
			}
			r := testRequest(t, e.ts.URL, tt.method, tt.path, "", tt.body, hdr...)
			if r.status != tt.want {
				t.Fatalf("%s %s: got %s, want status %d", tt.method, tt.path, r, tt.want)
			}
			if r.status == 401 || r.status == 403 {
				contractErrorOf(t, r)
			}
		})
	}
}

func TestCreateRound(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()

	t.Run("YAML", func(t *testing.T) {
		id := admin.createRound()
		var got struct {
			ID, Status, Name string
		}
		admin.must(200, "GET", "/api/v1/rounds/"+id, nil).decode(t, &got)
		if got.ID != id || got.Status != "draft" {
			t.Errorf("GET round: got id %q status %q, want %q draft", got.ID, got.Status, id)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		d, err := survey.ParseDefinition(assets.Example())
		if err != nil {
			t.Fatal(err)
		}
		r := admin.must(201, "POST", "/api/v1/rounds", d.Canonical(), "Content-Type", "application/json")
		var got struct{ ID string }
		r.decode(t, &got)
		if got.ID == "" {
			t.Errorf("got %s, want an id", r)
		}
	})

	bad := strings.Replace(string(assets.Example()), "{id: leaders, name: 区领导, weight: 20}", "{id: leaders, name: 区领导, weight: 25}", 1)
	bad = strings.Replace(bad, "{label: 优秀, points: 100}", "{label: 优秀, points: 120}", 1)
	bad = strings.Replace(bad, "{id: czj-2,", "{id: czj-1,", 1)
	tests := []struct {
		name, body, ctype string
		want              []string
	}{
		{"three problems listed", bad, "application/yaml", []string{"categories", "scales[0].options[0].points", "units[0].members[1].id"}},
		{"empty", "", "application/yaml", []string{""}},
		{"not a definition", `{"nmae": "x"}`, "application/json", []string{""}},
		{"YAML sent as JSON", string(assets.Example()), "application/json", []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := admin.do("POST", "/api/v1/rounds", tt.body, "Content-Type", tt.ctype)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("got %s, want 422", r)
			}
			eb := contractErrorOf(t, r)
			if diff := cmp.Diff(tt.want, problemPathsOf(eb.Problems)); diff != "" {
				t.Errorf("problem paths (-want +got):\n%s", diff)
			}
			for _, p := range eb.Problems {
				if p.Message == "" {
					t.Errorf("problem %q has no message", p.Path)
				}
			}
		})
	}
	// A body of another type is refused before it is read, saying which
	// types are taken; YAML sent as text/plain is read as YAML.
	for _, ct := range []string{"application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream"} {
		r := admin.do("POST", "/api/v1/rounds", assets.Example(), "Content-Type", ct)
		if r.status != http.StatusUnsupportedMediaType || !strings.Contains(string(r.body), "application/yaml") {
			t.Errorf("a definition sent as %s: got %s, want 415 naming the types taken", ct, r)
		}
	}
	admin.must(201, "POST", "/api/v1/rounds", assets.Example(), "Content-Type", "text/plain; charset=utf-8")
	var list struct{ Rounds []struct{ ID string } }
	admin.must(200, "GET", "/api/v1/rounds", nil).decode(t, &list)
	if len(list.Rounds) != 3 {
		t.Errorf("got %d rounds after 3 good posts and the refused ones, want 3", len(list.Rounds))
	}
}

func TestRoundTransitions(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	other := admin.createRound()
	steps := []struct {
		round, change string
		want          int
		status        string
	}{
		{id, "close", 409, ""},
		{id, "seal", 409, ""},
		{id, "open", 200, "open"},
		{id, "open", 409, ""},
		{id, "seal", 409, ""},
		{id, "close", 200, "closed"},
		{id, "close", 409, ""},
		{id, "open", 409, ""},
		{id, "seal", 200, "sealed"},
		{id, "seal", 409, ""},
		{id, "open", 409, ""},
		{id, "close", 409, ""},
		{other, "close", 409, ""},
		{"no-such-round", "open", 404, ""},
		{"no-such-round", "close", 404, ""},
	}
	for i, s := range steps {
		r := admin.do("POST", "/api/v1/rounds/"+s.round+"/"+s.change, nil)
		if r.status != s.want {
			t.Fatalf("step %d, %s: got %s, want %d", i, s.change, r, s.want)
		}
		if s.want == 200 {
			var got struct{ Status string }
			r.decode(t, &got)
			if got.Status != s.status {
				t.Errorf("step %d, %s: got status %q, want %q", i, s.change, got.Status, s.status)
			}
			var round struct{ Status string }
			admin.must(200, "GET", "/api/v1/rounds/"+s.round, nil).decode(t, &round)
			if round.Status != s.status {
				t.Errorf("step %d: GET round says %q, want %q", i, round.Status, s.status)
			}
		} else {
			contractErrorOf(t, r)
		}
	}
}

func TestIssueBatch(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	path := "/api/v1/rounds/" + id + "/batches"

	bounds := []struct {
		body any
		want int
		path string // of the problem, for 422
	}{
		{map[string]any{"unit": "czj", "category": "staff", "count": 0}, 422, "count"},
		{map[string]any{"unit": "czj", "category": "staff", "count": -1}, 422, "count"},
		{map[string]any{"unit": "czj", "category": "staff", "count": 10001}, 422, "count"},
		{map[string]any{"unit": "czj", "category": "staff"}, 422, "count"},
		{map[string]any{"unit": "nope", "category": "staff", "count": 1}, 422, "unit"},
		{map[string]any{"unit": "czj", "category": "nope", "count": 1}, 422, "category"},
		{map[string]any{"unit": "czj", "category": "staff", "count": 1, "serial": true}, 422, ""},
		{"{not json", 422, ""},
		{map[string]any{"unit": "czj", "category": "staff", "count": 1}, 201, ""},
		{map[string]any{"unit": "czj", "category": "staff", "count": 10000}, 201, ""},
	}
	for _, b := range bounds {
		t.Run(fmt.Sprint(b.body), func(t *testing.T) {
			r := admin.do("POST", path, b.body)
			if r.status != b.want {
				t.Fatalf("got %.300s, want %d", r, b.want)
			}
			if b.want == 422 {
				eb := contractErrorOf(t, r)
				if got := problemPathsOf(eb.Problems); len(got) != 1 || got[0] != b.path {
					t.Errorf("got problem paths %q, want [%q]", got, b.path)
				}
			}
		})
	}
	if r := admin.do("POST", "/api/v1/rounds/no-such-round/batches", map[string]any{"unit": "czj", "category": "staff", "count": 1}); r.status != 404 {
		t.Errorf("issue in an unknown round: got %s, want 404", r)
	}

	t.Run("codes and links", func(t *testing.T) {
		r := admin.must(201, "POST", path, map[string]any{"unit": "czj", "category": "leaders", "count": 50})
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}
		var got struct {
			ID    string
			Codes []string
			Links []string
		}
		r.decode(t, &got)
		if got.ID == "" || len(got.Codes) != 50 || len(got.Links) != 50 {
			t.Fatalf("got id %q, %d codes, %d links, want an id, 50 and 50", got.ID, len(got.Codes), len(got.Links))
		}
		seen := map[string]bool{}
		for i, c := range got.Codes {
			if !printedCodeFormat.MatchString(c) {
				t.Errorf("code %q does not match %s", c, printedCodeFormat)
			}
			if seen[c] {
				t.Errorf("code %q issued twice", c)
			}
			seen[c] = true
			if want := e.ts.URL + "/b/" + c; got.Links[i] != want {
				t.Errorf("link %d: got %q, want %q", i, got.Links[i], want)
			}
		}
	})

	t.Run("base-url", func(t *testing.T) {
		e2 := newTestEnv(t, func(c *Config) { c.BaseURL = "https://mp.example.gov.cn" })
		a2 := e2.admin()
		r2 := a2.createRound()
		var got struct{ Codes, Links []string }
		a2.must(201, "POST", "/api/v1/rounds/"+r2+"/batches", map[string]any{"unit": "zzb", "category": "staff", "count": 2}).decode(t, &got)
		for i, c := range got.Codes {
			if want := "https://mp.example.gov.cn/b/" + c; got.Links[i] != want {
				t.Errorf("link: got %q, want %q", got.Links[i], want)
			}
		}
	})
}

var printedCodeAnywhere = regexp.MustCompile(`[2-9A-HJ-NP-Z]{4}(?:-[2-9A-HJ-NP-Z]{4}){3}`)

func TestPrintSheet(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	r := admin.must(201, "POST", "/api/v1/rounds/"+id+"/batches",
		map[string]any{"unit": "czj", "category": "staff", "count": 12}, "Accept", "text/html")
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type: got %q, want text/html", ct)
	}
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control: got %q, want no-store", cc)
	}
	body := string(r.body)
	if got := strings.Count(body, "<svg"); got != 12 {
		t.Errorf("got %d <svg> QR codes, want 12", got)
	}
	if got := strings.Count(body, `class="slip"`); got != 12 {
		t.Errorf("got %d slips, want 12", got)
	}
	if got := strings.Count(body, `class="page"`); got != 2 {
		t.Errorf("got %d A4 pages for 12 slips, want 2", got)
	}
	codes := map[string]bool{}
	for _, c := range printedCodeAnywhere.FindAllString(body, -1) {
		codes[c] = true
	}
	if len(codes) != 12 {
		t.Fatalf("got %d distinct codes on the sheet, want 12", len(codes))
	}
	for _, want := range []string{"区财政局", "一般干部职工", e.ts.URL + "/b"} {
		if !strings.Contains(body, want) {
			t.Errorf("the sheet does not show %q", want)
		}
	}
	// The printed codes are the batch's: each opens a (draft) ballot.
	for c := range codes {
		if got := e.do("GET", "/api/v1/ballots/"+c, "", nil); got.status != http.StatusLocked {
			t.Errorf("printed code %s: got %s, want 423 (round not open)", c, got)
		}
		break
	}
}

func TestVoidBatch(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	batch, codes := admin.issue(id, "czj", "staff", 3)
	_, keep := admin.issue(id, "czj", "staff", 1)
	admin.state(id, "open")
	if r := submitBallot(t, e.ts.URL, codes[0], answerAll(admin.ballot(codes[0]), nil)); r.status != 201 {
		t.Fatalf("vote: got %s, want 201", r)
	}
	admin.must(200, "POST", "/api/v1/rounds/"+id+"/batches/"+batch+"/void", nil)

	for _, c := range codes[1:] {
		for _, form := range codeSpellings(c) {
			if r := e.do("GET", "/api/v1/ballots/"+form, "", nil); r.status != 404 {
				t.Errorf("GET voided code %s: got %s, want 404", form, r)
			}
			if r := e.do("GET", "/b/"+form, "", nil); r.status != 404 {
				t.Errorf("GET /b/ voided code %s: got %d, want 404", form, r.status)
			}
		}
		if r := submitBallot(t, e.ts.URL, c, answerAll(admin.ballot(keep[0]), nil)); r.status != 404 {
			t.Errorf("POST voided code: got %s, want 404", r)
		}
	}
	if r := e.do("GET", "/api/v1/ballots/"+codes[0], "", nil); r.status != 409 {
		t.Errorf("GET the used code of a voided batch: got %s, want 409", r)
	}
	if r := e.do("GET", "/api/v1/ballots/"+keep[0], "", nil); r.status != 200 {
		t.Errorf("GET a code of another batch: got %s, want 200", r)
	}
	if r := admin.do("POST", "/api/v1/rounds/"+id+"/batches/no-such-batch/void", nil); r.status != 404 {
		t.Errorf("void an unknown batch: got %s, want 404", r)
	}

	// Issued counts the voided batch's used code only.
	czj := turnoutOf(t, admin, id, "czj")
	if czj.Issued != 2 || czj.Voted != 1 {
		t.Errorf("czj turnout: got issued %d voted %d, want 2 and 1", czj.Issued, czj.Voted)
	}

	admin.state(id, "close")
	if r := admin.do("POST", "/api/v1/rounds/"+id+"/batches", map[string]any{"unit": "czj", "category": "staff", "count": 1}); r.status != 409 {
		t.Errorf("issue after close: got %s, want 409", r)
	}
	var list struct{ Batches []struct{ ID string } }
	admin.must(200, "GET", "/api/v1/rounds/"+id+"/batches", nil).decode(t, &list)
	if len(list.Batches) != 2 {
		t.Fatalf("got %d batches, want 2", len(list.Batches))
	}
	for _, b := range list.Batches {
		if r := admin.do("POST", "/api/v1/rounds/"+id+"/batches/"+b.ID+"/void", nil); r.status != 409 {
			t.Errorf("void after close: got %s, want 409", r)
		}
	}
}

type turnoutRow struct {
	ID         string `json:"id"`
	Issued     int    `json:"issued"`
	Voted      int    `json:"voted"`
	Categories []struct {
		ID     string `json:"id"`
		Issued int    `json:"issued"`
		Voted  int    `json:"voted"`
	} `json:"categories"`
}

func turnoutOf(t *testing.T, a apiClient, round, unit string) turnoutRow {
	t.Helper()
	var out struct{ Units []turnoutRow }
	a.must(200, "GET", "/api/v1/rounds/"+round+"/turnout", nil).decode(t, &out)
	for _, u := range out.Units {
		if u.ID == unit {
			return u
		}
	}
	t.Fatalf("turnout has no unit %q", unit)
	return turnoutRow{}
}

// TestBallotStatusOrder checks CONTRACT §4: 404 unknown or void → 409 used
// → 423 round not open → 422 problems, for GET and POST alike.
func TestBallotStatusOrder(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	draft := admin.createRound()
	_, draftCodes := admin.issue(draft, "czj", "staff", 1)

	open := admin.createRound()
	_, openCodes := admin.issue(open, "czj", "staff", 8)
	voidBatch, openVoid := admin.issue(open, "czj", "staff", 1)
	admin.state(open, "open")
	good := answerAll(admin.ballot(openCodes[0]), nil)
	admin.must(200, "POST", "/api/v1/rounds/"+open+"/batches/"+voidBatch+"/void", nil)
	if r := submitBallot(t, e.ts.URL, openCodes[0], good); r.status != 201 {
		t.Fatalf("vote: got %s", r)
	}
	openUsed, openFresh := openCodes[0], openCodes[1]

	closed := admin.createRound()
	_, closedCodes := admin.issue(closed, "czj", "staff", 2)
	closedVoidBatch, closedVoid := admin.issue(closed, "czj", "staff", 1)
	admin.state(closed, "open")
	admin.must(200, "POST", "/api/v1/rounds/"+closed+"/batches/"+closedVoidBatch+"/void", nil)
	if r := submitBallot(t, e.ts.URL, closedCodes[0], good); r.status != 201 {
		t.Fatalf("vote: got %s", r)
	}
	admin.state(closed, "close")

	sealed := admin.createRound()
	_, sealedCodes := admin.issue(sealed, "czj", "staff", 1)
	admin.state(sealed, "open")
	admin.state(sealed, "close")
	admin.state(sealed, "seal")

	const garbage = `{"answers": "nope"`
	tests := []struct {
		name, code string
		get        int
		post       int    // with body
		body       string // "" = a complete, valid ballot
	}{
		{"unknown code", "2345-6789-ABCD-EFGH", 404, 404, garbage},
		{"malformed code", "hello", 404, 404, garbage},
		{"too short", "2345-6789-ABCD", 404, 404, ""},
		{"void code, open round", openVoid[0], 404, 404, ""},
		{"void code, closed round (404 before 423)", closedVoid[0], 404, 404, garbage},
		{"used code, open round", openUsed, 409, 409, ""},
		{"used code, garbage body (409 before 422)", openUsed, 409, 409, garbage},
		{"used code, closed round (409 before 423)", closedCodes[0], 409, 409, garbage},
		{"draft round", draftCodes[0], 423, 423, ""},
		{"draft round, garbage body (423 before 422)", draftCodes[0], 423, 423, garbage},
		{"closed round", closedCodes[1], 423, 423, ""},
		{"closed round, garbage body", closedCodes[1], 423, 423, garbage},
		// The seal purges the round's code hashes (issue 3), so a sealed
		// round's code is unknown from then on.
		{"sealed round (codes purged at the seal)", sealedCodes[0], 404, 404, garbage},
		{"open round, garbage body", openFresh, 200, 422, garbage},
		{"open round, no answers", openFresh, 200, 422, `{"answers": []}`},
		{"open round, empty object", openFresh, 200, 422, `{}`},
		{"open round, unknown field", openFresh, 200, 422, `{"answers": [], "code": "x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forms := []string{tt.code}
			if printedCodeFormat.MatchString(tt.code) {
				forms = codeSpellings(tt.code)
			}
			for _, c := range forms {
				r := e.do("GET", "/api/v1/ballots/"+c, "", nil)
				if r.status != tt.get {
					t.Errorf("GET %s: got %s, want %d", c, r, tt.get)
				} else if r.status != 200 {
					contractErrorOf(t, r)
				}
				var body any = tt.body
				if tt.body == "" {
					body = map[string]any{"answers": good}
				}
				r = e.do("POST", "/api/v1/ballots/"+c, "", body, "Content-Type", "application/json")
				if r.status != tt.post {
					t.Errorf("POST %s: got %s, want %d", c, r, tt.post)
				} else {
					contractErrorOf(t, r)
				}
			}
		})
	}

	// Every form of a fresh code opens the same ballot, and any may vote.
	fresh := openCodes[2]
	want := admin.ballot(fresh)
	for _, c := range codeSpellings(fresh) {
		if diff := cmp.Diff(want, admin.ballot(c)); diff != "" {
			t.Errorf("GET %s differs from GET %s (-want +got):\n%s", c, fresh, diff)
		}
	}
	lower := strings.ToLower(strings.ReplaceAll(openCodes[3], "-", ""))
	if r := submitBallot(t, e.ts.URL, lower, good); r.status != 201 {
		t.Errorf("POST lower-case undashed code: got %s, want 201", r)
	}
	if r := submitBallot(t, e.ts.URL, openCodes[3], good); r.status != 409 {
		t.Errorf("POST the same code as printed after it voted lower-case: got %s, want 409", r)
	}
}

func TestBallotDocument(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	_, staff := admin.issue(id, "czj", "staff", 1)
	_, clients := admin.issue(id, "fgj", "clients", 1)
	admin.state(id, "open")

	d := admin.ballot(staff[0])
	if d.Round != id || d.Unit != "czj" || d.Category != "staff" {
		t.Errorf("got round %q unit %q category %q, want %q czj staff", d.Round, d.Unit, d.Category, id)
	}
	var ids []string
	for _, f := range d.Forms {
		ids = append(ids, f.ID)
	}
	if diff := cmp.Diff([]string{"team", "members"}, ids); diff != "" {
		t.Errorf("staff forms (-want +got):\n%s", diff)
	}
	team, members := d.Forms[0], d.Forms[1]
	if diff := cmp.Diff([]subjectDoc{{"czj", survey.Subject{ID: "team", Name: "领导班子"}}}, team.Subjects); diff != "" {
		t.Errorf("team subjects (-want +got):\n%s", diff)
	}
	if team.Overall != "综合评价" || team.Abstain != "不了解" || len(team.Items) != 5 {
		t.Errorf("team form: got overall %q abstain %q %d items", team.Overall, team.Abstain, len(team.Items))
	}
	if diff := cmp.Diff([]string{"优秀", "称职", "基本称职", "不称职"}, members.Options); diff != "" {
		t.Errorf("member options (-want +got):\n%s", diff)
	}
	if len(members.Subjects) != 4 || members.Subjects[0].ID != "czj-1" || members.Subjects[0].Post == "" {
		t.Errorf("member subjects: got %+v", members.Subjects)
	}

	c := admin.ballot(clients[0])
	if len(c.Forms) != 1 || c.Forms[0].ID != "service" || c.Forms[0].Abstain != "" {
		t.Errorf("clients: got forms %+v, want the service form only, without abstain", c.Forms)
	}
	if cc := e.do("GET", "/api/v1/ballots/"+staff[0], "", nil).header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("ballot Cache-Control: got %q, want no-store", cc)
	}
}

// TestBallotProblems: a 422 names each wrong answer and each missing one,
// and the slip stays usable.
func TestBallotProblems(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	_, codes := admin.issue(id, "czj", "staff", 1)
	admin.state(id, "open")
	code := codes[0]
	good := answerAll(admin.ballot(code), nil)

	bad := slices.Clone(good)
	bad[0].Option = "很好"                                                                           // not an option: team/team/团结协作 unanswered
	bad[1].Subject = "czj-9"                                                                       // no such subject: team/team/民主决策 unanswered
	bad[2].Item = "颜值"                                                                             // no such item: team/team/执行落实 unanswered
	bad = slices.Delete(bad, 3, 4)                                                                 // team/team/工作实绩 missing
	bad = append(bad, good[4])                                                                     // 党风廉政 twice
	bad = append(bad, survey.Answer{Form: "service", Subject: "team", Item: "服务态度", Option: "满意"}) // staff do not fill it
	bad = append(bad, survey.Answer{Form: "ghost", Subject: "team", Item: "x", Option: "好"})       // no such form
	n := len(bad)
	r := submitBallot(t, e.ts.URL, code, bad)
	if r.status != 422 {
		t.Fatalf("got %s, want 422", r)
	}
	want := []string{
		"answers[0]", "answers[1]", "answers[2]",
		fmt.Sprintf("answers[%d]", n-3), fmt.Sprintf("answers[%d]", n-2), fmt.Sprintf("answers[%d]", n-1),
		"team/team/团结协作", "team/team/执行落实", "team/team/民主决策", "team/team/工作实绩",
	}
	slices.Sort(want)
	eb := contractErrorOf(t, r)
	if diff := cmp.Diff(want, problemPathsOf(eb.Problems)); diff != "" {
		t.Errorf("problem paths (-want +got):\n%s\n%s", diff, r)
	}
	for _, p := range eb.Problems {
		if p.Message == "" {
			t.Errorf("problem %q has no message", p.Path)
		}
	}

	// Top limit: at most 2 of the 4 members 优秀 on 综合评价.
	three := answerAll(admin.ballot(code), func(form, subject, row string) string {
		if form == "members" && row == "综合评价" && subject != "czj-4" {
			return "优秀"
		}
		return ""
	})
	r = submitBallot(t, e.ts.URL, code, three)
	if r.status != 422 {
		t.Fatalf("3 members 优秀 with top_limit 2: got %s, want 422", r)
	}
	if diff := cmp.Diff([]string{"members/*/综合评价"}, problemPathsOf(contractErrorOf(t, r).Problems)); diff != "" {
		t.Errorf("top limit problem paths (-want +got):\n%s", diff)
	}

	// The slip is still good: a correct ballot (two 优秀 overall, every
	// member 优秀 on the items, some 不了解) is taken, once.
	ok := answerAll(admin.ballot(code), func(form, subject, row string) string {
		switch {
		case form == "members" && row == "综合评价" && (subject == "czj-1" || subject == "czj-2"):
			return "优秀"
		case form == "members" && row != "综合评价":
			return "优秀"
		case form == "team" && row == "党风廉政":
			return "不了解"
		}
		return ""
	})
	if r := submitBallot(t, e.ts.URL, code, ok); r.status != 201 {
		t.Fatalf("correct resubmission: got %s, want 201", r)
	}
	if r := submitBallot(t, e.ts.URL, code, ok); r.status != 409 {
		t.Errorf("second submission: got %s, want 409", r)
	}
	if u := turnoutOf(t, admin, id, "czj"); u.Voted != 1 {
		t.Errorf("czj voted: got %d, want 1", u.Voted)
	}
}

func TestTurnout(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	_, staff := admin.issue(id, "czj", "staff", 4)
	_, leaders := admin.issue(id, "czj", "leaders", 3)
	_, clients := admin.issue(id, "fgj", "clients", 2)
	admin.state(id, "open")
	for _, c := range []string{staff[0], staff[1], leaders[2], clients[0]} {
		if r := submitBallot(t, e.ts.URL, c, answerAll(admin.ballot(c), nil)); r.status != 201 {
			t.Fatalf("vote: got %s", r)
		}
	}
	r := admin.must(200, "GET", "/api/v1/rounds/"+id+"/turnout", nil)
	// Counts only: every unit and category, nothing else.
	var raw struct {
		Units []map[string]json.RawMessage `json:"units"`
	}
	r.decode(t, &raw)
	if len(raw.Units) != 6 {
		t.Fatalf("got %d units, want the example's 6", len(raw.Units))
	}
	for _, u := range raw.Units {
		var keys []string
		for k := range u {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if diff := cmp.Diff([]string{"categories", "id", "issued", "voted"}, keys); diff != "" {
			t.Errorf("turnout unit fields (-want +got):\n%s", diff)
		}
	}
	type cat struct {
		ID            string
		Issued, Voted int
	}
	check := func(unit string, issued, voted int, cats []cat) {
		t.Helper()
		u := turnoutOf(t, admin, id, unit)
		if u.Issued != issued || u.Voted != voted {
			t.Errorf("%s: got issued %d voted %d, want %d and %d", unit, u.Issued, u.Voted, issued, voted)
		}
		var got []cat
		for _, c := range u.Categories {
			got = append(got, cat{c.ID, c.Issued, c.Voted})
		}
		if diff := cmp.Diff(cats, got); diff != "" {
			t.Errorf("%s categories (-want +got):\n%s", unit, diff)
		}
	}
	check("czj", 7, 3, []cat{{"leaders", 3, 1}, {"cadres", 0, 0}, {"staff", 4, 2}, {"clients", 0, 0}})
	check("fgj", 2, 1, []cat{{"leaders", 0, 0}, {"cadres", 0, 0}, {"staff", 0, 0}, {"clients", 2, 1}})
	check("zzb", 0, 0, []cat{{"leaders", 0, 0}, {"cadres", 0, 0}, {"staff", 0, 0}, {"clients", 0, 0}})
	if r := admin.do("GET", "/api/v1/rounds/no-such-round/turnout", nil); r.status != 404 {
		t.Errorf("turnout of an unknown round: got %s, want 404", r)
	}
}

// ballotFormValues builds the ballot form post: every slot s0…s(n-1) with value v,
// except the slots in skip.
func ballotFormValues(n int, v string, step string, skip ...int) url.Values {
	f := url.Values{}
	for i := 0; i < n; i++ {
		if !slices.Contains(skip, i) {
			f.Set("s"+strconv.Itoa(i), v)
		}
	}
	if step != "" {
		f.Set("step", step)
	}
	return f
}

func postBallotForm(t *testing.T, base, code string, f url.Values) testResponse {
	t.Helper()
	return testRequest(t, base, "POST", "/b/"+code, "", f.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

// czjStaffSlots is the number of answers a czj staff ballot of the example
// gives: the team form (5 items + 综合评价) and 4 members × 6 rows.
const czjStaffSlots = 6 + 4*6

func TestBallotPageFlow(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	_, codes := admin.issue(id, "czj", "staff", 3)
	admin.state(id, "open")
	code := codes[0]

	t.Run("the ballot page", func(t *testing.T) {
		for _, c := range codeSpellings(code) {
			r := e.do("GET", "/b/"+c, "", nil)
			if r.status != 200 {
				t.Fatalf("GET /b/%s: got %d, want 200", c, r.status)
			}
			body := string(r.body)
			if got := strings.Count(body, `type="radio"`); got != czjStaffSlots*5 {
				t.Errorf("got %d radios, want %d (30 rows × 4 options and 不了解)", got, czjStaffSlots*5)
			}
			for _, want := range []string{"区财政局", "一般干部职工", "张建国", "检查并提交", `name="s29"`} {
				if !strings.Contains(body, want) {
					t.Errorf("the ballot page does not show %q", want)
				}
			}
			for _, f := range codeSpellings(code) {
				if strings.Contains(body, f) {
					t.Errorf("the ballot page contains the code %q", f)
				}
			}
			if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-cache") {
				t.Errorf("Cache-Control: got %q, want no-cache", cc)
			}
		}
		r := e.do("GET", "/b/"+code, "", nil, "Accept-Encoding", "gzip")
		if r.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding: got %q, want gzip", r.header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain, e.do("GET", "/b/"+codes[1], "", nil).body) {
			t.Errorf("gzip page of one slip differs from the plain page of another slip of the same unit and category")
		}
	})

	t.Run("missing answers come back listed, answers kept", func(t *testing.T) {
		r := postBallotForm(t, e.ts.URL, code, ballotFormValues(czjStaffSlots, "1", "review", 5, 7))
		if r.status != 422 {
			t.Fatalf("got %d, want 422", r.status)
		}
		body := string(r.body)
		if !strings.Contains(body, "还有 2 处需要处理") {
			t.Errorf("the page does not say 2 problems remain")
		}
		for _, row := range []string{`class=" m" id="r7"`, `class="o m" id="r5"`} {
			if !strings.Contains(body, row) {
				t.Errorf("the page does not mark %s", row)
			}
		}
		for _, link := range []string{`href="#r5"`, `href="#r7"`} {
			if !strings.Contains(body, link) {
				t.Errorf("the problem list has no link %s", link)
			}
		}
		if got := strings.Count(body, " checked"); got != czjStaffSlots-2 {
			t.Errorf("got %d answers kept checked, want %d", got, czjStaffSlots-2)
		}
		if !strings.Contains(body, `name="s0" value="1" checked`) {
			t.Errorf("answer s0=1 is not kept checked")
		}
		// Confirming an incomplete ballot is refused the same way.
		if r := postBallotForm(t, e.ts.URL, code, ballotFormValues(czjStaffSlots, "1", "confirm", 0)); r.status != 422 {
			t.Errorf("confirm with a missing answer: got %d, want 422", r.status)
		}
		// An option that does not exist is a problem, not a crash.
		f := ballotFormValues(czjStaffSlots, "1", "review")
		f.Set("s3", "9")
		if r := postBallotForm(t, e.ts.URL, code, f); r.status != 422 {
			t.Errorf("option 9 of 4: got %d, want 422", r.status)
		}
	})

	t.Run("review, edit, confirm", func(t *testing.T) {
		f := ballotFormValues(czjStaffSlots, "1", "review")
		f.Set("s0", "x") // 不了解
		r := postBallotForm(t, e.ts.URL, code, f)
		if r.status != 200 {
			t.Fatalf("review: got %d, want 200\n%.500s", r.status, r.body)
		}
		body := string(r.body)
		for _, want := range []string{"请确认您的评价", "确认提交", "返回修改", "团结协作：<b>不了解</b>", "民主决策：<b>较好</b>", "德：<b>称职</b>"} {
			if !strings.Contains(body, want) {
				t.Errorf("the review page does not show %q", want)
			}
		}
		if got := strings.Count(body, `type="hidden"`); got != czjStaffSlots {
			t.Errorf("review carries %d hidden answers, want %d", got, czjStaffSlots)
		}
		f.Set("step", "edit")
		r = postBallotForm(t, e.ts.URL, code, f)
		if r.status != 200 || strings.Count(string(r.body), " checked") != czjStaffSlots ||
			!strings.Contains(string(r.body), `name="s0" value="x" checked`) {
			t.Errorf("edit: got %d with %d checked, want the ballot with all %d checked", r.status, strings.Count(string(r.body), " checked"), czjStaffSlots)
		}
		f.Set("step", "confirm")
		r = postBallotForm(t, e.ts.URL, code, f)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/b/done" {
			t.Fatalf("confirm: got %d to %q, want 303 to /b/done", r.status, r.header.Get("Location"))
		}
		done := e.do("GET", "/b/done", "", nil)
		if done.status != 200 || !strings.Contains(string(done.body), "提交成功") {
			t.Errorf("/b/done: got %d, want 200 saying 提交成功", done.status)
		}
		again := postBallotForm(t, e.ts.URL, code, f)
		if again.status != 409 || !strings.Contains(string(again.body), "此测评码已使用") {
			t.Errorf("confirm again: got %d, want 409 saying 此测评码已使用", again.status)
		}
		if page := e.do("GET", "/b/"+code, "", nil); page.status != 409 {
			t.Errorf("GET the used code's page: got %d, want 409", page.status)
		}
		if u := turnoutOf(t, admin, id, "czj"); u.Voted != 1 {
			t.Errorf("czj voted: got %d, want 1", u.Voted)
		}
	})

	t.Run("enter a code", func(t *testing.T) {
		if r := e.do("GET", "/b", "", nil); r.status != 200 || !strings.Contains(string(r.body), `name="code"`) {
			t.Errorf("GET /b: got %d, want 200 with a code field", r.status)
		}
		c := codes[1]
		for _, typed := range codeSpellings(c) {
			r := e.do("GET", "/b?code="+url.QueryEscape(typed), "", nil)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/b/"+c {
				t.Errorf("GET /b?code=%s: got %d to %q, want 303 to /b/%s", typed, r.status, r.header.Get("Location"), c)
			}
		}
		if r := e.do("GET", "/b?code=12345", "", nil); r.status != 422 {
			t.Errorf("GET /b?code=12345: got %d, want 422", r.status)
		}
	})

	t.Run("pages for codes that cannot vote", func(t *testing.T) {
		draft := admin.createRound()
		_, dc := admin.issue(draft, "czj", "staff", 1)
		r := postBallotForm(t, e.ts.URL, dc[0], ballotFormValues(czjStaffSlots, "1", "confirm"))
		if r.status != 423 || !strings.Contains(string(r.body), "测评尚未开始") {
			t.Errorf("confirm on a draft round: got %d, want 423 saying 测评尚未开始", r.status)
		}
		if r := e.do("GET", "/b/2345-6789-ABCD-EFGH", "", nil); r.status != 404 || !strings.Contains(string(r.body), "测评码无效") {
			t.Errorf("unknown code page: got %d, want 404 saying 测评码无效", r.status)
		}
	})
}

// TestOneCodeManyRequests fires one code from 50 goroutines: exactly one
// ballot is taken.
func TestOneCodeManyRequests(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	_, codes := admin.issue(id, "czj", "staff", 1)
	admin.state(id, "open")
	body, err := json.Marshal(map[string]any{"answers": answerAll(admin.ballot(codes[0]), nil)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	forms := codeSpellings(codes[0])
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := http.Post(e.ts.URL+"/api/v1/ballots/"+forms[i%len(forms)], "application/json", bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			statuses[i] = res.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if diff := cmp.Diff(map[int]int{201: 1, 409: n - 1}, count); diff != "" {
		t.Errorf("statuses of %d racing submissions (-want +got):\n%s", n, diff)
	}
	ballots := 0
	if err := e.store.EachBallot(t.Context(), id, func(string, string, string, []byte) error { ballots++; return nil }); err != nil {
		t.Fatal(err)
	}
	if ballots != 1 {
		t.Errorf("got %d stored ballots, want 1", ballots)
	}
	if u := turnoutOf(t, admin, id, "czj"); u.Voted != 1 {
		t.Errorf("czj voted: got %d, want 1", u.Voted)
	}
}

// TestIssueWarnsOfSmallGroups: a batch that leaves its unit and category
// with fewer than min_group slips is issued, with a warning that says their
// ballots would enter no figure; the batches page says so too, and the
// warning goes once the group is large enough.
func TestIssueWarnsOfSmallGroups(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.admin()
	id := e.round
	path := "/api/v1/rounds/" + id + "/batches"
	var got struct {
		Codes    []string
		Warnings []string
	}
	admin.must(201, "POST", path, map[string]any{"unit": "czj", "category": "leaders", "count": 1}).decode(t, &got)
	if len(got.Codes) != 1 || len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "只发放了 1 张，少于 3 人") {
		t.Errorf("1 leader slip: codes %v, warnings %q; want the code and a warning naming 1 of 3", got.Codes, got.Warnings)
	}
	got.Warnings = nil
	admin.must(201, "POST", path, map[string]any{"unit": "czj", "category": "leaders", "count": 2}).decode(t, &got)
	if len(got.Warnings) != 0 {
		t.Errorf("3 leader slips in all: warnings %q, want none", got.Warnings)
	}
	admin.must(201, "POST", path, map[string]any{"unit": "fgj", "category": "leaders", "count": 2})
	cc := signIn(t, e.ts.URL, "admin", adminPassword)
	page := cc.must(http.StatusOK, cc.get("/console/rounds/"+id+"/batches"), "batches page")
	body := html.UnescapeString(string(page.body))
	if !strings.Contains(body, "区发展和改革局」的「区领导」只发放了 2 张") || strings.Contains(body, "区财政局」的「区领导」只发放") {
		t.Errorf("the batches page should warn of fgj's 2 leader slips and not of czj's 3:\n%.2000s", body)
	}
}

// TestOrganiserScopedToItsRound: an organiser created for round A runs A,
// and for round B gets what a missing round gets (404), through the API
// and the console alike; it sees only A in lists and cannot create rounds.
// An organiser created without a round runs every round.
func TestOrganiserScopedToItsRound(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.admin()
	a, b := e.round, admin.createRound()
	var scoped struct{ Token string }
	admin.must(201, "POST", "/api/v1/accounts", map[string]any{"name": "A 组织", "role": "organiser", "round": a, "password": "scoped-organiser-pw"}).decode(t, &scoped)
	org := apiClient{t: t, base: e.ts.URL, token: scoped.Token}

	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/v1/rounds/" + b}, {"GET", "/api/v1/rounds/" + b + "/batches"}, {"GET", "/api/v1/rounds/" + b + "/turnout"},
		{"POST", "/api/v1/rounds/" + b + "/open"}, {"POST", "/api/v1/rounds/" + b + "/close"}, {"POST", "/api/v1/rounds/" + b + "/seal"},
	} {
		if r := org.do(tc.method, tc.path, nil); r.status != http.StatusNotFound {
			t.Errorf("%s %s for another round: got %d, want 404", tc.method, tc.path, r.status)
		}
	}
	if r := org.do("POST", "/api/v1/rounds/"+b+"/batches", map[string]any{"unit": "czj", "category": "staff", "count": 5}); r.status != http.StatusNotFound {
		t.Errorf("issuing for another round: got %d, want 404", r.status)
	}
	org.must(201, "POST", "/api/v1/rounds/"+a+"/batches", map[string]any{"unit": "czj", "category": "staff", "count": 5})
	org.must(200, "GET", "/api/v1/rounds/"+a, nil)
	var list struct{ Rounds []struct{ ID string } }
	org.must(200, "GET", "/api/v1/rounds", nil).decode(t, &list)
	if len(list.Rounds) != 1 || list.Rounds[0].ID != a {
		t.Errorf("the scoped organiser lists %v, want only %s", list.Rounds, a)
	}
	if r := org.do("POST", "/api/v1/rounds", assets.Example(), "Content-Type", "application/yaml"); r.status != http.StatusForbidden {
		t.Errorf("the scoped organiser creating a round: got %d, want 403", r.status)
	}

	cc := signIn(t, e.ts.URL, "A 组织", "scoped-organiser-pw")
	if r := cc.get("/console/rounds/" + b + "/batches"); r.status != http.StatusNotFound {
		t.Errorf("console batches page of another round: got %d, want 404", r.status)
	}
	cc.must(http.StatusOK, cc.get("/console/rounds/"+a+"/batches"), "own round's batches page")
	if page := cc.must(http.StatusOK, cc.get("/console/rounds"), "rounds list"); bytes.Contains(page.body, []byte(b)) {
		t.Errorf("the console's round list shows another round")
	}
	if r := cc.get("/console/rounds/new"); r.status != http.StatusForbidden {
		t.Errorf("console new round page: got %d, want 403", r.status)
	}

	// Unscoped, as before.
	any := signIn(t, e.ts.URL, "考核办", organiserPassword)
	any.must(http.StatusOK, any.get("/console/rounds/"+b+"/batches"), "an unscoped organiser's view of any round")
}

// TestTokenGuessingThrottled: an address that presents 20 wrong bearer
// tokens within a minute is refused (429) for the rest of it, right token
// or not; another address is not held back; a configured admin token under
// 32 characters stops the start.
func TestTokenGuessingThrottled(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	guess := func(addr, token string) int {
		return testRequest(t, e.ts.URL, "GET", "/api/v1/rounds", token, nil, "X-Forwarded-For", addr).status
	}
	for i := range 20 {
		if got := guess("203.0.113.9", fmt.Sprintf("guess-%d", i)); got != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: got %d, want 401", i+1, got)
		}
	}
	if got := guess("203.0.113.9", testAdminToken); got != http.StatusTooManyRequests {
		t.Errorf("after 20 wrong tokens, the right one from that address: got %d, want 429", got)
	}
	if got := guess("198.51.100.4", testAdminToken); got != http.StatusOK {
		t.Errorf("the right token from another address: got %d, want 200", got)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	if _, err := New(e.store, key, Config{AdminToken: "short-token"}, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("an admin token of 11 characters: got %v, want a refusal", err)
	}
	if _, err := New(e.store, key, Config{TrustedProxies: []string{"10.0.0.0/8", "proxy.local"}}, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "proxy.local") {
		t.Errorf("a trusted proxy that is not an address: got %v, want a refusal naming it", err)
	}
}

// TestLinksBehindAProxy: without --base-url, slips' links take the
// request's scheme and host, and X-Forwarded-Proto/Host only from a trusted
// proxy: from anyone else those headers could point a hall's slips at
// another site.
func TestLinksBehindAProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []string
		want    string
	}{
		{"untrusted", nil, "http://127.0.0.1:"},
		{"trusted", []string{"127.0.0.0/8"}, "https://mp.example.gov.cn/b/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, func(c *Config) { c.TrustedProxies = tc.proxies })
			admin := e.admin()
			id := admin.createRound()
			var out struct{ Links []string }
			admin.must(201, "POST", "/api/v1/rounds/"+id+"/batches", map[string]any{"unit": "czj", "category": "staff", "count": 1},
				"X-Forwarded-Proto", "https", "X-Forwarded-Host", "mp.example.gov.cn").decode(t, &out)
			if len(out.Links) != 1 || !strings.HasPrefix(out.Links[0], tc.want) {
				t.Errorf("links %v, want them to start %q", out.Links, tc.want)
			}
		})
	}
}
