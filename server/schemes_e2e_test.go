package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"minping/seal"
	"minping/survey"
)

// The three shipped example schemes (assets/examples), each run end to end
// through the HTTP API: define → issue → open → vote → close → seal →
// (results → finalize) → documents → recount → publication. The votes are
// chosen so that every figure can be worked out by hand from CONTRACT §3
// and §5; the arithmetic is written next to each expectation.
//
// Scales used below: level 好 100 · 较好 80 · 一般 60 · 差 40;
// grade 优秀 100 · 称职 80 · 基本称职 60 · 不称职 40;
// satisfaction 满意 100 · 比较满意 80 · 基本满意 60 · 不满意 0.

// ---- documents as the tests read them -------------------------------------

// Scores and shares are read as json.Number so that the printed text
// ("84.00", "0.6000") is compared; null reads as "".

type sxComponent struct {
	ID     string
	Points json.Number
	Score  json.Number
	Value  json.Number
	Flags  []string
}

type sxRow struct {
	Name    string
	Score   json.Number
	Counts  map[string]int
	Abstain int
	Valid   int
}

type sxForm struct {
	ID        string
	Reference bool
	Score     json.Number
	Valid     int
	Shares    map[string]json.Number
	Flags     []string
	Items     []sxRow
	Overall   *sxRow
}

type sxSubject struct {
	ID         string
	Score      json.Number
	Component  json.Number
	Components []sxComponent
	Rank       *int
	Grade      *string
	Flags      []string
	Forms      []sxForm
}

type sxCategory struct {
	ID       string
	Issued   int
	Voted    int
	Withheld bool
}

type sxUnitRef struct{ ID, Name, Type string }

type sxUnit struct {
	Unit              sxUnitRef
	Issued            int
	Voted             int
	Turnout           json.Number
	QuorumMet         bool `json:"quorum_met"`
	Score             json.Number
	Component         json.Number
	Components        []sxComponent
	Rank              *int
	RankOf            int `json:"rank_of"`
	Grade             *string
	Flags             []string
	BreakdownWithheld bool `json:"breakdown_withheld"`
	Subjects          []sxSubject
	Categories        []sxCategory
}

type sxRound struct {
	Units []sxUnit
}

type sxResultUnit struct {
	Unit  sxUnitRef
	Parts []struct {
		ID    string
		Value json.Number
	}
	Components  []sxComponent
	Adjustments []struct {
		Points json.Number
		Reason string
	}
	Bonus   json.Number
	Penalty json.Number
	Total   json.Number
	Rank    *int
	RankOf  int `json:"rank_of"`
	Grade   *string
	Veto    string
	Flags   []string
}

type sxResults struct {
	TallySHA256 string `json:"tally_sha256"`
	Points      json.Number
	Units       []sxResultUnit
}

type sxPublication struct {
	Source string
	Units  []map[string]json.RawMessage
}

func (r *sxRound) unit(t *testing.T, id string) *sxUnit {
	t.Helper()
	for i := range r.Units {
		if r.Units[i].Unit.ID == id {
			return &r.Units[i]
		}
	}
	t.Fatalf("round document: no unit %s", id)
	return nil
}

func (r *sxResults) unit(t *testing.T, id string) *sxResultUnit {
	t.Helper()
	for i := range r.Units {
		if r.Units[i].Unit.ID == id {
			return &r.Units[i]
		}
	}
	t.Fatalf("results document: no unit %s", id)
	return nil
}

func (u *sxUnit) subject(t *testing.T, id string) *sxSubject {
	t.Helper()
	for i := range u.Subjects {
		if u.Subjects[i].ID == id {
			return &u.Subjects[i]
		}
	}
	t.Fatalf("unit %s: no subject %s", u.Unit.ID, id)
	return nil
}

func (u *sxUnit) category(t *testing.T, id string) *sxCategory {
	t.Helper()
	for i := range u.Categories {
		if u.Categories[i].ID == id {
			return &u.Categories[i]
		}
	}
	t.Fatalf("unit %s: no category %s", u.Unit.ID, id)
	return nil
}

func (s *sxSubject) form(t *testing.T, id string) *sxForm {
	t.Helper()
	for i := range s.Forms {
		if s.Forms[i].ID == id {
			return &s.Forms[i]
		}
	}
	t.Fatalf("subject %s: no form %s", s.ID, id)
	return nil
}

func sxComp(t *testing.T, where string, cs []sxComponent, id string) *sxComponent {
	t.Helper()
	for i := range cs {
		if cs[i].ID == id {
			return &cs[i]
		}
	}
	t.Errorf("%s: no component %s in %+v", where, id, cs)
	return &sxComponent{}
}

// ---- checks ----------------------------------------------------------------

// sxNum checks a printed number; want "" is null.
func sxNum(t *testing.T, what string, got json.Number, want string) {
	t.Helper()
	if string(got) != want {
		g, w := string(got), want
		if g == "" {
			g = "null"
		}
		if w == "" {
			w = "null"
		}
		t.Errorf("%s: got %s, want %s", what, g, w)
	}
}

// sxFlags checks a flag list as a set.
func sxFlags(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s flags: got %v, want %v", what, got, want)
	}
}

// sxRank checks a rank; want 0 is null.
func sxRank(t *testing.T, what string, got *int, want int) {
	t.Helper()
	switch {
	case got == nil && want != 0:
		t.Errorf("%s rank: got null, want %d", what, want)
	case got != nil && *got != want:
		w := strconv.Itoa(want)
		if want == 0 {
			w = "null"
		}
		t.Errorf("%s rank: got %d, want %s", what, *got, w)
	}
}

// sxGrade checks a grade; want "" is null.
func sxGrade(t *testing.T, what string, got *string, want string) {
	t.Helper()
	switch {
	case got == nil && want != "":
		t.Errorf("%s grade: got null, want %s", what, want)
	case got != nil && *got != want:
		w := want
		if want == "" {
			w = "null"
		}
		t.Errorf("%s grade: got %q, want %s", what, *got, w)
	}
}

// ---- running a round -------------------------------------------------------

// schemeRun is one example round on a fresh test server.
type schemeRun struct {
	t  *testing.T
	e  *testEnv
	a  apiClient
	id string
	rp string
}

func newSchemeRun(t *testing.T, e *testEnv, example string) *schemeRun {
	t.Helper()
	def, err := os.ReadFile(filepath.Join("..", "assets", "examples", example))
	if err != nil {
		t.Fatal(err)
	}
	a := e.admin()
	id := a.createRound(def)
	return &schemeRun{t: t, e: e, a: a, id: id, rp: "/api/v1/rounds/" + id}
}

type sxIssued struct {
	ID       string
	Codes    []string
	Warnings []string
}

// issue posts one batch request body and returns the codes.
func (r *schemeRun) issue(body map[string]any) sxIssued {
	r.t.Helper()
	var out sxIssued
	r.a.must(http.StatusCreated, "POST", r.rp+"/batches", body).decode(r.t, &out)
	if n, ok := body["count"].(int); ok && len(out.Codes) != n {
		r.t.Fatalf("issue %v: got %d codes", body, len(out.Codes))
	}
	return out
}

func (r *schemeRun) unitSlips(unit, category string, n int) []string {
	r.t.Helper()
	return r.issue(map[string]any{"unit": unit, "category": category, "count": n}).Codes
}

func (r *schemeRun) allSlips(category string, n int) []string {
	r.t.Helper()
	return r.issue(map[string]any{"category": category, "count": n}).Codes
}

// chooser gives the option a voter picks for a row (unit, form, subject,
// row name); it must answer every row.
type chooser func(unit, form, subject, row string) string

