package sqlite

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"minping/survey"
)

// slipIndex is the store's memory of the codes of every unsealed round and of
// the rounds themselves, so that a ballot request is routed without reading
// SQLite. Reading there cost more than anything else a ballot does: every
// commit of the ballot writer empties each reader's page cache, so a lookup
// went back to the log and the file each time.
//
// SQLite stays the authority. The writer spends a code only after reading,
// in its own transaction, the code's batch (its spent bitmap, whether it was
// voided) and the round's status; the index only answers early, and a code
// it does not hold is looked up in SQLite as before. It is kept in step by
// the store's own writes — issue, void, spend, seal, and every change of a
// round — each after its commit, so that it is at worst briefly behind,
// never ahead. It holds no time and no order: a map from a code's keyed
// hash to its batch and position, and each batch's spent bits.
//
// The ballot writer marks codes spent after every commit while every ballot
// request reads the index, so spent bits are set and read atomically, under
// the read lock: were the writer to take the write lock, it would wait for
// requests that hold the read lock and make every request that arrives
// meanwhile wait for it.
type slipIndex struct {
	mu      sync.RWMutex
	codes   map[[32]byte]slipEntry
	batches []batchRoute
	batchOf map[string]uint32 // batch id → index in batches

	rounds map[string]*survey.Round // snapshots, dropped on every change of the round
	gen    uint64                   // bumped by every drop, so a stale load is not kept
}

type slipEntry struct {
	batch uint32
	pos   uint16 // its bit in the batch's spent bitmap (a batch has at most MaxBatch codes)
}

type batchRoute struct {
	id, round, unit, category string
	member                    string     // the holder of a recusal slip
	voided                    bool       // its fresh codes no longer work
	spent                     spentMarks // shared by every copy of the route
}

// spentMarks is a batch's spent codes by position, set and read atomically:
// bit pos%32 of word pos/32, the layout of the stored bitmap read as
// little-endian words.
type spentMarks []atomic.Uint32

func newSpentMarks(codes int) spentMarks { return make(spentMarks, (codes+31)/32) }

func (m spentMarks) set(pos int) {
	if w := pos / 32; w < len(m) {
		m[w].Or(1 << (pos % 32))
	}
}

func (m spentMarks) has(pos int) bool {
	w := pos / 32
	return w < len(m) && m[w].Load()&(1<<(pos%32)) != 0
}

// load sets the marks of a stored bitmap (bit pos%8 of byte pos/8).
func (m spentMarks) load(bits []byte) {
	for i, v := range bits {
		if w := i / 4; v != 0 && w < len(m) {
			m[w].Or(uint32(v) << (8 * (i % 4)))
		}
	}
}

func newSlipIndex() *slipIndex {
	return &slipIndex{codes: map[[32]byte]slipEntry{}, batchOf: map[string]uint32{}, rounds: map[string]*survey.Round{}}
}

// batchLocked returns the index of the batch, adding it with room for codes
// codes. mu must be held.
func (x *slipIndex) batchLocked(b batchRoute, codes int) uint32 {
	if i, ok := x.batchOf[b.id]; ok {
		return i
	}
	i := uint32(len(x.batches))
	b.spent = newSpentMarks(codes)
	x.batches = append(x.batches, b)
	x.batchOf[b.id] = i
	return i
}

// add records the fresh codes of a new batch, each at its index as its
// position.
func (x *slipIndex) add(b batchRoute, hashes [][]byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	i := x.batchLocked(b, len(hashes))
	for pos, h := range hashes {
		x.codes[[32]byte(h)] = slipEntry{batch: i, pos: uint16(pos)}
	}
}

// lookup returns what the index holds for a code's hash, and its state:
// codeFresh or codeSpent (a fresh code of a voided batch is void).
func (x *slipIndex) lookup(hash []byte) (slipEntry, batchRoute, uint8, bool) {
	if len(hash) != 32 {
		return slipEntry{}, batchRoute{}, 0, false
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.codes[[32]byte(hash)]
	if !ok {
		return slipEntry{}, batchRoute{}, 0, false
	}
	b := x.batches[e.batch]
	state := uint8(codeFresh)
	if b.spent.has(int(e.pos)) {
		state = codeSpent
	}
	return e, b, state, true
}

// spent marks the codes at the given positions of their batches spent.
func (x *slipIndex) spent(codes []spentCode) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, c := range codes {
		if i, ok := x.batchOf[c.batch]; ok {
			x.batches[i].spent.set(c.pos)
		}
	}
}

// spentCode is a code by its batch and position.
type spentCode struct {
	batch string
	pos   int
}

// voided marks a batch void: its fresh codes stop working.
func (x *slipIndex) voided(batchID string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if i, ok := x.batchOf[batchID]; ok {
		x.batches[i].voided = true
	}
}

// purge forgets every code of a round (at seal, when SQLite deletes them).
func (x *slipIndex) purge(roundID string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for k, e := range x.codes {
		if x.batches[e.batch].round == roundID {
			delete(x.codes, k)
		}
	}
	delete(x.rounds, roundID)
	x.gen++
}

// forget drops the snapshot of a round after it has changed.
func (x *slipIndex) forget(roundID string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.rounds, roundID)
	x.gen++
}

// round returns a snapshot of the round, loading it with load when there is
// none. A snapshot is shared: callers must not change it.
func (x *slipIndex) round(id string, load func() (*survey.Round, error)) (*survey.Round, error) {
	x.mu.RLock()
	r, gen := x.rounds[id], x.gen
	x.mu.RUnlock()
	if r != nil {
		return r, nil
	}
	r, err := load()
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	if x.gen == gen { // nothing changed while it loaded
		x.rounds[id] = r
	}
	x.mu.Unlock()
	return r, nil
}

// loadSlips fills the index from the database: every code left (sealed
// rounds have none), in the state its batch's bitmap gives it.
func (s *Store) loadSlips(ctx context.Context) error {
	type batchBits struct {
		index  uint32
		bits   []byte
		voided bool
	}
	x := s.slips
	x.mu.Lock()
	defer x.mu.Unlock()
	batches := map[string]*batchBits{}
	brows, err := s.wdb.QueryContext(ctx, `SELECT id, round_id, unit, category, member, voided, spent_bits FROM batches WHERE used IS NULL`)
	if err != nil {
		return fmt.Errorf("load batches: %w", err)
	}
	for brows.Next() {
		var b batchRoute
		bb := &batchBits{}
		if err := brows.Scan(&b.id, &b.round, &b.unit, &b.category, &b.member, &bb.voided, &bb.bits); err != nil {
			brows.Close()
			return fmt.Errorf("load batches: %w", err)
		}
		bb.index = x.batchLocked(b, 8*len(bb.bits))
		x.batches[bb.index].voided = bb.voided
		x.batches[bb.index].spent.load(bb.bits)
		batches[b.id] = bb
	}
	brows.Close()
	if err := brows.Err(); err != nil {
		return fmt.Errorf("load batches: %w", err)
	}
	rows, err := s.wdb.QueryContext(ctx, `SELECT hash, batch_id, pos FROM codes`)
	if err != nil {
		return fmt.Errorf("load codes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			hash  []byte
			batch string
			pos   int
		)
		if err := rows.Scan(&hash, &batch, &pos); err != nil {
			return fmt.Errorf("load codes: %w", err)
		}
		bb := batches[batch]
		if len(hash) != 32 || bb == nil || pos < 0 || pos > 0xFFFF {
			continue // not one of ours: left to SQLite
		}
		x.codes[[32]byte(hash)] = slipEntry{batch: bb.index, pos: uint16(pos)}
	}
	return rows.Err()
}
