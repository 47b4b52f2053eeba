package tally

import (
	"fmt"
	"math/big"
	"slices"

	"minping/survey"
)

// Flags a document may carry (CONTRACT §3), in the order they are listed.
const (
	FlagLowestOver   = "lowest_over"
	FlagTopTwoUnder  = "top_two_under"
	FlagQuorumNotMet = "quorum_not_met"
	FlagReweighted   = "reweighted"
	FlagSmallGroup   = "small_group"
)

var flagOrder = []string{FlagLowestOver, FlagTopTwoUnder, FlagQuorumNotMet, FlagReweighted, FlagSmallGroup}

// Count is the number of ballot codes issued for a unit and category and the
// number used to vote. Issued counts the codes of voided batches only if
// they were used.
type Count struct {
	Issued int
	Voted  int
}

// Turnout is the store's code table in counts: unit id -> category id ->
// Count. A missing entry counts as nothing issued.
type Turnout map[string]map[string]Count

// Meta is what a sealed document says about its round besides the count.
type Meta struct {
	RoundID   string
	RoundName string // the definition's name when empty
	// ConfigSHA256 is the fingerprint of the frozen configuration; the
	// definition's Fingerprint when empty.
	ConfigSHA256 string
	SealedAt     string // as the caller formats it, e.g. RFC 3339 in UTC
}

// Documents are the sealed documents of a round as canonical bytes, with
// the results they encode for exports to reuse.
type Documents struct {
	Round  []byte
	Units  []UnitDoc
	Result *RoundResult
	// Excluded are the small groups whose ballots enter no figure
	// (small_groups: exclude): the seal deletes them, and a recount without
	// them gives the same bytes.
	Excluded []survey.Group
}

// UnitDoc is one unit document. Result points into the round's result.
type UnitDoc struct {
	ID     string
	Bytes  []byte
	Result *UnitResult
}

// Documents computes every unit document and the round document from the
// ballots added so far (CONTRACT §3). It returns an error when the turnout
// names a unit or category the definition does not have, says more codes
// were used than issued, or disagrees with the number of ballots counted
// (but for an excluded small group, whose ballots may be gone): a seal must
// not sign figures that contradict each other. Under small_groups: exclude
// it takes small groups' ballots out of the counter for good; add nothing
// to it, and merge nothing into it, afterwards.
func (c *Counter) Documents(t Turnout, m Meta) (*Documents, error) {
	def := c.def
	if err := c.checkTurnout(t); err != nil {
		return nil, err
	}
	c.exclude(t)
	if m.RoundName == "" {
		m.RoundName = def.Name
	}
	if m.ConfigSHA256 == "" {
		m.ConfigSHA256 = def.Fingerprint()
	}
	unitDigests, roundDigest := c.digests()

	rr := &RoundResult{
		Round:         RoundRef{ID: m.RoundID, Name: m.RoundName},
		ConfigSHA256:  m.ConfigSHA256,
		BallotsSHA256: roundDigest,
		SealedAt:      m.SealedAt,
		Ballots:       c.Ballots(),
		Units:         make([]UnitResult, len(def.Units)),
	}
	for ui := range def.Units {
		u := c.unitResult(ui, t[def.Units[ui].ID])
		u.Round = rr.Round
		u.ConfigSHA256 = m.ConfigSHA256
		u.BallotsSHA256 = unitDigests[ui]
		u.SealedAt = m.SealedAt
		rr.Units[ui] = *u
		rr.Issued += u.Issued
		rr.Voted += u.Voted
	}
	rr.Turnout = ratio(rr.Voted, rr.Issued)
	rankAndGrade(def, rr.Units)

	docs := &Documents{Result: rr, Units: make([]UnitDoc, len(rr.Units))}
	for gi, ex := range c.excluded {
		if ex {
			docs.Excluded = append(docs.Excluded, survey.Group{Unit: def.Units[gi/len(c.cats)].ID, Category: c.cats[gi%len(c.cats)]})
		}
	}
	for i := range rr.Units {
		b, err := encode(&rr.Units[i])
		if err != nil {
			return nil, fmt.Errorf("encode unit %s: %w", rr.Units[i].Unit.ID, err)
		}
		docs.Units[i] = UnitDoc{ID: rr.Units[i].Unit.ID, Bytes: b, Result: &rr.Units[i]}
	}
	b, err := encode(rr)
	if err != nil {
		return nil, fmt.Errorf("encode round: %w", err)
	}
	docs.Round = b
	return docs, nil
}

