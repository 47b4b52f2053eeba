package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"minping/survey"
)

type batchRow struct {
	ID        string `gorm:"primaryKey"`
	RoundID   string
	Unit      string
	Category  string
	Member    string
	Count     int
	Voided    bool
	Spent     int  // its spent codes, kept by the ballot writer
	Used      *int // Spent as it was at the seal, when the codes went
	CreatedAt time.Time
}

func (batchRow) TableName() string { return "batches" }

type codeRow struct {
	Hash     []byte `gorm:"primaryKey"`
	RoundID  string
	BatchID  string
	Unit     string
	Category string
	Pos      int // the rank of its hash in its batch: its bit in the batch's spent bitmap
}

func (codeRow) TableName() string { return "codes" }

// A code's state, derived from its batch: spent if its bit is set, void if
// not and the batch was voided, else fresh.
const (
	codeFresh = 0
	codeSpent = 1
	codeVoid  = 2
)

// codeState is the state of the code at pos of a batch.
func codeState(bits []byte, voided bool, pos int) uint8 {
	switch {
	case pos/8 < len(bits) && bits[pos/8]&(1<<(pos%8)) != 0:
		return codeSpent
	case voided:
		return codeVoid
	}
	return codeFresh
}

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
// ErrWrongState unless the round is a draft or open.
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
	now := s.now().UTC()
	rows := make([]batchRow, len(reqs))
	hashes := make([][][]byte, len(reqs))
	out := make([]survey.Issued, len(reqs))
	for i, q := range reqs {
		rows[i] = batchRow{ID: newID(), RoundID: roundID, Unit: q.Unit, Category: q.Category, Member: q.Member, Count: q.Count, CreatedAt: now}
		codes := make([]string, q.Count)
		byHash := make([][]byte, q.Count)
		for k := range codes {
			codes[k] = survey.NewCode()
			byHash[k] = s.codes.Hash(survey.NormalizeCode(codes[k]))
		}
		// A code's position in its batch is its hash's rank, which says
		// nothing of where on the sheet it was printed.
		slices.SortFunc(byHash, bytes.Compare)
		hashes[i] = byHash
		// Codes are independent random draws, so their order already says
		// nothing; there is no serial to hide.
		out[i] = survey.Issued{Batch: survey.Batch{ID: rows[i].ID, RoundID: roundID, Unit: q.Unit, Category: q.Category, Member: q.Member, Count: q.Count, CreatedAt: now}, Codes: codes}
	}
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	if err := s.storeBatches(ctx, roundID, rows, hashes); err != nil {
		return nil, fmt.Errorf("issue batch: %w", err)
	}
	for i, b := range rows {
		s.slips.add(batchRoute{id: b.ID, round: roundID, unit: b.Unit, category: b.Category, member: b.Member}, hashes[i])
		s.issued.Add(int64(len(hashes[i])))
	}
	return out, nil
}

