package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"minping/survey"
)

type documentRow struct {
	RoundID   string `gorm:"primaryKey"`
	Unit      string `gorm:"primaryKey"`
	Body      []byte
	Signature string
}

func (documentRow) TableName() string { return "documents" }

// Seal stores the signed documents of a closed round and freezes it, in one
// transaction: the round becomes sealed at sealedAt, each batch keeps its
// count of spent codes, the round's code hashes are purged, and the ballots
// of the groups in drop (small groups that entered no document) are
// deleted. After this no ballot can be added (the round is not open) and
// none can be changed (the store has no way to). ErrWrongState unless the
// round is closed.
func (s *Store) Seal(ctx context.Context, roundID string, sealedAt time.Time, docs []survey.SealedDocument, drop []survey.Group) error {
	return s.SealEach(ctx, roundID, sealedAt, drop, func(put func(survey.SealedDocument) error) error {
		for _, d := range docs {
			if err := put(d); err != nil {
				return err
			}
		}
		return nil
	})
}

// SealEach is Seal with the documents handed over one at a time, so that
// neither the caller nor the store holds them all at once (a province's
// are over 100 MB): inside the transaction, once the round is found
// closed, it calls write, which calls put with each document as it is
// made. An error from write, or from put, rolls the seal back and is
// returned. write runs while the store's writer is held: it must not
// call the store.
func (s *Store) SealEach(ctx context.Context, roundID string, sealedAt time.Time, drop []survey.Group, write func(put func(survey.SealedDocument) error) error) error {
	s.batchMu.Lock()
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row roundRow
		if err := tx.Select("status").First(&row, "id = ?", roundID).Error; err != nil {
			return notFound(err, "round")
		}
		if row.Status != survey.StatusClosed {
			return survey.ErrWrongState
		}
		// A closed round's codes vote no more: forget them before the
		// documents are made, not after, so that their memory serves the
		// documents. Forgetting is safe: SQLite answers what the index
		// does not hold, and a round whose seal fails stays closed.
		s.slips.forgetRound(roundID)
		err := write(func(d survey.SealedDocument) error {
			return tx.Create(&documentRow{RoundID: roundID, Unit: d.Unit, Body: d.Body, Signature: d.Signature}).Error
		})
		if err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE batches SET used = spent, spent_bits = x'' WHERE round_id = ?`, roundID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM codes WHERE round_id = ?`, roundID).Error; err != nil {
			return err
		}
		if err := oweCompaction(tx); err != nil {
			return err
		}
		for _, g := range drop {
			if err := tx.Exec(`DELETE FROM ballots WHERE round_id = ? AND unit = ? AND category = ?`, roundID, g.Unit, g.Category).Error; err != nil {
				return err
			}
		}
		return tx.Model(&roundRow{}).Where("id = ?", roundID).Updates(map[string]any{
			"status": survey.StatusSealed, "sealed_at": sealedAt,
		}).Error
	})
	if !errors.Is(err, survey.ErrWrongState) { // sealed, or perhaps: forgetting is safe, SQLite answers
		s.slips.purge(roundID) // again, after the commit: the round's snapshot may have been loaded meanwhile
	}
	s.batchMu.Unlock()
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	// The purge freed pages (zeroed by secure_delete); compact so that no
	// free page of the file keeps where they were.
	return s.Compact(ctx)
}

// Document returns a sealed document of a round (unit "" for the round
// document). ErrNotFound if there is none; callers check the round status
// first to tell "not sealed yet" from "no such unit".
func (s *Store) Document(ctx context.Context, roundID, unit string) (*survey.SealedDocument, error) {
	var row documentRow
	if err := s.r.WithContext(ctx).Where("round_id = ? AND unit = ?", roundID, unit).Take(&row).Error; err != nil {
		return nil, notFound(err, "document")
	}
	return &survey.SealedDocument{Unit: row.Unit, Body: row.Body, Signature: row.Signature}, nil
}

// forgetRound drops a round's codes from the index, as purge does, and
// rebuilds the map of codes with those left: a Go map keeps its size as
// entries are deleted, and a sealed province's 400,000 codes would hold
// some 25 MB for as long as the store is open.
func (x *slipIndex) forgetRound(roundID string) {
	x.purge(roundID)
	x.mu.Lock()
	defer x.mu.Unlock()
	left := make(map[[32]byte]slipEntry, len(x.codes))
	for k, e := range x.codes {
		left[k] = e
	}
	x.codes = left
}
