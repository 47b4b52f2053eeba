package survey

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// migrations are applied in order, each in a transaction, and recorded in
// schema_migrations. Never edit one that has shipped: add the next.
//
// The ballots table is the heart of the anonymity promise: a random 16-byte
// key in a WITHOUT ROWID table (no hidden integer that grows with arrival),
// and round, unit, category and answers only — no code, time, IP or order.
// Codes likewise keep only their state, never when they were spent.
var migrations = []string{
	1: `
CREATE TABLE rounds (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	status        TEXT NOT NULL CHECK (status IN ('draft','open','closed','sealed')),
	definition    BLOB NOT NULL,
	source        BLOB,
	config_sha256 TEXT NOT NULL DEFAULT '',
	created_at    DATETIME NOT NULL,
	opened_at     DATETIME,
	closed_at     DATETIME,
	sealed_at     DATETIME
);
CREATE TABLE batches (
	id         TEXT PRIMARY KEY,
	round_id   TEXT NOT NULL REFERENCES rounds(id),
	unit       TEXT NOT NULL,
	category   TEXT NOT NULL,
	count      INTEGER NOT NULL,
	voided     INTEGER NOT NULL DEFAULT 0,
	used       INTEGER,            -- spent codes, fixed when the codes are purged at the seal
	created_at DATETIME NOT NULL
);
CREATE INDEX batches_round ON batches(round_id);
CREATE TABLE codes (
	hash     BLOB PRIMARY KEY,    -- keyed hash of the code; the code itself is never stored
	round_id TEXT NOT NULL,
	batch_id TEXT NOT NULL,
	unit     TEXT NOT NULL,
	category TEXT NOT NULL,
	state    INTEGER NOT NULL DEFAULT 0 -- 0 fresh, 1 spent, 2 void
) WITHOUT ROWID;
CREATE INDEX codes_batch ON codes(batch_id, state);
CREATE TABLE ballots (
	id       BLOB PRIMARY KEY,    -- 16 random bytes
	round_id TEXT NOT NULL,
	unit     TEXT NOT NULL,
	category TEXT NOT NULL,
	answers  BLOB NOT NULL        -- one byte per slot of the definition's layout
) WITHOUT ROWID;
CREATE TABLE accounts (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL CHECK (role IN ('admin','organiser','appraiser')),
	round_id      TEXT NOT NULL DEFAULT '',
	units         TEXT NOT NULL DEFAULT '[]',
	password_hash TEXT NOT NULL DEFAULT '',
	token_hash    BLOB UNIQUE,
	created_at    DATETIME NOT NULL
);
CREATE TABLE documents (
	round_id  TEXT NOT NULL,
	unit      TEXT NOT NULL,      -- '' for the round document
	body      BLOB NOT NULL,
	signature TEXT NOT NULL,
	PRIMARY KEY (round_id, unit)
) WITHOUT ROWID;
`,
	// Console sign-in sessions, kept only as a hash of the cookie's secret,
	// and the expected attendance (应到人数) per unit and voter category
	// that a roster import brings, for issuing slips in bulk.
	2: `
CREATE TABLE sessions (
	token_hash BLOB PRIMARY KEY,  -- SHA-256 of the cookie's secret
	account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	created_at DATETIME NOT NULL,
	seen_at    DATETIME NOT NULL,
	expires_at DATETIME NOT NULL   -- absolute end; the idle limit is checked against seen_at
) WITHOUT ROWID;
CREATE INDEX sessions_account ON sessions(account_id);
CREATE TABLE roster_expected (
	round_id TEXT NOT NULL REFERENCES rounds(id),
	unit     TEXT NOT NULL,
	category TEXT NOT NULL,
	expected INTEGER NOT NULL CHECK (expected >= 0),
	PRIMARY KEY (round_id, unit, category)
) WITHOUT ROWID;
`,
	// Spending a code changes its state. With the state in codes_batch that
	// moved an index entry too — two more random pages written per ballot,
	// which cut ballot throughput by a third. Instead each batch counts its
	// spent codes, kept by the ballot writer in the same transaction as the
	// spends (one update per batch per group commit, not per ballot), so
	// turnout and the seal read counts and never scan codes.
	3: `
ALTER TABLE batches ADD COLUMN spent INTEGER NOT NULL DEFAULT 0; -- spent codes, kept with every spend
UPDATE batches SET spent = (SELECT COUNT(*) FROM codes c WHERE c.batch_id = batches.id AND c.state = 1);
UPDATE batches SET spent = used WHERE used IS NOT NULL; -- sealed: the codes are gone, the count was kept
DROP INDEX codes_batch;
CREATE INDEX codes_batch ON codes(batch_id);
`,
}

func migrate(ctx context.Context, db *gorm.DB) error {
	db = db.WithContext(ctx)
	if err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at DATETIME NOT NULL)`).Error; err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := db.Raw(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current).Error; err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for v := current + 1; v < len(migrations); v++ {
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(migrations[v]).Error; err != nil {
				return err
			}
			return tx.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().UTC()).Error
		})
		if err != nil {
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
	}
	return nil
}
