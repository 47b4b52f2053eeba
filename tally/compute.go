package tally

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
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
//
// Documents holds every document and every unit's result at once; a seal
// writes them one at a time instead (Prepare), with the same bytes.
func (c *Counter) Documents(t Turnout, m Meta) (*Documents, error) {
	s, err := c.prepare(t, m)
	if err != nil {
		return nil, err
	}
	rr := s.Result
	units := make([]UnitResult, 0, len(c.def.Units))
	docs := &Documents{Result: rr, Excluded: s.Excluded, Units: make([]UnitDoc, 0, len(c.def.Units))}
	docs.Round, err = s.Write(func(u UnitDoc) error {
		units = append(units, *u.Result)
		docs.Units = append(docs.Units, u)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rr.Units = units
	for i := range docs.Units {
		docs.Units[i].Result = &rr.Units[i]
	}
	return docs, nil
}

// Sealing is a round's documents counted, checked and ranked, ready to be
// written one at a time (Write). Each unit's result is computed a second
// time as its document is written, so that neither the results of every
// unit nor their documents are ever held at once: for a province (2,000
// units, a 56 MB round document) that takes a seal from over 500 MB to
// under half of it.
type Sealing struct {
	// Result is the round document's own fields: fingerprints, ballots and
	// turnout. Its Units are empty; each unit's result is in its document.
	Result *RoundResult
	// Excluded are the small groups whose ballots enter no figure, as
	// Documents.Excluded.
	Excluded []survey.Group

	c       *Counter
	turnout Turnout
	digests []string  // ballots_sha256 of each unit, in definition order
	places  []placing // each unit's rank and grade, and its members'
}

// Prepare checks the turnout, takes out small groups and computes the
// digests and every unit's rank and grade, as Documents does and with its
// errors, and returns the round ready to be written. It lets go of the
// counter's per-ballot hashes once they are digested: add nothing to the
// counter, merge nothing into it, and prepare it once.
func (c *Counter) Prepare(t Turnout, m Meta) (*Sealing, error) {
	s, err := c.prepare(t, m)
	if err != nil {
		return nil, err
	}
	c.hashes = nil
	for drained := false; !drained; {
		select {
		case <-c.free: // a batch of answers waiting for hashing, no longer needed
			c.batches--
		default:
			drained = true
		}
	}
	return s, nil
}

func (c *Counter) prepare(t Turnout, m Meta) (*Sealing, error) {
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
		Units:         []UnitResult{},
	}
	// Ranking needs every unit's score, flags and tie-breakers, not their
	// whole results: keep those alone.
	standings := make([]standing, len(def.Units))
	for ui := range def.Units {
		u := c.unitResult(ui, t[def.Units[ui].ID], false)
		rr.Issued += u.Issued
		rr.Voted += u.Voted
		standings[ui] = standingOf(def, u)
	}
	rr.Turnout = ratio(rr.Voted, rr.Issued)
	s := &Sealing{Result: rr, c: c, turnout: t, digests: unitDigests, places: place(def, standings)}
	for gi, ex := range c.excluded {
		if ex {
			s.Excluded = append(s.Excluded, survey.Group{Unit: def.Units[gi/len(c.cats)].ID, Category: c.cats[gi%len(c.cats)]})
		}
	}
	return s, nil
}

// Write computes and encodes each unit's document in definition order and
// hands it to put as soon as it is made, then returns the round document,
// which is spliced from the unit documents. put may keep what it is
// given; Write keeps none of it, only the round document's share of each,
// compressed until the end. An error from put stops Write and is
// returned. A round is written once: before the round document is made,
// Write lets go of the counter, so that the largest document is not held
// beside it.
func (s *Sealing) Write(put func(UnitDoc) error) ([]byte, error) {
	c, t, rr := s.c, s.turnout, s.Result
	if c == nil {
		return nil, errors.New("tally: the documents were written already")
	}
	s.c, s.turnout = nil, nil
	round, err := newRoundWriter(rr)
	if err != nil {
		return nil, fmt.Errorf("encode round: %w", err)
	}
	for ui := range c.def.Units {
		u := c.unitResult(ui, t[c.def.Units[ui].ID], true)
		u.Round = rr.Round
		u.ConfigSHA256 = rr.ConfigSHA256
		u.BallotsSHA256 = s.digests[ui]
		u.SealedAt = rr.SealedAt
		s.places[ui].apply(u)
		b, err := encode(u)
		if err != nil {
			return nil, fmt.Errorf("encode unit %s: %w", u.Unit.ID, err)
		}
		if err := round.add(b); err != nil {
			return nil, fmt.Errorf("encode round: %w", err)
		}
		if err := put(UnitDoc{ID: u.Unit.ID, Bytes: b, Result: u}); err != nil {
			return nil, err
		}
	}
	b, err := round.finish()
	if err != nil {
		return nil, fmt.Errorf("encode round: %w", err)
	}
	return b, nil
}

// roundWriter writes the round document from its unit documents, already
// encoded: the same bytes as encoding the whole result at once, without
// a second pass over every unit. An element of the units array is its
// unit document with every line indented by two levels; no line break is
// inside a value, as JSON escapes them.
//
// The units array is kept deflated until finish, which inflates it once
// into a buffer of the document's exact size. JSON this regular deflates
// about 30 to 1 in a few tens of milliseconds a province: far cheaper
// than holding the array whole while the unit documents are made, and
// than growing it there by copies.
type roundWriter struct {
	head, tail []byte // the document around its units array
	units      int    // unit documents added
	size       int    // bytes of the units array written so far
	deflated   bytes.Buffer
	z          *flate.Writer
	line       []byte // one indented unit document, reused
}

// emptyUnits is the units array of a round document without units.
const emptyUnits = "\"units\": []"

func newRoundWriter(rr *RoundResult) (*roundWriter, error) {
	b, err := encode(rr) // its Units are empty
	if err != nil {
		return nil, err
	}
	at := bytes.LastIndex(b, []byte(emptyUnits))
	if at < 0 {
		return nil, fmt.Errorf("no units array in %.80q", b)
	}
	w := &roundWriter{head: b[:at], tail: b[at+len(emptyUnits):]}
	w.z, err = flate.NewWriter(&w.deflated, flate.BestSpeed)
	return w, err
}

// add appends a unit document to the units array.
func (w *roundWriter) add(unit []byte) error {
	out := w.line[:0]
	if w.units > 0 {
		out = append(out, ",\n"...)
	}
	w.units++
	doc := bytes.TrimSuffix(unit, []byte("\n"))
	for len(doc) > 0 {
		line, rest, _ := bytes.Cut(doc, []byte("\n"))
		out = append(out, "    "...)
		out = append(out, line...)
		if len(rest) > 0 || bytes.HasSuffix(doc, []byte("\n")) {
			out = append(out, '\n')
		}
		doc = rest
	}
	w.line = out
	w.size += len(out)
	_, err := w.z.Write(out)
	return err
}

// finish returns the round document.
func (w *roundWriter) finish() ([]byte, error) {
	if err := w.z.Close(); err != nil {
		return nil, err
	}
	if w.units == 0 {
		return append(append(w.head, emptyUnits...), w.tail...), nil
	}
	const opening, closing = "\"units\": [\n", "\n  ]"
	out := make([]byte, 0, len(w.head)+len(opening)+w.size+len(closing)+len(w.tail))
	out = append(out, w.head...)
	out = append(out, opening...)
	r := flate.NewReader(&w.deflated)
	n, err := io.ReadFull(r, out[len(out):len(out)+w.size])
	if err != nil {
		return nil, fmt.Errorf("inflate the units array: %w", err)
	}
	out = out[:len(out)+n]
	out = append(out, closing...)
	out = append(out, w.tail...)
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
