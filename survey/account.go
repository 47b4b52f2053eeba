package survey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"strings"
)

// Role is what an account may do.
type Role string

// Roles of an account.
const (
	RoleAdmin     Role = "admin"
	RoleOrganiser Role = "organiser"
	RoleAppraiser Role = "appraiser"
)

// Account is someone who signs in: an administrator, an organiser, or an
// appraisal group (考核组) limited to some units of one round.
type Account struct {
	ID      string
	Name    string
	Role    Role
	RoundID string   // appraisers only
	Units   []string // appraisers only
}

// CanRead reports whether the account may read sealed figures of a unit.
func (a *Account) CanRead(roundID, unit string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleAppraiser:
		if a.RoundID != roundID {
			return false
		}
		for _, u := range a.Units {
			if u == unit {
				return true
			}
		}
	}
	return false
}

// NewAccount describes an account to create.
type NewAccount struct {
	Name     string
	Role     Role
	RoundID  string
	Units    []string
	Password string // optional: "" for a token-only account
}

// NewToken returns a fresh random secret (256 bits, base32 without padding),
// used for bearer tokens and generated passwords.
func NewToken() string {
	var b [32]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// TokenMatches compares a presented token with a configured one in constant
// time.
func TokenMatches(presented, configured string) bool {
	if configured == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(presented)), sha256.Sum256([]byte(configured))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
