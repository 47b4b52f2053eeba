package sqlite

import (
	"context"
	"errors"
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
// ballotsTable is the ballots table as migration 1 made it (and no later
// one changed); OpenBallotTable makes the same.
const ballotsTable = `CREATE TABLE ballots (
	id       BLOB PRIMARY KEY,    -- 16 random bytes
	round_id TEXT NOT NULL,
	unit     TEXT NOT NULL,
	category TEXT NOT NULL,
	answers  BLOB NOT NULL        -- one byte per slot of the definition's layout
) WITHOUT ROWID;`

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
` + ballotsTable + `
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
	// Spending a code wrote its row — a random page of the codes table, and
	// two more of the (batch, state) index — per ballot: the ballot writer's
	// largest cost after the ballot itself. Now each code has a position in
	// its batch (its hash's rank, which says nothing of where it was
	// printed), and each batch keeps a bitmap of its spent positions and
	// their count, rewritten once per group commit: a group of ballots
	// writes a few batch rows, not one page per ballot. Void codes are the
	// unspent codes of a voided batch. The state column goes (after
	// spentBits has read it), and turnout and the seal read counts.
	3: `
ALTER TABLE batches ADD COLUMN spent INTEGER NOT NULL DEFAULT 0;      -- spent codes
ALTER TABLE batches ADD COLUMN spent_bits BLOB NOT NULL DEFAULT x'';  -- bit pos set: the code at pos is spent
ALTER TABLE codes ADD COLUMN pos INTEGER NOT NULL DEFAULT 0;          -- the rank of its hash in its batch
UPDATE batches SET spent = used WHERE used IS NOT NULL;               -- sealed: the codes are gone, the count was kept
DELETE FROM codes WHERE batch_id NOT IN (SELECT id FROM batches WHERE used IS NULL); -- left behind: a seal purges them
`,
	// Work a change leaves to finish after its commit: 'compact' while the
	// compaction a close or a seal owes has not run (a reader held the
	// database, or the process stopped), so that the next close, the next
	// start or minping compact finishes it, and says so.
	4: `
CREATE TABLE maintenance (
	task TEXT PRIMARY KEY
) WITHOUT ROWID;
`,
	// Sheets and recusal (CONTRACT §5.1): a batch of an all sheet names no
	// unit; a recusal batch names the member who holds its one slip, so
	// that the ballot leaves out the member's own rows. A recusal ballot is
	// stored in parts (the team's rows, each member's), each a record whose
	// part is '' or the member rated, so that no record lacks rows.
	5: `
ALTER TABLE batches ADD COLUMN member TEXT NOT NULL DEFAULT '';
ALTER TABLE ballots ADD COLUMN part TEXT NOT NULL DEFAULT '';
`,
	// Totals (CONTRACT §5.3): what is entered per unit after the seal, as
	// the JSON the API took; finalized_at is set when the results document
	// is signed, after which the entries no longer change.
	6: `
CREATE TABLE results (
	round_id     TEXT PRIMARY KEY REFERENCES rounds(id),
	entries      BLOB NOT NULL,
	finalized_at DATETIME
) WITHOUT ROWID;
`,
	// A ballot of several records (a sheet over many units, a recusal
	// ballot's parts) waits here, encrypted, until its round closes (see
	// box.go): under a random key, with nothing but its round and category.
	7: `
CREATE TABLE ballot_boxes (
	id       BLOB PRIMARY KEY,    -- 16 random bytes
	round_id TEXT NOT NULL,
	category TEXT NOT NULL,
	box      BLOB NOT NULL        -- AES-GCM: nonce, then the sealed records
) WITHOUT ROWID;
`,
	// A sealed round can be archived: hidden from lists, documents kept.
	8: `
ALTER TABLE rounds ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
`,
	// The address a round's slips point to, when it is not the server's.
	9: `
ALTER TABLE rounds ADD COLUMN base_url TEXT NOT NULL DEFAULT '';
`,
	// Files built from a sealed round's documents (the whole workbook),
	// kept so that a download is a read: a province's took 18 s and 1 GB.
	10: `
CREATE TABLE exports (
	round_id TEXT NOT NULL,
	name     TEXT NOT NULL,
	body     BLOB NOT NULL,
	PRIMARY KEY (round_id, name)
) WITHOUT ROWID;
`,
}

// migrationSteps run after the SQL of their version, in its transaction.
var migrationSteps = map[int]func(tx *gorm.DB) error{
	3: spentBits,
}

// migrationsAfter run after the steps, in the same transaction.
var migrationsAfter = map[int]string{
	3: `
DROP INDEX codes_batch;
CREATE UNIQUE INDEX codes_batch ON codes(batch_id, pos);
ALTER TABLE codes DROP COLUMN state;
`,
}

// spentBits gives the codes of every batch their positions, and the batch
// its bitmap and count, from the codes' states (0 fresh, 1 spent, 2 void).
func spentBits(tx *gorm.DB) error {
	var batches []struct {
		ID    string
		Count int
	}
	if err := tx.Raw(`SELECT id, count FROM batches WHERE used IS NULL`).Scan(&batches).Error; err != nil {
		return err
	}
	for _, b := range batches {
		var codes []struct {
			Hash  []byte
			State int
		}
		if err := tx.Raw(`SELECT hash, state FROM codes WHERE batch_id = ? ORDER BY hash`, b.ID).Scan(&codes).Error; err != nil {
			return err
		}
		bits := make([]byte, (max(b.Count, len(codes))+7)/8)
		spent := 0
		for pos, c := range codes {
			if err := tx.Exec(`UPDATE codes SET pos = ? WHERE hash = ?`, pos, c.Hash).Error; err != nil {
				return err
			}
			if c.State == 1 {
				bits[pos/8] |= 1 << (pos % 8)
				spent++
			}
		}
		if err := tx.Exec(`UPDATE batches SET spent_bits = ?, spent = ? WHERE id = ?`, bits, spent, b.ID).Error; err != nil {
			return err
		}
	}
	return nil
}

// ErrNewerSchema is returned by Open for a database a newer minping has
// migrated: serving it would risk writes the newer schema does not expect.
var ErrNewerSchema = errors.New("database schema is newer than this minping")

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
	if current >= len(migrations) {
		return fmt.Errorf("%w: the database is at schema version %d, this minping knows versions up to %d; "+
			"it was written by a newer minping — run that version, or restore a backup made before the upgrade", ErrNewerSchema, current, len(migrations)-1)
	}
	for v := current + 1; v < len(migrations); v++ {
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(migrations[v]).Error; err != nil {
				return err
			}
			if step := migrationSteps[v]; step != nil {
				if err := step(tx); err != nil {
					return err
				}
			}
			if after := migrationsAfter[v]; after != "" {
				if err := tx.Exec(after).Error; err != nil {
					return err
				}
			}
			return tx.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().UTC()).Error
		})
		if err != nil {
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
	}
	return nil
}
