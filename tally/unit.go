package tally

import (
	"math/big"
	"slices"

	"minping/survey"
)

// unitTally holds what the computation of one unit needs.
type unitTally struct {
	c     *Counter
	def   *survey.Definition
	ui    int
	unit  *survey.Unit
	comps []survey.ComponentDef
	// compOf[fi] is the component form fi counts in, -1 for a reference
	// form (scored: false).
	compOf []int
	// weights[k][ci] is category ci's weight in component k for this
	// unit's type; refWeights weigh the categories on a reference form.
	weights    [][]*big.Rat
	refWeights []*big.Rat
	points     []*big.Rat // per component, its full marks for this unit's type
	voters     [][]int    // per form, the categories that may vote on it here
	teamForms  []int      // the forms rating the team
	small      []bool     // per category, 1 ≤ voted < min_group
	withheld   bool       // some category is small
	missing    string     // rules.missing
}

// formRef is one form rating a subject, and the subject's index among the
// form's subjects in the unit.
type formRef struct{ fi, si int }

// newUnitTally gathers what unit ui's computation needs from the
// definition, the ballots counted and the unit's turnout.
func newUnitTally(c *Counter, ui int, turnout map[string]Count) *unitTally {
	def := c.def
	unit := &def.Units[ui]
	ut := &unitTally{c: c, def: def, ui: ui, unit: unit, comps: def.ComponentList(), missing: def.Rules.MissingRule()}
	ut.compOf = make([]int, len(def.Forms))
	for fi := range ut.compOf {
		ut.compOf[fi] = -1
	}
	for k, comp := range ut.comps {
		for _, id := range comp.Forms {
			if fi := def.FormIndex(id); fi >= 0 {
				ut.compOf[fi] = k
			}
		}
		var ws []*big.Rat
		for _, cat := range def.Categories {
			ws = append(ws, comp.WeightFor(unit.Type, cat.ID).Rat())
		}
		ut.weights = append(ut.weights, ws)
		ut.points = append(ut.points, comp.PointsFor(unit.Type).Rat())
	}
	for _, cat := range def.Categories {
		// A reference form has no component to take weights from: a v1
		// definition weighs its categories as its one component does,
		// a v2 one weighs every category alike.
		w := big.NewRat(1, 1)
		if len(def.Components) == 0 {
			w = def.Weight(unit.Type, cat.ID).Rat()
		}
		ut.refWeights = append(ut.refWeights, w)
	}
	for fi, f := range def.Forms {
		var vs []int
		for ci := range def.Categories {
			cat := &def.Categories[ci]
			if slices.Contains(f.Voters, cat.ID) && def.Reaches(cat, unit) {
				vs = append(vs, ci)
			}
		}
		ut.voters = append(ut.voters, vs)
		if f.Rates == survey.RatesTeam {
			ut.teamForms = append(ut.teamForms, fi)
		}
	}
	ut.small = make([]bool, len(def.Categories))
	for ci, cat := range def.Categories {
		ut.small[ci] = c.small(turnout[cat.ID].Voted)
		ut.withheld = ut.withheld || ut.small[ci]
	}
	return ut
}

// ballots returns the number of ballots counted for category ci.
func (ut *unitTally) ballots(ci int) int {
	return ut.c.groups[ut.ui*len(ut.c.cats)+ci].ballots
}

// unitResult computes unit ui's result from the ballots counted and its
// turnout: the subjects, the categories, and the unit's own score, quorum
// and flags. Without breakdown the categories' own scores are left out,
// for ranking, which reads none of them.
func (c *Counter) unitResult(ui int, turnout map[string]Count, breakdown bool) *UnitResult {
	def := c.def
	ut := newUnitTally(c, ui, turnout)
	res := &UnitResult{
		Unit:              UnitRef{ID: ut.unit.ID, Name: ut.unit.Name, Type: ut.unit.Type},
		BreakdownWithheld: ut.withheld,
		Subjects:          ut.subjects(),
		Categories:        ut.categories(turnout, breakdown),
	}
	for ci := range def.Categories {
		res.Ballots += ut.ballots(ci)
	}
	for _, cr := range res.Categories {
		res.Issued += cr.Issued
		res.Voted += cr.Voted
	}
	res.Turnout = ratio(res.Voted, res.Issued)
	res.QuorumMet = res.Issued > 0 &&
		new(big.Rat).SetFrac64(int64(res.Voted), int64(res.Issued)).Cmp(def.Rules.Quorum.Rat()) >= 0

	var flags []string
	if len(ut.teamForms) > 0 {
		team := &res.Subjects[0]
		res.Score, res.Component = team.Score, team.Component
		res.Components = team.Components
		flags = append(flags, team.Flags...)
	}
	if !res.QuorumMet {
		flags = append(flags, FlagQuorumNotMet)
	}
	if ut.withheld {
		flags = append(flags, FlagSmallGroup)
	}
	res.Flags = orderFlags(flags)
	return res
}

