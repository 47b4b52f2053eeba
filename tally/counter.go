package tally

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sync"

	"minping/survey"
)

// ErrInvalidBallot is wrapped by every error Counter.Add returns: the stored
// ballot does not fit the frozen definition.
var ErrInvalidBallot = errors.New("invalid ballot")

// Counter accumulates stored ballots one at a time. Its memory is bounded by
// the definition (a count per unit × category × slot × option) plus one
// 36-byte entry per ballot for the digest and a few batches of answers
// waiting to be hashed; adding a ballot allocates nothing.
//
// Ballots are hashed for the digest in batches on another goroutine, so that
// the caller's goroutine (typically reading the store) only counts. Such a
// goroutine ends once its batch is hashed; an abandoned Counter leaves none
// behind.
//
// A Counter is not safe for concurrent use; to count on several goroutines,
// give each its own Counter and Merge them.
type Counter struct {
	def   *survey.Definition
	units map[string]int // unit id -> index in def.Units
	cats  []string       // category ids, in definition order
	// groups[u*len(cats)+c] is the layout of a ballot of category c in unit u.
	groups  []group
	counts  []uint32
	records int // records added (a ballot is one or more), each hashed

	cur     *batch      // ballots not yet handed over for hashing
	free    chan *batch // hashed batches, ready for reuse
	batches int         // batches made, at most maxBatches
	hashing sync.WaitGroup
	// hashes holds one chunk of entries per batch handed over; an entry is
	// written by the hashing goroutine and read after hashing.Wait.
	hashes []*[]ballotHash

	lastUnit string // the unit of the previous Add: stores stream in runs
	lastU    int

	// excluded[u*len(cats)+c] marks a small group whose ballots Documents
	// took out of every figure (CONTRACT §3, small_groups: exclude).
	excluded []bool
}

// batch is up to hashChunk ballots waiting to be hashed.
type batch struct {
	ballots []pending
	answers []byte
}

// pending is one ballot record of a batch: its unit, category and part
// (an index into the group's parts, 0 for the whole layout), and its
// answers' length within batch.answers.
type pending struct {
	unit, category, part uint32
	n                    int
}

// maxBatches bounds the batches in flight; Add waits for one to be hashed
// when all are.
const maxBatches = 4

// group is one unit × category: where its ballots are counted.
type group struct {
	slots   []slot
	index   map[survey.Slot]int // layout slot -> index into slots
	ballots int
	// parts are the records a recusal category stores per ballot (CONTRACT
	// §5.1), each the layout indexes it holds; nil for any other category,
	// whose one record holds the whole layout. records counts each part's.
	parts   []part
	records []int
}

// part is one kind of stored record of a recusal category in a unit.
type part struct {
	id    string
	slots []int
}

// slot is one answer of a ballot: counts[off+i] is the number of ballots
// that chose option i, counts[off+nopt] the number that abstained.
type slot struct {
	off     int32
	nopt    uint8
	abstain bool // the scale has an abstain label
}

// hashChunk is the number of ballots hashed in one batch.
const hashChunk = 1 << 14

// ballotHash is the SHA-256 of one ballot and the unit and category it
// belongs to.
type ballotHash struct {
	h    [sha256.Size]byte
	unit uint32
	cat  uint32
}

// NewCounter returns an empty counter for the rounds of the definition. The
// definition must be valid (as returned by survey.ParseDefinition) and must
// not change while the counter is in use.
func NewCounter(def *survey.Definition) *Counter {
	c := &Counter{def: def, units: make(map[string]int, len(def.Units)), lastU: -1,
		free: make(chan *batch, maxBatches)}
	for _, cat := range def.Categories {
		c.cats = append(c.cats, cat.ID)
	}
	off := 0
	c.groups = make([]group, len(def.Units)*len(c.cats))
	for ui := range def.Units {
		u := &def.Units[ui]
		c.units[u.ID] = ui
		for ci, cat := range c.cats {
			layout := def.Layout(u, cat)
			g := &c.groups[ui*len(c.cats)+ci]
			g.slots = make([]slot, len(layout))
			g.index = make(map[survey.Slot]int, len(layout))
			if def.Category(cat).Recuse {
				for _, p := range def.RecordParts(u, cat) {
					g.parts = append(g.parts, part{p.ID, p.Slots})
				}
				g.records = make([]int, len(g.parts))
			}
			for i, s := range layout {
				sc := def.Scale(def.Forms[s.Form].Scale)
				g.slots[i] = slot{off: int32(off), nopt: uint8(len(sc.Options)), abstain: sc.Abstain != ""}
				g.index[s] = i
				off += len(sc.Options) + 1
			}
		}
	}
	c.counts = make([]uint32, off)
	return c
}

