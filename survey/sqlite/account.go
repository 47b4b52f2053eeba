package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"minping/survey"
	"minping/survey/passhash"
)

type accountRow struct {
	ID           string `gorm:"primaryKey"`
	Name         string
	Role         survey.Role
	RoundID      string
	Units        string
	PasswordHash string
	TokenHash    []byte
	CreatedAt    time.Time
}

func (accountRow) TableName() string { return "accounts" }

func (r *accountRow) account() *survey.Account {
	a := &survey.Account{ID: r.ID, Name: r.Name, Role: r.Role, RoundID: r.RoundID}
	_ = json.Unmarshal([]byte(r.Units), &a.Units)
	return a
}

// CreateAccount stores an account and returns it with a fresh bearer token
// (shown once; only its hash is kept). An appraiser must name a round and
// units of it. ErrDuplicate if the name is taken.
func (s *Store) CreateAccount(ctx context.Context, n survey.NewAccount) (*survey.Account, string, error) {
	var round *survey.Round
	if n.RoundID != "" && n.Role != survey.RoleAdmin {
		r, err := s.Round(ctx, n.RoundID)
		if err != nil && !errors.Is(err, survey.ErrNotFound) {
			return nil, "", fmt.Errorf("create account: %w", err)
		}
		round = r
	}
	if err := n.Validate(round); err != nil {
		return nil, "", err
	}
	token := survey.NewToken()
	units, _ := json.Marshal(n.Units)
	if n.Units == nil {
		units = []byte("[]")
	}
	row := accountRow{
		ID: newID(), Name: n.Name, Role: n.Role, RoundID: n.RoundID, Units: string(units),
		TokenHash: hashToken(token), CreatedAt: s.now().UTC(),
	}
	if n.Password != "" {
		row.PasswordHash = passhash.Hash(n.Password)
	}
	switch n.Role {
	case survey.RoleAdmin:
		row.RoundID, row.Units = "", "[]"
	case survey.RoleOrganiser:
		row.Units = "[]"
	}
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, "", fmt.Errorf("create account %q: %w", n.Name, survey.ErrDuplicate)
		}
		return nil, "", fmt.Errorf("create account: %w", err)
	}
	return row.account(), token, nil
}

// AccountByToken returns the account a bearer token belongs to, or
// ErrUnauthorized.
func (s *Store) AccountByToken(ctx context.Context, token string) (*survey.Account, error) {
	if token == "" {
		return nil, survey.ErrUnauthorized
	}
	var row accountRow
	if err := s.r.WithContext(ctx).Where("token_hash = ?", hashToken(token)).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, survey.ErrUnauthorized
		}
		return nil, fmt.Errorf("account by token: %w", err)
	}
	return row.account(), nil
}

// Authenticate checks a name and password and returns the account, or
// ErrUnauthorized.
func (s *Store) Authenticate(ctx context.Context, name, password string) (*survey.Account, error) {
	var row accountRow
	err := s.r.WithContext(ctx).Where("name = ?", name).Take(&row).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if err != nil || row.PasswordHash == "" {
		// Spend the same time as a real check so names cannot be probed.
		passhash.Check(passhash.Dummy, password)
		return nil, survey.ErrUnauthorized
	}
	if !passhash.Check(row.PasswordHash, password) {
		return nil, survey.ErrUnauthorized
	}
	return row.account(), nil
}

// SetPassword sets the console password of the named account, creating it
// with the role if it does not exist (used for the bootstrap admin).
func (s *Store) SetPassword(ctx context.Context, name string, role survey.Role, password string) error {
	res := s.w.WithContext(ctx).Model(&accountRow{}).Where("name = ?", name).Update("password_hash", passhash.Hash(password))
	if res.Error != nil {
		return fmt.Errorf("set password: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	_, _, err := s.CreateAccount(ctx, survey.NewAccount{Name: name, Role: role, Password: password})
	return err
}

// HasAccount reports whether an account with the name exists.
func (s *Store) HasAccount(ctx context.Context, name string) (bool, error) {
	var n int64
	err := s.r.WithContext(ctx).Model(&accountRow{}).Where("name = ?", name).Count(&n).Error
	return n > 0, err
}

// Accounts returns every account, in name order.
func (s *Store) Accounts(ctx context.Context) ([]*survey.Account, error) {
	var rows []accountRow
	if err := s.r.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	out := make([]*survey.Account, len(rows))
	for i := range rows {
		out[i] = rows[i].account()
	}
	return out, nil
}

func hashToken(t string) []byte {
	sum := sha256.Sum256([]byte(t))
	return sum[:]
}