// subjects computes the pooled result of every subject: the team, if a
// form rates it, then each member that a form rates. Never nil.
func (ut *unitTally) subjects() []SubjectResult {
	out := []SubjectResult{}
	if len(ut.teamForms) > 0 {
		refs := make([]formRef, len(ut.teamForms))
		for i, fi := range ut.teamForms {
			refs[i] = formRef{fi, 0}
		}
		out = append(out, ut.subject(survey.Subject{ID: survey.TeamSubject, Name: "领导班子"}, refs))
	}
	for _, m := range ut.unit.Members {
		if refs := ut.memberRefs(m.ID); len(refs) > 0 {
			out = append(out, ut.subject(survey.Subject{ID: m.ID, Name: m.Name, Post: m.Post}, refs))
		}
	}
	return out
}

// memberRefs returns the forms that rate the member, with its index in
// each; forms may be restricted to some categories' (fills).
func (ut *unitTally) memberRefs(id string, fills ...int) []formRef {
	var out []formRef
	for fi := range ut.def.Forms {
		f := &ut.def.Forms[fi]
		if f.Rates != survey.RatesMembers {
			continue
		}
		if len(fills) > 0 && !slices.Contains(ut.voters[fi], fills[0]) && !slices.Contains(f.Voters, ut.def.Categories[fills[0]].ID) {
			continue
		}
		for si, s := range ut.def.Subjects(f, ut.unit) {
			if s.ID == id {
				out = append(out, formRef{fi, si})
			}
		}
	}
	return out
}

// subject computes the pooled result of a subject over the forms that rate
// it: each form, each component's score and value, and the subject's score
// (Σ values ÷ Σ points × 100 over the components with a score) and
// component (Σ values).
func (ut *unitTally) subject(s survey.Subject, refs []formRef) SubjectResult {
	def := ut.def
	res := SubjectResult{ID: s.ID, Name: s.Name, Post: s.Post}
	var flags []string
	type acc struct {
		sum, wsum big.Rat
		rated     bool // a form of the component rates the subject
		unrated   bool
		flags     []string
	}
	accs := make([]acc, len(ut.comps))
	for _, r := range refs {
		f := &def.Forms[r.fi]
		k := ut.compOf[r.fi]
		fr, miss := ut.form(r.fi, r.si, k)
		flags = append(flags, fr.Flags...)
		res.Forms = append(res.Forms, fr)
		if k < 0 {
			continue
		}
		a := &accs[k]
		a.rated = true
		a.flags = append(a.flags, fr.Flags...)
		if miss != "" {
			flags = append(flags, miss)
			a.flags = append(a.flags, miss)
			a.unrated = a.unrated || miss == FlagUnrated
		}
		if fr.Score.Valid() {
			w := f.Weight.Rat()
			a.sum.Add(&a.sum, w.Mul(w, fr.Score.r))
			a.wsum.Add(&a.wsum, f.Weight.Rat())
		}
	}
	var values, points big.Rat
	scored := false
	for k := range ut.comps {
		a := &accs[k]
		if !a.rated {
			continue
		}
		cr := ComponentResult{ID: ut.comps[k].ID, Name: ut.comps[k].Name, Points: ut.comps[k].PointsFor(ut.unit.Type), Flags: orderFlags(a.flags)}
		if a.wsum.Sign() > 0 && !a.unrated {
			score := new(big.Rat).Quo(&a.sum, &a.wsum)
			v := new(big.Rat).Mul(score, ut.points[k])
			v.Quo(v, big.NewRat(100, 1))
			cr.Score, cr.Value = Score{score}, Score{v}
			values.Add(&values, v)
			points.Add(&points, ut.points[k])
			scored = true
		}
		res.Components = append(res.Components, cr)
	}
	if scored {
		res.Component = Score{new(big.Rat).Set(&values)}
		sc := new(big.Rat).Quo(&values, &points)
		res.Score = Score{sc.Mul(sc, big.NewRat(100, 1))}
	}
	if len(def.Components) == 0 {
		res.Components = nil // a v1 document has its one component as score and component
	}
	res.Flags = orderFlags(flags)
	return res
}