// Add counts one stored ballot of category in unit: answers holds one byte
// per slot of the definition's Layout for that unit and category, the index
// of the option chosen (best first) or survey.AbstainAnswer. It returns an
// error wrapping ErrInvalidBallot, and counts nothing, when the unit or the
// category is unknown, the length differs from the layout, or a byte is no
// option of its scale (or the abstain byte where the scale has no abstain
// label).
func (c *Counter) Add(unit, category string, answers []byte) error {
	return c.add(unit, category, "", answers)
}

// AddPart counts one stored record of a ballot: Add for a record that is
// a part of a recusal ballot (part "" for the whole, or the team's rows).
func (c *Counter) AddPart(unit, category, part string, answers []byte) error {
	return c.add(unit, category, part, answers)
}

// AddRecord counts one stored record of a ballot of category: the whole
// ballot in a unit, or for a recusal category one part of it (the team's
// rows, or one member's), as survey.Definition.RecordParts lays it out.
// Its errors are Add's, and an unknown part's.
func (c *Counter) AddRecord(category string, r survey.Record) error {
	return c.add(r.Unit, category, r.Part, r.Answers())
}

func (c *Counter) add(unit, category, partID string, answers []byte) error {
	ui := c.lastU
	if ui < 0 || unit != c.lastUnit {
		var ok bool
		if ui, ok = c.units[unit]; !ok {
			return fmt.Errorf("%w: unknown unit %q", ErrInvalidBallot, unit)
		}
		c.lastUnit, c.lastU = unit, ui
	}
	ci := -1
	for i, id := range c.cats {
		if id == category {
			ci = i
			break
		}
	}
	if ci < 0 {
		return fmt.Errorf("%w: unknown category %q", ErrInvalidBallot, category)
	}
	g := &c.groups[ui*len(c.cats)+ci]
	slots := g.slots
	pi := 0
	if g.parts != nil {
		pi = -1
		for k, p := range g.parts {
			if p.id == partID {
				pi = k
			}
		}
		if pi < 0 {
			return fmt.Errorf("%w: category %q stores no part %q in unit %q", ErrInvalidBallot, category, partID, unit)
		}
		slots = make([]slot, len(g.parts[pi].slots))
		for k, li := range g.parts[pi].slots {
			slots[k] = g.slots[li]
		}
	} else if partID != "" {
		return fmt.Errorf("%w: category %q stores whole ballots, not part %q", ErrInvalidBallot, category, partID)
	}
	if len(answers) != len(slots) {
		return fmt.Errorf("%w: a ballot of category %q in unit %q has %d answers, its layout %d",
			ErrInvalidBallot, category, unit, len(answers), len(slots))
	}
	counts := c.counts
	slots = slots[:len(answers)]
	for i, a := range answers {
		s := slots[i]
		switch {
		case a < s.nopt:
			counts[int(s.off)+int(a)]++
		case a == survey.AbstainAnswer && s.abstain:
			counts[int(s.off)+int(s.nopt)]++
		default:
			c.undo(slots[:i], answers[:i])
			return fmt.Errorf("%w: answer %d of a ballot of category %q in unit %q is %#x, not an option of its scale",
				ErrInvalidBallot, i, category, unit, a)
		}
	}
	if g.parts != nil {
		g.records[pi]++
	}
	// A recusal ballot is as many records as parts its holder rates, one of
	// them its team part (survey.RecordParts' first, stored for every
	// ballot): a ballot is counted with that record.
	if pi == 0 {
		g.ballots++
	}
	c.records++

	if c.cur == nil {
		c.cur = c.newBatch()
	}
	b := c.cur
	b.ballots = append(b.ballots, pending{uint32(ui), uint32(ci), uint32(pi), len(answers)})
	b.answers = append(b.answers, answers...)
	if len(b.ballots) == hashChunk {
		c.handOver()
	}
	return nil
}

// newBatch returns an empty batch: a new one while fewer than maxBatches
// exist, else the next one hashed.
func (c *Counter) newBatch() *batch {
	select {
	case b := <-c.free:
		return b
	default:
	}
	if c.batches < maxBatches {
		c.batches++
		return &batch{ballots: make([]pending, 0, hashChunk)}
	}
	return <-c.free
}

