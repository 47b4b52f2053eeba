package postgres

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"minping/survey"
)

const roundColumns = `id, name, status, definition, config_sha256, created_at, opened_at, closed_at, sealed_at, archived, base_url`

// scanRound reads a row of roundColumns into a round, with its definition.
func (s *Store) scanRound(row pgx.Row) (*survey.Round, error) {
	var r survey.Round
	var canonical []byte
	if err := row.Scan(&r.ID, &r.Name, &r.Status, &canonical, &r.ConfigSHA256, &r.CreatedAt, &r.OpenedAt, &r.ClosedAt, &r.SealedAt, &r.Archived, &r.BaseURL); err != nil {
		return nil, err
	}
	def, err := s.definition(r.ID, canonical)
	if err != nil {
		return nil, err
	}
	r.Definition = def
	utc(&r)
	return &r, nil
}

// utc gives a round's times in UTC, as the SQLite store returns them.
func utc(r *survey.Round) {
	r.CreatedAt = r.CreatedAt.UTC()
	for _, t := range []**time.Time{&r.OpenedAt, &r.ClosedAt, &r.SealedAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
}

// definition parses a stored canonical definition once and caches it; the
// cache key includes the text's fingerprint so draft edits are seen.
func (s *Store) definition(id string, canonical []byte) (*survey.Definition, error) {
	key := id + ":" + fingerprint(canonical)
	s.mu.Lock()
	d, ok := s.defs[key]
	s.mu.Unlock()
	if ok {
		return d, nil
	}
	d, err := survey.ParseFrozen(canonical)
	if err != nil {
		return nil, fmt.Errorf("stored definition of round %s: %w", id, err)
	}
	s.mu.Lock()
	s.defs[key] = d
	s.mu.Unlock()
	return d, nil
}

// frozenDefinition returns the cached definition of a round that has
// opened (its fingerprint, fixed at open, is the cache key's), or nil.
func (s *Store) frozenDefinition(id, config string) *survey.Definition {
	if config == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.defs[id+":"+config]
}

// CreateRound stores a new draft round. source is the definition as the
// organiser wrote it (YAML or JSON), kept for download.
func (s *Store) CreateRound(ctx context.Context, def *survey.Definition, source []byte) (*survey.Round, error) {
	id, now := newID(), s.now().UTC().Truncate(time.Microsecond)
	_, err := s.pool.Exec(ctx, `INSERT INTO rounds (id, name, status, definition, source, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, def.Name, survey.StatusDraft, def.Canonical(), source, now)
	if err != nil {
		return nil, fmt.Errorf("create round: %w", err)
	}
	return s.Round(ctx, id)
}

// UpdateDefinition replaces the definition of a draft round; ErrWrongState
// once it has opened. Batches already issued keep their unit and category,
// which must still exist.
func (s *Store) UpdateDefinition(ctx context.Context, id string, def *survey.Definition, source []byte) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return updateDefinition(ctx, tx, id, def, source) })
}

// updateDefinition replaces a draft's definition inside tx.
func updateDefinition(ctx context.Context, tx pgx.Tx, id string, def *survey.Definition, source []byte) error {
	status, err := lockRound(ctx, tx, id)
	if err != nil {
		return fmt.Errorf("update definition: %w", err)
	}
	if status != survey.StatusDraft {
		return fmt.Errorf("update definition: %w", survey.ErrWrongState)
	}
	rows, err := tx.Query(ctx, `SELECT unit, category, member, count FROM batches WHERE round_id = $1 AND NOT voided ORDER BY created_at, id`, id)
	if err != nil {
		return fmt.Errorf("update definition: %w", err)
	}
	var ps []survey.Problem
	for rows.Next() {
		var b survey.BatchRequest
		if err := rows.Scan(&b.Unit, &b.Category, &b.Member, &b.Count); err != nil {
			rows.Close()
			return fmt.Errorf("update definition: %w", err)
		}
		if survey.CheckBatches(def, []survey.BatchRequest{b}) != nil {
			ps = append(ps, survey.Problem{Path: "units", Message: fmt.Sprintf("已为单位「%s」的测评人类别「%s」发放测评码：请先作废该批次", b.Unit, b.Category)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("update definition: %w", err)
	}
	if len(ps) > 0 {
		return &survey.ValidationError{Problems: ps}
	}
	_, err = tx.Exec(ctx, `UPDATE rounds SET name = $2, definition = $3, source = $4 WHERE id = $1`, id, def.Name, def.Canonical(), source)
	return err
}

// Round returns the round with the id, or ErrNotFound.
func (s *Store) Round(ctx context.Context, id string) (*survey.Round, error) {
	r, err := s.scanRound(s.pool.QueryRow(ctx, `SELECT `+roundColumns+` FROM rounds WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("round: %w", survey.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("round: %w", err)
	}
	return r, nil
}

// RoundSource returns the definition of a round as the organiser wrote it,
// or, for a round created without one, its canonical JSON.
func (s *Store) RoundSource(ctx context.Context, id string) ([]byte, error) {
	var source, def []byte
	err := s.pool.QueryRow(ctx, `SELECT source, definition FROM rounds WHERE id = $1`, id).Scan(&source, &def)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("round source: %w", survey.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("round source: %w", err)
	}
	if len(source) == 0 {
		return def, nil
	}
	return source, nil
}

// Rounds returns every round, newest first.
func (s *Store) Rounds(ctx context.Context) ([]*survey.Round, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+roundColumns+` FROM rounds ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("rounds: %w", err)
	}
	defer rows.Close()
	var out []*survey.Round
	for rows.Next() {
		r, err := s.scanRound(rows)
		if err != nil {
			return nil, fmt.Errorf("rounds: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// OpenRound freezes the definition and opens voting (draft → open). It
// makes the round's ballot key: the private half is written to the key
// directory before the round opens, the public half goes in the round.
func (s *Store) OpenRound(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		status, err := lockRound(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("open round: %w", err)
		}
		if status != survey.StatusDraft {
			return fmt.Errorf("open round: %w", survey.ErrWrongState)
		}
		var canonical []byte
		if err := tx.QueryRow(ctx, `SELECT definition FROM rounds WHERE id = $1`, id).Scan(&canonical); err != nil {
			return fmt.Errorf("open round: %w", err)
		}
		// Frozen as this version writes it: a draft stored by an older one
		// gains the keys added since, with their defaults.
		def, err := survey.ParseDefinition(canonical)
		if err != nil {
			return fmt.Errorf("open round: stored definition: %w", err)
		}
		frozen := def.Canonical()
		// Written while the row is locked, so no other instance opens the
		// round meanwhile; a file left by an attempt that did not commit is
		// replaced, as nothing was sealed to it.
		pub, err := s.writeRoundKey(id)
		if err != nil {
			return fmt.Errorf("open round: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE rounds SET status = $2, definition = $3, config_sha256 = $4, opened_at = $5, box_key = $6 WHERE id = $1`,
			id, survey.StatusOpen, frozen, fingerprint(frozen), s.now().UTC().Truncate(time.Microsecond), pub)
		return err
	})
}