// form computes form fi for subject si, all categories pooled, with the
// weights of component k (the reference weights for k < 0), and returns
// the flag rules.missing raised on it: FlagReweighted, FlagMissingZero or
// FlagUnrated, or "".
func (ut *unitTally) form(fi, si, k int) (FormResult, string) {
	f := &ut.def.Forms[fi]
	sc := ut.def.Scale(f.Scale)
	res := FormResult{ID: f.ID, Title: f.Title, Weight: f.Weight, Flags: []string{}}
	if !f.IsScored() {
		res.Reference = true
	}
	miss := ""
	var sum, wsum big.Rat
	// The shares are over the overall row if the form has one, else over
	// the items' counts summed.
	shareCounts := make([]int, len(sc.Options))
	for r, it := range f.Items {
		ir, m := ut.item(fi, si, r, k)
		if m != "" {
			miss = m
		}
		if f.Overall == "" {
			for o, n := range ir.Counts {
				shareCounts[o] += n.Count
			}
		}
		if ir.Score.Valid() {
			w := it.Weight.Rat()
			sum.Add(&sum, w.Mul(w, ir.Score.r))
			wsum.Add(&wsum, it.Weight.Rat())
		}
		res.Items = append(res.Items, ir)
	}
	if wsum.Sign() > 0 {
		res.Score = Score{new(big.Rat).Quo(&sum, &wsum)}
	}
	if f.Overall != "" {
		res.Overall = ut.overall(fi, si)
		for o, n := range res.Overall.Counts {
			shareCounts[o] = n.Count
		}
	}
	ut.shares(&res, sc, shareCounts)
	return res, miss
}

// item computes row r of form fi for subject si: the counts of all
// categories pooled, and the score as the weighted mean of each category's
// mean, with component k's weights (the reference weights for k < 0). A
// category with weight and no valid vote is dealt with by rules.missing,
// whose flag is returned: its weight goes to the others (FlagReweighted),
// it counts as a mean of 0 when any category has a valid vote on the item
// (FlagMissingZero), or the subject goes unrated in the component
// (FlagUnrated). On a reference form its weight goes to the others and
// nothing is flagged.
func (ut *unitTally) item(fi, si, r, k int) (ItemResult, string) {
	it := &ut.def.Forms[fi].Items[r]
	sc := ut.def.Scale(ut.def.Forms[fi].Scale)
	ir := ItemResult{Name: it.Name, Weight: it.Weight}
	weights := ut.refWeights
	if k >= 0 {
		weights = ut.weights[k]
	}
	missing := false
	var num, den, zeros big.Rat
	pooled := make([]int, len(sc.Options))
	for _, ci := range ut.voters[fi] {
		counts := ut.counts(ci, fi, si, r)
		valid := 0
		for o, n := range counts[:len(sc.Options)] {
			pooled[o] += n
			valid += n
		}
		ir.Abstain += counts[len(sc.Options)]
		w := weights[ci]
		if valid == 0 {
			if w.Sign() > 0 {
				missing = true
				zeros.Add(&zeros, w)
			}
			continue
		}
		mean := ut.mean(sc, counts)
		num.Add(&num, mean.Mul(mean, w))
		den.Add(&den, w)
	}
	ir.Counts = labelCounts(sc, pooled)
	for _, n := range pooled {
		ir.Valid += n
	}
	flag := ""
	switch {
	case !missing || k < 0:
	case ut.missing == survey.MissingZero:
		// Each missing category's mean is 0, on an item on which some
		// category (even one without weight here) has a valid vote.
		if ir.Valid > 0 {
			den.Add(&den, &zeros)
			flag = FlagMissingZero
		}
	case ut.missing == survey.MissingUnrated:
		flag = FlagUnrated
	default:
		flag = FlagReweighted
	}
	if den.Sign() > 0 {
		ir.Score = Score{new(big.Rat).Quo(&num, &den)}
	}
	return ir, flag
}

// overall computes the overall row of form fi for subject si, the counts
// of all categories pooled; the row has no score.
func (ut *unitTally) overall(fi, si int) *OverallResult {
	f := &ut.def.Forms[fi]
	sc := ut.def.Scale(f.Scale)
	ov := &OverallResult{Name: f.Overall}
	pooled := make([]int, len(sc.Options))
	for _, ci := range ut.voters[fi] {
		counts := ut.counts(ci, fi, si, len(f.Items))
		for o, n := range counts[:len(sc.Options)] {
			pooled[o] += n
			ov.Valid += n
		}
		ov.Abstain += counts[len(sc.Options)]
	}
	ov.Counts = labelCounts(sc, pooled)
	return ov
}