// handOver hashes the current batch on another goroutine.
func (c *Counter) handOver() {
	b := c.cur
	c.cur = nil
	out := new([]ballotHash)
	c.hashes = append(c.hashes, out)
	c.hashing.Go(func() {
		*out = c.hashBatch(b)
		b.ballots, b.answers = b.ballots[:0], b.answers[:0]
		c.free <- b // never blocks: at most maxBatches exist
	})
}

// hashBatch returns the hashes of a batch's records, each the SHA-256 of
// unit id ‖ 0x00 ‖ category id ‖ 0x00 ‖ answers, or for a member's part of
// a recusal ballot unit id ‖ 0x00 ‖ category id ‖ 0x00 ‖ member id ‖ 0x00 ‖
// answers.
func (c *Counter) hashBatch(b *batch) []ballotHash {
	out := make([]ballotHash, len(b.ballots))
	var buf []byte
	answers := b.answers
	for i, p := range b.ballots {
		buf = append(buf[:0], c.def.Units[p.unit].ID...)
		buf = append(buf, 0)
		buf = append(buf, c.cats[p.category]...)
		buf = append(buf, 0)
		if g := &c.groups[int(p.unit)*len(c.cats)+int(p.category)]; g.parts != nil && g.parts[p.part].id != "" {
			buf = append(buf, g.parts[p.part].id...)
			buf = append(buf, 0)
		}
		buf = append(buf, answers[:p.n]...)
		answers = answers[p.n:]
		out[i] = ballotHash{h: sha256.Sum256(buf), unit: p.unit, cat: p.category}
	}
	return out
}

// hashed waits for every ballot added so far to be hashed and returns the
// hashes, in chunks.
func (c *Counter) hashed() [][]ballotHash {
	if c.cur != nil && len(c.cur.ballots) > 0 {
		c.handOver()
	}
	c.hashing.Wait()
	out := make([][]ballotHash, len(c.hashes))
	for i, h := range c.hashes {
		out[i] = *h
	}
	return out
}

// undo takes back the counts of a ballot found invalid part way.
func (c *Counter) undo(slots []slot, answers []byte) {
	for i, a := range answers {
		s := slots[i]
		if a < s.nopt {
			c.counts[int(s.off)+int(a)]--
		} else {
			c.counts[int(s.off)+int(s.nopt)]--
		}
	}
}

// Merge adds to c every ballot added to o, as if each had been added to c:
// counting a round in parts, on several goroutines, and merging the
// counters gives the same documents as counting it in one. Both counters
// must have been made for the same definition; o must not be used
// afterwards.
func (c *Counter) Merge(o *Counter) error {
	if o.def != c.def {
		return errors.New("tally: merge of counters for different definitions")
	}
	if o == c {
		return errors.New("tally: merge of a counter into itself")
	}
	for _, h := range o.hashed() {
		c.hashes = append(c.hashes, &h)
	}
	for i, n := range o.counts {
		c.counts[i] += n
	}
	for i := range o.groups {
		g, og := &c.groups[i], &o.groups[i]
		g.ballots += og.ballots
		for k := range g.records {
			g.records[k] += og.records[k]
		}
	}
	c.records += o.records
	o.counts, o.groups, o.hashes, o.records = nil, nil, nil, 0
	return nil
}

// Ballots returns the number of ballots added.
// A ballot of a sheet over several units counts once in each unit it
// rates; a recusal ballot, stored in parts, counts once.
func (c *Counter) Ballots() int {
	n := 0
	for i := range c.groups {
		n += c.groups[i].ballots
	}
	return n
}

// digests returns the ballots_sha256 of every unit and of the whole round.
//
// Each ballot's hash is SHA-256(unit id ‖ 0x00 ‖ category id ‖ 0x00 ‖
// answers), the answers being the stored bytes. A set of ballots is digested
// as the SHA-256 of the concatenation of its ballots' hashes sorted in
// ascending byte order, duplicates kept: it depends on the ballots and not on
// the order they were stored or added in. The unit digest covers the unit's
// ballots, the round digest all ballots; an empty set digests to SHA-256 of
// nothing.
func (c *Counter) digests() (units []string, round string) {
	sorted := sortHashes(c.kept(c.hashed()), c.records)
	units = make([]string, len(c.def.Units))
	var wg sync.WaitGroup
	wg.Go(func() {
		all := newBufferedHash()
		for i := range sorted {
			all.write(&sorted[i].h)
		}
		round = all.sum()
	})
	wg.Go(func() {
		hu := make([]*bufferedHash, len(c.def.Units))
		for i := range hu {
			hu[i] = newBufferedHash()
		}
		for i := range sorted {
			hu[sorted[i].unit].write(&sorted[i].h)
		}
		for i, h := range hu {
			units[i] = h.sum()
		}
	})
	wg.Wait()
	return units, round
}

