package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"minping/survey"
)

// Console sessions end after SessionIdle without a request, and at the
// latest SessionMax after sign-in (survey's limits, as every store keeps).
const (
	SessionIdle = survey.SessionIdle
	SessionMax  = survey.SessionMax
)

// sessionTouch is how stale seen_at may get before a request refreshes it,
// so that a page polling every few seconds does not write every time.
const sessionTouch = time.Minute

type sessionRow struct {
	TokenHash []byte `gorm:"primaryKey"`
	AccountID string
	CreatedAt time.Time
	SeenAt    time.Time
	ExpiresAt time.Time
}

func (sessionRow) TableName() string { return "sessions" }

// CreateSession signs an account in: it returns a fresh secret for the
// session cookie. Only the secret's hash is stored. Expired sessions of every
// account are removed on the way.
func (s *Store) CreateSession(ctx context.Context, accountID string) (string, error) {
	now := s.now().UTC()
	token := survey.NewToken()
	row := sessionRow{
		TokenHash: hashToken(token), AccountID: accountID,
		CreatedAt: now, SeenAt: now, ExpiresAt: now.Add(SessionMax),
	}
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("expires_at <= ? OR seen_at <= ?", now, now.Add(-SessionIdle)).Delete(&sessionRow{}).Error; err != nil {
			return err
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// SessionAccount returns the account signed in with a session secret, or
// ErrUnauthorized if the secret is unknown or its session has expired. It
// keeps the session alive (at most one write a minute).
func (s *Store) SessionAccount(ctx context.Context, token string) (*survey.Account, error) {
	if token == "" {
		return nil, survey.ErrUnauthorized
	}
	var sess sessionRow
	err := s.r.WithContext(ctx).Where("token_hash = ?", hashToken(token)).Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, survey.ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	now := s.now().UTC()
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.SeenAt.Add(SessionIdle)) {
		return nil, survey.ErrUnauthorized
	}
	var acc accountRow
	err = s.r.WithContext(ctx).Where("id = ?", sess.AccountID).Take(&acc).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, survey.ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("session account: %w", err)
	}
	if now.Sub(sess.SeenAt) >= sessionTouch {
		err := s.w.WithContext(ctx).Model(&sessionRow{}).Where("token_hash = ?", sess.TokenHash).Update("seen_at", now).Error
		if err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
	}
	return acc.account(), nil
}

// EndSession signs a session out. Ending an unknown session is not an error.
func (s *Store) EndSession(ctx context.Context, token string) error {
	if err := s.w.WithContext(ctx).Where("token_hash = ?", hashToken(token)).Delete(&sessionRow{}).Error; err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndSessionsOf signs every session of the named account out, as when its
// password is reset.
func (s *Store) EndSessionsOf(ctx context.Context, name string) error {
	err := s.w.WithContext(ctx).
		Where("account_id IN (?)", s.w.Model(&accountRow{}).Select("id").Where("name = ?", name)).
		Delete(&sessionRow{}).Error
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}