// vote fetches a ballot, answers every row of every subject (unit named on
// each answer) with choose, and submits it.
func (r *schemeRun) vote(code string, choose chooser) ballotDoc {
	r.t.Helper()
	d := r.a.ballot(code)
	var answers []survey.Answer
	for _, f := range d.Forms {
		rows := slices.Clone(f.Items)
		if f.Overall != "" {
			rows = append(rows, f.Overall)
		}
		for _, s := range f.Subjects {
			if s.Unit == "" {
				r.t.Errorf("ballot of %s: subject %s of form %s carries no unit", d.Category, s.ID, f.ID)
			}
			for _, row := range rows {
				opt := choose(s.Unit, f.ID, s.ID, row)
				if opt == "" {
					r.t.Fatalf("no option chosen for %s/%s/%s/%s", s.Unit, f.ID, s.ID, row)
				}
				answers = append(answers, survey.Answer{Unit: s.Unit, Form: f.ID, Subject: s.ID, Item: row, Option: opt})
			}
		}
	}
	if res := submitBallot(r.t, r.e.ts.URL, code, answers); res.status != http.StatusCreated {
		r.t.Fatalf("vote %s (%s): got %s, want 201", d.Category, d.Unit, res)
	}
	return d
}

// checkTurnout compares GET …/turnout with issued/voted per unit.
func (r *schemeRun) checkTurnout(want map[string]unitExpect) {
	r.t.Helper()
	var out struct {
		Units []struct {
			ID            string
			Issued, Voted int
		}
	}
	r.a.must(http.StatusOK, "GET", r.rp+"/turnout", nil).decode(r.t, &out)
	seen := 0
	for _, u := range out.Units {
		w, ok := want[u.ID]
		if !ok {
			continue
		}
		seen++
		if u.Issued != w.issued || u.Voted != w.voted {
			r.t.Errorf("turnout %s: got %d/%d, want %d/%d", u.ID, u.Issued, u.Voted, w.issued, w.voted)
		}
	}
	if seen != len(want) {
		r.t.Errorf("turnout lists %d of the %d units", seen, len(want))
	}
}

func (r *schemeRun) roundDoc() (sxRound, []byte) {
	r.t.Helper()
	res := r.a.must(http.StatusOK, "GET", r.rp+"/tally", nil)
	var d sxRound
	res.decode(r.t, &d)
	return d, res.body
}

func (r *schemeRun) unitDoc(unit string) sxUnit {
	r.t.Helper()
	var d sxUnit
	r.a.must(http.StatusOK, "GET", r.rp+"/units/"+unit+"/tally", nil).decode(r.t, &d)
	return d
}

func (r *schemeRun) recount() {
	r.t.Helper()
	rep, err := seal.Recount(context.Background(), r.e.store, r.id)
	if err != nil {
		r.t.Fatalf("recount: %v", err)
	}
	if !rep.Identical() {
		r.t.Errorf("recount is not identical: %+v", rep.Checks)
	}
}

// publication fetches the 公示 list and checks that it shows no scores,
// totals or ranks (publish_scores is not set in any example); it returns
// each unit's grade ("" for null).
func (r *schemeRun) publication() map[string]string {
	r.t.Helper()
	var p sxPublication
	res := r.a.must(http.StatusOK, "GET", r.rp+"/publication", nil)
	res.decode(r.t, &p)
	grades := map[string]string{}
	for _, u := range p.Units {
		var id string
		_ = json.Unmarshal(u["id"], &id)
		for _, k := range []string{"score", "total", "rank", "component", "components"} {
			if v, ok := u[k]; ok && string(v) != "null" {
				r.t.Errorf("publication unit %s shows %s = %s without publish_scores", id, k, v)
			}
		}
		var g *string
		_ = json.Unmarshal(u["grade"], &g)
		if g != nil {
			grades[id] = *g
		} else {
			grades[id] = ""
		}
	}
	return grades
}

// unitExpect is what a unit document (or a unit of the round document)
// should say.
type unitExpect struct {
	issued, voted int
	turnout       string
	score         string
	component     string
	comps         map[string][2]string // id → {score, value}
	flags         []string
	rank          int // by score (round document)
}

func (r *schemeRun) checkUnit(where string, u *sxUnit, w unitExpect) {
	t := r.t
	t.Helper()
	id := where + " " + u.Unit.ID
	if u.Issued != w.issued || u.Voted != w.voted {
		t.Errorf("%s issued/voted: got %d/%d, want %d/%d", id, u.Issued, u.Voted, w.issued, w.voted)
	}
	sxNum(t, id+" turnout", u.Turnout, w.turnout)
	sxNum(t, id+" score", u.Score, w.score)
	sxNum(t, id+" component", u.Component, w.component)
	for cid, sv := range w.comps {
		c := sxComp(t, id, u.Components, cid)
		sxNum(t, id+" component "+cid+" score", c.Score, sv[0])
		sxNum(t, id+" component "+cid+" value", c.Value, sv[1])
	}
	sxFlags(t, id, u.Flags, w.flags...)
	sxRank(t, id, u.Rank, w.rank)
}

// ---- county: 20 of 100 -----------------------------------------------------

// TestSchemeCounty runs county-20-of-100.yaml: 县四大家领导 on one sheet
// over all 8 units, 本单位班子成员 with recusal slips, 干部职工 per unit; one
// component 干部群众评价 of 20 points over team + cadres; total 100 =
// performance 80 + 20; grading by total within type; members graded too.
//
// It runs on each store: the embedded SQLite, and PostgreSQL
// (TestSchemeCountyPostgres).
func TestSchemeCounty(t *testing.T) { testSchemeCounty(t, newTestEnv(t)) }

func TestSchemeCountyPostgres(t *testing.T) { testSchemeCounty(t, newPostgresTestEnv(t)) }