// kept returns the hashes of the ballots that were not excluded.
func (c *Counter) kept(chunks [][]ballotHash) [][]ballotHash {
	if !slices.Contains(c.excluded, true) {
		return chunks
	}
	out := make([][]ballotHash, len(chunks))
	for i, in := range chunks {
		for _, h := range in {
			if !c.excluded[int(h.unit)*len(c.cats)+int(h.cat)] {
				out[i] = append(out[i], h)
			}
		}
	}
	return out
}

// exclude takes the ballots of every small group out of the counts, under
// small_groups: exclude: a group is small when 1 ≤ its voted codes <
// min_group (its turnout, which stays when the seal deletes its ballots,
// so that a recount finds the same groups small). It may be called again:
// the excluded counts are zero.
func (c *Counter) exclude(t Turnout) {
	def := c.def
	c.excluded = make([]bool, len(c.groups))
	if def.Rules.SmallGroups != survey.SmallGroupsExclude {
		return
	}
	for ui, u := range def.Units {
		for ci, cid := range c.cats {
			if !def.Rules.Excludes(t[u.ID][cid].Voted) {
				continue
			}
			gi := ui*len(c.cats) + ci
			g := &c.groups[gi]
			c.excluded[gi] = true
			for _, s := range g.slots {
				clear(c.counts[s.off : int(s.off)+int(s.nopt)+1])
			}
			if g.parts == nil {
				c.records -= g.ballots
			} else {
				for k, n := range g.records {
					c.records -= n
					g.records[k] = 0
				}
			}
			g.ballots = 0
		}
	}
}

// bufferedHash feeds SHA-256 in blocks of many ballot hashes rather than
// one call per 32 bytes.
type bufferedHash struct {
	h   hash.Hash
	buf []byte
}

func newBufferedHash() *bufferedHash {
	return &bufferedHash{h: sha256.New(), buf: make([]byte, 0, 64*sha256.Size)}
}

func (b *bufferedHash) write(h *[sha256.Size]byte) {
	if len(b.buf) == cap(b.buf) {
		b.h.Write(b.buf)
		b.buf = b.buf[:0]
	}
	b.buf = append(b.buf, h[:]...)
}

func (b *bufferedHash) sum() string {
	b.h.Write(b.buf)
	return hex.EncodeToString(b.h.Sum(nil))
}

// sortHashes returns the hashes in ascending byte order: a counting sort on
// their leading bits (hashes are uniform, so with about one bucket per
// ballot the buckets hold a few each), then an insertion sort within each
// bucket.
func sortHashes(chunks [][]ballotHash, n int) []ballotHash {
	bits := 8
	for bits < 20 && 1<<bits < n {
		bits++
	}
	shift := 32 - bits
	start := make([]int32, 1<<bits+1)
	for _, in := range chunks {
		for i := range in {
			start[binary.BigEndian.Uint32(in[i].h[:])>>shift+1]++
		}
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	out := make([]ballotHash, n)
	next := slices.Clone(start)
	for _, in := range chunks {
		for i := range in {
			k := binary.BigEndian.Uint32(in[i].h[:]) >> shift
			out[next[k]] = in[i]
			next[k]++
		}
	}
	// The buckets are independent: sort the two halves side by side.
	var wg sync.WaitGroup
	half := len(start) / 2
	for _, r := range [][2]int{{0, half}, {half, len(start) - 1}} {
		wg.Go(func() {
			for k := r[0]; k < r[1]; k++ {
				b := out[start[k]:start[k+1]]
				for i := 1; i < len(b); i++ {
					for j := i; j > 0 && compareHash(b[j], b[j-1]) < 0; j-- {
						b[j], b[j-1] = b[j-1], b[j]
					}
				}
			}
		})
	}
	wg.Wait()
	return out
}

func compareHash(a, b ballotHash) int {
	// by value: small enough to copy, and it keeps the callers simple
	for i := 0; i < sha256.Size; i += 8 {
		x, y := binary.BigEndian.Uint64(a.h[i:]), binary.BigEndian.Uint64(b.h[i:])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
