package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"math/big"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"minping/survey"
	"minping/survey/groupcommit"
)

type submission struct {
	hash    []byte
	roundID string
	box     []byte // nil if the round had no box key when the slip was read
	result  chan error
}

// roundLockKey is the second key of a round's advisory lock.
func roundLockKey(roundID string) int32 {
	h := fnv.New32a()
	h.Write([]byte(roundID))
	return int32(h.Sum32())
}

// sealer returns this Store's box sealer for a round, reading the round's
// public box key the first time; nil if the round has none (it is not open).
func (s *Store) sealer(ctx context.Context, roundID string) (*boxSealer, error) {
	s.mu.Lock()
	b := s.sealers[roundID]
	s.mu.Unlock()
	if b != nil {
		return b, nil
	}
	var pub []byte
	err := s.pool.QueryRow(ctx, `SELECT box_key FROM rounds WHERE id = $1`, roundID).Scan(&pub)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && pub == nil {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if b, err = newBoxSealer(pub); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.sealers[roundID] == nil {
		s.sealers[roundID] = b
	}
	b = s.sealers[roundID]
	s.mu.Unlock()
	return b, nil
}

// forgetSealer drops the sealer of a round that has closed.
func (s *Store) forgetSealer(roundID string) {
	s.mu.Lock()
	delete(s.sealers, roundID)
	s.mu.Unlock()
}

// Submit spends the slip's code and stores its ballot in one atomic step,
// and returns once that step is durable (committed with synchronous_commit
// on). A code is spent at most once however many submissions race for it,
// through however many instances: the losers get ErrCodeUsed. ErrNotFound
// if the code is unknown or was voided meanwhile, ErrNotStarted or
// ErrVotingOver if the round is not open.
//
// The ballot is stored sealed in a box to the round's key, with nothing in
// the clear but its round, until the round closes.
func (s *Store) Submit(ctx context.Context, slip *survey.Slip, ballot survey.Ballot) error {
	records := ballot.Records()
	if len(records) == 0 {
		return fmt.Errorf("submit: an empty ballot")
	}
	if slip == nil || slip.Round == nil || slip.Category == nil || len(slip.Ref.Hash) == 0 {
		return fmt.Errorf("submit: %w", survey.ErrNotFound)
	}
	sub := &submission{hash: slip.Ref.Hash, roundID: slip.Round.ID, result: make(chan error, 1)}
	b, err := s.sealer(ctx, sub.roundID)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if b != nil {
		sub.box = b.seal(sub.roundID, slip.Category.ID, records)
	}
	// A 201 is sent only for a ballot that is durable (groupcommit.Do).
	err = s.writer.Do(ctx, sub, sub.result)
	if errors.Is(err, groupcommit.ErrClosed) || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("submit: %w", err)
	}
	return err
}

// WriterStats is survey.WriterStats, the ballot writers' totals.
type WriterStats = survey.WriterStats

// IssuedCodes is the codes this Store issued since it opened.
func (s *Store) IssuedCodes() int64 { return s.issued.Load() }

// WriterStats returns the ballot writers' totals so far: each gathers the
// submissions waiting into one transaction, one WAL flush for the group
// (survey/groupcommit).
func (s *Store) WriterStats() WriterStats { return s.writer.Stats() }

