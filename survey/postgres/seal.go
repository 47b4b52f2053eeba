package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"minping/survey"
)

// Seal stores the signed documents of a closed round and freezes it, in one
// transaction: the round becomes sealed at sealedAt, each batch keeps its
// count of spent codes, the round's code hashes and spent marks are
// deleted, and the ballots of the groups in drop (small groups that entered
// no document) are deleted. ErrWrongState unless the round is closed: asked
// of two instances at once, one seals and the other gets ErrWrongState.
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

// SealEach is Seal with the documents handed over one at a time (see
// seal.EachSealer): once the round is found closed, write calls put with
// each document as it is made, and each is sent to the database at once,
// so that neither side holds a province's documents all together. An
// error from write or put rolls the seal back.
func (s *Store) SealEach(ctx context.Context, roundID string, sealedAt time.Time, drop []survey.Group, write func(put func(survey.SealedDocument) error) error) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		status, err := lockRound(ctx, tx, roundID)
		if err != nil {
			return err
		}
		if status != survey.StatusClosed {
			return survey.ErrWrongState
		}
		err = write(func(d survey.SealedDocument) error {
			_, err := tx.Exec(ctx, `INSERT INTO documents (round_id, unit, body, signature) VALUES ($1, $2, $3, $4)`, roundID, d.Unit, d.Body, d.Signature)
			return err
		})
		if err != nil {
			return err
		}
		batch := &pgx.Batch{}
		batch.Queue(`UPDATE batches b SET used = (SELECT count(*) FROM spent s WHERE s.batch_id = b.id) WHERE b.round_id = $1`, roundID)
		batch.Queue(`DELETE FROM spent WHERE round_id = $1`, roundID)
		batch.Queue(`DELETE FROM codes WHERE round_id = $1`, roundID)
		for _, g := range drop {
			batch.Queue(`DELETE FROM ballots WHERE round_id = $1 AND unit = $2 AND category = $3`, roundID, g.Unit, g.Category)
		}
		batch.Queue(`UPDATE rounds SET status = $2, sealed_at = $3 WHERE id = $1`, roundID, survey.StatusSealed, sealedAt)
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	// A key file a close left behind (its process stopped between the
	// commit and the removal) goes now, not only at the next start.
	if _, err := s.removeRoundKey(roundID); err != nil {
		return fmt.Errorf("seal: the round is sealed, but a ballot key its close left could not be removed: %w", err)
	}
	return nil
}

// Document returns a sealed document of a round (unit "" for the round
// document). ErrNotFound if there is none; callers check the round status
// first to tell "not sealed yet" from "no such unit".
func (s *Store) Document(ctx context.Context, roundID, unit string) (*survey.SealedDocument, error) {
	d := survey.SealedDocument{Unit: unit}
	err := s.pool.QueryRow(ctx, `SELECT body, signature FROM documents WHERE round_id = $1 AND unit = $2`, roundID, unit).Scan(&d.Body, &d.Signature)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("document: %w", survey.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	return &d, nil
}

// SaveResults replaces what was entered for a sealed round's units after
// the seal (the entries as JSON). ErrWrongState unless the round is sealed
// and its results not yet finalized.
func (s *Store) SaveResults(ctx context.Context, roundID string, entries []byte) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := resultsOpen(ctx, tx, roundID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO results (round_id, entries) VALUES ($1, $2)
			ON CONFLICT (round_id) DO UPDATE SET entries = excluded.entries`, roundID, entries)
		return err
	})
}

// resultsOpen returns ErrWrongState unless the round is sealed and not
// finalized, ErrNotFound if there is no such round. It locks the round.
func resultsOpen(ctx context.Context, tx pgx.Tx, roundID string) error {
	status, err := lockRound(ctx, tx, roundID)
	if err != nil {
		return err
	}
	if status != survey.StatusSealed {
		return fmt.Errorf("results: %w", survey.ErrWrongState)
	}
	var finalized *time.Time
	err = tx.QueryRow(ctx, `SELECT finalized_at FROM results WHERE round_id = $1`, roundID).Scan(&finalized)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if finalized != nil {
		return fmt.Errorf("results already finalized: %w", survey.ErrWrongState)
	}
	return nil
}

// Results returns what was entered for a round after the seal and when
// its results were finalized (nil if not yet). ErrNotFound if nothing was
// entered.
func (s *Store) Results(ctx context.Context, roundID string) ([]byte, *time.Time, error) {
	var entries []byte
	var finalized *time.Time
	err := s.pool.QueryRow(ctx, `SELECT entries, finalized_at FROM results WHERE round_id = $1`, roundID).Scan(&entries, &finalized)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("results: %w", survey.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("results: %w", err)
	}
	if finalized != nil {
		u := finalized.UTC()
		finalized = &u
	}
	return entries, finalized, nil
}

// Finalize stores a round's signed results document and freezes its
// entries, in one transaction. ErrWrongState unless the round is sealed,
// its results entered and not yet finalized.
func (s *Store) Finalize(ctx context.Context, roundID string, at time.Time, doc survey.SealedDocument) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := resultsOpen(ctx, tx, roundID); err != nil {
			return err
		}
		// The workbook built before gains the totals: build it again.
		if _, err := tx.Exec(ctx, `DELETE FROM exports WHERE round_id = $1`, roundID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE results SET finalized_at = $2 WHERE round_id = $1`, roundID, at)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("no results entered: %w", survey.ErrWrongState)
		}
		_, err = tx.Exec(ctx, `INSERT INTO documents (round_id, unit, body, signature) VALUES ($1, $2, $3, $4)`,
			roundID, survey.ResultsDocument, doc.Body, doc.Signature)
		return err
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
	err := s.pool.QueryRow(ctx, `SELECT body FROM exports WHERE round_id = $1 AND name = $2`, roundID, name).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("export: %w", survey.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return body, nil
}

// SaveExport keeps a file built from a sealed round's documents.
func (s *Store) SaveExport(ctx context.Context, roundID, name string, body []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO exports (round_id, name, body) VALUES ($1, $2, $3)
		ON CONFLICT (round_id, name) DO UPDATE SET body = excluded.body`, roundID, name, body)
	if err != nil {
		return fmt.Errorf("save export: %w", err)
	}
	return nil
}
