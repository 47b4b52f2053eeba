package server

import (
	"context"

	"minping/seal"
	"minping/server/console"
	"minping/survey"
	"minping/survey/postgres"
	"minping/survey/sqlite"
)

// The store methods each audience needs, declared here by their consumers.
// Store, below, is all of them.

// ballotStore is what a voter's requests need: find a slip, submit its
// ballot.
type ballotStore interface {
	Slip(ctx context.Context, code string) (*survey.Slip, error)
	Submit(ctx context.Context, slip *survey.Slip, ballot survey.Ballot) error
}

// roundStore keeps rounds and moves them through their lifecycle.
type roundStore interface {
	Rounds(ctx context.Context) ([]*survey.Round, error)
	Round(ctx context.Context, id string) (*survey.Round, error)
	CreateRound(ctx context.Context, def *survey.Definition, source []byte) (*survey.Round, error)
	UpdateDefinition(ctx context.Context, id string, def *survey.Definition, source []byte) error
	OpenRound(ctx context.Context, id string) error
	CloseRound(ctx context.Context, id string) error
	DeleteRound(ctx context.Context, id string) error
	ArchiveRound(ctx context.Context, id string, archived bool) error
	CopyRound(ctx context.Context, id, name string) (*survey.Round, error)
	RoundSource(ctx context.Context, id string) ([]byte, error)
	SetExpected(ctx context.Context, roundID string, e survey.Expected) error
	ImportRoster(ctx context.Context, id string, def *survey.Definition, source []byte, e survey.Expected) error
}

// batchStore issues and voids slips and counts them.
type batchStore interface {
	Batches(ctx context.Context, roundID string) ([]survey.Batch, error)
	IssueBatch(ctx context.Context, roundID, unit, category string, count int) (*survey.Batch, []string, error)
	IssueBatches(ctx context.Context, roundID string, reqs []survey.BatchRequest) ([]survey.Issued, error)
	VoidBatch(ctx context.Context, roundID, batchID string) error
	Turnout(ctx context.Context, roundID string) ([]survey.UnitTurnout, error)
}

// documentStore reads sealed documents, and the files built from them.
type documentStore interface {
	Document(ctx context.Context, roundID, unit string) (*survey.SealedDocument, error)
	Export(ctx context.Context, roundID, name string) ([]byte, error)
	SaveExport(ctx context.Context, roundID, name string, body []byte) error
}

// resultsStore seals rounds and keeps what is entered after the seal.
type resultsStore interface {
	seal.Results
	SaveResults(ctx context.Context, roundID string, entries []byte) error
}

// accountStore creates accounts and finds them by token.
type accountStore interface {
	CreateAccount(ctx context.Context, n survey.NewAccount) (*survey.Account, string, error)
	AccountByToken(ctx context.Context, token string) (*survey.Account, error)
}

// apiStore is what the JSON API needs.
type apiStore interface {
	roundStore
	batchStore
	documentStore
	accountStore
}

// opsStore is what operators' views need: /readyz asks whether the store
// takes writes; /metrics reads the writer's totals.
type opsStore interface {
	Writable(ctx context.Context) error
	WriterStats() survey.WriterStats
	IssuedCodes() int64
}

// Store is a whole store, as Serve opens it and New takes it: every
// audience's methods, the operators' and the start's. survey/sqlite (the
// embedded default) and survey/postgres implement it.
type Store interface {
	ballotStore
	apiStore
	console.Store
	resultsStore
	opsStore
	// HasAccount says whether the named account exists (the first start
	// makes admin).
	HasAccount(ctx context.Context, name string) (bool, error)
	// Finished says what opening finished that a change had left undone,
	// for the log.
	Finished() []string
	Close() error
}

var (
	_ Store = (*sqlite.Store)(nil)
	_ Store = (*postgres.Store)(nil)
)
