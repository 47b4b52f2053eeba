package tally

import (
	"math/big"
	"slices"
	"strings"

	"minping/survey"
)

// Candidate is one unit or member to rank and grade (CONTRACT §5.4): its
// value, its tie-breaker keys in the grading's order, its flags and
// whether it was vetoed. Value and keys are compared as printed.
type Candidate struct {
	Value  *big.Rat // nil: no value, hence no rank and no grade
	Keys   []Key
	Flags  []string
	Vetoed bool
}

// Key is one tie-breaker value: compared as printed with Places decimals,
// higher first, or lower first when Lower is set.
type Key struct {
	Value  *big.Rat // nil sorts after every value
	Places int
	Lower  bool
}

// Placement is a candidate's rank and grade; nil when it has none.
type Placement struct {
	Rank  *int
	Grade *string
}

// Place ranks and grades one group of candidates (a type, the round, or a
// role), by §5.4 exactly. N is the candidates with a value that are not
// vetoed; a grade's places are its count, or N × share ÷ 100 rounded as the
// grading says; P_k adds up the places of grades 1..k. The candidates are
// ordered by value as printed, best first, then by each key; b is the
// number strictly ahead. A candidate takes the first grade k with P_k > b
// whose min its printed value reaches and whose bar holds none of its
// flags, else the last grade. Its rank is b + 1. A vetoed candidate takes
// veto_grade (the last grade when none is named) and the rank after every
// other. A nil grading ranks and grades nothing but ranks by value.
func Place(g *survey.Grading, cs []Candidate) []Placement {
	out := make([]Placement, len(cs))
	var in []int
	vetoed := 0
	for i, c := range cs {
		switch {
		case c.Value == nil:
		case c.Vetoed:
			vetoed++
		default:
			in = append(in, i)
		}
	}
	n := len(in)
	// Each candidate's value and keys as printed, rounded once: the order
	// compares integers.
	printedKeys := make(map[int][]*big.Int, n)
	for _, i := range in {
		printedKeys[i] = printedOf(&cs[i])
	}
	sorted := slices.Clone(in)
	cmp := func(a, b int) int { return comparePrinted(printedKeys[a], printedKeys[b], cs[a].Keys) }
	slices.SortStableFunc(sorted, cmp)
	var places []*big.Int // cumulative P_k; nil entry = the rest
	if g != nil {
		places = cumulativePlaces(g, n)
	}
	b := 0 // candidates strictly ahead of sorted[k]
	for k, i := range sorted {
		if k > 0 && cmp(sorted[k-1], i) != 0 {
			b = k
		}
		r := b + 1
		out[i].Rank = &r
		if g != nil {
			name := gradeFor(g, places, b, &cs[i])
			out[i].Grade = &name
		}
	}
	if vetoed > 0 {
		r := n + 1
		for i, c := range cs {
			if c.Value == nil || !c.Vetoed {
				continue
			}
			out[i].Rank = &r
			if g != nil {
				name := g.VetoGrade
				if name == "" {
					name = g.Grades[len(g.Grades)-1].Grade
				}
				out[i].Grade = &name
			}
		}
	}
	return out
}

// printedOf returns a candidate's value and keys as printed, each scaled
// to an integer (nil for a key without a value).
func printedOf(c *Candidate) []*big.Int {
	out := []*big.Int{roundHalfUp(c.Value, scorePlaces)}
	for _, k := range c.Keys {
		if k.Value == nil {
			out = append(out, nil)
			continue
		}
		out = append(out, roundHalfUp(k.Value, k.Places))
	}
	return out
}

