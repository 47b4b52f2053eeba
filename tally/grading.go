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

// rankAndGrade ranks and grades the units of the round document by score
// (CONTRACT §5.4), and the members under member_grading. With by: total
// the units are ranked by score here and graded only in the results
// document. A round frozen under v1's rule keeps it.
func rankAndGrade(def *survey.Definition, units []UnitResult) {
	if def.Grading != nil && def.Grading.Legacy {
		legacyRankAndGrade(def, units)
		return
	}
	g := def.Grading
	within := survey.WithinType
	if g != nil && g.Within != "" {
		within = g.Within
	}
	grading := g
	if g != nil && g.By == survey.GradeByTotal {
		grading = nil // graded by total in the results document
	}
	for _, idx := range groupsOf(units, within) {
		cs := make([]Candidate, len(idx))
		for k, i := range idx {
			u := &units[i]
			cs[k] = Candidate{Value: u.Score.r, Flags: u.Flags}
			if g != nil {
				cs[k].Keys = unitKeys(g, u)
			}
		}
		for k, p := range Place(grading, cs) {
			u := &units[idx[k]]
			u.Rank, u.Grade, u.RankOf = p.Rank, p.Grade, len(idx)
		}
	}
	gradeMembers(def, units)
}

// groupsOf returns the indexes of the units of each group, in order of
// first appearance: by unit type, or the whole round.
func groupsOf(units []UnitResult, within string) [][]int {
	if within == survey.WithinRound {
		all := make([]int, len(units))
		for i := range all {
			all[i] = i
		}
		return [][]int{all}
	}
	var keys []string
	by := map[string][]int{}
	for i := range units {
		t := units[i].Unit.Type
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

// gradeMembers ranks and grades the members of every unit under
// member_grading (CONTRACT §5.4): by score, within the round (default),
// their unit's type, or their role (正职 and 副职 apart).
func gradeMembers(def *survey.Definition, units []UnitResult) {
	g := def.MemberGrading
	if g == nil {
		return
	}
	type ref struct{ u, s int }
	var keys []string
	groups := map[string][]ref{}
	for ui := range units {
		u := &units[ui]
		du := def.Unit(u.Unit.ID)
		for si := range u.Subjects {
			s := &u.Subjects[si]
			if s.ID == survey.TeamSubject {
				continue
			}
			key := ""
			switch g.Within {
			case survey.WithinType:
				key = u.Unit.Type
			case survey.WithinRole:
				if m := du.Member(s.ID); m != nil && m.Principal {
					key = "principal"
				} else {
					key = "deputy"
				}
			}
			if _, ok := groups[key]; !ok {
				keys = append(keys, key)
			}
			groups[key] = append(groups[key], ref{ui, si})
		}
	}
	for _, key := range keys {
		refs := groups[key]
		cs := make([]Candidate, len(refs))
		for k, r := range refs {
			s := &units[r.u].Subjects[r.s]
			cs[k] = Candidate{Value: s.Score.r, Flags: s.Flags, Keys: subjectKeys(g, s)}
		}
		for k, p := range Place(g, cs) {
			s := &units[refs[k].u].Subjects[refs[k].s]
			s.Rank, s.Grade, s.RankOf = p.Rank, p.Grade, len(refs)
		}
	}
}
