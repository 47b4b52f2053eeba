package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"minping/survey"
)

// slipReader answers the Store's slip lookups. The database stays the
// authority on every fact that changes: whether a code exists (a seal
// deletes a round's codes), is spent, is void, and its round's status are
// read at the time of each lookup, so that a code spent or voided through
// any instance, or a round closed through any, shows as such at once.
//
// What it saves is round trips: the lookups waiting at one moment are read
// together, in one statement, by at most maxSlipReaders queries at a time,
// so that under load one round trip answers tens of ballot pages; and
// each round's row, which changes rarely, is kept in memory (roundSnap) and
// not read per lookup.
//
// A code's own facts (batch, unit, category, member) never change and
// could be kept too, but a code found fresh in memory cannot be answered
// from memory: this instance's own spends happen in the ballot writers,
// which the reader does not see, and a page must show a code this
// instance has just spent as spent. The statement that checks it reads
// those facts at the cost of one more index lookup, so no code is kept.
type slipReader struct {
	mu      sync.Mutex
	pending []*slipLookup
	readers int // queries running or about to

	rmu    sync.Mutex
	rounds map[string]*roundSnap

	guard func(context.Context, querier) error // the settings check, before a query carries hashes
}

// maxSlipReaders bounds the lookup queries running at once, each on its
// own connection of the pool (which the ballot writers share). Fewer
// queries of more lookups each cost the database less per page: measured
// with 64 clients, two readers served 37% more pages than four.
const maxSlipReaders = 2

// maxSlipGroup is the most lookups one query answers.
const maxSlipGroup = 512

// roundTTL is how long a round's row is used before it is read again (its
// status is checked on every lookup; this bounds how old its name, base
// URL and, for a draft, definition may be).
const roundTTL = time.Second

type slipLookup struct {
	hash  []byte
	found bool
	code  codeFacts
	err   error
	done  chan struct{}
}

// codeFacts is a code's row as a lookup reads it.
type codeFacts struct {
	batch, round, unit, category, member string
	voided, spent                        bool
	status                               survey.Status // its round's
}

// roundSnap is a round as read at loaded, shared by every slip that names
// it: callers must not change it.
type roundSnap struct {
	round   *survey.Round
	loaded  time.Time
	loading bool // a lookup is reading it again; the others use this one
}

// newSlipReader is a Store's slip reader, with no round read yet; guard
// runs before each lookup's query, on its connection (Store.guard).
func newSlipReader(guard func(context.Context, querier) error) *slipReader {
	return &slipReader{rounds: map[string]*roundSnap{}, guard: guard}
}

// lookup reads a code's row by its keyed hash, with the lookups waiting
// beside it. found is false if there is no such code.
func (x *slipReader) lookup(ctx context.Context, pool *pgxpool.Pool, hash []byte) (codeFacts, bool, error) {
	l := &slipLookup{hash: hash, done: make(chan struct{})}
	x.mu.Lock()
	x.pending = append(x.pending, l)
	read := x.readers < maxSlipReaders
	if read {
		x.readers++
	}
	x.mu.Unlock()
	if read {
		// This caller reads until its own lookup is answered, then leaves
		// what waits to a reader of its own.
		for !answered(l) && x.readOnce(pool) {
		}
		x.mu.Lock()
		more := len(x.pending) > 0
		if !more {
			x.readers--
		}
		x.mu.Unlock()
		if more {
			go x.read(pool)
		}
	}
	select {
	case <-l.done:
		return l.code, l.found, l.err
	case <-ctx.Done():
		return codeFacts{}, false, ctx.Err()
	}
}

func answered(l *slipLookup) bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// read answers lookups until none waits.
func (x *slipReader) read(pool *pgxpool.Pool) {
	for x.readOnce(pool) {
	}
	x.mu.Lock()
	more := len(x.pending) > 0
	if !more {
		x.readers--
	}
	x.mu.Unlock()
	if more {
		go x.read(pool)
	}
}

// readOnce answers the lookups waiting now, oldest first, in one query;
// false if none was waiting.
func (x *slipReader) readOnce(pool *pgxpool.Pool) bool {
	x.mu.Lock()
	group := x.pending
	if len(group) == 0 {
		x.mu.Unlock()
		return false
	}
	x.pending = nil
	if len(group) > maxSlipGroup {
		x.pending = append([]*slipLookup(nil), group[maxSlipGroup:]...)
		group = group[:maxSlipGroup]
	}
	x.mu.Unlock()

	hashes := make([][]byte, len(group))
	for i, l := range group {
		hashes[i] = l.hash
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	found := make(map[string]codeFacts, len(group))
	rows, err := x.query(ctx, pool, `SELECT c.hash, c.batch_id, c.round_id, b.unit, b.category, b.member, b.voided,
		EXISTS (SELECT 1 FROM spent s WHERE s.hash = c.hash), r.status
		FROM codes c JOIN batches b ON b.id = c.batch_id JOIN rounds r ON r.id = c.round_id WHERE c.hash = ANY($1)`, hashes)
	if err == nil {
		for rows.Next() {
			var h []byte
			var c codeFacts
			if err = rows.Scan(&h, &c.batch, &c.round, &c.unit, &c.category, &c.member, &c.voided, &c.spent, &c.status); err != nil {
				break
			}
			found[string(h)] = c
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	for _, l := range group {
		l.code, l.found = found[string(l.hash)]
		l.err = err
		close(l.done)
	}
	return true
}

// query runs a lookup's query on a connection of pool that guard has
// just found safe; the rows release the connection when closed.
func (x *slipReader) query(ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) (pgx.Rows, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if err := x.guard(ctx, conn); err != nil {
		conn.Release()
		return nil, err
	}
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		conn.Release()
		return nil, err
	}
	return releasingRows{rows, conn}, nil
}

// releasingRows are rows that release their connection when closed.
type releasingRows struct {
	pgx.Rows
	conn *pgxpool.Conn
}

func (r releasingRows) Close() {
	r.Rows.Close()
	r.conn.Release()
}

// round returns the round of a code whose status was just read: the one
// in memory if it is younger than roundTTL and has that status, else the
// round read again.
func (x *slipReader) round(ctx context.Context, s *Store, id string, status survey.Status) (*survey.Round, error) {
	now := time.Now()
	x.rmu.Lock()
	snap := x.rounds[id]
	switch {
	case snap == nil || snap.round.Status != status:
	case now.Sub(snap.loaded) < roundTTL || snap.loading:
		r := snap.round
		x.rmu.Unlock()
		return r, nil
	default:
		snap.loading = true // read it again here; until then the others use it
	}
	x.rmu.Unlock()
	r, err := s.Round(ctx, id)
	x.rmu.Lock()
	defer x.rmu.Unlock()
	if snap != nil && x.rounds[id] == snap {
		snap.loading = false
	}
	if err != nil {
		return nil, err
	}
	if cur := x.rounds[id]; cur == nil || !cur.loaded.After(now) {
		x.rounds[id] = &roundSnap{round: r, loaded: now}
	}
	return r, nil
}
