package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"minping/survey"
)

// IssueBatch creates count fresh codes for unit and category of a draft or
// open round and returns them in random order, formatted. The codes are
// returned only here: the store keeps their keyed hashes.
func (s *Store) IssueBatch(ctx context.Context, roundID, unit, category string, count int) (*survey.Batch, []string, error) {
	issued, err := s.IssueBatches(ctx, roundID, []survey.BatchRequest{{Unit: unit, Category: category, Count: count}})
	if err != nil {
		return nil, nil, err
	}
	return &issued[0].Batch, issued[0].Codes, nil
}

// IssueBatches issues one batch per request, all in one transaction: every
// batch is issued, or none. Problems name each request's fields (unit,
// category, count), prefixed with batches[i]. when there are several.
// ErrWrongState unless the round is a draft or open; asked while another
// instance closes the round, one of the two waits for the other.
func (s *Store) IssueBatches(ctx context.Context, roundID string, reqs []survey.BatchRequest) ([]survey.Issued, error) {
	r, err := s.Round(ctx, roundID)
	if err != nil {
		return nil, fmt.Errorf("issue batch: %w", err)
	}
	if r.Status != survey.StatusDraft && r.Status != survey.StatusOpen {
		return nil, fmt.Errorf("issue batch: %w", survey.ErrWrongState)
	}
	if err := survey.CheckBatches(r.Definition, reqs); err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	out := make([]survey.Issued, len(reqs))
	var codeRows [][]any
	for i, q := range reqs {
		b := survey.Batch{ID: newID(), RoundID: roundID, Unit: q.Unit, Category: q.Category, Member: q.Member, Count: q.Count, CreatedAt: now}
		codes := make([]string, q.Count)
		for k := range codes {
			codes[k] = survey.NewCode()
			codeRows = append(codeRows, []any{s.codes.Hash(survey.NormalizeCode(codes[k])), roundID, b.ID})
		}
		out[i] = survey.Issued{Batch: b, Codes: codes}
	}
	// Stored in the order of their hashes, which says nothing of where on
	// the sheet each code was printed.
	slices.SortFunc(codeRows, func(a, b []any) int { return bytes.Compare(a[0].([]byte), b[0].([]byte)) })
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		status, err := lockRound(ctx, tx, roundID)
		if err != nil {
			return err
		}
		if status != survey.StatusDraft && status != survey.StatusOpen {
			return survey.ErrWrongState
		}
		var canonical []byte
		if err := tx.QueryRow(ctx, `SELECT definition FROM rounds WHERE id = $1`, roundID).Scan(&canonical); err != nil {
			return err
		}
		def, err := s.definition(roundID, canonical)
		if err != nil {
			return err
		}
		if err := survey.CheckBatches(def, reqs); err != nil {
			return err // the draft changed since it was read
		}
		batch := &pgx.Batch{}
		for _, is := range out {
			b := is.Batch
			batch.Queue(`INSERT INTO batches (id, round_id, unit, category, member, count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				b.ID, b.RoundID, b.Unit, b.Category, b.Member, b.Count, b.CreatedAt)
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return err
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"codes"}, []string{"hash", "round_id", "batch_id"}, pgx.CopyFromRows(codeRows))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("issue batch: %w", err)
	}
	s.issued.Add(int64(len(codeRows)))
	return out, nil
}

// VoidBatch makes a batch's unused codes stop working. Spent codes stay
// counted. It waits for the ballots being written in the round; those
// written after it find the batch void. ErrWrongState after the round has
// closed.
func (s *Store) VoidBatch(ctx context.Context, roundID, batchID string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := stopVoting(ctx, tx, roundID); err != nil {
			return err
		}
		status, err := lockRound(ctx, tx, roundID)
		if err != nil {
			return err
		}
		if status != survey.StatusDraft && status != survey.StatusOpen {
			return survey.ErrWrongState
		}
		tag, err := tx.Exec(ctx, `UPDATE batches SET voided = true WHERE id = $1 AND round_id = $2`, batchID, roundID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return survey.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("void batch: %w", err)
	}
	return nil
}

// Batches returns the batches of a round, newest first, with their counts.
func (s *Store) Batches(ctx context.Context, roundID string) ([]survey.Batch, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, round_id, unit, category, member, count, voided, created_at FROM batches WHERE round_id = $1 ORDER BY created_at DESC, id`, roundID)
	if err != nil {
		return nil, fmt.Errorf("batches: %w", err)
	}
	defer rows.Close()
	out := []survey.Batch{}
	for rows.Next() {
		var b survey.Batch
		if err := rows.Scan(&b.ID, &b.RoundID, &b.Unit, &b.Category, &b.Member, &b.Count, &b.Voided, &b.CreatedAt); err != nil {
			return nil, fmt.Errorf("batches: %w", err)
		}
		b.CreatedAt = b.CreatedAt.UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}

// Slip looks a code up in the database (so any instance finds any code,
// whoever issued it), read together with the lookups waiting beside it
// (see slipReader): whether it exists, is spent or void and its round's
// status are as committed when it is read. Errors, in the order the
// contract checks them: ErrNotFound (unknown, malformed or void),
// ErrCodeUsed, ErrNotStarted or ErrVotingOver (the round is not open). The
// slip is returned with the last two so that a page can still name the
// round; its Round is shared with other slips and must not be changed.
func (s *Store) Slip(ctx context.Context, code string) (*survey.Slip, error) {
	n := survey.NormalizeCode(code)
	if n == "" {
		return nil, survey.ErrNotFound
	}
	hash := s.codes.Hash(n)
	x := s.slips
	c, ok, err := x.lookup(ctx, s.pool, hash)
	if err != nil {
		return nil, fmt.Errorf("slip: %w", err)
	}
	if !ok || c.voided && !c.spent {
		return nil, survey.ErrNotFound
	}
	r, err := x.round(ctx, s, c.round, c.status)
	if errors.Is(err, survey.ErrNotFound) {
		return nil, survey.ErrNotFound // deleted since
	}
	if err != nil {
		return nil, fmt.Errorf("slip: %w", err)
	}
	def := r.Definition
	slip := &survey.Slip{Round: r, Unit: def.Unit(c.unit), Category: def.Category(c.category), Ref: survey.SlipRef{Hash: hash, Batch: c.batch}}
	if slip.Category == nil || slip.Unit == nil && (c.unit != "" || slip.Category.SheetKind() != survey.SheetAll) {
		return nil, survey.ErrNotFound
	}
	if c.member != "" {
		if slip.Member = slip.Unit.Member(c.member); slip.Member == nil {
			return nil, survey.ErrNotFound
		}
	}
	switch {
	case c.spent:
		return slip, survey.ErrCodeUsed
	case r.Status == survey.StatusDraft:
		return slip, survey.ErrNotStarted
	case r.Status != survey.StatusOpen:
		return slip, survey.ErrVotingOver
	}
	return slip, nil
}

// Turnout counts slips per unit and category: issued counts codes that are
// not void (a voided batch's spent codes count), voted counts spent codes.
// Units and categories come in definition order, every one listed.
func (s *Store) Turnout(ctx context.Context, roundID string) ([]survey.UnitTurnout, error) {
	r, err := s.Round(ctx, roundID)
	if err != nil {
		return nil, fmt.Errorf("turnout: %w", err)
	}
	// A batch's spent codes are its spent rows until the seal, and its
	// count kept then.
	rows, err := s.pool.Query(ctx, `SELECT b.unit, b.category, b.count, b.voided,
		COALESCE(b.used, (SELECT count(*) FROM spent s WHERE s.batch_id = b.id))
		FROM batches b WHERE b.round_id = $1`, roundID)
	if err != nil {
		return nil, fmt.Errorf("turnout: %w", err)
	}
	defer rows.Close()
	type key struct{ u, c string }
	m := map[key]survey.Count{}
	def := r.Definition
	for rows.Next() {
		var unit, category string
		var count, spent int
		var voided bool
		if err := rows.Scan(&unit, &category, &count, &voided, &spent); err != nil {
			return nil, fmt.Errorf("turnout: %w", err)
		}
		n := survey.Count{Issued: count, Voted: spent}
		if voided { // its unused codes no longer count as issued
			n.Issued = spent
		}
		// A slip counts in every unit its sheet rates (CONTRACT §5.1).
		c := def.Category(category)
		if c == nil {
			continue
		}
		for _, u := range def.SheetUnits(c, def.Unit(unit)) {
			k := key{u.ID, category}
			m[k] = survey.Count{Issued: m[k].Issued + n.Issued, Voted: m[k].Voted + n.Voted}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("turnout: %w", err)
	}
	out := make([]survey.UnitTurnout, len(def.Units))
	for i, u := range def.Units {
		out[i].Unit = u.ID
		for _, c := range def.Categories {
			n := m[key{u.ID, c.ID}]
			out[i].Categories = append(out[i].Categories, survey.CategoryTurnout{Category: c.ID, Count: n})
			out[i].Count.Issued += n.Issued
			out[i].Count.Voted += n.Voted
		}
	}
	return out, nil
}
