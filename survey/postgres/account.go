package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"minping/survey"
	"minping/survey/passhash"
)

// sessionTouch is how stale seen_at may get before a request refreshes it,
// so that a page polling every few seconds does not write every time.
const sessionTouch = time.Minute

const accountColumns = `id, name, role, round_id, units`

func scanAccount(row pgx.Row) (*survey.Account, error) {
	var a survey.Account
	var units string
	if err := row.Scan(&a.ID, &a.Name, &a.Role, &a.RoundID, &units); err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(units), &a.Units)
	return &a, nil
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
	a := survey.Account{ID: newID(), Name: n.Name, Role: n.Role, RoundID: n.RoundID}
	switch n.Role {
	case survey.RoleAdmin:
		a.RoundID, units = "", []byte("[]")
	case survey.RoleOrganiser:
		units = []byte("[]")
	}
	_ = json.Unmarshal(units, &a.Units)
	var pw string
	if n.Password != "" {
		pw = passhash.Hash(n.Password)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO accounts (id, name, role, round_id, units, password_hash, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.ID, a.Name, a.Role, a.RoundID, string(units), pw, hashToken(token), s.now().UTC())
	if isUniqueViolation(err) {
		return nil, "", fmt.Errorf("create account %q: %w", n.Name, survey.ErrDuplicate)
	}
	if err != nil {
		return nil, "", fmt.Errorf("create account: %w", err)
	}
	return &a, token, nil
}

// AccountByToken returns the account a bearer token belongs to, or
// ErrUnauthorized.
func (s *Store) AccountByToken(ctx context.Context, token string) (*survey.Account, error) {
	if token == "" {
		return nil, survey.ErrUnauthorized
	}
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE token_hash = $1`, hashToken(token)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, survey.ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("account by token: %w", err)
	}
	return a, nil
}

// Authenticate checks a name and password and returns the account, or
// ErrUnauthorized.
func (s *Store) Authenticate(ctx context.Context, name, password string) (*survey.Account, error) {
	var hash string
	a, err := scanAccount(rowFunc(func(dest ...any) error {
		return s.pool.QueryRow(ctx, `SELECT `+accountColumns+`, password_hash FROM accounts WHERE name = $1`, name).Scan(append(dest, &hash)...)
	}))
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if err != nil || hash == "" {
		// Spend the same time as a real check so names cannot be probed.
		passhash.Check(passhash.Dummy, password)
		return nil, survey.ErrUnauthorized
	}
	if !passhash.Check(hash, password) {
		return nil, survey.ErrUnauthorized
	}
	return a, nil
}

// rowFunc is a pgx.Row made of a function.
type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }

// SetPassword sets the console password of the named account, creating it
// with the role if it does not exist (used for the bootstrap admin).
func (s *Store) SetPassword(ctx context.Context, name string, role survey.Role, password string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE accounts SET password_hash = $2 WHERE name = $1`, name, passhash.Hash(password))
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	_, _, err = s.CreateAccount(ctx, survey.NewAccount{Name: name, Role: role, Password: password})
	return err
}

// HasAccount reports whether an account with the name exists.
func (s *Store) HasAccount(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE name = $1)`, name).Scan(&ok)
	return ok, err
}

// Accounts returns every account, in name order.
func (s *Store) Accounts(ctx context.Context) ([]*survey.Account, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	defer rows.Close()
	out := []*survey.Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func hashToken(t string) []byte {
	sum := sha256.Sum256([]byte(t))
	return sum[:]
}

// CreateSession signs an account in: it returns a fresh secret for the
// session cookie. Only the secret's hash is stored, in the database, so
// that every instance knows the session. Expired sessions of every account
// are removed on the way.
func (s *Store) CreateSession(ctx context.Context, accountID string) (string, error) {
	now := s.now().UTC()
	token := survey.NewToken()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR seen_at <= $2`, now, now.Add(-survey.SessionIdle)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (token_hash, account_id, created_at, seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)`,
			hashToken(token), accountID, now, now.Add(survey.SessionMax))
		return err
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
	h := hashToken(token)
	var seen, expires time.Time
	a, err := scanAccount(rowFunc(func(dest ...any) error {
		return s.pool.QueryRow(ctx, `SELECT a.id, a.name, a.role, a.round_id, a.units, s.seen_at, s.expires_at
			FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = $1`, h).Scan(append(dest, &seen, &expires)...)
	}))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, survey.ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	now := s.now().UTC()
	if !now.Before(expires) || !now.Before(seen.Add(survey.SessionIdle)) {
		return nil, survey.ErrUnauthorized
	}
	if now.Sub(seen) >= sessionTouch {
		if _, err := s.pool.Exec(ctx, `UPDATE sessions SET seen_at = $2 WHERE token_hash = $1`, h, now); err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
	}
	return a, nil
}

// EndSession signs a session out. Ending an unknown session is not an error.
func (s *Store) EndSession(ctx context.Context, token string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashToken(token)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndSessionsOf signs every session of the named account out, as when its
// password is reset.
func (s *Store) EndSessionsOf(ctx context.Context, name string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE account_id IN (SELECT id FROM accounts WHERE name = $1)`, name); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}

// SetExpected replaces a round's expected attendance with e.
func (s *Store) SetExpected(ctx context.Context, roundID string, e survey.Expected) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error { return setExpected(ctx, tx, roundID, e) })
	if err != nil {
		return fmt.Errorf("set expected attendance: %w", err)
	}
	return nil
}

// setExpected replaces a round's expected attendance inside tx.
func setExpected(ctx context.Context, tx pgx.Tx, roundID string, e survey.Expected) error {
	if _, err := tx.Exec(ctx, `DELETE FROM roster_expected WHERE round_id = $1`, roundID); err != nil {
		return err
	}
	var rows [][]any
	for _, u := range slices.Sorted(maps.Keys(e)) {
		for _, c := range slices.Sorted(maps.Keys(e[u])) {
			rows = append(rows, []any{roundID, u, c, e[u][c]})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"roster_expected"}, []string{"round_id", "unit", "category", "expected"}, pgx.CopyFromRows(rows))
	return err
}

// ImportRoster replaces a draft round's definition (its units and
// members) and its expected attendance in one transaction: both or
// neither. UpdateDefinition's errors.
func (s *Store) ImportRoster(ctx context.Context, id string, def *survey.Definition, source []byte, e survey.Expected) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := updateDefinition(ctx, tx, id, def, source); err != nil {
			return err
		}
		return setExpected(ctx, tx, id, e)
	})
}

// Expected returns a round's expected attendance, empty if no roster gave
// one.
func (s *Store) Expected(ctx context.Context, roundID string) (survey.Expected, error) {
	rows, err := s.pool.Query(ctx, `SELECT unit, category, expected FROM roster_expected WHERE round_id = $1`, roundID)
	if err != nil {
		return nil, fmt.Errorf("expected attendance: %w", err)
	}
	defer rows.Close()
	e := survey.Expected{}
	for rows.Next() {
		var u, c string
		var n int
		if err := rows.Scan(&u, &c, &n); err != nil {
			return nil, fmt.Errorf("expected attendance: %w", err)
		}
		if e[u] == nil {
			e[u] = map[string]int{}
		}
		e[u][c] = n
	}
	return e, rows.Err()
}
