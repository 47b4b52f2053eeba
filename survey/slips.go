package survey

import (
	"context"
	"fmt"
	"sync"
)

// slipIndex is the store's memory of the codes of every unsealed round and of
// the rounds themselves, so that a ballot request is routed without reading
// SQLite. Reading there cost more than anything else a ballot does: every
// commit of the ballot writer empties each reader's page cache, so a lookup
// went back to the log and the file each time.
//
// SQLite stays the authority. The writer spends a code only with a statement
// that checks, in the same step, that the code is fresh and its round open;
// the index only answers early, and a code it does not hold is looked up in
// SQLite as before. It is kept in step by the store's own writes — issue,
// void, spend, seal, and every change of a round — each after its commit, so
// that it is at worst briefly behind, never ahead. It holds no time and no
// order: a map from a code's keyed hash to its batch and state.
type slipIndex struct {
	mu      sync.RWMutex
	codes   map[[32]byte]slipEntry
	batches []batchRoute
	batchOf map[string]uint32 // batch id → index in batches

	rounds map[string]*Round // snapshots, dropped on every change of the round
	gen    uint64            // bumped by every drop, so a stale load is not kept
}

type slipEntry struct {
	batch uint32
	state uint8 // codeFresh or codeSpent; void codes are not held
}

type batchRoute struct {
	id, round, unit, category string
	voided                    bool // its fresh codes no longer work
}

func newSlipIndex() *slipIndex {
	return &slipIndex{codes: map[[32]byte]slipEntry{}, batchOf: map[string]uint32{}, rounds: map[string]*Round{}}
}

// batchLocked returns the index of the batch, adding it. mu must be held.
func (x *slipIndex) batchLocked(id, round, unit, category string) uint32 {
	if i, ok := x.batchOf[id]; ok {
		return i
	}
	i := uint32(len(x.batches))
	x.batches = append(x.batches, batchRoute{id: id, round: round, unit: unit, category: category})
	x.batchOf[id] = i
	return i
}

// add records fresh or spent codes of a batch.
func (x *slipIndex) add(b batchRoute, hashes [][]byte, state uint8) {
	x.mu.Lock()
	defer x.mu.Unlock()
	i := x.batchLocked(b.id, b.round, b.unit, b.category)
	for _, h := range hashes {
		x.codes[[32]byte(h)] = slipEntry{batch: i, state: state}
	}
}

// lookup returns what the index holds for a code's hash.
func (x *slipIndex) lookup(hash []byte) (slipEntry, batchRoute, bool) {
	if len(hash) != 32 {
		return slipEntry{}, batchRoute{}, false
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.codes[[32]byte(hash)]
	if !ok {
		return slipEntry{}, batchRoute{}, false
	}
	return e, x.batches[e.batch], true
}

// spent marks codes spent.
func (x *slipIndex) spent(hashes [][]byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, h := range hashes {
		k := [32]byte(h)
		if e, ok := x.codes[k]; ok {
			e.state = codeSpent
			x.codes[k] = e
		}
	}
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
func (x *slipIndex) round(id string, load func() (*Round, error)) (*Round, error) {
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

// loadSlips fills the index from the database: every fresh or spent code
// (sealed rounds have none left; void codes are looked up in SQLite).
func (s *Store) loadSlips(ctx context.Context) error {
	rows, err := s.wdb.QueryContext(ctx, `SELECT c.hash, c.state, b.id, b.round_id, b.unit, b.category, b.voided
		FROM codes c JOIN batches b ON b.id = c.batch_id WHERE c.state IN (?, ?)`, codeFresh, codeSpent)
	if err != nil {
		return fmt.Errorf("load codes: %w", err)
	}
	defer rows.Close()
	x := s.slips
	x.mu.Lock()
	defer x.mu.Unlock()
	for rows.Next() {
		var (
			hash   []byte
			state  uint8
			b      batchRoute
			voided bool
		)
		if err := rows.Scan(&hash, &state, &b.id, &b.round, &b.unit, &b.category, &voided); err != nil {
			return fmt.Errorf("load codes: %w", err)
		}
		if len(hash) != 32 {
			continue // not one of ours: left to SQLite
		}
		i := x.batchLocked(b.id, b.round, b.unit, b.category)
		x.batches[i].voided = x.batches[i].voided || voided
		x.codes[[32]byte(hash)] = slipEntry{batch: i, state: state}
	}
	return rows.Err()
}