func testSchemeCounty(t *testing.T, e *testEnv) {
	r := newSchemeRun(t, e, "county-20-of-100.yaml")

	// Team form (level scale), by category and unit; every voter of a
	// category gives the same option on every row (items and 综合评价).
	leadersTeam := map[string]string{"cgz": "好", "xqz": "较好", "smx": "较好", "bsz": "一般", "fgj": "好", "czj": "好", "jyj": "好", "zjj": "较好"}
	membersTeam := map[string]string{"cgz": "好", "xqz": "好", "smx": "较好", "fgj": "较好", "czj": "好", "zjj": "较好"}
	staffTeam := map[string]string{"cgz": "好", "xqz": "较好", "smx": "一般", "bsz": "好", "fgj": "好", "czj": "差", "jyj": "较好", "zjj": "好"}
	// Members (grade scale): everyone 称职 but for these.
	leadersTop := map[string]bool{"bsz-1": true, "cgz-1": true, "xqz-1": true, "smx-1": true, "fgj-1": true, "zjj-1": true, "czj-1": true, "czj-2": true}

	leaderChoice := func(unit, form, subject, row string) string {
		switch form {
		case "team":
			return leadersTeam[unit]
		case "cadres":
			if leadersTop[subject] {
				return "优秀"
			}
			return "称职"
		}
		t.Fatalf("leaders' ballot has form %s (unity's voters are members and staff)", form)
		return ""
	}
	memberChoice := func(unit, form, subject, row string) string {
		switch form {
		case "team":
			return membersTeam[unit]
		case "unity":
			return "较好"
		}
		return "称职"
	}
	staffChoice := func(unit, form, subject, row string) string {
		switch {
		case form == "team":
			return staffTeam[unit]
		case form == "unity" && (unit == "smx" || unit == "bsz"):
			return "差"
		case form == "unity":
			return "较好"
		case unit == "bsz":
			return "不称职" // bsz's 2 staff are a small group: none of this may count
		case subject == "czj-1" && row == "综合评价":
			return "基本称职" // high on the items, low on the overall row
		case subject == "czj-1":
			return "优秀"
		}
		return "称职"
	}

	// ---- issue
	leaders := r.allSlips("leaders", 3)
	members := map[string]map[string]string{} // unit → member → code
	memberUnits := map[string][]string{
		"cgz": {"cgz-1", "cgz-2", "cgz-3", "cgz-4", "cgz-5"},
		"xqz": {"xqz-1", "xqz-2", "xqz-3", "xqz-4"},
		"smx": {"smx-1", "smx-2", "smx-3"},
		"fgj": {"fgj-1", "fgj-2", "fgj-3", "fgj-4"},
		"czj": {"czj-1", "czj-2", "czj-3"},
		"zjj": {"zjj-1", "zjj-2", "zjj-3"},
	}
	for unit, ms := range memberUnits {
		members[unit] = map[string]string{}
		for _, m := range ms {
			// A recusal batch names the member and gives one slip.
			out := r.issue(map[string]any{"unit": unit, "category": "members", "member": m})
			if len(out.Codes) != 1 {
				t.Fatalf("recusal batch for %s: got %d codes, want 1", m, len(out.Codes))
			}
			members[unit][m] = out.Codes[0]
		}
	}
	staffCount := map[string]int{"cgz": 3, "xqz": 3, "smx": 3, "bsz": 2, "fgj": 3, "czj": 4, "jyj": 3, "zjj": 9}
	staff := map[string][]string{}
	for unit, n := range staffCount {
		out := r.issue(map[string]any{"unit": unit, "category": "staff", "count": n})
		staff[unit] = out.Codes
		if unit == "bsz" && len(out.Warnings) == 0 {
			t.Errorf("issuing 2 staff slips of bsz (min_group 3): no small-group warning")
		}
	}

	r.a.state(r.id, "open")

	// ---- vote
	for _, c := range leaders {
		d := r.vote(c, leaderChoice)
		if len(d.Units) != 8 {
			t.Errorf("a leaders' (sheet: all) ballot lists %d units, want all 8", len(d.Units))
		}
	}
	for unit, byMember := range members {
		for holder, code := range byMember {
			// The recusal ballot never shows the holder's own rows, and
			// shows every other member of the unit.
			d := r.a.ballot(code)
			var cadres []string
			for _, f := range d.Forms {
				for _, s := range f.Subjects {
					if s.ID == holder {
						t.Errorf("the recusal ballot of %s shows its holder on form %s", holder, f.ID)
					}
					if s.Unit != "" && s.Unit != unit {
						t.Errorf("the recusal ballot of %s shows unit %s", holder, s.Unit)
					}
					if f.ID == "cadres" {
						cadres = append(cadres, s.ID)
					}
				}
			}
			var others []string
			for _, m := range memberUnits[unit] {
				if m != holder {
					others = append(others, m)
				}
			}
			slices.Sort(cadres)
			if !slices.Equal(cadres, others) {
				t.Errorf("the recusal ballot of %s rates members %v, want %v", holder, cadres, others)
			}
			r.vote(code, memberChoice)
		}
	}
	for unit, codes := range staff {
		n := len(codes)
		if unit == "zjj" {
			n = 3 // 3 of 9: turnout 9/15 = 0.6 < 2/3
		}
		for _, c := range codes[:n] {
			r.vote(c, staffChoice)
		}
	}

	r.a.state(r.id, "close")
	r.a.state(r.id, "seal")

	// Before finalize no grade by total is published and there is no
	// results document.
	r.a.must(http.StatusConflict, "GET", r.rp+"/publication", nil)
	r.a.must(http.StatusConflict, "GET", r.rp+"/results", nil)

	// ---- the sealed unit documents
	//
	// Component 干部群众评价, 20 points, over team + cadres; weights 乡镇
	// leaders 40 · members 20 · staff 40, 县直部门 30 · 20 · 50. The team's
	// subject score is its team form's (unity is scored: false); unit score =
	// Σ values ÷ Σ points × 100 = the one component's score; value = score ×
	// 20 ÷ 100.
	want := map[string]unitExpect{
		// cgz: L 好, M 好, S 好 → 100; value 100 × 20 ÷ 100 = 20. Issued: 3
		// leaders' sheets rate every unit + 5 recusal + 3 staff = 11.
		"cgz": {11, 11, "1.0000", "100.00", "20.00", map[string][2]string{"public": {"100.00", "20.00"}}, nil, 1},
		// xqz: (40·80 + 20·100 + 40·80) ÷ 100 = 84 → 16.80; 3 + 4 + 3 = 10.
		"xqz": {10, 10, "1.0000", "84.00", "16.80", map[string][2]string{"public": {"84.00", "16.80"}}, nil, 2},
		// smx: (40·80 + 20·80 + 40·60) ÷ 100 = 72 → 14.40; 3 + 3 + 3 = 9.
		// Team form overall: 6 of 9 in the two best = 2/3, not < 2/3: no
		// flag. unity (scored: false, no overall: all 3 items): members 9 较好,
		// staff 9 差 → 差 0.5 > 1/3 lowest_over, best two 0.5 < 2/3
		// top_two_under; §5.6: scored: false forms keep their share flags, and
		// a subject's flags are those of every form rating it.
		"smx": {9, 9, "1.0000", "72.00", "14.40", map[string][2]string{"public": {"72.00", "14.40"}}, []string{"lowest_over", "top_two_under"}, 3},
		// bsz: staff has 2 ballots < min_group 3 → excluded (v2 default);
		// no member slips. Only leaders remain: 60 → 12.00 (counting the
		// staff would give (40·60 + 40·100) ÷ 80 = 80). Overall: 3 一般 →
		// best two 0 < 2/3: top_two_under; reweighted (members and, being
		// excluded, staff have no valid votes); small_group. Issued 3 + 2.
		"bsz": {5, 5, "1.0000", "60.00", "12.00", map[string][2]string{"public": {"60.00", "12.00"}}, []string{"top_two_under", "reweighted", "small_group"}, 4},
		// fgj: (30·100 + 20·80 + 50·100) ÷ 100 = 96 → 19.20; 3 + 4 + 3.
		"fgj": {10, 10, "1.0000", "96.00", "19.20", map[string][2]string{"public": {"96.00", "19.20"}}, nil, 1},
		// czj: (30·100 + 20·100 + 50·40) ÷ 100 = 70 → 14.00; 3 + 3 + 4.
		// Overall: 6 好, 4 差 of 10 → 差 0.4 > 1/3 lowest_over; best two 0.6
		// < 2/3 top_two_under.
		"czj": {10, 10, "1.0000", "70.00", "14.00", map[string][2]string{"public": {"70.00", "14.00"}}, []string{"lowest_over", "top_two_under"}, 4},
		// jyj: no member slips → (30·100 + 50·80) ÷ 80 = 87.5 → 17.50;
		// reweighted. 3 + 3.
		"jyj": {6, 6, "1.0000", "87.50", "17.50", map[string][2]string{"public": {"87.50", "17.50"}}, []string{"reweighted"}, 3},
		// zjj: (30·80 + 20·80 + 50·100) ÷ 100 = 90 → 18.00; issued 3 + 3 +
		// 9 = 15, voted 3 + 3 + 3 = 9: 0.6 < 2/3 quorum_not_met.
		"zjj": {15, 9, "0.6000", "90.00", "18.00", map[string][2]string{"public": {"90.00", "18.00"}}, []string{"quorum_not_met"}, 2},
	}
	// Round-document ranks are by score within type (by: total keeps
	// grades out of it): 乡镇 cgz 100 > xqz 84 > smx 72 > bsz 60; 县直部门 fgj
	// 96 > zjj 90 > jyj 87.5 > czj 70.
	r.checkTurnout(want)
	round, roundBytes := r.roundDoc()
	for unit, w := range want {
		u := r.unitDoc(unit)
		r.checkUnit("unit document", &u, w)
		r.checkUnit("round document", round.unit(t, unit), w)
		if u.RankOf != 4 {
			t.Errorf("unit %s rank_of: got %d, want 4 (units of its type)", unit, u.RankOf)
		}
		// by: total — the sealed round document keeps grade null.
		sxGrade(t, "round document "+unit, round.unit(t, unit).Grade, "")
		sxGrade(t, "unit document "+unit, u.Grade, "")
		// unity is reported but not scored.
		if f := u.subject(t, "team").form(t, "unity"); !f.Reference {
			t.Errorf("unit %s: the unity form (scored: false) is not marked reference", unit)
		}
	}

	// Per-category turnout, with the small group withheld.
	bsz := r.unitDoc("bsz")
	if c := bsz.category(t, "staff"); c.Issued != 2 || c.Voted != 2 || !c.Withheld {
		t.Errorf("bsz staff: got %+v, want issued 2, voted 2, withheld", *c)
	}
	if c := bsz.category(t, "leaders"); c.Issued != 3 || c.Voted != 3 {
		t.Errorf("bsz leaders: got %+v, want 3/3 (the all sheet counts in every unit)", *c)
	}
	if !bsz.BreakdownWithheld {
		t.Errorf("bsz: breakdown_withheld false, want true (a small category)")
	}
	// The excluded staff enter no count: unity has no valid vote, and
	// the team's 综合评价 holds the 3 leaders' 一般 only.
	if f := bsz.subject(t, "team").form(t, "unity"); f.Valid != 0 || len(f.Flags) != 0 {
		t.Errorf("bsz unity: valid %d flags %v, want 0 and none (its only voters are the excluded staff)", f.Valid, f.Flags)
	}
	if o := bsz.subject(t, "team").form(t, "team").Overall; o == nil || o.Valid != 3 || o.Counts["一般"] != 3 || o.Counts["好"] != 0 {
		t.Errorf("bsz team overall: got %+v, want 3 valid, all 一般", o)
	}
	zjj := r.unitDoc("zjj")
	if c := zjj.category(t, "staff"); c.Issued != 9 || c.Voted != 3 {
		t.Errorf("zjj staff: got %d/%d, want 9/3", c.Issued, c.Voted)
	}
	cgz := r.unitDoc("cgz")
	if c := cgz.category(t, "members"); c.Issued != 5 || c.Voted != 5 {
		t.Errorf("cgz members: got %d/%d, want 5/5 (one recusal slip each)", c.Issued, c.Voted)
	}
	// xqz team shares over 综合评价: 4 好 (members), 6 较好 (3 leaders + 3
	// staff) of 10.
	xqz := r.unitDoc("xqz")
	xf := xqz.subject(t, "team").form(t, "team")
	if xf.Valid != 10 {
		t.Errorf("xqz team form valid: got %d, want 10", xf.Valid)
	}
	sxNum(t, "xqz team share 好", xf.Shares["好"], "0.4000")
	sxNum(t, "xqz team share 较好", xf.Shares["较好"], "0.6000")

	// Each member is rated by the others: 综合评价 of cadres counts the
	// other members' recusal slips + 3 leaders + the staff.
	rated := map[string]int{
		"cgz": 4 + 3 + 3, "xqz": 3 + 3 + 3, "smx": 2 + 3 + 3,
		"fgj": 3 + 3 + 3, "czj": 2 + 3 + 4, "zjj": 2 + 3 + 3,
		"bsz": 3, // leaders only: no member slips, staff excluded
		"jyj": 3 + 3,
	}
	for unit, n := range rated {
		u := round.unit(t, unit)
		for _, s := range u.Subjects {
			if s.ID == "team" {
				continue
			}
			if o := s.form(t, "cadres").Overall; o == nil || o.Valid != n {
				t.Errorf("member %s: 综合评价 has %+v, want %d valid votes", s.ID, o, n)
			}
		}
	}

	// ---- members (member_grading within the round; 31 members, all with
	// a score). Member score = its cadres form score (one component).
	//   bsz-1: leaders only (优秀) → 100
	//   czj-1: items (30·100 + 20·80 + 50·100) ÷ 100 = 96; 综合评价 3 优秀,
	//          2 称职, 4 基本称职 → best two 5/9 < 2/3: top_two_under
	//   cgz-1, xqz-1, smx-1 (乡镇): (40·100 + 20·80 + 40·80) ÷ 100 = 88
	//   fgj-1, zjj-1, czj-2 (县直部门): (30·100 + 20·80 + 50·80) ÷ 100 = 86
	//   the other 23: 80 (all 称职)
	// 优秀: share 20 → 31 × 20 ÷ 100 = 6.2 → 6 places; bar top_two_under.
	// Order: bsz-1 (b 0), czj-1 (b 1), the 88s (b 2), the 86s (b 5), the
	// 80s (b 8). czj-1 is barred → 称职 (its place is not handed on); the
	// 86s have b = 5 < 6 → 优秀 (tied: all take the better grade); the 80s
	// b = 8 → 称职. Ranks: 1, 2, 3, 6, 9.
	memberWant := map[string]struct {
		score string
		rank  int
		grade string
	}{
		"bsz-1": {"100.00", 1, "优秀"},
		"czj-1": {"96.00", 2, "称职"},
		"cgz-1": {"88.00", 3, "优秀"}, "xqz-1": {"88.00", 3, "优秀"}, "smx-1": {"88.00", 3, "优秀"},
		"fgj-1": {"86.00", 6, "优秀"}, "zjj-1": {"86.00", 6, "优秀"}, "czj-2": {"86.00", 6, "优秀"},
	}
	nMembers := 0
	for _, u := range round.Units {
		for _, s := range u.Subjects {
			if s.ID == "team" {
				continue
			}
			nMembers++
			w, ok := memberWant[s.ID]
			if !ok {
				w.score, w.rank, w.grade = "80.00", 9, "称职"
			}
			sxNum(t, "member "+s.ID+" score", s.Score, w.score)
			sxRank(t, "member "+s.ID, s.Rank, w.rank)
			sxGrade(t, "member "+s.ID, s.Grade, w.grade)
		}
	}
	if nMembers != 31 {
		t.Errorf("round document: %d members, want 31", nMembers)
	}
	czj1 := round.unit(t, "czj").subject(t, "czj-1")
	sxFlags(t, "member czj-1", czj1.Flags, "top_two_under")
	sxFlags(t, "member bsz-1", round.unit(t, "bsz").subject(t, "bsz-1").Flags, "reweighted")
	sxFlags(t, "member jyj-1", round.unit(t, "jyj").subject(t, "jyj-1").Flags, "reweighted")
	sxFlags(t, "member cgz-2", round.unit(t, "cgz").subject(t, "cgz-2").Flags)

	// ---- results
	entries := []map[string]any{
		{"unit": "cgz", "parts": map[string]string{"performance": "60"}, "adjustments": []any{}, "veto": "违反中央八项规定精神"},
		{"unit": "xqz", "parts": map[string]string{"performance": "70.2"}, "adjustments": []map[string]string{
			{"points": "2", "reason": "获省级表彰"}, {"points": "2", "reason": "获市级表彰"}, {"points": "-1", "reason": "被通报批评"}}, "veto": ""},
		{"unit": "smx", "parts": map[string]string{"performance": "74.6"}, "adjustments": []any{}, "veto": ""},
		{"unit": "bsz", "parts": map[string]string{"performance": "65"}, "adjustments": []map[string]string{
			{"points": "-7", "reason": "安全生产事故"}}, "veto": ""},
		{"unit": "fgj", "parts": map[string]string{"performance": "70"}, "adjustments": []map[string]string{
			{"points": "1", "reason": "改革创新"}}, "veto": ""},
		{"unit": "czj", "parts": map[string]string{"performance": "79.5"}, "adjustments": []any{}, "veto": ""},
		{"unit": "jyj", "parts": map[string]string{"performance": "72.7"}, "adjustments": []any{}, "veto": ""},
		{"unit": "zjj", "parts": map[string]string{"performance": "72.2"}, "adjustments": []any{}, "veto": ""},
	}
	// A part above its points (80) is refused and nothing is saved.
	bad := slices.Clone(entries)
	bad[0] = map[string]any{"unit": "cgz", "parts": map[string]string{"performance": "80.5"}, "adjustments": []any{}, "veto": ""}
	r.a.must(http.StatusUnprocessableEntity, "PUT", r.rp+"/results", bad)
	r.a.must(http.StatusOK, "PUT", r.rp+"/results", entries)
	r.a.must(http.StatusOK, "POST", r.rp+"/finalize", nil)

	var results sxResults
	res := r.a.must(http.StatusOK, "GET", r.rp+"/results", nil)
	res.decode(t, &results)
	sum := sha256.Sum256(roundBytes)
	if results.TallySHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("results tally_sha256 %s, want the sealed round document's %x", results.TallySHA256, sum)
	}
	sxNum(t, "results points", results.Points, "100.00")

	// total = performance + public value (as sealed) + min(Σ bonus, 3) −
	// min(Σ penalty, 5). Grading by total within type, tie_break
	// [component:public, share:top]; veto → 一般 and the rank after all
	// others.
	// 乡镇 (N = 3 without the vetoed cgz): 好 round(3 × 0.2 = 0.6) = 1,
	// 较好 round(1.8) = 2 → P = 1, 3.
	//   xqz 70.2 + 16.80 + min(4, 3) − 1 = 89.00 (b 0, no lowest_over) 好
	//   smx 74.6 + 14.40 = 89.00, behind xqz on public 14.40 < 16.80 (b 1) 较好
	//   bsz 65 + 12.00 − min(7, 5) = 72.00 (b 2) 较好
	//   cgz 60 + 20.00 = 80.00, vetoed → 一般, rank 4
	// 县直部门 (N = 4): 好 round(0.8) = 1, 较好 round(2.4) = 2 → P = 1, 3.
	//   czj 79.5 + 14.00 = 93.50 (b 0) but lowest_over bars 好 → 较好
	//   fgj 70 + 19.20 + 1 = 90.20; zjj 72.2 + 18.00 = 90.20; jyj 72.7 +
	//   17.50 = 90.20: public 19.20 > 18.00 > 17.50 → fgj b 1 较好, zjj b 2
	//   较好, jyj b 3 一般. Nobody takes 好: a barred unit's place is not
	//   handed down.
	type totalWant struct {
		perf, total string
		rank        int
		grade       string
		bonus       string
		penalty     string
	}
	totals := map[string]totalWant{
		"cgz": {"60.00", "80.00", 4, "一般", "0.00", "0.00"},
		"xqz": {"70.20", "89.00", 1, "好", "3.00", "1.00"},
		"smx": {"74.60", "89.00", 2, "较好", "0.00", "0.00"},
		"bsz": {"65.00", "72.00", 3, "较好", "0.00", "5.00"},
		"czj": {"79.50", "93.50", 1, "较好", "0.00", "0.00"},
		"fgj": {"70.00", "90.20", 2, "较好", "1.00", "0.00"},
		"zjj": {"72.20", "90.20", 3, "较好", "0.00", "0.00"},
		"jyj": {"72.70", "90.20", 4, "一般", "0.00", "0.00"},
	}
	for unit, w := range totals {
		u := results.unit(t, unit)
		where := "results " + unit
		sxNum(t, where+" total", u.Total, w.total)
		sxRank(t, where, u.Rank, w.rank)
		sxGrade(t, where, u.Grade, w.grade)
		sxNum(t, where+" bonus", u.Bonus, w.bonus)
		if p := strings.TrimPrefix(string(u.Penalty), "-"); p != w.penalty {
			t.Errorf("%s penalty: got %s, want %s (either sign)", where, u.Penalty, w.penalty)
		}
		if len(u.Parts) != 1 || u.Parts[0].ID != "performance" {
			t.Errorf("%s parts: got %+v, want performance only", where, u.Parts)
		} else {
			sxNum(t, where+" performance", u.Parts[0].Value, w.perf)
		}
		c := sxComp(t, where, u.Components, "public")
		sxNum(t, where+" public value", c.Value, want[unit].comps["public"][1])
		if (unit == "cgz") != (u.Veto != "") {
			t.Errorf("%s veto: got %q", where, u.Veto)
		}
	}
	if u := results.unit(t, "xqz"); len(u.Adjustments) != 3 || u.Adjustments[2].Reason != "被通报批评" {
		t.Errorf("results xqz adjustments: got %+v, want the 3 entered with their reasons", u.Adjustments)
	}

	// The recount reproduces every sealed document, the results too.
	r.recount()

	// 公示: unit · type · grade, grades from the results document.
	pub := r.publication()
	for unit, w := range totals {
		if pub[unit] != w.grade {
			t.Errorf("publication %s: grade %q, want %s", unit, pub[unit], w.grade)
		}
	}
	if len(pub) != 8 {
		t.Errorf("publication lists %d units, want 8", len(pub))
	}
}

