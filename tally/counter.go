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
// 36-byte entry per ballot for the digest; adding a ballot allocates nothing
// beyond the amortised growth of that digest list.
//
// A Counter is not safe for concurrent use.
type Counter struct {
	def   *survey.Definition
	units map[string]int // unit id -> index in def.Units
	cats  []string       // category ids, in definition order
	// groups[u*len(cats)+c] is the layout of a ballot of category c in unit u.
	groups []group
	counts []uint32
	// hashes holds one entry per ballot, in chunks so that growing never
	// copies what is already there.
	hashes  [][]ballotHash
	ballots int
	buf     []byte

	lastUnit string // the unit of the previous Add: stores stream in runs
	lastU    int
}

// group is one unit × category: where its ballots are counted.
type group struct {
	slots   []slot
	index   map[survey.Slot]int // layout slot -> index into slots
	ballots int
}

// slot is one answer of a ballot: counts[off+i] is the number of ballots
// that chose option i, counts[off+nopt] the number that abstained.
type slot struct {
	off     int32
	nopt    uint8
	abstain bool // the scale has an abstain label
}

// hashChunk is the number of ballot hashes kept in one chunk.
const hashChunk = 1 << 14

// ballotHash is the SHA-256 of one ballot and the unit it belongs to.
type ballotHash struct {
	h    [sha256.Size]byte
	unit uint32
}

// NewCounter returns an empty counter for the rounds of the definition. The
// definition must be valid (as returned by survey.ParseDefinition) and must
// not change while the counter is in use.
func NewCounter(def *survey.Definition) *Counter {
	c := &Counter{def: def, units: make(map[string]int, len(def.Units)), lastU: -1}
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
	if len(answers) != len(g.slots) {
		return fmt.Errorf("%w: a ballot of category %q in unit %q has %d answers, its layout %d",
			ErrInvalidBallot, category, unit, len(answers), len(g.slots))
	}
	counts := c.counts
	slots := g.slots[:len(answers)]
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
	g.ballots++

	b := append(c.buf[:0], unit...)
	b = append(b, 0)
	b = append(b, category...)
	b = append(b, 0)
	b = append(b, answers...)
	c.buf = b
	if n := len(c.hashes); n == 0 || len(c.hashes[n-1]) == hashChunk {
		c.hashes = append(c.hashes, make([]ballotHash, 0, hashChunk))
	}
	last := &c.hashes[len(c.hashes)-1]
	*last = append(*last, ballotHash{h: sha256.Sum256(b), unit: uint32(ui)})
	c.ballots++
	return nil
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

// Ballots returns the number of ballots added.
func (c *Counter) Ballots() int { return c.ballots }

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
	sorted := sortHashes(c.hashes, c.ballots)
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