func (c *Counter) checkTurnout(t Turnout) error {
	def := c.def
	for uid, cats := range t {
		if _, ok := c.units[uid]; !ok {
			return fmt.Errorf("turnout names unknown unit %q", uid)
		}
		for cid := range cats {
			if def.Category(cid) == nil {
				return fmt.Errorf("turnout of unit %q names unknown category %q", uid, cid)
			}
		}
	}
	for ui, u := range def.Units {
		for ci, cid := range c.cats {
			n := t[u.ID][cid]
			ballots := c.groups[ui*len(c.cats)+ci].ballots
			if ballots == 0 && c.small(n.Voted) && def.Rules.SmallGroups == survey.SmallGroupsExclude {
				continue // an excluded group, its ballots deleted at the seal
			}
			switch {
			case n.Issued < 0 || n.Voted < 0:
				return fmt.Errorf("unit %q category %q: negative turnout %+v", u.ID, cid, n)
			case n.Voted > n.Issued:
				return fmt.Errorf("unit %q category %q: %d codes used of %d issued", u.ID, cid, n.Voted, n.Issued)
			case n.Voted != ballots:
				return fmt.Errorf("unit %q category %q: %d codes used but %d ballots counted", u.ID, cid, n.Voted, ballots)
			}
		}
	}
	return nil
}

// small reports whether a group of voted voters is small: 1 ≤ voted <
// min_group.
func (c *Counter) small(voted int) bool {
	return voted >= 1 && voted < c.def.Rules.MinGroup
}

// unitTally holds what the computation of one unit needs.
type unitTally struct {
	c           *Counter
	def         *survey.Definition
	ui          int
	unit        *survey.Unit
	weights     []*big.Rat // per category, the unit type's override applied
	voters      [][]int    // per form, the categories that may fill it
	teamForms   []int      // the forms rating the team
	memberForms []int      // the forms rating each member
	small       []bool     // per category, 1 ≤ voted < min_group
	withheld    bool       // some category is small
}