// ---- city: 1,200 points ----------------------------------------------------

// TestSchemeCity runs city-1200.yaml: two components (公众评议 200 over the
// satisfaction form: service 40 · deputies 20 · cppcc 20 · experts 20;
// 内部评估 100 over the internal form: leaders 50 · peers 50), peers rating
// the other units of their type, rules.missing: zero, total 1,200 = 700 +
// 200 + 200 + 100, grading by total within type with a min of 1080.
//
// It runs on each store: the embedded SQLite, and PostgreSQL
// (TestSchemeCityPostgres).
func TestSchemeCity(t *testing.T) { testSchemeCity(t, newTestEnv(t)) }

func TestSchemeCityPostgres(t *testing.T) { testSchemeCity(t, newPostgresTestEnv(t)) }

func testSchemeCity(t *testing.T, e *testEnv) {
	r := newSchemeRun(t, e, "city-1200.yaml")

	// 公众评议 (satisfaction form), by category and unit.
	sat := map[string]map[string]string{
		"service":  {"fgw": "满意", "czj": "比较满意", "swj": "满意", "jyj": "满意", "wjw": "满意"}, // mzj: per voter below
		"deputies": {"fgw": "满意", "czj": "满意", "swj": "满意", "zrzyj": "满意", "jyj": "满意", "wjw": "比较满意", "mzj": "满意"},
		"cppcc":    {"fgw": "满意", "czj": "满意", "swj": "满意", "zrzyj": "满意", "jyj": "满意", "wjw": "比较满意", "mzj": "满意"},
		"experts":  {"fgw": "比较满意", "czj": "满意", "swj": "满意", "zrzyj": "满意", "jyj": "满意", "wjw": "基本满意", "mzj": "满意"},
	}
	mzjService := []string{"满意", "比较满意", "不满意"} // mean (100 + 80 + 0) ÷ 3 = 60
	// 内部评估 (internal form): leaders, 5 voters; "88" is 2 好 + 3 较好 =
	// (200 + 240) ÷ 5 = 88.
	leadersInternal := map[string]string{"fgw": "88", "czj": "好", "swj": "较好", "zrzyj": "较好", "jyj": "88", "wjw": "好", "mzj": "好"}
	// Peers by home unit → rated unit.
	peersInternal := map[string]map[string]string{
		"fgw": {"czj": "较好", "swj": "好", "zrzyj": "较好"},
		"czj": {"fgw": "好", "swj": "一般", "zrzyj": "较好"},
		"jyj": {"wjw": "较好", "mzj": "较好"},
	}

	// ---- issue
	service := map[string][]string{}
	for unit, n := range map[string]int{"fgw": 3, "czj": 3, "swj": 3, "jyj": 3, "wjw": 15, "mzj": 3} {
		service[unit] = r.unitSlips(unit, "service", n) // zrzyj: none
	}
	allSheets := map[string][]string{}
	for cat, n := range map[string]int{"deputies": 3, "cppcc": 3, "experts": 3, "leaders": 5} {
		allSheets[cat] = r.allSlips(cat, n)
	}
	peers := map[string][]string{}
	for _, home := range []string{"fgw", "czj", "jyj"} {
		peers[home] = r.unitSlips(home, "peers", 3)
	}

	r.a.state(r.id, "open")

	// ---- vote
	for unit, codes := range service {
		n := len(codes)
		if unit == "wjw" {
			n = 3 // 3 of 15
		}
		for i, c := range codes[:n] {
			r.vote(c, func(u, form, subject, row string) string {
				if u == "mzj" {
					return mzjService[i]
				}
				return sat["service"][u]
			})
		}
	}
	for cat, codes := range allSheets {
		for i, c := range codes {
			d := r.vote(c, func(u, form, subject, row string) string {
				if cat != "leaders" {
					return sat[cat][u]
				}
				if o := leadersInternal[u]; o != "88" {
					return o
				}
				if i < 2 {
					return "好"
				}
				return "较好"
			})
			if len(d.Units) != 7 {
				t.Errorf("a %s (sheet: all) ballot lists %d units, want 7", cat, len(d.Units))
			}
			for _, f := range d.Forms {
				if (cat == "leaders") != (f.ID == "internal") {
					t.Errorf("a %s ballot shows form %s", cat, f.ID)
				}
			}
		}
	}
	for home, codes := range peers {
		for _, c := range codes {
			d := r.vote(c, func(u, form, subject, row string) string { return peersInternal[home][u] })
			// sheet: others — every other unit of the home unit's type,
			// never the home unit.
			var got []string
			for _, u := range d.Units {
				got = append(got, u.ID)
			}
			var want []string
			for u := range peersInternal[home] {
				want = append(want, u)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("a peers' ballot of %s rates %v, want %v", home, got, want)
			}
			for _, f := range d.Forms {
				for _, s := range f.Subjects {
					if s.Unit == home {
						t.Errorf("a peers' ballot of %s shows its home unit", home)
					}
				}
			}
		}
	}

	r.a.state(r.id, "close")
	r.a.state(r.id, "seal")
	r.a.must(http.StatusConflict, "GET", r.rp+"/publication", nil)

	// ---- the sealed documents
	//
	// public = (40·svc + 20·dep + 20·cppcc + 20·exp) ÷ 100, value × 200 ÷
	// 100; internal = (50·leaders + 50·peers) ÷ 100, value × 100 ÷ 100.
	// missing: zero — a category with no valid vote counts as 0 and the
	// weights are not renormalised (flag missing_zero). component = Σ
	// values; score = Σ values ÷ 300 × 100.
	// Issued: 14 all-sheet slips (3 + 3 + 3 + 5) rate every unit, + the
	// unit's service slips + the peers' batches whose sheet includes it.
	want := map[string]unitExpect{
		// fgw: public (4000 + 2000 + 2000 + 20·80) ÷ 100 = 96 → 192.00;
		// internal (50·88 + 50·100) ÷ 100 = 94 → 94.00; Σ 286.00 ÷ 3 =
		// 95.33. Issued 14 + 3 + 3 (czj's peers).
		"fgw": {20, 20, "1.0000", "95.33", "286.00", map[string][2]string{"public": {"96.00", "192.00"}, "internal": {"94.00", "94.00"}}, nil, 1},
		// czj: public (40·80 + 6000) ÷ 100 = 92 → 184.00; internal (5000 +
		// 50·80) ÷ 100 = 90; Σ 274.00 → 91.33. Issued 14 + 3 + 3.
		"czj": {20, 20, "1.0000", "91.33", "274.00", map[string][2]string{"public": {"92.00", "184.00"}, "internal": {"90.00", "90.00"}}, nil, 3},
		// swj: public 100 → 200.00; peers (3·100 + 3·60) ÷ 6 = 80, internal
		// (50·80 + 50·80) ÷ 100 = 80; Σ 280.00 → 93.33. Issued 14 + 3 + 6.
		"swj": {23, 23, "1.0000", "93.33", "280.00", map[string][2]string{"public": {"100.00", "200.00"}, "internal": {"80.00", "80.00"}}, nil, 2},
		// zrzyj: no service slips: (40·0 + 6000) ÷ 100 = 60 → 120.00,
		// missing_zero; internal 80; Σ 200.00 → 66.67. Issued 14 + 6.
		"zrzyj": {20, 20, "1.0000", "66.67", "200.00", map[string][2]string{"public": {"60.00", "120.00"}, "internal": {"80.00", "80.00"}}, []string{"missing_zero"}, 4},
		// jyj: public 100 → 200.00; no peers rate it (only its own batch,
		// which never rates its home): the seed rule, 领导 50 % alone at 88
		// gives 50·88 ÷ 100 = 44, not 88; Σ 244.00 → 81.33. Issued 14 + 3.
		"jyj": {17, 17, "1.0000", "81.33", "244.00", map[string][2]string{"public": {"100.00", "200.00"}, "internal": {"44.00", "44.00"}}, []string{"missing_zero"}, 3},
		// wjw: public (4000 + 1600 + 1600 + 20·60) ÷ 100 = 84 → 168.00;
		// internal (5000 + 4000) ÷ 100 = 90; Σ 258.00 → 86.00. Issued 14 +
		// 15 + 3 = 32, voted 14 + 3 + 3 = 20: 0.625 < 2/3 quorum_not_met.
		"wjw": {32, 20, "0.6250", "86.00", "258.00", map[string][2]string{"public": {"84.00", "168.00"}, "internal": {"90.00", "90.00"}}, []string{"quorum_not_met"}, 2},
		// mzj: public (40·60 + 6000) ÷ 100 = 84 → 168.00; internal 90; Σ
		// 258.00 → 86.00, as wjw. Tie-breakers: internal 90 = 90, then
		// share:top — satisfaction 满意 10 of 12 (wjw 3 of 12), with the
		// internal overall pooled (5 好 of 8 each) 15/20 against 8/20 — so
		// mzj ranks ahead of wjw.
		"mzj": {20, 20, "1.0000", "86.00", "258.00", map[string][2]string{"public": {"84.00", "168.00"}, "internal": {"90.00", "90.00"}}, nil, 1},
	}
	r.checkTurnout(want)
	round, roundBytes := r.roundDoc()
	for unit, w := range want {
		u := r.unitDoc(unit)
		r.checkUnit("unit document", &u, w)
		r.checkUnit("round document", round.unit(t, unit), w)
		sxGrade(t, "round document "+unit, round.unit(t, unit).Grade, "")
	}
	zrzyj := round.unit(t, "zrzyj")
	sxFlags(t, "zrzyj public", sxComp(t, "zrzyj", zrzyj.Components, "public").Flags, "missing_zero")
	sxFlags(t, "zrzyj internal", sxComp(t, "zrzyj", zrzyj.Components, "internal").Flags)
	jyj := round.unit(t, "jyj")
	sxFlags(t, "jyj internal", sxComp(t, "jyj", jyj.Components, "internal").Flags, "missing_zero")
	sxFlags(t, "jyj public", sxComp(t, "jyj", jyj.Components, "public").Flags)
	for unit, n := range map[string][2]int{"fgw": {3, 3}, "czj": {3, 3}, "swj": {6, 6}, "zrzyj": {6, 6}, "jyj": {0, 0}, "wjw": {3, 3}, "mzj": {3, 3}} {
		if c := round.unit(t, unit).category(t, "peers"); c.Issued != n[0] || c.Voted != n[1] {
			t.Errorf("%s peers: got %d/%d, want %d/%d", unit, c.Issued, c.Voted, n[0], n[1])
		}
	}
	if c := round.unit(t, "wjw").category(t, "service"); c.Issued != 15 || c.Voted != 3 {
		t.Errorf("wjw service: got %d/%d, want 15/3", c.Issued, c.Voted)
	}
	mf := round.unit(t, "mzj").subject(t, "team").form(t, "satisfaction")
	if mf.Valid != 12 {
		t.Errorf("mzj satisfaction valid: got %d, want 12", mf.Valid)
	}
	sxNum(t, "mzj share 满意", mf.Shares["满意"], "0.8333") // 10 ÷ 12
	sxNum(t, "mzj share 不满意", mf.Shares["不满意"], "0.0833")

	// ---- results
	entries := []map[string]any{
		{"unit": "fgw", "parts": map[string]string{"performance": "640", "party": "180"}, "adjustments": []map[string]string{{"points": "5", "reason": "获评全省营商环境创新示范"}}, "veto": ""},
		{"unit": "czj", "parts": map[string]string{"performance": "650", "party": "190"}, "adjustments": []map[string]string{{"points": "-30", "reason": "审计发现重大问题"}}, "veto": ""},
		{"unit": "swj", "parts": map[string]string{"performance": "620.5", "party": "190.5"}, "adjustments": []map[string]string{{"points": "15", "reason": "招商引资"}, {"points": "10", "reason": "外贸进出口"}}, "veto": ""},
		{"unit": "zrzyj", "parts": map[string]string{"performance": "700", "party": "200"}, "adjustments": []any{}, "veto": "发生重大安全生产责任事故"},
		{"unit": "jyj", "parts": map[string]string{"performance": "640.99", "party": "190"}, "adjustments": []map[string]string{{"points": "5", "reason": "全国教育系统先进集体"}}, "veto": ""},
		{"unit": "wjw", "parts": map[string]string{"performance": "600", "party": "180"}, "adjustments": []map[string]string{{"points": "3", "reason": "省级表彰"}, {"points": "-3", "reason": "通报批评"}}, "veto": ""},
		{"unit": "mzj", "parts": map[string]string{"performance": "600", "party": "180"}, "adjustments": []any{}, "veto": ""},
	}
	r.a.must(http.StatusOK, "PUT", r.rp+"/results", entries)
	r.a.must(http.StatusOK, "POST", r.rp+"/finalize", nil)
	var results sxResults
	r.a.must(http.StatusOK, "GET", r.rp+"/results", nil).decode(t, &results)
	sum := sha256.Sum256(roundBytes)
	if results.TallySHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("results tally_sha256 %s, want the sealed round document's %x", results.TallySHA256, sum)
	}
	sxNum(t, "results points", results.Points, "1200.00")

	// total = performance + party + public + internal + min(bonus, 20) −
	// min(penalty, 20). Grades (N per type without vetoed units): 优秀 share
	// 30 min 1080 bar quorum_not_met, 良好 50, 一般 20, 较差 the rest;
	// tie_break [component:internal, share:top]; veto → 较差.
	// 经济发展部门, N = 3: 优秀 round(0.9) = 1, 良好 round(1.5) = 2, 一般
	// round(0.6) = 1 → P = 1, 3, 4.
	//   fgw 640 + 180 + 192 + 94 + 5 = 1111.00; swj 620.5 + 190.5 + 200 +
	//   80 + min(25, 20) = 1111.00: internal 94 > 80 → fgw b 0 优秀 (≥ 1080),
	//   swj b 1 良好
	//   czj 650 + 190 + 184 + 90 − min(30, 20) = 1094.00 (b 2) 良好
	//   zrzyj 700 + 200 + 120 + 80 = 1100.00, vetoed → 较差, rank 4
	// 社会服务部门, N = 3, P = 1, 3, 4:
	//   jyj 640.99 + 190 + 200 + 44 + 5 = 1079.99 (b 0) < min 1080 → 良好
	//   mzj 600 + 180 + 168 + 90 = 1038.00; wjw 600 + 180 + 168 + 90 + 3 −
	//   3 = 1038.00: internal 90 = 90, share:top mzj ahead → mzj b 1 良好,
	//   wjw b 2 良好
	type totalWant struct {
		total   string
		rank    int
		grade   string
		bonus   string
		penalty string
	}
	totals := map[string]totalWant{
		"fgw":   {"1111.00", 1, "优秀", "5.00", "0.00"},
		"swj":   {"1111.00", 2, "良好", "20.00", "0.00"},
		"czj":   {"1094.00", 3, "良好", "0.00", "20.00"},
		"zrzyj": {"1100.00", 4, "较差", "0.00", "0.00"},
		"jyj":   {"1079.99", 1, "良好", "5.00", "0.00"},
		"mzj":   {"1038.00", 2, "良好", "0.00", "0.00"},
		"wjw":   {"1038.00", 3, "良好", "3.00", "3.00"},
	}
	for unit, w := range totals {
		u := results.unit(t, unit)
		where := "results " + unit
		sxNum(t, where+" total", u.Total, w.total)
		sxRank(t, where, u.Rank, w.rank)
		sxGrade(t, where, u.Grade, w.grade)
		sxNum(t, where+" bonus", u.Bonus, w.bonus)
		if p := strings.TrimPrefix(string(u.Penalty), "-"); p != w.penalty {
			t.Errorf("%s penalty: got %s, want %s (either sign)", where, u.Penalty, w.penalty)
		}
		for cid, sv := range want[unit].comps {
			sxNum(t, where+" "+cid+" value", sxComp(t, where, u.Components, cid).Value, sv[1])
		}
		if len(u.Parts) != 2 {
			t.Errorf("%s parts: got %+v, want performance and party", where, u.Parts)
		}
	}
	if v := results.unit(t, "zrzyj").Veto; v != "发生重大安全生产责任事故" {
		t.Errorf("results zrzyj veto: got %q", v)
	}

	r.recount()

	pub := r.publication()
	for unit, w := range totals {
		if pub[unit] != w.grade {
			t.Errorf("publication %s: grade %q, want %s", unit, pub[unit], w.grade)
		}
	}
}