// storeBatches writes batches (with no position spent) and their code
// hashes, each at its index as its position, in one transaction, after
// checking the round as it is now, inside the write: a draft's definition
// may have changed since the caller read it. The codes go in through one
// prepared statement (the ORM's batched insert cost ten times as much).
func (s *Store) storeBatches(ctx context.Context, roundID string, rows []batchRow, hashes [][][]byte) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	def, err := s.issuable(ctx, tx, roundID)
	if err != nil {
		return err
	}
	insert, err := tx.PrepareContext(ctx, `INSERT INTO codes (hash, round_id, batch_id, unit, category, pos) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insert.Close()
	for i, b := range rows {
		if err := survey.CheckBatches(def, []survey.BatchRequest{{Unit: b.Unit, Category: b.Category, Member: b.Member, Count: b.Count}}); err != nil {
			return err // the draft changed since the caller read it
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO batches (id, round_id, unit, category, member, count, voided, spent, spent_bits, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?)`,
			b.ID, b.RoundID, b.Unit, b.Category, b.Member, b.Count, make([]byte, (len(hashes[i])+7)/8), b.CreatedAt); err != nil {
			return err
		}
		for pos, h := range hashes[i] {
			if _, err := insert.ExecContext(ctx, h, b.RoundID, b.ID, b.Unit, b.Category, pos); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// issuable reads, inside tx, the definition of a round that may be issued
// slips: ErrNotFound, or ErrWrongState unless it is a draft or open.
func (s *Store) issuable(ctx context.Context, tx *sql.Tx, roundID string) (*survey.Definition, error) {
	var status survey.Status
	var canonical []byte
	err := tx.QueryRowContext(ctx, `SELECT status, definition FROM rounds WHERE id = ?`, roundID).Scan(&status, &canonical)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("round: %w", survey.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if status != survey.StatusDraft && status != survey.StatusOpen {
		return nil, survey.ErrWrongState
	}
	return s.definition(roundID, canonical)
}

// VoidBatch makes a batch's unused codes stop working. Spent codes stay
// counted. ErrWrongState after the round has closed.
func (s *Store) VoidBatch(ctx context.Context, roundID, batchID string) error {
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var status survey.Status
		if err := tx.Model(&roundRow{}).Select("status").Where("id = ?", roundID).Scan(&status).Error; err != nil {
			return fmt.Errorf("void batch: %w", err)
		}
		if status == "" {
			return fmt.Errorf("void batch: round: %w", survey.ErrNotFound)
		}
		if status != survey.StatusDraft && status != survey.StatusOpen {
			return fmt.Errorf("void batch: %w", survey.ErrWrongState)
		}
		res := tx.Model(&batchRow{}).Where("id = ? AND round_id = ?", batchID, roundID).Update("voided", true)
		if res.Error != nil {
			return fmt.Errorf("void batch: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("void batch: %w", survey.ErrNotFound)
		}
		// Its unspent codes are void from now on: the spend checks the
		// batch, and a lookup derives the state from it.
		return nil
	})
	if err == nil {
		s.slips.voided(batchID)
	}
	return err
}

// Batches returns the batches of a round, newest first, with their counts.
func (s *Store) Batches(ctx context.Context, roundID string) ([]survey.Batch, error) {
	var rows []batchRow
	if err := s.r.WithContext(ctx).Where("round_id = ?", roundID).Order("created_at DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("batches: %w", err)
	}
	out := make([]survey.Batch, len(rows))
	for i, b := range rows {
		out[i] = survey.Batch{ID: b.ID, RoundID: b.RoundID, Unit: b.Unit, Category: b.Category, Member: b.Member, Count: b.Count, Voided: b.Voided, CreatedAt: b.CreatedAt}
	}
	return out, nil
}

// Slip looks a code up. Errors, in the order the contract checks them:
// ErrNotFound (unknown, malformed or void), ErrCodeUsed, ErrNotStarted or
// ErrVotingOver (the round is not open). The slip is returned with the
// last two so that a page can still name the round.
func (s *Store) Slip(ctx context.Context, code string) (*survey.Slip, error) {
	n := survey.NormalizeCode(code)
	if n == "" {
		return nil, survey.ErrNotFound
	}
	hash := s.codes.Hash(n)
	e, b, state, ok := s.slips.lookup(hash)
	if !ok {
		// Not one the index holds (unknown, void, or issued by another
		// process): SQLite decides.
		return s.slipFromDB(ctx, hash)
	}
	if state == codeFresh && b.voided {
		return nil, survey.ErrNotFound
	}
	r, err := s.slips.round(b.round, func() (*survey.Round, error) { return s.Round(ctx, b.round) })
	if err != nil {
		return nil, fmt.Errorf("slip: %w", err)
	}
	return slipOf(r, b.id, int(e.pos), b.unit, b.category, b.member, state, hash)
}

// slipOf is the slip of a code of round r in the given state, with the
// error its state and the round's call for.
func slipOf(r *survey.Round, batch string, pos int, unit, category, member string, state uint8, hash []byte) (*survey.Slip, error) {
	def := r.Definition
	slip := &survey.Slip{Round: r, Unit: def.Unit(unit), Category: def.Category(category), Ref: survey.SlipRef{Hash: hash, Batch: batch, Pos: pos}}
	if slip.Category == nil || slip.Unit == nil && (unit != "" || slip.Category.SheetKind() != survey.SheetAll) {
		return nil, survey.ErrNotFound
	}
	if member != "" {
		if slip.Member = slip.Unit.Member(member); slip.Member == nil {
			return nil, survey.ErrNotFound
		}
	}
	switch {
	case state == codeSpent:
		return slip, survey.ErrCodeUsed
	case r.Status == survey.StatusDraft:
		return slip, survey.ErrNotStarted
	case r.Status != survey.StatusOpen:
		return slip, survey.ErrVotingOver
	}
	return slip, nil
}

// slipFromDB looks a code up in SQLite: one query fetches the code with its
// round's row (not the definition), and the parsed definition comes from
// the cache under the fingerprint frozen at open.
func (s *Store) slipFromDB(ctx context.Context, hash []byte) (*survey.Slip, error) {
	rdb, err := s.r.DB()
	if err != nil {
		return nil, fmt.Errorf("slip: %w", err)
	}
	var (
		c                  codeRow
		r                  survey.Round
		bits               []byte
		voided             bool
		opened, closed, at sql.NullTime
	)
	var member string
	err = rdb.QueryRowContext(ctx, `SELECT c.hash, c.pos, c.batch_id, c.unit, c.category, b.member, b.spent_bits, b.voided,
		r.id, r.name, r.status, r.config_sha256, r.created_at, r.opened_at, r.closed_at, r.sealed_at
		FROM codes c JOIN batches b ON b.id = c.batch_id JOIN rounds r ON r.id = c.round_id WHERE c.hash = ?`, hash).Scan(
		&c.Hash, &c.Pos, &c.BatchID, &c.Unit, &c.Category, &member, &bits, &voided,
		&r.ID, &r.Name, &r.Status, &r.ConfigSHA256, &r.CreatedAt, &opened, &closed, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, survey.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("slip: %w", err)
	}
	state := codeState(bits, voided, c.Pos)
	if state == codeVoid {
		return nil, survey.ErrNotFound
	}
	r.OpenedAt, r.ClosedAt, r.SealedAt = nullTime(opened), nullTime(closed), nullTime(at)
	r.Definition = s.frozenDefinition(r.ID, r.ConfigSHA256)
	if r.Definition == nil {
		// A draft (its definition may still change) or a definition not yet
		// cached: read the round in full.
		full, err := s.Round(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		r = *full
	}
	return slipOf(&r, c.BatchID, c.Pos, c.Unit, c.Category, member, state, c.Hash)
}

// frozenDefinition returns the cached definition of a round that has opened
// (its fingerprint, fixed at open, is the cache key's), or nil.
func (s *Store) frozenDefinition(id, config string) *survey.Definition {
	if config == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.defs[id+":"+config]
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	return &t.Time
}

// Turnout counts slips per unit and category: issued counts codes that are
// not void (a voided batch's spent codes count), voted counts spent codes.
// Units and categories come in definition order, every one listed.
func (s *Store) Turnout(ctx context.Context, roundID string) ([]survey.UnitTurnout, error) {
	r, err := s.Round(ctx, roundID)
	if err != nil {
		return nil, fmt.Errorf("turnout: %w", err)
	}
	// Each batch counts its spent codes as they are spent (and keeps the
	// count when its codes go at the seal): no code is read here.
	var batches []batchRow
	if err := s.r.WithContext(ctx).Where("round_id = ?", roundID).Find(&batches).Error; err != nil {
		return nil, fmt.Errorf("turnout: %w", err)
	}
	type key struct{ u, c string }
	m := map[key]survey.Count{}
	def := r.Definition
	for _, b := range batches {
		n := survey.Count{Issued: b.Count, Voted: b.Spent}
		if b.Voided { // its unused codes no longer count as issued
			n.Issued = b.Spent
		}
		// A slip counts in every unit its sheet rates (CONTRACT §5.1).
		c := def.Category(b.Category)
		if c == nil {
			continue
		}
		for _, u := range def.SheetUnits(c, def.Unit(b.Unit)) {
			k := key{u.ID, b.Category}
			m[k] = survey.Count{Issued: m[k].Issued + n.Issued, Voted: m[k].Voted + n.Voted}
		}
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

func newID() string { return uuid.NewString() }

func fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
