package sqlite

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"minping/survey"
)

// DeleteRound deletes a draft round with its batches, codes and expected
// attendance. ErrWrongState once it has opened: a round that took ballots
// is archived, never deleted.
func (s *Store) DeleteRound(ctx context.Context, id string) error {
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row roundRow
		if err := tx.Select("status").First(&row, "id = ?", id).Error; err != nil {
			return notFound(err, "round")
		}
		if row.Status != survey.StatusDraft {
			return survey.ErrWrongState
		}
		for _, q := range []string{
			`DELETE FROM codes WHERE round_id = ?`,
			`DELETE FROM batches WHERE round_id = ?`,
			`DELETE FROM roster_expected WHERE round_id = ?`,
			`DELETE FROM rounds WHERE id = ?`,
		} {
			if err := tx.Exec(q, id).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete round: %w", err)
	}
	s.slips.purge(id)
	return nil
}

// ArchiveRound hides a sealed round from lists (archived true) or shows it
// again; its documents and results stay. ErrWrongState unless it is sealed.
func (s *Store) ArchiveRound(ctx context.Context, id string, archived bool) error {
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row roundRow
		if err := tx.Select("status").First(&row, "id = ?", id).Error; err != nil {
			return notFound(err, "round")
		}
		if row.Status != survey.StatusSealed {
			return survey.ErrWrongState
		}
		return tx.Model(&roundRow{}).Where("id = ?", id).Update("archived", archived).Error
	})
	if err != nil {
		return fmt.Errorf("archive round: %w", err)
	}
	s.slips.forget(id)
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
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row roundRow
		if err := tx.Select("status").First(&row, "id = ?", id).Error; err != nil {
			return notFound(err, "round")
		}
		if row.Status != survey.StatusDraft && row.Status != survey.StatusOpen {
			return survey.ErrWrongState
		}
		return tx.Model(&roundRow{}).Where("id = ?", id).Update("base_url", base).Error
	})
	if err != nil {
		return fmt.Errorf("set base url: %w", err)
	}
	s.slips.forget(id)
	return nil
}