// ---- quota: 18 / 75 / rest of 99 -------------------------------------------

// TestSchemeQuota99 runs quota-99.yaml: 99 units graded across the round by
// fixed counts 一等 18 / 二等 75 / 三等 rest, by score, tie_break
// [share:top, share:lowest]; members graded by shares. Three leaders rate
// all 99 teams on one sheet (one item, 总体评价); unit slips only in xz02,
// zf02 and sy01.
//
// It runs on each store: the embedded SQLite, and PostgreSQL
// (TestSchemeQuota99Postgres).
func TestSchemeQuota99(t *testing.T) { testSchemeQuota99(t, newTestEnv(t)) }

func TestSchemeQuota99Postgres(t *testing.T) { testSchemeQuota99(t, newPostgresTestEnv(t)) }

func testSchemeQuota99(t *testing.T, e *testEnv) {
	r := newSchemeRun(t, e, "quota-99.yaml")

	leaders := r.allSlips("leaders", 3)
	cadres := map[string][]string{"xz02": r.unitSlips("xz02", "cadres", 3), "zf02": r.unitSlips("zf02", "cadres", 3)}
	staff := map[string][]string{"xz02": r.unitSlips("xz02", "staff", 3), "zf02": r.unitSlips("zf02", "staff", 3)}
	small := r.issue(map[string]any{"unit": "sy01", "category": "staff", "count": 2})
	if len(small.Warnings) == 0 {
		t.Errorf("issuing 2 staff slips of sy01 (min_group 3): no small-group warning")
	}
	staff["sy01"] = small.Codes
	r.a.state(r.id, "open")

	// Slots, with the three leaders' options on the one team item (no
	// overall: shares are over that item). Score = mean of the three.
	type slot struct {
		name    string
		opts    [3]string
		score   string
		rank    int
		grade   string
		flags   []string
		howMany int
	}
	// Order (b = units strictly ahead), counts 18 and 75 → P = 18, 93:
	slots := []slot{
		// 好 好 好 = 100; b 0 → 一等.
		{"A", [3]string{"好", "好", "好"}, "100.00", 1, "一等", []string{"reweighted"}, 16},
		// (100 + 100 + 80) ÷ 3 = 93.33; b 16 → 一等.
		{"B", [3]string{"好", "好", "较好"}, "93.33", 17, "一等", []string{"reweighted"}, 1},
		// (100 + 100 + 60) ÷ 3 = 86.67 with share:top 2/3; b 17 < 18 → 一等.
		{"C1", [3]string{"好", "好", "一般"}, "86.67", 18, "一等", []string{"reweighted"}, 1},
		// (100 + 80 + 80) ÷ 3 = 86.67 with share:top 1/3: behind C1; b 18
		// → 二等.
		{"C2", [3]string{"好", "较好", "较好"}, "86.67", 19, "二等", []string{"reweighted"}, 1},
		// xz02 (80, share:top 1/3) sits at b 19, rank 20; then the 80s with
		// share:top 0: 70 of these + sy01 = 71 units at b 20, rank 21.
		{"D", [3]string{"较好", "较好", "较好"}, "80.00", 21, "二等", []string{"reweighted"}, 70},
		// zf02 (78) at b 91, rank 92. (100 + 60 + 60) ÷ 3 = 73.33, share:top
		// 1/3, share:lowest 0; b 92 → 二等; best two 1/3 < 2/3.
		{"E1", [3]string{"好", "一般", "一般"}, "73.33", 93, "二等", []string{"reweighted", "top_two_under"}, 1},
		// (100 + 80 + 40) ÷ 3 = 73.33, share:top 1/3, share:lowest 1/3 (not
		// > 1/3: no flag; best two 2/3: no flag): behind E1; b 93 → 三等.
		{"E2", [3]string{"好", "较好", "差"}, "73.33", 94, "三等", []string{"reweighted"}, 1},
		// 60, b 94 → 三等, best two 0 → top_two_under.
		{"F60", [3]string{"一般", "一般", "一般"}, "60.00", 95, "三等", []string{"reweighted", "top_two_under"}, 4},
		// 40, b 98 → 三等; 差 share 1 > 1/3.
		{"F40", [3]string{"差", "差", "差"}, "40.00", 99, "三等", []string{"reweighted", "top_two_under", "lowest_over"}, 1},
	}
	// Units in definition order, from the all sheet, each given a slot.
	units := r.a.ballot(leaders[0]).Units
	if len(units) != 99 {
		t.Fatalf("the leaders' sheet lists %d units, want 99", len(units))
	}
	slotOf := map[string]*slot{}
	special := map[string]bool{"xz02": true, "zf02": true, "sy01": true}
	si, used := 0, 0
	for _, u := range units {
		if special[u.ID] {
			continue
		}
		for used == slots[si].howMany {
			si, used = si+1, 0
		}
		slotOf[u.ID] = &slots[si]
		used++
	}
	if si != len(slots)-1 || used != slots[si].howMany {
		t.Fatalf("slots do not fill 96 units: stopped at %s %d", slots[si].name, used)
	}
	// xz02, zf02: leaders 好 ×3, cadres 较好, staff 一般. 乡镇（街道） weights
	// leaders 40 · cadres 20 · staff 40: (4000 + 1600 + 2400) ÷ 100 = 80;
	// other types 30 · 30 · 40: (3000 + 2400 + 2400) ÷ 100 = 78. Shares 1/3
	// each of 好, 较好, 一般 (best two exactly 2/3: no flag).
	slotOf["xz02"] = &slot{"xz02", [3]string{"好", "好", "好"}, "80.00", 20, "二等", nil, 1}
	slotOf["zf02"] = &slot{"zf02", [3]string{"好", "好", "好"}, "78.00", 92, "二等", nil, 1}
	// sy01: leaders 较好 ×3 (a D unit); its 2 staff ballots (好, 优秀) are
	// a small group and count nowhere: 80, tied with the D units.
	slotOf["sy01"] = &slot{"sy01", [3]string{"较好", "较好", "较好"}, "80.00", 21, "二等", []string{"reweighted", "small_group"}, 1}

	for i, c := range leaders {
		r.vote(c, func(unit, form, subject, row string) string { return slotOf[unit].opts[i] })
	}
	// Members (cadres and staff only; leaders do not rate members).
	memberOpts := map[string][2]string{ // cadres, staff
		"xz02-1": {"优秀", "优秀"}, "xz02-2": {"称职", "优秀"}, "xz02-3": {"称职", "称职"}, "xz02-4": {"基本称职", "称职"},
		"zf02-1": {"优秀", "优秀"}, "zf02-2": {"称职", "优秀"}, "zf02-3": {"称职", "称职"},
	}
	for cat, byUnit := range map[string]map[string][]string{"cadres": cadres, "staff": staff} {
		k := 0
		if cat == "staff" {
			k = 1
		}
		for unit, codes := range byUnit {
			for _, c := range codes {
				r.vote(c, func(u, form, subject, row string) string {
					switch {
					case unit == "sy01" && form == "team":
						return "好"
					case unit == "sy01":
						return "优秀"
					case form == "team" && cat == "cadres":
						return "较好"
					case form == "team":
						return "一般"
					}
					return memberOpts[subject][k]
				})
			}
		}
	}
	r.a.state(r.id, "close")
	r.a.state(r.id, "seal")

	// ---- the round document: by score, within the round, grades shown.
	round, _ := r.roundDoc()
	if len(round.Units) != 99 {
		t.Fatalf("round document: %d units, want 99", len(round.Units))
	}
	byGrade := map[string]int{}
	for _, u := range round.Units {
		s := slotOf[u.Unit.ID]
		where := "unit " + u.Unit.ID + " (" + s.name + ")"
		sxNum(t, where+" score", u.Score, s.score)
		sxNum(t, where+" component", u.Component, s.score) // 100 points: value = score
		sxRank(t, where, u.Rank, s.rank)
		sxGrade(t, where, u.Grade, s.grade)
		sxFlags(t, where, u.Flags, s.flags...)
		if u.RankOf != 99 {
			t.Errorf("%s rank_of: got %d, want 99 (ranked within the round)", where, u.RankOf)
		}
		if g := u.Grade; g != nil {
			byGrade[*g]++
		}
		wantIssued := 3
		switch u.Unit.ID {
		case "xz02", "zf02":
			wantIssued = 9
		case "sy01":
			wantIssued = 5
		}
		if u.Issued != wantIssued || u.Voted != wantIssued {
			t.Errorf("%s issued/voted: got %d/%d, want %d/%d", where, u.Issued, u.Voted, wantIssued, wantIssued)
		}
	}
	// 18 / 75 / 6, as the seed's 99 units with counts 18 / 75 / rest.
	if byGrade["一等"] != 18 || byGrade["二等"] != 75 || byGrade["三等"] != 6 {
		t.Errorf("grades: got %v, want 一等 18, 二等 75, 三等 6", byGrade)
	}
	sy01 := r.unitDoc("sy01")
	if c := sy01.category(t, "staff"); c.Issued != 2 || c.Voted != 2 || !c.Withheld {
		t.Errorf("sy01 staff: got %+v, want 2/2 withheld", *c)
	}
	if o := sy01.subject(t, "team").form(t, "team"); o.Valid != 3 {
		t.Errorf("sy01 team form: %d valid votes, want the 3 leaders' only", o.Valid)
	}

	// ---- members: member_grading within the round, over the 7 members
	// with a score (xz02's 4 and zf02's 3; sy01's are rated by the excluded
	// small group only, every other unit's by nobody). Weights renormalise
	// over the form's voters (cadres, staff):
	//   xz02-1 100; xz02-2 (20·80 + 40·100) ÷ 60 = 93.33; xz02-3 80;
	//   xz02-4 (20·60 + 40·80) ÷ 60 = 73.33;
	//   zf02-1 100; zf02-2 (30·80 + 40·100) ÷ 70 = 91.43; zf02-3 80.
	// 一等 round(7 × 19.5 ÷ 100 = 1.365) = 1; 二等 round(5.516) = 6 → P =
	// 1, 7, 7. xz02-1 and zf02-1 tie at b 0 → both 一等 (the count is
	// exceeded by the tie); everyone else b ≥ 2 → 二等.
	memberWant := map[string]struct {
		score string
		rank  int
		grade string
	}{
		"xz02-1": {"100.00", 1, "一等"}, "zf02-1": {"100.00", 1, "一等"},
		"xz02-2": {"93.33", 3, "二等"}, "zf02-2": {"91.43", 4, "二等"},
		"xz02-3": {"80.00", 5, "二等"}, "zf02-3": {"80.00", 5, "二等"},
		"xz02-4": {"73.33", 7, "二等"},
	}
	for _, u := range round.Units {
		for _, s := range u.Subjects {
			if s.ID == "team" {
				continue
			}
			w := memberWant[s.ID] // zero: no score, rank or grade
			sxNum(t, "member "+s.ID+" score", s.Score, w.score)
			sxRank(t, "member "+s.ID, s.Rank, w.rank)
			sxGrade(t, "member "+s.ID, s.Grade, w.grade)
		}
	}

	r.recount()

	// No total: the 公示 list is out after the seal, with the round
	// document's grades and no scores.
	pub := r.publication()
	if len(pub) != 99 {
		t.Errorf("publication lists %d units, want 99", len(pub))
	}
	for id, s := range slotOf {
		if pub[id] != s.grade {
			t.Errorf("publication %s: grade %q, want %s", id, pub[id], s.grade)
		}
	}
}
