package sqlite

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"gorm.io/gorm"

	"minping/survey"
)

type expectedRow struct {
	RoundID  string `gorm:"primaryKey"`
	Unit     string `gorm:"primaryKey"`
	Category string `gorm:"primaryKey"`
	Expected int
}

func (expectedRow) TableName() string { return "roster_expected" }

// SetExpected replaces a round's expected attendance with e.
func (s *Store) SetExpected(ctx context.Context, roundID string, e survey.Expected) error {
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return setExpected(tx, roundID, e) })
	if err != nil {
		return fmt.Errorf("set expected attendance: %w", err)
	}
	return nil
}

// setExpected replaces a round's expected attendance inside tx.
func setExpected(tx *gorm.DB, roundID string, e survey.Expected) error {
	var rows []expectedRow
	for _, u := range slices.Sorted(maps.Keys(e)) {
		for _, c := range slices.Sorted(maps.Keys(e[u])) {
			rows = append(rows, expectedRow{RoundID: roundID, Unit: u, Category: c, Expected: e[u][c]})
		}
	}
	if err := tx.Where("round_id = ?", roundID).Delete(&expectedRow{}).Error; err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	return tx.CreateInBatches(rows, 500).Error
}

// ImportRoster replaces a draft round's definition (its units and
// members) and its expected attendance in one transaction: both or
// neither. UpdateDefinition's errors.
func (s *Store) ImportRoster(ctx context.Context, id string, def *survey.Definition, source []byte, e survey.Expected) error {
	defer s.slips.forget(id)
	return s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := updateDefinition(tx, id, def, source); err != nil {
			return err
		}
		return setExpected(tx, id, e)
	})
}

// Expected returns a round's expected attendance, empty if no roster gave
// one.
func (s *Store) Expected(ctx context.Context, roundID string) (survey.Expected, error) {
	var rows []expectedRow
	if err := s.r.WithContext(ctx).Where("round_id = ?", roundID).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("expected attendance: %w", err)
	}
	e := survey.Expected{}
	for _, r := range rows {
		if e[r.Unit] == nil {
			e[r.Unit] = map[string]int{}
		}
		e[r.Unit][r.Category] = r.Expected
	}
	return e, nil
}