// commit writes one group, retrying a transaction PostgreSQL cancelled to
// break a deadlock, and answers each submission.
func (s *Store) commit(group []*submission) {
	results := make([]error, len(group))
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		clear(results)
		if err = s.commitOnce(group, results); !retryable(err) {
			break
		}
	}
	for i, sub := range group {
		if err != nil {
			sub.result <- fmt.Errorf("store ballot: %w", err)
		} else {
			sub.result <- results[i]
		}
	}
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// commitOnce writes one group in one transaction:
//
//  1. it takes, for each round of the group, that round's advisory lock in
//     shared mode: a close or a void takes it exclusively, so it waits for
//     the groups being written and they, begun after it, wait for it and
//     then see the round closed or the batch void;
//  2. it reads each code's batch, whether that batch is void, the round's
//     status and whether the code is spent, as committed at that moment;
//  3. it inserts a spent row for each code that may be spent (ON CONFLICT
//     DO NOTHING: a code another instance spent meanwhile is not
//     returned, and is refused as used), in a random order;
//  4. it inserts the boxes of the codes it spent, in another random order,
//     and commits.
//
// Nothing in the transaction names a time, and its rows' order within the
// commit says nothing of the order the ballots came in.
func (s *Store) commitOnce(group []*submission, results []error) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := s.guard(ctx, tx); err != nil {
		return err
	}

	var rounds []string
	hashes := make([][]byte, 0, len(group))
	first := make(map[string]int, len(group)) // hash → index of its first submission
	for i, sub := range group {
		if _, dup := first[string(sub.hash)]; dup {
			results[i] = survey.ErrCodeUsed // a second submission of the code in this group
			continue
		}
		first[string(sub.hash)] = i
		hashes = append(hashes, sub.hash)
		if !slices.Contains(rounds, sub.roundID) {
			rounds = append(rounds, sub.roundID)
		}
	}
	slices.Sort(rounds) // every writer takes the locks in one order
	batch := &pgx.Batch{}
	for _, r := range rounds {
		batch.Queue(`SELECT pg_advisory_xact_lock_shared($1, $2)`, lockClassRound, roundLockKey(r))
	}
	type code struct {
		round, batch, status string
		voided, spent        bool
	}
	codes := make(map[string]code, len(hashes))
	batch.Queue(`SELECT c.hash, c.round_id, c.batch_id, b.voided, r.status, EXISTS (SELECT 1 FROM spent s WHERE s.hash = c.hash)
		FROM codes c JOIN batches b ON b.id = c.batch_id JOIN rounds r ON r.id = c.round_id
		WHERE c.hash = ANY($1)`, hashes).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var h []byte
			var c code
			if err := rows.Scan(&h, &c.round, &c.batch, &c.voided, &c.status, &c.spent); err != nil {
				return err
			}
			codes[string(h)] = c
		}
		return rows.Err()
	})
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return err
	}

	// In the order a slip's lookup checks: unknown or void, spent, then
	// the round's status.
	var spend []int
	for h, i := range first {
		c, ok := codes[h]
		switch {
		case !ok || c.round != group[i].roundID:
			results[i] = survey.ErrNotFound
		case c.spent:
			results[i] = survey.ErrCodeUsed
		case c.voided:
			results[i] = survey.ErrNotFound
		case c.status == string(survey.StatusDraft):
			results[i] = survey.ErrNotStarted
		case c.status != string(survey.StatusOpen):
			results[i] = survey.ErrVotingOver
		case group[i].box == nil: // read before the round opened
			results[i] = survey.ErrNotStarted
		default:
			spend = append(spend, i)
		}
	}
	if len(spend) == 0 {
		return nil // nothing to write: roll back
	}
	shuffle(spend)
	sh, sr, sb := make([][]byte, len(spend)), make([]string, len(spend)), make([]string, len(spend))
	for k, i := range spend {
		c := codes[string(group[i].hash)]
		sh[k], sr[k], sb[k] = group[i].hash, c.round, c.batch
	}
	rows, err := tx.Query(ctx, `INSERT INTO spent (hash, round_id, batch_id)
		SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[]) ON CONFLICT (hash) DO NOTHING RETURNING hash`, sh, sr, sb)
	if err != nil {
		return err
	}
	spent := make(map[string]bool, len(spend))
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return err
		}
		spent[string(h)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	shuffle(spend)
	var ids, boxes [][]byte
	var boxRounds []string
	for _, i := range spend {
		if !spent[string(group[i].hash)] {
			results[i] = survey.ErrCodeUsed // spent by another instance meanwhile
			continue
		}
		id := make([]byte, 16)
		rand.Read(id)
		ids, boxRounds, boxes = append(ids, id), append(boxRounds, group[i].roundID), append(boxes, group[i].box)
	}
	if len(ids) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO ballot_boxes (id, round_id, box) SELECT * FROM unnest($1::bytea[], $2::text[], $3::bytea[])`, ids, boxRounds, boxes); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// shuffle permutes xs uniformly (Fisher–Yates from crypto/rand).
func shuffle(xs []int) {
	for i := len(xs) - 1; i > 0; i-- {
		j, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		xs[i], xs[j.Int64()] = xs[j.Int64()], xs[i]
	}
}

// EachBallot calls fn with every stored ballot record of a round, in key
// order (a random order that says nothing of arrival): its unit, category,
// part ("" but for a recusal ballot's parts) and answers. answers is only
// valid during the call. Ballots are in the table only once the round has
// closed: until then they are sealed boxes.
func (s *Store) EachBallot(ctx context.Context, roundID string, fn func(unit, category, part string, answers []byte) error) error {
	return s.EachBallotPart(ctx, roundID, 0, 1, fn)
}

// EachBallotPart is EachBallot for part of a round's ballots: the parts
// numbered 0 to parts-1 split them by the first byte of their random keys,
// so that each ballot is in exactly one part and each part holds about
// 1/parts of them. Parts may be read at the same time, each on its own
// goroutine and connection. parts is at most 256.
func (s *Store) EachBallotPart(ctx context.Context, roundID string, part, parts int, fn func(unit, category, part string, answers []byte) error) error {
	if parts < 1 || parts > 256 || part < 0 || part >= parts {
		return fmt.Errorf("ballots: part %d of %d", part, parts)
	}
	query, args := `SELECT unit, category, part, answers FROM ballots WHERE round_id = $1`, []any{roundID}
	if part > 0 {
		args = append(args, []byte{byte(part * 256 / parts)})
		query += fmt.Sprintf(` AND id >= $%d`, len(args))
	}
	if part < parts-1 {
		args = append(args, []byte{byte((part + 1) * 256 / parts)})
		query += fmt.Sprintf(` AND id < $%d`, len(args))
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("ballots: %w", err)
	}
	defer rows.Close()
	// Unit and category repeat; intern them to spare an allocation per row.
	names := map[string]string{}
	intern := func(b []byte) string {
		if s, ok := names[string(b)]; ok {
			return s
		}
		s := string(b)
		names[s] = s
		return s
	}
	for rows.Next() {
		v := rows.RawValues()
		if err := fn(intern(v[0]), intern(v[1]), intern(v[2]), v[3]); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ballots: %w", err)
	}
	return nil
}