// CloseRound ends voting (open → closed). In the transaction that ends
// it, once no ballot is being written, every box of the round is opened
// with the round's private key and its records are stored in the ballots
// table under random keys, in a random order; the boxes are deleted. After
// the commit the private key is removed from the key directory.
//
// Asked of two instances at once, one closes and the other gets
// ErrWrongState. ErrNoRoundKey if the key directory lacks the round's key:
// the round stays open. Closing a closed round whose key file is still
// there (the process stopped before removing it) removes it, and answers
// ErrWrongState all the same.
func (s *Store) CloseRound(ctx context.Context, id string) error {
	// A client that goes away does not roll the close back: opening a
	// province's boxes takes seconds.
	ctx = context.WithoutCancel(ctx)
	closedBefore := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := stopVoting(ctx, tx, id); err != nil {
			return err
		}
		status, err := lockRound(ctx, tx, id)
		if err != nil {
			return err
		}
		if status != survey.StatusOpen {
			closedBefore = status == survey.StatusClosed
			return survey.ErrWrongState
		}
		var pub []byte
		if err := tx.QueryRow(ctx, `SELECT box_key FROM rounds WHERE id = $1`, id).Scan(&pub); err != nil {
			return err
		}
		priv, err := s.readRoundKey(id, pub)
		if err != nil {
			return err
		}
		excluded, err := s.excludedGroups(ctx, id)
		if err != nil {
			return err
		}
		if err := s.openBoxes(ctx, tx, id, &boxOpener{roundID: id, priv: priv, aeads: map[[32]byte]cipher.AEAD{}}, excluded); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE rounds SET status = $2, closed_at = $3, box_key = NULL WHERE id = $1`,
			id, survey.StatusClosed, s.now().UTC().Truncate(time.Microsecond))
		return err
	})
	s.forgetSealer(id)
	if closedBefore {
		// Closed already, here or by another instance: a key file left
		// behind by a process that stopped before removing it goes now.
		// The answer stays ErrWrongState, so that of two closes asked at
		// once exactly one succeeds.
		if _, rerr := s.removeRoundKey(id); rerr != nil {
			return fmt.Errorf("close round: remove its ballot key: %w", rerr)
		}
	}
	if err != nil && !closedBefore {
		// A commit whose answer was lost (the connection dropped during
		// COMMIT) may have closed the round all the same: then its key
		// goes now. The error stands; closing again says how it ended.
		var status survey.Status
		if s.pool.QueryRow(ctx, `SELECT status FROM rounds WHERE id = $1`, id).Scan(&status) == nil && status != survey.StatusOpen && status != survey.StatusDraft {
			s.removeRoundKey(id)
		}
	}
	if err != nil {
		return fmt.Errorf("close round: %w", err)
	}
	if _, err := s.removeRoundKey(id); err != nil {
		return fmt.Errorf("close round: the round is closed, but its ballot key could not be removed (close it again to retry): %w", err)
	}
	return nil
}

// excludedGroups are the groups (a unit's category) of a round whose
// ballots will enter no figure, being too few (Rules.Excludes), as its
// turnout says now that voting has stopped: the seal finds the same ones.
//
// Their records are never written. SQLite deletes them at the seal, and
// its secure_delete and compaction leave nothing; here a row written at
// close and deleted at the seal would stay in the close's WAL (archives,
// standbys), in dead tuples until vacuumed, and in the column statistics
// that ANALYZE gathers — a group of one is one person's ballot, and its
// batch names the unit and category. Their boxes go with the others,
// opened by nobody once the round's key is removed.
func (s *Store) excludedGroups(ctx context.Context, roundID string) (map[survey.Group]bool, error) {
	r, err := s.Round(ctx, roundID)
	if err != nil {
		return nil, err
	}
	turnout, err := s.Turnout(ctx, roundID)
	if err != nil {
		return nil, err
	}
	out := map[survey.Group]bool{}
	for _, u := range turnout {
		for _, c := range u.Categories {
			if r.Definition.Rules.Excludes(c.Count.Voted) {
				out[survey.Group{Unit: u.Unit, Category: c.Category}] = true
			}
		}
	}
	return out, nil
}

// openBoxes stores, inside tx, the records of every box of a round under
// random keys in a random order, but those of the excluded groups, and
// deletes the boxes.
//
// The boxes are read and opened a chunk at a time, and each record kept
// compactly (its names shared, its answers in one arena), because the
// shuffle needs them all at once: a province's close holds its records,
// not its boxes.
func (s *Store) openBoxes(ctx context.Context, tx pgx.Tx, roundID string, o *boxOpener, excluded map[survey.Group]bool) error {
	rows, err := tx.Query(ctx, `SELECT box FROM ballot_boxes WHERE round_id = $1`, roundID)
	if err != nil {
		return err
	}
	var k keptRecords
	chunk := make([][]byte, 0, openChunk)
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return err
		}
		if chunk = append(chunk, b); len(chunk) == openChunk {
			if err := k.open(o, chunk, excluded); err != nil {
				rows.Close()
				return err
			}
			chunk = chunk[:0]
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := k.open(o, chunk, excluded); err != nil {
		return err
	}
	// A uniform shuffle (Fisher–Yates from crypto/rand): the table's
	// physical order, and the ids, say nothing of the boxes' order, which
	// is theirs of arrival.
	recs := k.records
	for i := len(recs) - 1; i > 0; i-- {
		j, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		recs[i], recs[j.Int64()] = recs[j.Int64()], recs[i]
	}
	src := pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
		r := recs[i]
		id := make([]byte, 16)
		rand.Read(id)
		return []any{id, roundID, r.unit, r.category, r.part, k.arena[r.off : r.off+r.n]}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ballots"}, []string{"id", "round_id", "unit", "category", "part", "answers"}, src); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM ballot_boxes WHERE round_id = $1`, roundID)
	return err
}

