package survey

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors a store returns; server maps each to one HTTP status.
var (
	ErrNotFound     = errors.New("not found")
	ErrCodeUsed     = errors.New("code already used")
	ErrNotStarted   = errors.New("voting has not started")
	ErrVotingOver   = errors.New("voting is over")
	ErrWrongState   = errors.New("not allowed in the round's current state")
	ErrDuplicate    = errors.New("already exists")
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnsafeStore is a store whose database would now keep a record of
	// ballots (their times, their codes' hashes): it takes none until that
	// is undone.
	ErrUnsafeStore = errors.New("the database's settings would record ballots")
	// ErrKeyUnavailable is a change this instance cannot make for want of
	// a key another instance holds (a round's ballot key, at close).
	ErrKeyUnavailable = errors.New("a key this needs is not in this instance's key directory")
)

// Status is where a round is in its lifecycle.
type Status string

// Round statuses, in lifecycle order.
const (
	StatusDraft  Status = "draft"
	StatusOpen   Status = "open"
	StatusClosed Status = "closed"
	StatusSealed Status = "sealed"
)

// Round is a 测评活动 with its lifecycle status and its definition.
type Round struct {
	ID           string
	Name         string
	Status       Status
	Definition   *Definition
	ConfigSHA256 string // fingerprint of the definition frozen at open; "" in draft
	CreatedAt    time.Time
	OpenedAt     *time.Time
	ClosedAt     *time.Time
	SealedAt     *time.Time
	// Archived hides a sealed round from lists; its documents stay.
	Archived bool
	// BaseURL is where the round's slips point (its QR links), when it is
	// not the server's --base-url; "" for the server's.
	BaseURL string
}

// Group is the ballots of one voter category in one unit.
type Group struct {
	Unit     string
	Category string
}

// SealedDocument is one signed document of a sealed round: the round
// document (Unit "") or a unit's.
type SealedDocument struct {
	Unit      string
	Body      []byte
	Signature string
}

// ResultsDocument is the Unit of a round's results document (CONTRACT
// §5.3) among its sealed documents: no unit id can be it, as ids hold no
// slash.
const ResultsDocument = "/results"

// SealTime is the time a seal records, to the second in UTC, so that it
// reads back from the database exactly as it was signed.
func SealTime(now time.Time) time.Time { return now.UTC().Truncate(time.Second) }

// RoundCopier is what copying a round needs of a store.
type RoundCopier interface {
	RoundSource(ctx context.Context, id string) ([]byte, error)
	Expected(ctx context.Context, roundID string) (Expected, error)
	CreateRound(ctx context.Context, def *Definition, source []byte) (*Round, error)
	SetExpected(ctx context.Context, roundID string, e Expected) error
}

// CopyRound makes a new draft in s from round id — its definition as
// written, renamed to name, and its expected attendance — for next year's
// round or a rehearsal. Nothing of the old round's slips, ballots or
// results comes along. Every store's CopyRound is this.
func CopyRound(ctx context.Context, s RoundCopier, id, name string) (*Round, error) {
	src, err := s.RoundSource(ctx, id)
	if err != nil {
		return nil, err
	}
	if src, err = SourceWithSettings(src, Settings{Name: name}); err != nil {
		return nil, fmt.Errorf("copy round: %w", err)
	}
	def, err := ParseDefinition(src)
	if err != nil {
		return nil, fmt.Errorf("copy round: %w", err)
	}
	exp, err := s.Expected(ctx, id)
	if err != nil {
		return nil, err
	}
	r, err := s.CreateRound(ctx, def, src)
	if err != nil {
		return nil, err
	}
	if len(exp) > 0 {
		if err := s.SetExpected(ctx, r.ID, exp); err != nil {
			return nil, err
		}
	}
	return r, nil
}
