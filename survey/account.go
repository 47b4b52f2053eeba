package survey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
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
	RoundID string   // an appraiser's round; an organiser's, if created for one
	Units   []string // appraisers only
}

// CanManage reports whether the account may run round roundID (read it,
// change it, issue and void its slips, open, close and seal it): an
// administrator any round; an organiser any round, or only the one it was
// created for.
func (a *Account) CanManage(roundID string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleOrganiser:
		return a.RoundID == "" || a.RoundID == roundID
	}
	return false
}

// CanCreateRounds reports whether the account may create rounds: an
// administrator, or an organiser not created for one round.
func (a *Account) CanCreateRounds() bool {
	return a.Role == RoleAdmin || a.Role == RoleOrganiser && a.RoundID == ""
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

// Validate checks an account to create: a name, the role organiser or
// appraiser (or admin, for the one the server makes), for an appraiser its
// round (nil if there is none by that id) and units of it, and for an
// organiser created for one round, that round; a password, if given, must
// pass PasswordProblems. A *ValidationError lists every problem.
func (n NewAccount) Validate(round *Round) error {
	var ps []Problem
	if strings.TrimSpace(n.Name) == "" {
		ps = append(ps, Problem{Path: "name", Message: "账号需要名称"})
	}
	switch n.Role {
	case RoleAdmin:
	case RoleOrganiser:
		if n.RoundID != "" && round == nil {
			ps = append(ps, Problem{Path: "round", Message: fmt.Sprintf("没有编号为「%s」的测评活动", n.RoundID)})
		}
	case RoleAppraiser:
		if round == nil {
			ps = append(ps, Problem{Path: "round", Message: fmt.Sprintf("没有编号为「%s」的测评活动", n.RoundID)})
			break
		}
		if len(n.Units) == 0 {
			ps = append(ps, Problem{Path: "units", Message: "考核组账号至少需要一个单位"})
		}
		for i, u := range n.Units {
			if round.Definition.Unit(u) == nil {
				ps = append(ps, Problem{Path: fmt.Sprintf("units[%d]", i), Message: fmt.Sprintf("测评活动中没有单位「%s」", u)})
			}
		}
	default:
		ps = append(ps, Problem{Path: "role", Message: fmt.Sprintf("角色应为 organiser（组织人员）或 appraiser（考核组），收到「%s」", n.Role)})
	}
	if n.Password != "" {
		ps = append(ps, PasswordProblems("password", n.Name, n.Password)...)
	}
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
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