// openChunk is how many boxes a close opens at a time.
const openChunk = 8192

// keptRecords are a close's records as it gathers them for the shuffle:
// names shared, answers in one arena.
type keptRecords struct {
	records []keptRecord
	arena   []byte
	names   map[string]string
}

type keptRecord struct {
	unit, category, part string
	off, n               int
}

// open opens a chunk of boxes on every core and keeps their records, but
// those of the excluded groups.
func (k *keptRecords) open(o *boxOpener, boxes [][]byte, excluded map[survey.Group]bool) error {
	type opened struct {
		category string
		records  []survey.Record
	}
	out := make([]opened, len(boxes))
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for i := w; i < len(boxes); i += len(errs) {
				c, recs, err := o.open(boxes[i])
				if err != nil {
					errs[w] = err
					return
				}
				out[i] = opened{c, recs}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if k.names == nil {
		k.names = map[string]string{}
	}
	intern := func(s string) string {
		if v, ok := k.names[s]; ok {
			return v
		}
		k.names[s] = s
		return s
	}
	for _, b := range out {
		for _, r := range b.records {
			if excluded[survey.Group{Unit: r.Unit, Category: b.category}] {
				continue
			}
			a := r.Answers()
			k.records = append(k.records, keptRecord{unit: intern(r.Unit), category: intern(b.category), part: intern(r.Part), off: len(k.arena), n: len(a)})
			k.arena = append(k.arena, a...)
		}
	}
	return nil
}

// DeleteRound deletes a draft round with its batches, codes and expected
// attendance. ErrWrongState once it has opened: a round that took ballots
// is archived, never deleted.
func (s *Store) DeleteRound(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		status, err := lockRound(ctx, tx, id)
		if err != nil {
			return err
		}
		if status != survey.StatusDraft {
			return survey.ErrWrongState
		}
		for _, q := range []string{
			`DELETE FROM codes WHERE round_id = $1`,
			`DELETE FROM batches WHERE round_id = $1`,
			`DELETE FROM roster_expected WHERE round_id = $1`,
			`DELETE FROM rounds WHERE id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete round: %w", err)
	}
	s.removeRoundKey(id) // an open that did not commit may have left one
	return nil
}

// ArchiveRound hides a sealed round from lists (archived true) or shows it
// again; its documents and results stay. ErrWrongState unless it is sealed.
func (s *Store) ArchiveRound(ctx context.Context, id string, archived bool) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		status, err := lockRound(ctx, tx, id)
		if err != nil {
			return err
		}
		if status != survey.StatusSealed {
			return survey.ErrWrongState
		}
		_, err = tx.Exec(ctx, `UPDATE rounds SET archived = $2 WHERE id = $1`, id, archived)
		return err
	})
	if err != nil {
		return fmt.Errorf("archive round: %w", err)
	}
	return nil
}

// CopyRound makes a new draft from a round (survey.CopyRound): its
// definition renamed and its expected attendance, nothing of its slips,
// ballots or results.
func (s *Store) CopyRound(ctx context.Context, id, name string) (*survey.Round, error) {
	return survey.CopyRound(ctx, s, id, name)
}

// SetBaseURL sets where a round's slips point ("" for the server's); the
// slips issued before keep theirs. ErrWrongState once the round closed.
func (s *Store) SetBaseURL(ctx context.Context, id, base string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		status, err := lockRound(ctx, tx, id)
		if err != nil {
			return err
		}
		if status != survey.StatusDraft && status != survey.StatusOpen {
			return survey.ErrWrongState
		}
		_, err = tx.Exec(ctx, `UPDATE rounds SET base_url = $2 WHERE id = $1`, id, base)
		return err
	})
	if err != nil {
		return fmt.Errorf("set base url: %w", err)
	}
	return nil
}
