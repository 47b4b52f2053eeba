package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"minping/seal"
	"minping/survey/sqlite"
	"minping/tally"
)

// TestSealEndToEnd walks a round through define, open, issue, vote, close and
// seal, then fetches the documents, verifies their signatures with the public
// key, recounts them byte for byte and checks what an appraiser may read.
func TestSealEndToEnd(t *testing.T) {
	s := startMinping(t)
	admin := s.admin(t)
	id := admin.createRound()
	rp := "/api/v1/rounds/" + id
	_, staff := admin.issue(id, "czj", "staff", 4)
	_, leaders := admin.issue(id, "czj", "leaders", 3)
	_, other := admin.issue(id, "fgj", "staff", 3)
	admin.state(id, "open")
	admin.must(409, "POST", rp+"/seal", nil) // open: not yet

	// The team form: best option (好) or the default second (较好); members
	// keep the default (称职) so no top limit is in play.
	vote := func(code string, best bool) {
		t.Helper()
		answers := answerAll(admin.ballot(code), func(form, subject, row string) string {
			if best && form == "team" {
				return "好"
			}
			return ""
		})
		if r := submitBallot(t, s.base, code, answers); r.status != 201 {
			t.Fatalf("vote: got %s, want 201", r)
		}
	}
	for i, c := range staff[:3] {
		vote(c, i != 1) // 好, 较好, 好
	}
	for _, c := range leaders {
		vote(c, true)
	}
	for _, c := range other {
		vote(c, false)
	}
	admin.must(409, "GET", rp+"/units/czj/tally", nil) // no result before the seal
	admin.state(id, "close")
	admin.state(id, "seal")
	admin.must(409, "POST", rp+"/seal", nil) // once

	var pk struct{ Ed25519 string }
	admin.must(200, "GET", "/api/v1/pubkey", nil).decode(t, &pk)

	// Every document verifies offline with the public key (`minping
	// verify` calls the same tally.Verify).
	for _, p := range []string{"/tally", "/units/czj/tally", "/units/fgj/tally"} {
		docResp := admin.must(200, "GET", rp+p, nil)
		doc := docResp.body
		sig := admin.must(200, "GET", rp+p+".sig", nil).body
		if cc := docResp.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("GET %s: Cache-Control %q, want no-store (a sealed document stays out of browser caches)", p, cc)
		}
		if p == "/units/czj/tally" {
			if cd := docResp.header.Get("Content-Disposition"); !strings.Contains(cd, "filename*=UTF-8''"+url.PathEscape("区财政局-测评结果.json")) {
				t.Errorf("GET %s: Content-Disposition %q, want it named 区财政局-测评结果.json", p, cd)
			}
		}
		if err := tally.Verify(pk.Ed25519, doc, string(sig)); err != nil {
			t.Errorf("verify %s: %v", p, err)
		}
		tampered := bytes.Replace(doc, []byte(`"voted":`), []byte(`"voted": `), 1)
		if err := tally.Verify(pk.Ed25519, tampered, string(sig)); !errors.Is(err, tally.ErrBadSignature) {
			t.Errorf("verify of a tampered %s: got %v, want tally.ErrBadSignature", p, err)
		}
	}

	// The unit document says what was voted: czj has 3 of 4 staff and 3 of
	// 3 leaders; all ballots rated the team "好" (option 0) or "较好" (1).
	var czj struct {
		Issued, Voted int
		Score         json.Number
		Flags         []string
		Categories    []struct {
			ID            string
			Issued, Voted int
			Withheld      bool
		}
	}
	admin.must(200, "GET", rp+"/units/czj/tally", nil).decode(t, &czj)
	if czj.Issued != 7 || czj.Voted != 6 {
		t.Errorf("czj issued/voted: got %d/%d, want 7/6", czj.Issued, czj.Voted)
	}
	// Team form (weight 2): leaders all 好 (100); staff 好,较好,好 → 93.33…;
	// cadres did not vote. Item score = (20·100 + 30·93.33…) ÷ 50 = 96.
	// The service form has no votes (no clients issued), so the team score
	// is the team form's: 96.00.
	if czj.Score.String() != "96.00" {
		t.Errorf("czj score: got %s, want 96.00", czj.Score)
	}
	if !contains(czj.Flags, "reweighted") {
		t.Errorf("czj flags %v: want reweighted (cadres had no ballots)", czj.Flags)
	}

	// Recount from the stored ballots, through a second store on the data
	// directory as `minping recount` opens it, reproduces every document.
	ctx := context.Background()
	store, err := OpenStore(ctx, Config{Data: s.data}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rep, err := seal.Recount(ctx, store, id)
	if err != nil {
		t.Fatalf("recount: %v", err)
	}
	if len(rep.Checks) != 7 || !rep.Identical() {
		t.Errorf("recount: %d documents, identical %v, want 7 identical: %+v", len(rep.Checks), rep.Identical(), rep.Checks)
	}

	// Compacting the data directory by hand works while minping serves.
	if err := store.(*sqlite.Store).Compact(ctx); err != nil {
		t.Errorf("compact: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(s.data, "minping.db-wal")); err == nil && fi.Size() != 0 {
		t.Errorf("after compact the WAL holds %d bytes, want 0", fi.Size())
	}

	// An appraiser of czj reads czj and nothing else.
	var acc struct{ Token string }
	admin.must(201, "POST", "/api/v1/accounts", map[string]any{"name": "考核一组", "role": "appraiser", "round": id, "units": []string{"czj"}}).decode(t, &acc)
	appraiser := apiClient{t: t, base: s.base, token: acc.Token}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/units/czj/tally", 200}, {"/units/czj/tally.sig", 200}, {"/report", 200}, {"/tally.xlsx", 200}, {"/tally.csv", 200},
		{"/units/fgj/tally", 404}, {"/units/fgj/tally.sig", 404}, {"/units/nosuch/tally", 404},
		{"/tally", 403}, {"/tally.sig", 403}, {"/turnout", 403}, {"/batches", 403},
	} {
		if r := appraiser.do("GET", rp+tc.path, nil); r.status != tc.want {
			t.Errorf("appraiser GET %s: got %d, want %d: %.200s", tc.path, r.status, tc.want, r.body)
		}
	}
	csv := string(appraiser.must(200, "GET", rp+"/tally.csv", nil).body)
	report := string(appraiser.must(200, "GET", rp+"/report", nil).body)
	// Times people read are Beijing time, labelled; a round without grading
	// prints no grade word (不定等次 would itself be an adverse grade).
	if !strings.Contains(report, "（北京时间）") || strings.Contains(report, "UTC") || strings.Contains(report, "不定等次") {
		t.Errorf("the report should give the seal time in Beijing time and no grade word")
	}

	// czj's 服务对象 were issued no slips: their row says 未发放 and the
	// 满意度 table keeps one column per option under its header.
	if !strings.Contains(report, `<td colspan="3">未发放</td>`) || !strings.Contains(report, "（无有效票）") ||
		!strings.Contains(report, `<th class="l" colspan="6">服务对象满意度测评`) {
		t.Errorf("the report of a unit without 服务对象 slips: want 未发放, 无有效票 and a 6-column 满意度 table")
	}
	for name, text := range map[string]string{"csv": csv, "report": report} {
		if !strings.Contains(text, "区财政局") || strings.Contains(text, "区发展和改革局") {
			t.Errorf("appraiser %s should name 区财政局 only:\n%.400s", name, text)
		}
	}
	appraiser.must(404, "GET", "/api/v1/rounds/other-round/units/czj/tally", nil)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
