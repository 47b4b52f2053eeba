package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"minping/survey"
	"minping/survey/groupcommit"
)

// The ballot writer commits what waits as one group: at most 512
// ballots, and, when at least 2 wait, lingering up to 2 ms for up to 128
// (groupcommit's defaults). A lone voter's ballot is never held, and every
// ballot is answered only after its group is on disk.
var writerOptions = groupcommit.Options{Writers: 1}

type submission struct {
	batch    string
	pos      int
	roundID  string
	category string
	records  []survey.Record
	box      []byte // the records sealed until close, for a ballot of several
	result   chan error
}

// Submit spends the slip's code and stores its ballot in one atomic step, and
// returns once that step is durable. A code is spent at most once however
// many submissions race for it: the losers get ErrCodeUsed. ErrNotFound if
// the code was voided meanwhile, ErrVotingOver if the round closed.
//
// The ballot comes from Definition.EncodeAnswers or EncodeSlots. The stored
// ballot carries round, unit, category and answers under a random key:
// nothing that links it to the code, a time or an order.
func (s *Store) Submit(ctx context.Context, slip *survey.Slip, ballot survey.Ballot) error {
	records := ballot.Records()
	if len(records) == 0 {
		return fmt.Errorf("submit: an empty ballot")
	}
	sub := &submission{
		batch: slip.Ref.Batch, pos: slip.Ref.Pos, roundID: slip.Round.ID, category: slip.Category.ID,
		records: records, result: make(chan error, 1),
	}
	if boxed(slip.Category, records) {
		box, err := s.sealBox(sub.roundID, sub.category, records)
		if err != nil {
			return fmt.Errorf("submit: %w", err)
		}
		sub.box, sub.records = box, nil
	}
	// A 201 is sent only for a ballot that is durable (groupcommit.Do).
	err := s.writer.Do(ctx, sub, sub.result)
	if errors.Is(err, groupcommit.ErrClosed) || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("submit: %w", err)
	}
	return err
}

// WriterStats is survey.WriterStats, the ballot writer's totals.
type WriterStats = survey.WriterStats

// IssuedCodes is the codes issued since the store opened.
func (s *Store) IssuedCodes() int64 { return s.issued.Load() }

// WriterStats returns the ballot writer's totals so far.
func (s *Store) WriterStats() WriterStats { return s.writer.Stats() }