// shares sets the form's valid votes and each option's share of them from
// counts, and flags the lowest option's share when over its limit and the
// top two options' share when under theirs. A form with no valid vote has
// no shares.
func (ut *unitTally) shares(res *FormResult, sc *survey.Scale, counts []int) {
	for _, n := range counts {
		res.Valid += n
	}
	if res.Valid == 0 {
		return
	}
	last := len(sc.Options) - 1
	for o, n := range counts {
		res.Shares = append(res.Shares, LabelShare{sc.Options[o].Label, ratio(n, res.Valid)})
	}
	if res.Shares[last].Share.r.Cmp(ut.def.Rules.FlagLowestOver.Rat()) > 0 {
		res.Flags = append(res.Flags, FlagLowestOver)
	}
	topTwo := new(big.Rat).Add(res.Shares[0].Share.r, res.Shares[1].Share.r)
	if topTwo.Cmp(ut.def.Rules.FlagTopTwoUnder.Rat()) < 0 {
		res.Flags = append(res.Flags, FlagTopTwoUnder)
	}
}

// categories computes each category's weight and turnout and, with
// breakdown unless the unit's breakdown is withheld or the category has no
// ballots, its own scores.
func (ut *unitTally) categories(turnout map[string]Count, breakdown bool) []CategoryResult {
	def := ut.def
	var out []CategoryResult
	for ci, cat := range def.Categories {
		n := turnout[cat.ID]
		cr := CategoryResult{
			ID:       cat.ID,
			Name:     cat.Name,
			Weight:   def.Weight(ut.unit.Type, cat.ID),
			Issued:   n.Issued,
			Voted:    n.Voted,
			Turnout:  ratio(n.Voted, n.Issued),
			Withheld: ut.small[ci],
		}
		if len(def.Components) > 0 {
			cr.Weight = survey.Decimal{}
			for _, comp := range def.Components {
				if w := comp.WeightFor(ut.unit.Type, cat.ID); w.Rat().Sign() > 0 {
					cr.Weights = append(cr.Weights, ComponentWeight{comp.ID, w})
				}
			}
		}
		if breakdown && !ut.withheld && ut.ballots(ci) > 0 {
			cr.Subjects = ut.categorySubjects(ci)
		}
		out = append(out, cr)
	}
	return out
}

// categorySubjects computes category ci's own scores for every subject
// rated by a form it may fill.
func (ut *unitTally) categorySubjects(ci int) []CategorySubject {
	var out []CategorySubject
	var team []formRef
	for _, fi := range ut.teamForms {
		if slices.Contains(ut.voters[fi], ci) {
			team = append(team, formRef{fi, 0})
		}
	}
	if len(team) > 0 {
		out = append(out, ut.categorySubject(ci, team, survey.TeamSubject))
	}
	for _, m := range ut.unit.Members {
		var own []formRef
		for _, r := range ut.memberRefs(m.ID) {
			if slices.Contains(ut.voters[r.fi], ci) {
				own = append(own, r)
			}
		}
		if len(own) > 0 {
			out = append(out, ut.categorySubject(ci, own, m.ID))
		}
	}
	return out
}

func (ut *unitTally) categorySubject(ci int, refs []formRef, id string) CategorySubject {
	def := ut.def
	res := CategorySubject{ID: id}
	var ssum, swsum big.Rat
	for _, ref := range refs {
		f := &def.Forms[ref.fi]
		sc := def.Scale(f.Scale)
		fr := CategoryForm{ID: f.ID}
		var sum, wsum big.Rat
		for r, it := range f.Items {
			counts := ut.counts(ci, ref.fi, ref.si, r)
			item := CategoryItem{Name: it.Name}
			for _, n := range counts[:len(sc.Options)] {
				item.Valid += n
			}
			if item.Valid > 0 {
				item.Score = Score{ut.mean(sc, counts)}
				w := it.Weight.Rat()
				sum.Add(&sum, w.Mul(w, item.Score.r))
				wsum.Add(&wsum, it.Weight.Rat())
			}
			fr.Items = append(fr.Items, item)
		}
		if wsum.Sign() > 0 {
			fr.Score = Score{new(big.Rat).Quo(&sum, &wsum)}
			if f.IsScored() {
				w := f.Weight.Rat()
				ssum.Add(&ssum, w.Mul(w, fr.Score.r))
				swsum.Add(&swsum, f.Weight.Rat())
			}
		}
		res.Forms = append(res.Forms, fr)
	}
	if swsum.Sign() > 0 {
		res.Score = Score{new(big.Rat).Quo(&ssum, &swsum)}
	}
	return res
}
