package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"minping/survey"
)

// SaveResults replaces what was entered for a sealed round's units after
// the seal (the entries as JSON). ErrWrongState unless the round is sealed
// and its results not yet finalized.
func (s *Store) SaveResults(ctx context.Context, roundID string, entries []byte) error {
	return s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := resultsOpen(tx, roundID); err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO results (round_id, entries) VALUES (?, ?)
			ON CONFLICT (round_id) DO UPDATE SET entries = excluded.entries`, roundID, entries).Error
	})
}

// resultsOpen returns ErrWrongState unless the round is sealed and not
// finalized, ErrNotFound if there is no such round.
func resultsOpen(tx *gorm.DB, roundID string) error {
	var row roundRow
	if err := tx.Select("status").First(&row, "id = ?", roundID).Error; err != nil {
		return notFound(err, "round")
	}
	if row.Status != survey.StatusSealed {
		return fmt.Errorf("results: %w", survey.ErrWrongState)
	}
	var finalized sql.NullTime
	err := tx.Raw(`SELECT finalized_at FROM results WHERE round_id = ?`, roundID).Row().Scan(&finalized)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if finalized.Valid {
		return fmt.Errorf("results already finalized: %w", survey.ErrWrongState)
	}
	return nil
}

// Results returns what was entered for a round after the seal and when
// its results were finalized (nil if not yet). ErrNotFound if nothing was
// entered.
func (s *Store) Results(ctx context.Context, roundID string) ([]byte, *time.Time, error) {
	var entries []byte
	var finalized sql.NullTime
	err := s.r.WithContext(ctx).Raw(`SELECT entries, finalized_at FROM results WHERE round_id = ?`, roundID).Row().Scan(&entries, &finalized)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("results: %w", survey.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("results: %w", err)
	}
	return entries, nullTime(finalized), nil
}

// Finalize stores a round's signed results document and freezes its
// entries, in one transaction. ErrWrongState unless the round is sealed,
// its results entered and not yet finalized.
func (s *Store) Finalize(ctx context.Context, roundID string, at time.Time, doc survey.SealedDocument) error {
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := resultsOpen(tx, roundID); err != nil {
			return err
		}
		// The workbook built before gains the totals: build it again.
		if err := tx.Exec(`DELETE FROM exports WHERE round_id = ?`, roundID).Error; err != nil {
			return err
		}
		res := tx.Exec(`UPDATE results SET finalized_at = ? WHERE round_id = ?`, at, roundID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("no results entered: %w", survey.ErrWrongState)
		}
		return tx.Create(&documentRow{RoundID: roundID, Unit: survey.ResultsDocument, Body: doc.Body, Signature: doc.Signature}).Error
	})
	if err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	return nil
}

// Export returns a file built before from a sealed round's documents, or
// ErrNotFound.
func (s *Store) Export(ctx context.Context, roundID, name string) ([]byte, error) {
	var body []byte
	err := s.r.WithContext(ctx).Raw(`SELECT body FROM exports WHERE round_id = ? AND name = ?`, roundID, name).Row().Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("export: %w", survey.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return body, nil
}

// SaveExport keeps a file built from a sealed round's documents.
func (s *Store) SaveExport(ctx context.Context, roundID, name string, body []byte) error {
	conn, err := s.w.DB()
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, `INSERT INTO exports (round_id, name, body) VALUES (?, ?, ?)
		ON CONFLICT (round_id, name) DO UPDATE SET body = excluded.body`, roundID, name, body)
	return err
}