// commit writes one group in one transaction. Each submission's code is
// checked against its batch as the transaction reads it — spent, void, or
// its round not open — and if fresh its bit is set and its ballot stored.
// Each batch the group touched is written once, with its bitmap and count,
// so the spend, the checks and the ballot are one atomic step and a group of
// ballots costs a few batch rows rather than a code row each.
func (s *Store) commit(group []*submission) {
	results := make([]error, len(group))
	err := func() error {
		ctx := context.Background()
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		insert, err := tx.PrepareContext(ctx, `INSERT INTO ballots (id, round_id, unit, category, part, answers) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insert.Close()
		boxes, err := tx.PrepareContext(ctx, `INSERT INTO ballot_boxes (id, round_id, category, box) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer boxes.Close()
		batches, err := readSpendBatches(ctx, tx, group)
		if err != nil {
			return err
		}
		var touched []*spendBatch
		for i, sub := range group {
			b := batches[sub.batch]
			if results[i] = b.spend(sub.pos); results[i] != nil {
				continue
			}
			if b.spent == 1 {
				touched = append(touched, b)
			}
			if sub.box != nil {
				var id [16]byte
				rand.Read(id[:])
				if _, err := boxes.ExecContext(ctx, id[:], sub.roundID, sub.category, sub.box); err != nil {
					return err
				}
			}
			for _, rec := range sub.records {
				var id [16]byte
				rand.Read(id[:])
				if _, err := insert.ExecContext(ctx, id[:], sub.roundID, rec.Unit, sub.category, rec.Part, rec.Answers()); err != nil {
					return err
				}
			}
		}
		for _, b := range touched {
			if _, err := tx.ExecContext(ctx, `UPDATE batches SET spent_bits = ?, spent = spent + ? WHERE id = ?`, b.bits, b.spent, b.id); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	if err == nil {
		spent := make([]spentCode, 0, len(group))
		for i, sub := range group {
			if results[i] == nil {
				spent = append(spent, spentCode{sub.batch, sub.pos})
			}
		}
		s.slips.spent(spent)
	}
	for i, sub := range group {
		if err != nil {
			sub.result <- fmt.Errorf("store ballot: %w", err)
		} else {
			sub.result <- results[i]
		}
	}
}

// spendBatch is a batch as the writer's transaction read it, with the bits
// it has set since.
type spendBatch struct {
	id     string
	found  bool
	bits   []byte
	voided bool
	status survey.Status // of its round
	spent  int           // codes spent by this group
}

// readSpendBatches reads, in one statement, every batch the group's codes
// belong to; a batch that is missing, or sealed, is there with found false.
func readSpendBatches(ctx context.Context, tx *sql.Tx, group []*submission) (map[string]*spendBatch, error) {
	batches := make(map[string]*spendBatch, 32)
	var ids []any
	for _, sub := range group {
		if batches[sub.batch] == nil {
			batches[sub.batch] = &spendBatch{id: sub.batch}
			ids = append(ids, sub.batch)
		}
	}
	// The list is padded to a power of two with a repeated id, so that only
	// a few statement texts exist and each stays prepared.
	n := 1
	for n < len(ids) {
		n *= 2
	}
	for len(ids) < n {
		ids = append(ids, ids[0])
	}
	rows, err := tx.QueryContext(ctx, `SELECT b.id, b.spent_bits, b.voided, r.status FROM batches b JOIN rounds r ON r.id = b.round_id
		WHERE b.used IS NULL AND b.id IN (?`+strings.Repeat(", ?", n-1)+`)`, ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var bits []byte
		var voided bool
		var status survey.Status
		if err := rows.Scan(&id, &bits, &voided, &status); err != nil {
			return nil, err
		}
		if b := batches[id]; b != nil {
			b.found, b.bits, b.voided, b.status = true, bits, voided, status
		}
	}
	return batches, rows.Err()
}

// spend sets the code at pos spent, or says why not, in the order a slip's
// lookup does: unknown or void, spent, then the round's status.
func (b *spendBatch) spend(pos int) error {
	if !b.found || pos < 0 || pos/8 >= len(b.bits) {
		return survey.ErrNotFound
	}
	switch codeState(b.bits, b.voided, pos) {
	case codeSpent:
		return survey.ErrCodeUsed
	case codeVoid:
		return survey.ErrNotFound
	}
	switch b.status {
	case survey.StatusOpen:
	case survey.StatusDraft:
		return survey.ErrNotStarted
	default:
		return survey.ErrVotingOver
	}
	b.bits[pos/8] |= 1 << (pos % 8)
	b.spent++
	return nil
}

// EachBallot calls fn with every stored ballot record of a round, in key
// order (a random order that says nothing of arrival): its unit, category,
// part ("" but for a recusal ballot's parts) and answers. answers is only
// valid during the call.
func (s *Store) EachBallot(ctx context.Context, roundID string, fn func(unit, category, part string, answers []byte) error) error {
	return s.EachBallotPart(ctx, roundID, 0, 1, fn)
}

// EachBallotPart is EachBallot for part of a round's ballots: the parts
// numbered 0 to parts-1 split them by key, so that each ballot is in
// exactly one part and, keys being random, each part holds about
// 1/parts of them. Parts may be read at the same time, each on its own
// goroutine; each reads its own snapshot, so the parts add up to the round
// only once it takes no more ballots (closed or sealed). parts is at most
// 256.
func (s *Store) EachBallotPart(ctx context.Context, roundID string, part, parts int, fn func(unit, category, part string, answers []byte) error) error {
	if parts < 1 || parts > 256 || part < 0 || part >= parts {
		return fmt.Errorf("ballots: part %d of %d", part, parts)
	}
	rdb, err := s.r.DB()
	if err != nil {
		return err
	}
	// Keys are 16 random bytes; a part is a range of their first byte, the
	// first part open below and the last open above.
	query, args := `SELECT unit, category, part, answers FROM ballots WHERE round_id = ?`, []any{roundID}
	if part > 0 {
		query, args = query+` AND id >= ?`, append(args, []byte{byte(part * 256 / parts)})
	}
	if part < parts-1 {
		query, args = query+` AND id < ?`, append(args, []byte{byte((part + 1) * 256 / parts)})
	}
	rows, err := rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("ballots: %w", err)
	}
	defer rows.Close()
	var unit, category, rpart sql.RawBytes
	var answers sql.RawBytes
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
		if err := rows.Scan(&unit, &category, &rpart, &answers); err != nil {
			return fmt.Errorf("ballots: %w", err)
		}
		if err := fn(intern(unit), intern(category), intern(rpart), answers); err != nil {
			return err
		}
	}
	return rows.Err()
}
