package tally

import (
	"fmt"
	"strings"
	"testing"
)

// TestMergeRanksAsOneServer splits 99 units over three regional rounds,
// each sealed on its own with the same ballots, and merges the three
// documents: every unit's rank and grade are those one round of all 99
// gives (counts 18 / 75 / the rest, ties broken by the top and the lowest
// option's shares), and merging again gives the same bytes.
func TestMergeRanksAsOneServer(t *testing.T) {
	def := func(from, to int) string {
		var b strings.Builder
		b.WriteString(`name: 合并
component: {name: 干部群众评价, points: 100}
scales: [{id: s, options: [{label: 好, points: 100}, {label: 较好, points: 80}, {label: 一般, points: 60}, {label: 差, points: 40}]}]
forms: [{id: t, title: 班子, rates: team, scale: s, items: [总体], overall: 综合}]
categories: [{id: staff, name: 干部职工, weight: 100}]
grading:
  within: round
  tie_break: [share:top, share:lowest]
  grades: [{grade: 一等, count: 18}, {grade: 二等, count: 75}, {grade: 三等}]
units:
`)
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "  - {id: u%02d, name: 单位%02d, type: T, members: []}\n", i, i)
		}
		return b.String()
	}
	// Three ballots a unit, from a pattern with many equal scores, some
	// told apart only by a tie-breaker.
	ballots := func(from, to int) []vote {
		var vs []vote
		opts := "ABCD"
		for i := from; i < to; i++ {
			for k := range 3 {
				item := opts[(i/3+k)%3]
				overall := opts[(i+k*2)%4]
				vs = append(vs, vote{fmt.Sprintf("u%02d", i), "staff", string([]byte{item, overall})})
			}
		}
		return vs
	}
	whole := count(t, parseDef(t, def(0, 99)), ballots(0, 99), nil)
	var inputs []MergeInput
	for _, r := range [][2]int{{0, 33}, {33, 66}, {66, 99}} {
		docs := count(t, parseDef(t, def(r[0], r[1])), ballots(r[0], r[1]), nil)
		inputs = append(inputs, MergeInput{Doc: docs.Round, PubKey: fmt.Sprintf("key-%d", r[0])})
	}
	g := parseDef(t, def(0, 1)).Grading
	b, m, err := Merge(g, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Units) != 99 || len(m.Sources) != 3 {
		t.Fatalf("merged %d units of %d sources, want 99 of 3", len(m.Units), len(m.Sources))
	}
	grades := map[string]int{}
	for i, u := range m.Units {
		w := whole.Result.Units[i]
		if u.Unit.ID != w.Unit.ID || *u.Rank != *w.Rank || *u.Grade != *w.Grade || u.RankOf != w.RankOf || u.Score.String() != w.Score.String() {
			t.Errorf("%s: merged rank %d/%d grade %s, one round gives %d/%d %s", u.Unit.ID, *u.Rank, u.RankOf, *u.Grade, *w.Rank, w.RankOf, *w.Grade)
		}
		grades[*u.Grade]++
	}
	// The pattern ties units at the boundaries: the grades follow §5.4
	// (ties share the better grade), so the counts need not be 18 / 75 / 6;
	// what matters is that the merge and the single round agree, and that
	// 一等 takes at least its 18.
	if grades["一等"] < 18 {
		t.Errorf("grades %v", grades)
	}
	again, _, _ := Merge(g, inputs)
	if string(again) != string(b) {
		t.Error("merging the same sources again gives other bytes")
	}
	// A unit id in two sources is refused.
	if _, _, err := Merge(g, []MergeInput{inputs[0], inputs[0]}); err == nil {
		t.Error("a unit in two sources was merged")
	}
	t.Logf("grades %v", grades)
}

// TestEncodeRoundAsWhole: the round document spliced from the unit
// documents is byte for byte the round result encoded at once.
func TestEncodeRoundAsWhole(t *testing.T) {
	for name, src := range map[string]string{"basic": basicDef, "ranks": rankDef} {
		def := parseDef(t, src)
		var vs []vote
		for _, u := range def.Units {
			for _, c := range def.Categories {
				n := len(def.Layout(&def.Units[0], c.ID))
				if n > 0 {
					vs = append(vs, votes(3, u.ID, c.ID, strings.Repeat("B", len(def.Layout(&u, c.ID))))...)
				}
			}
		}
		docs := count(t, def, vs, nil)
		whole, err := encode(docs.Result)
		if err != nil {
			t.Fatal(err)
		}
		if string(whole) != string(docs.Round) {
			t.Errorf("%s: the spliced round document differs from the whole one", name)
		}
	}
}
