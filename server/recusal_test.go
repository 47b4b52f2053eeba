package server

import (
	"net/http"
	"testing"

	"minping/tally"
)

// TestRecusalWithoutTeamRows: a recusal category that fills only a
// members form (no team rows) seals — every member's ballot counts once,
// however few parts it has — and a lone member's slip, which has nothing
// to answer, is still taken.
func TestRecusalWithoutTeamRows(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound([]byte(`name: 回避
component: {name: 干部群众评价, points: 100}
scales: [{id: g, options: [{label: 好, points: 100}, {label: 差, points: 0}]}]
forms:
  - {id: team, title: 班子, rates: team, scale: g, items: [总体], voters: [staff]}
  - {id: m, title: 成员, rates: members, scale: g, items: [德], voters: [bz, staff]}
categories:
  - {id: bz, name: 班子成员, weight: 50, recuse: true}
  - {id: staff, name: 干部职工, weight: 50}
units:
  - {id: a, name: 甲单位, type: T, members: [{id: a1, name: 一}, {id: a2, name: 二}, {id: a3, name: 三}]}
  - {id: b, name: 乙单位, type: T, members: [{id: b1, name: 独}]}
`))
	var codes []string
	for _, m := range []struct{ unit, member string }{{"a", "a1"}, {"a", "a2"}, {"a", "a3"}, {"b", "b1"}} {
		var out struct{ Codes []string }
		admin.must(http.StatusCreated, "POST", "/api/v1/rounds/"+id+"/batches", map[string]any{"unit": m.unit, "category": "bz", "member": m.member}).decode(t, &out)
		codes = append(codes, out.Codes[0])
	}
	_, staff := admin.issue(id, "a", "staff", 3)
	admin.state(id, "open")
	for _, c := range append(codes, staff...) {
		if r := submitBallot(t, e.ts.URL, c, answerAll(admin.ballot(c), nil)); r.status != http.StatusCreated {
			t.Fatalf("vote %s: %s", c, r)
		}
	}
	admin.state(id, "close")
	admin.must(http.StatusOK, "POST", "/api/v1/rounds/"+id+"/seal", nil)
	doc := admin.must(http.StatusOK, "GET", "/api/v1/rounds/"+id+"/units/a/tally", nil)
	u, err := tally.DecodeUnit(doc.body)
	if err != nil {
		t.Fatal(err)
	}
	// a: 3 member ballots (each rating the other two) and 3 staff ballots.
	if u.Ballots != 6 || u.Voted != 6 {
		t.Errorf("unit a: %d ballots, %d voted; want 6 and 6", u.Ballots, u.Voted)
	}
	for _, s := range u.Subjects {
		if s.ID == "a1" && s.Forms[0].Items[0].Valid != 5 { // 2 other members + 3 staff
			t.Errorf("a1 is rated by %d, want 5", s.Forms[0].Items[0].Valid)
		}
	}
}