// newUnitTally gathers what unit ui's computation needs from the
// definition, the ballots counted and the unit's turnout.
func newUnitTally(c *Counter, ui int, turnout map[string]Count) *unitTally {
	def := c.def
	unit := &def.Units[ui]
	ut := &unitTally{c: c, def: def, ui: ui, unit: unit}
	for _, cat := range def.Categories {
		ut.weights = append(ut.weights, def.Weight(unit.Type, cat.ID).Rat())
	}
	for fi, f := range def.Forms {
		var vs []int
		for ci, cat := range def.Categories {
			for _, v := range f.Voters {
				if v == cat.ID {
					vs = append(vs, ci)
				}
			}
		}
		ut.voters = append(ut.voters, vs)
		if f.Rates == survey.RatesTeam {
			ut.teamForms = append(ut.teamForms, fi)
		} else {
			ut.memberForms = append(ut.memberForms, fi)
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
// and flags.
func (c *Counter) unitResult(ui int, turnout map[string]Count) *UnitResult {
	def := c.def
	ut := newUnitTally(c, ui, turnout)
	res := &UnitResult{
		Unit:              UnitRef{ID: ut.unit.ID, Name: ut.unit.Name, Type: ut.unit.Type},
		BreakdownWithheld: ut.withheld,
		Subjects:          ut.subjects(),
		Categories:        ut.categories(turnout),
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
// form rates it, then each member, if one does. Never nil.
func (ut *unitTally) subjects() []SubjectResult {
	out := []SubjectResult{}
	for _, forms := range [][]int{ut.teamForms, ut.memberForms} {
		if len(forms) == 0 {
			continue
		}
		for si, s := range ut.def.Subjects(&ut.def.Forms[forms[0]], ut.unit) {
			out = append(out, ut.subject(forms, si, s))
		}
	}
	return out
}

// categories computes each category's weight and turnout and, unless the
// unit's breakdown is withheld or the category has no ballots, its own
// scores.
func (ut *unitTally) categories(turnout map[string]Count) []CategoryResult {
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
		if !ut.withheld && ut.ballots(ci) > 0 {
			cr.Subjects = ut.categorySubjects(ci)
		}
		out = append(out, cr)
	}
	return out
}

// subject computes the pooled result of subject number si of the forms.
func (ut *unitTally) subject(forms []int, si int, s survey.Subject) SubjectResult {
	def := ut.def
	res := SubjectResult{ID: s.ID, Name: s.Name, Post: s.Post}
	var flags []string
	var sum, wsum big.Rat
	for _, fi := range forms {
		f := &def.Forms[fi]
		fr, reweighted := ut.form(fi, si)
		if fr.Score.Valid() {
			w := f.Weight.Rat()
			sum.Add(&sum, new(big.Rat).Mul(w, fr.Score.r))
			wsum.Add(&wsum, w)
		}
		flags = append(flags, fr.Flags...)
		if reweighted {
			flags = append(flags, FlagReweighted)
		}
		res.Forms = append(res.Forms, fr)
	}
	if wsum.Sign() > 0 {
		res.Score = Score{new(big.Rat).Quo(&sum, &wsum)}
		comp := new(big.Rat).Mul(res.Score.r, def.Component.Points.Rat())
		res.Component = Score{comp.Quo(comp, big.NewRat(100, 1))}
	}
	res.Flags = orderFlags(flags)
	return res
}

// form computes form fi for subject si, all categories pooled, and reports
// whether a category with weight that may fill it had no valid vote on one
// of its items.
func (ut *unitTally) form(fi, si int) (FormResult, bool) {
	f := &ut.def.Forms[fi]
	sc := ut.def.Scale(f.Scale)
	res := FormResult{ID: f.ID, Title: f.Title, Weight: f.Weight, Flags: []string{}}
	reweighted := false
	var sum, wsum big.Rat
	// The shares are over the overall row if the form has one, else over
	// the items' counts summed.
	shareCounts := make([]int, len(sc.Options))
	for r, it := range f.Items {
		ir, rw := ut.item(fi, si, r)
		reweighted = reweighted || rw
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
	return res, reweighted
}

// item computes row r of form fi for subject si: the counts of all
// categories pooled, and the score as the weighted mean of each category's
// mean. It reports whether a category with weight had no valid vote, its
// weight then going to the others.
func (ut *unitTally) item(fi, si, r int) (ItemResult, bool) {
	it := &ut.def.Forms[fi].Items[r]
	sc := ut.def.Scale(ut.def.Forms[fi].Scale)
	ir := ItemResult{Name: it.Name, Weight: it.Weight}
	reweighted := false
	var num, den big.Rat
	pooled := make([]int, len(sc.Options))
	for _, ci := range ut.voters[fi] {
		counts := ut.counts(ci, fi, si, r)
		valid := 0
		for o, n := range counts[:len(sc.Options)] {
			pooled[o] += n
			valid += n
		}
		ir.Abstain += counts[len(sc.Options)]
		w := ut.weights[ci]
		if valid == 0 {
			reweighted = reweighted || w.Sign() > 0
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
	if den.Sign() > 0 {
		ir.Score = Score{new(big.Rat).Quo(&num, &den)}
	}
	return ir, reweighted
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

// categorySubjects computes category ci's own scores for every subject
// rated by a form it may fill.
func (ut *unitTally) categorySubjects(ci int) []CategorySubject {
	var out []CategorySubject
	fills := func(forms []int) []int {
		var own []int
		for _, fi := range forms {
			for _, v := range ut.voters[fi] {
				if v == ci {
					own = append(own, fi)
				}
			}
		}
		return own
	}
	if own := fills(ut.teamForms); len(own) > 0 {
		out = append(out, ut.categorySubject(ci, own, 0, survey.TeamSubject))
	}
	if own := fills(ut.memberForms); len(own) > 0 {
		for mi, m := range ut.unit.Members {
			out = append(out, ut.categorySubject(ci, own, mi, m.ID))
		}
	}
	return out
}

func (ut *unitTally) categorySubject(ci int, forms []int, si int, id string) CategorySubject {
	def := ut.def
	res := CategorySubject{ID: id}
	var ssum, swsum big.Rat
	for _, fi := range forms {
		f := &def.Forms[fi]
		sc := def.Scale(f.Scale)
		fr := CategoryForm{ID: f.ID}
		var sum, wsum big.Rat
		for r, it := range f.Items {
			counts := ut.counts(ci, fi, si, r)
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
			w := f.Weight.Rat()
			ssum.Add(&ssum, w.Mul(w, fr.Score.r))
			swsum.Add(&swsum, f.Weight.Rat())
		}
		res.Forms = append(res.Forms, fr)
	}
	if swsum.Sign() > 0 {
		res.Score = Score{new(big.Rat).Quo(&ssum, &swsum)}
	}
	return res
}

// counts returns the counts of category ci on row r of form fi for subject
// si: one per option, then the abstentions.
func (ut *unitTally) counts(ci, fi, si, r int) []int {
	g := &ut.c.groups[ut.ui*len(ut.c.cats)+ci]
	i, ok := g.index[survey.Slot{Form: fi, Subject: si, Row: r}]
	if !ok {
		panic(fmt.Sprintf("tally: no slot for form %d subject %d row %d in category %d", fi, si, r, ci))
	}
	s := g.slots[i]
	out := make([]int, int(s.nopt)+1)
	for o := range out {
		out[o] = int(ut.c.counts[int(s.off)+o])
	}
	return out
}

// mean returns Σ points ÷ valid votes of the counts; there must be a valid
// vote.
func (ut *unitTally) mean(sc *survey.Scale, counts []int) *big.Rat {
	var sum big.Rat
	valid := 0
	for o, opt := range sc.Options {
		if counts[o] == 0 {
			continue
		}
		p := opt.Points.Rat()
		sum.Add(&sum, p.Mul(p, new(big.Rat).SetInt64(int64(counts[o]))))
		valid += counts[o]
	}
	return sum.Quo(&sum, new(big.Rat).SetInt64(int64(valid)))
}

func labelCounts(sc *survey.Scale, counts []int) Counts {
	out := make(Counts, len(sc.Options))
	for o, opt := range sc.Options {
		out[o] = LabelCount{opt.Label, counts[o]}
	}
	return out
}

// ratio returns n ÷ d exactly, or null when d is 0.
func ratio(n, d int) Share {
	if d == 0 {
		return Share{}
	}
	return Share{new(big.Rat).SetFrac64(int64(n), int64(d))}
}

// orderFlags returns the distinct flags in the documented order, never nil.
func orderFlags(flags []string) []string {
	out := []string{}
	for _, f := range flagOrder {
		for _, g := range flags {
			if f == g {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// rankAndGrade ranks the units with a score within each unit type by the
// score as printed, best first, equal printed scores sharing a rank, and
// hands out the definition's quota grades in rank order (CONTRACT §3).
func rankAndGrade(def *survey.Definition, units []UnitResult) {
	var types []string
	byType := map[string][]int{}
	for i := range units {
		t := units[i].Unit.Type
		if _, ok := byType[t]; !ok {
			types = append(types, t)
		}
		byType[t] = append(byType[t], i)
	}
	for _, t := range types {
		idx := byType[t]
		var scored []int
		for _, i := range idx {
			units[i].RankOf = len(idx)
			if units[i].Score.Valid() {
				scored = append(scored, i)
			}
		}
		// Stable: units printing the same score keep definition order.
		slices.SortStableFunc(scored, func(a, b int) int {
			return printedCmp(units[b].Score.r, units[a].Score.r, scorePlaces)
		})
		// groups of units sharing a rank
		var groups [][]int
		for k, i := range scored {
			if k > 0 && printedCmp(units[i].Score.r, units[scored[k-1]].Score.r, scorePlaces) == 0 {
				groups[len(groups)-1] = append(groups[len(groups)-1], i)
			} else {
				groups = append(groups, []int{i})
			}
		}
		rank := 1
		for _, g := range groups {
			for _, i := range g {
				r := rank
				units[i].Rank = &r
			}
			rank += len(g)
		}
		grades := quotaGrades(def.Grading, groupSizes(groups))
		for gi, g := range groups {
			if grades == nil {
				break
			}
			for _, i := range g {
				name := grades[gi]
				units[i].Grade = &name
			}
		}
	}
}

func groupSizes(groups [][]int) []int {
	out := make([]int, len(groups))
	for i, g := range groups {
		out[i] = len(g)
	}
	return out
}

// quotaGrades returns the grade of each group of units sharing a rank, in
// rank order, or nil when the round has no grading. N is the number of units
// graded; grade k takes at most floor(N × share_k ÷ 100) units, a cap of its
// own; a group that does not fit in the current grade's remaining places
// moves down to the next grade (and may move down again), and the grade is
// then closed, since a later group cannot be graded above an earlier one.
// The last grade takes the rest.
func quotaGrades(grading []survey.Grade, groups []int) []string {
	if len(grading) == 0 {
		return nil
	}
	n := 0
	for _, g := range groups {
		n += g
	}
	out := make([]string, len(groups))
	k := 0
	left := gradeCap(grading, 0, n)
	for gi, size := range groups {
		for k < len(grading)-1 && size > left {
			k++
			left = gradeCap(grading, k, n)
		}
		out[gi] = grading[k].Grade
		left -= size
	}
	return out
}

// gradeCap returns floor(n × share ÷ 100) for grade k; the last grade has
// no cap.
func gradeCap(grading []survey.Grade, k, n int) int {
	g := grading[k]
	if g.Share == nil {
		return n
	}
	v := new(big.Rat).Mul(g.Share.Rat(), big.NewRat(int64(n), 100))
	return int(new(big.Int).Quo(v.Num(), v.Denom()).Int64())
}
