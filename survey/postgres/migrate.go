package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrations are applied in order, all pending ones in one transaction
// under an advisory lock, so that instances starting together neither race
// nor see half a schema. Never edit one that has shipped: add the next.
//
// What the tables keep, and what they do not (see the package comment):
// ballots hold round, unit, category, part and answers under a random key,
// written only at close in a random order; ballot_boxes hold sealed
// ballots while voting is open, with nothing in the clear but the round;
// spent holds the keyed hash of each spent code and its batch, and nothing
// of when; rounds hold the public half of each open round's box key only.
var migrations = []string{
	1: `
CREATE TABLE rounds (
	id            text PRIMARY KEY,
	name          text NOT NULL,
	status        text NOT NULL CHECK (status IN ('draft','open','closed','sealed')),
	definition    bytea NOT NULL,
	source        bytea,
	config_sha256 text NOT NULL DEFAULT '',
	created_at    timestamptz NOT NULL,
	opened_at     timestamptz,
	closed_at     timestamptz,
	sealed_at     timestamptz,
	archived      boolean NOT NULL DEFAULT false,
	base_url      text NOT NULL DEFAULT '',
	box_key       bytea          -- X25519 public key of an open round's ballot boxes
);
CREATE TABLE batches (
	id         text PRIMARY KEY,
	round_id   text NOT NULL REFERENCES rounds(id),
	unit       text NOT NULL,
	category   text NOT NULL,
	member     text NOT NULL DEFAULT '',
	count      integer NOT NULL,
	voided     boolean NOT NULL DEFAULT false,
	used       integer,          -- spent codes, fixed when the codes go at the seal
	created_at timestamptz NOT NULL
);
CREATE INDEX batches_round ON batches(round_id);
CREATE TABLE codes (
	hash     bytea PRIMARY KEY,  -- keyed hash of the code; the code itself is never stored
	round_id text NOT NULL,
	batch_id text NOT NULL REFERENCES batches(id)
);
CREATE INDEX codes_round ON codes(round_id);
CREATE TABLE spent (
	hash     bytea PRIMARY KEY,  -- a spent code's hash: the unique key makes a second spend impossible
	round_id text NOT NULL,
	batch_id text NOT NULL
);
CREATE INDEX spent_batch ON spent(batch_id);
CREATE TABLE ballot_boxes (
	id       bytea PRIMARY KEY,  -- 16 random bytes
	round_id text NOT NULL,
	box      bytea NOT NULL      -- sealed to the round's box key: category, records, padding
);
CREATE TABLE ballots (
	id       bytea PRIMARY KEY,  -- 16 random bytes
	round_id text NOT NULL,
	unit     text NOT NULL,
	category text NOT NULL,
	part     text NOT NULL DEFAULT '',
	answers  bytea NOT NULL      -- one byte per slot of the definition's layout
);
CREATE TABLE accounts (
	id            text PRIMARY KEY,
	name          text NOT NULL UNIQUE,
	role          text NOT NULL CHECK (role IN ('admin','organiser','appraiser')),
	round_id      text NOT NULL DEFAULT '',
	units         text NOT NULL DEFAULT '[]',
	password_hash text NOT NULL DEFAULT '',
	token_hash    bytea UNIQUE,
	created_at    timestamptz NOT NULL
);
CREATE TABLE sessions (
	token_hash bytea PRIMARY KEY, -- SHA-256 of the cookie's secret
	account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL,
	seen_at    timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);
CREATE TABLE roster_expected (
	round_id text NOT NULL REFERENCES rounds(id),
	unit     text NOT NULL,
	category text NOT NULL,
	expected integer NOT NULL CHECK (expected >= 0),
	PRIMARY KEY (round_id, unit, category)
);
CREATE TABLE documents (
	round_id  text NOT NULL,
	unit      text NOT NULL,      -- '' for the round document
	body      bytea NOT NULL,
	signature text NOT NULL,
	PRIMARY KEY (round_id, unit)
);
CREATE TABLE results (
	round_id     text PRIMARY KEY REFERENCES rounds(id),
	entries      bytea NOT NULL,
	finalized_at timestamptz
);
CREATE TABLE exports (
	round_id text NOT NULL,
	name     text NOT NULL,
	body     bytea NOT NULL,
	PRIMARY KEY (round_id, name)
);
`,
	// The code key's fingerprint, so that an instance given another key
	// is refused at start rather than finding no code (see checkCodeKey).
	2: `
CREATE TABLE code_key (
	id          integer PRIMARY KEY CHECK (id = 1),
	fingerprint bytea NOT NULL   -- HMAC(code key, a fixed text)
);
`,
}

// ErrNewerSchema is returned by Open for a database a newer minping has
// migrated: serving it would risk writes the newer schema does not expect.
var ErrNewerSchema = errors.New("database schema is newer than this minping")

// Advisory lock classes (the first key of the two-key form), so that the
// store's locks never meet another application's on the same database.
const (
	lockClassMigrate = 0x6d706d67 // "mpmg"
	lockClassRound   = 0x6d70726e // "mprn": a round's voting, see submit.go
)

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, lockClassMigrate); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, applied_at timestamptz NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current >= len(migrations) {
		return fmt.Errorf("%w: the database is at schema version %d, this minping knows versions up to %d; "+
			"it was written by a newer minping — run that version, or restore a backup made before the upgrade", ErrNewerSchema, current, len(migrations)-1)
	}
	for v := current + 1; v < len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v], pgx.QueryExecModeSimpleProtocol); err != nil {
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, v, s.now().UTC()); err != nil {
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
