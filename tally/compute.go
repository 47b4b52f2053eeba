package tally

import (
	"bytes"
	"fmt"
	"math/big"

	"minping/survey"
)

// Flags a document may carry (CONTRACT §3), in the order they are listed.
const (
	FlagLowestOver   = "lowest_over"
	FlagTopTwoUnder  = "top_two_under"
	FlagQuorumNotMet = "quorum_not_met"
	FlagReweighted   = "reweighted"
	FlagMissingZero  = "missing_zero"
	FlagUnrated      = "unrated"
	FlagSmallGroup   = "small_group"
)

var flagOrder = []string{FlagLowestOver, FlagTopTwoUnder, FlagQuorumNotMet, FlagReweighted, FlagMissingZero, FlagUnrated, FlagSmallGroup}

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
	b, err := encodeRound(rr, docs.Units)
	if err != nil {
		return nil, fmt.Errorf("encode round: %w", err)
	}
	docs.Round = b
	return docs, nil
}

// encodeRound writes the round document from its unit documents, already
// encoded: the same bytes as encoding the whole result at once, without a
// second pass over every unit (for a province's 2,000 units, a 56 MB
// document encoded and indented again, over 200 MB at once). An element
// of the units array is its unit document with every line indented by
// two levels; no line break is inside a value, as JSON escapes them.
func encodeRound(rr *RoundResult, units []UnitDoc) ([]byte, error) {
	if len(units) == 0 {
		return encode(rr)
	}
	head := *rr
	head.Units = []UnitResult{}
	b, err := encode(&head)
	if err != nil {
		return nil, err
	}
	const empty = "\"units\": []"
	at := bytes.LastIndex(b, []byte(empty))
	if at < 0 {
		return nil, fmt.Errorf("no units array in %.80q", b)
	}
	size := len(b)
	for _, u := range units {
		size += len(u.Bytes) + bytes.Count(u.Bytes, []byte("\n"))*4 + 8
	}
	out := make([]byte, 0, size)
	out = append(out, b[:at]...)
	out = append(out, "\"units\": [\n"...)
	for i, u := range units {
		if i > 0 {
			out = append(out, ",\n"...)
		}
		doc := bytes.TrimSuffix(u.Bytes, []byte("\n"))
		for len(doc) > 0 {
			line, rest, _ := bytes.Cut(doc, []byte("\n"))
			out = append(out, "    "...)
			out = append(out, line...)
			if len(rest) > 0 || bytes.HasSuffix(doc, []byte("\n")) {
				out = append(out, '\n')
			}
			doc = rest
		}
	}
	out = append(out, "\n  ]"...)
	out = append(out, b[at+len(empty):]...)
	return out, nil
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