// comparePrinted orders a before b (< 0) when a's printed value is higher,
// or equal and its first differing key better (keys says which are lower
// first); a key without a value sorts after every value.
func comparePrinted(a, b []*big.Int, keys []Key) int {
	if c := b[0].Cmp(a[0]); c != 0 {
		return c
	}
	for k := 1; k < min(len(a), len(b)); k++ {
		x, y := a[k], b[k]
		switch {
		case x == nil && y == nil:
			continue
		case x == nil:
			return 1
		case y == nil:
			return -1
		}
		c := y.Cmp(x)
		if keys[k-1].Lower {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// cumulativePlaces returns P_1 … P_K for a group of n: each grade's count,
// or n × share ÷ 100 rounded as the grading says, added up; the last
// grade's is nil (the rest).
func cumulativePlaces(g *survey.Grading, n int) []*big.Int {
	out := make([]*big.Int, len(g.Grades))
	sum := new(big.Int)
	for k, gr := range g.Grades {
		var p *big.Int
		switch {
		case gr.Count != nil:
			p = big.NewInt(int64(*gr.Count))
		case gr.Share != nil:
			v := new(big.Rat).Mul(gr.Share.Rat(), big.NewRat(int64(n), 100))
			p = roundPlaces(v, g.Rounding)
		default:
			continue // the rest
		}
		sum = new(big.Int).Add(sum, p)
		out[k] = sum
	}
	return out
}

// roundPlaces rounds a number of places half up, down or up.
func roundPlaces(v *big.Rat, rounding string) *big.Int {
	q, m := new(big.Int).QuoRem(v.Num(), v.Denom(), new(big.Int))
	switch rounding {
	case survey.RoundingFloor:
		return q
	case survey.RoundingCeil:
		if m.Sign() > 0 {
			q.Add(q, big.NewInt(1))
		}
		return q
	}
	return roundHalfUp(v, 0)
}

// gradeFor returns the grade of a candidate with b candidates strictly
// ahead of it.
func gradeFor(g *survey.Grading, places []*big.Int, b int, c *Candidate) string {
	bb := big.NewInt(int64(b))
	for k, gr := range g.Grades {
		if places[k] != nil && places[k].Cmp(bb) <= 0 {
			continue
		}
		if gr.Min != nil && printedCmp(c.Value, gr.Min.Rat(), scorePlaces) < 0 {
			continue
		}
		if slices.ContainsFunc(gr.Bar, func(f string) bool { return slices.Contains(c.Flags, f) }) {
			continue
		}
		return gr.Grade
	}
	return g.Grades[len(g.Grades)-1].Grade
}

// standing is what ranking and grading read of one unit's result (CONTRACT
// §5.4): its type, its candidate and, under member_grading, its members'.
// A seal keeps every unit's standing rather than its result, which is
// many times larger: a province's 2,000 unit results take about 75 MB.
type standing struct {
	typ     string
	unit    Candidate
	members []memberStanding
}

// memberStanding is a member's candidate, with the index of its subject
// in its unit's result and whether it is the unit's principal.
type memberStanding struct {
	subject   int
	principal bool
	c         Candidate
}

// standingOf returns what ranking reads of unit result u. The candidates
// hold the result's scores and flags, not the result.
func standingOf(def *survey.Definition, u *UnitResult) standing {
	s := standing{typ: u.Unit.Type, unit: Candidate{Value: u.Score.r, Flags: u.Flags}}
	if g := def.Grading; g != nil && !g.Legacy {
		s.unit.Keys = unitKeys(g, u)
	}
	g := def.MemberGrading
	if g == nil {
		return s
	}
	du := def.Unit(u.Unit.ID)
	for si := range u.Subjects {
		sr := &u.Subjects[si]
		if sr.ID == survey.TeamSubject {
			continue
		}
		ms := memberStanding{subject: si, c: Candidate{Value: sr.Score.r, Flags: sr.Flags, Keys: subjectKeys(g, sr)}}
		if g.Within == survey.WithinRole {
			m := du.Member(sr.ID)
			ms.principal = m != nil && m.Principal
		}
		s.members = append(s.members, ms)
	}
	return s
}

// placing is where ranking put a unit and, under member_grading, its
// members; apply writes it into the unit's result.
type placing struct {
	unit    Placement
	rankOf  int
	members []memberPlacing
}

// memberPlacing is where ranking put the member of subject index subject.
type memberPlacing struct {
	subject int
	place   Placement
	rankOf  int
}

// apply sets the ranks, grades and group sizes of u and its members.
func (p *placing) apply(u *UnitResult) {
	u.Rank, u.Grade, u.RankOf = p.unit.Rank, p.unit.Grade, p.rankOf
	for _, m := range p.members {
		s := &u.Subjects[m.subject]
		s.Rank, s.Grade, s.RankOf = m.place.Rank, m.place.Grade, m.rankOf
	}
}

// place ranks and grades the units of the round document by score
// (CONTRACT §5.4), and the members under member_grading, from the units'
// standings in definition order. With by: total the units are ranked by
// score here and graded only in the results document. A round frozen
// under v1's rule keeps it.
func place(def *survey.Definition, units []standing) []placing {
	if def.Grading != nil && def.Grading.Legacy {
		return legacyPlace(def, units)
	}
	out := make([]placing, len(units))
	g := def.Grading
	within := survey.WithinType
	if g != nil && g.Within != "" {
		within = g.Within
	}
	grading := g
	if g != nil && g.By == survey.GradeByTotal {
		grading = nil // graded by total in the results document
	}
	for _, idx := range groupsBy(len(units), func(i int) string { return units[i].typ }, within) {
		cs := make([]Candidate, len(idx))
		for k, i := range idx {
			cs[k] = units[i].unit
		}
		for k, p := range Place(grading, cs) {
			out[idx[k]].unit, out[idx[k]].rankOf = p, len(idx)
		}
	}
	placeMembers(def, units, out)
	return out
}

// groupsOf returns the indexes of the units of each group, in order of
// first appearance: by unit type, or the whole round.
func groupsOf(units []UnitResult, within string) [][]int {
	return groupsBy(len(units), func(i int) string { return units[i].Unit.Type }, within)
}

// groupsBy returns the indexes 0…n-1 of each group, in order of first
// appearance: by typeOf, or all of them as one.
func groupsBy(n int, typeOf func(i int) string, within string) [][]int {
	if within == survey.WithinRound {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return [][]int{all}
	}
	var keys []string
	by := map[string][]int{}
	for i := range n {
		t := typeOf(i)
		if _, ok := by[t]; !ok {
			keys = append(keys, t)
		}
		by[t] = append(by[t], i)
	}
	out := make([][]int, len(keys))
	for k, t := range keys {
		out[k] = by[t]
	}
	return out
}

// unitKeys returns a unit's tie-breaker keys: a component's value, or the
// share of the best or lowest option pooled over the team's scored forms,
// each over its overall row where it has one, else over all its items.
func unitKeys(g *survey.Grading, u *UnitResult) []Key {
	var team *SubjectResult
	if len(u.Subjects) > 0 && u.Subjects[0].ID == survey.TeamSubject {
		team = &u.Subjects[0]
	}
	return subjectKeys(g, team)
}

// subjectKeys returns the tie-breaker keys of a subject (nil: no keys'
// values).
func subjectKeys(g *survey.Grading, s *SubjectResult) []Key {
	var out []Key
	for _, tb := range g.TieBreak {
		k := Key{Places: sharePlaces}
		switch {
		case strings.HasPrefix(tb, survey.TieComponent):
			k.Places = scorePlaces
			if s != nil {
				k.Value = componentValue(s, strings.TrimPrefix(tb, survey.TieComponent))
			}
		case tb == survey.TieShareTop && s != nil:
			k.Value = pooledShare(s, true)
		case tb == survey.TieShareLowest && s != nil:
			k.Value, k.Lower = pooledShare(s, false), true
		}
		if tb == survey.TieShareLowest {
			k.Lower = true
		}
		out = append(out, k)
	}
	return out
}

// componentValue returns the subject's value in the component with the id
// (its component for a v1 definition's one component, id "").
func componentValue(s *SubjectResult, id string) *big.Rat {
	for _, c := range s.Components {
		if c.ID == id {
			return c.Value.r
		}
	}
	if len(s.Components) == 0 && id == "" {
		return s.Component.r
	}
	return nil
}

// pooledShare returns the share of the best (top) or lowest option over
// the subject's scored forms, their counts pooled: each form's overall row
// where it has one, else all its items; nil without valid votes.
func pooledShare(s *SubjectResult, top bool) *big.Rat {
	hit, valid := 0, 0
	for _, f := range s.Forms {
		if f.Reference {
			continue
		}
		rows := []Counts{}
		if f.Overall != nil {
			rows = append(rows, f.Overall.Counts)
		} else {
			for _, it := range f.Items {
				rows = append(rows, it.Counts)
			}
		}
		for _, cs := range rows {
			for o, c := range cs {
				valid += c.Count
				if top && o == 0 || !top && o == len(cs)-1 {
					hit += c.Count
				}
			}
		}
	}
	if valid == 0 {
		return nil
	}
	return big.NewRat(int64(hit), int64(valid))
}

// placeMembers ranks and grades the members of every unit under
// member_grading (CONTRACT §5.4): by score, within the round (default),
// their unit's type, or their role (正职 and 副职 apart).
func placeMembers(def *survey.Definition, units []standing, out []placing) {
	g := def.MemberGrading
	if g == nil {
		return
	}
	type ref struct{ u, m int } // unit, and member among its standings
	var keys []string
	groups := map[string][]ref{}
	for ui := range units {
		for mi, m := range units[ui].members {
			key := ""
			switch g.Within {
			case survey.WithinType:
				key = units[ui].typ
			case survey.WithinRole:
				if m.principal {
					key = "principal"
				} else {
					key = "deputy"
				}
			}
			if _, ok := groups[key]; !ok {
				keys = append(keys, key)
			}
			groups[key] = append(groups[key], ref{ui, mi})
		}
	}
	for _, key := range keys {
		refs := groups[key]
		cs := make([]Candidate, len(refs))
		for k, r := range refs {
			cs[k] = units[r.u].members[r.m].c
		}
		for k, p := range Place(g, cs) {
			r := refs[k]
			out[r.u].members = append(out[r.u].members, memberPlacing{subject: units[r.u].members[r.m].subject, place: p, rankOf: len(refs)})
		}
	}
}
