package postgres

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"minping/survey"
	"minping/survey/groupcommit"
)

// Store keeps rounds, batches, codes, ballots, accounts and sealed documents
// in PostgreSQL. Several Stores (several minping instances) may serve one
// database at once; each has its own ballot writers, which gather
// concurrent submissions into group commits.
type Store struct {
	pool   *pgxpool.Pool
	keyDir string
	wrap   cipher.AEAD // seals round key files under the code key
	now    func() time.Time
	codes  *survey.CodeHasher // the keyed hash codes are stored under

	mu      sync.Mutex
	defs    map[string]*survey.Definition // parsed definitions by round id and fingerprint
	sealers map[string]*boxSealer         // by round id: this Store's ephemeral box key

	slips       *slipReader // shares concurrent code lookups, keeps round rows a second (slips.go)
	allowUnsafe bool        // Options.AllowUnsafeSettings: guard lets everything through

	guardMu       sync.Mutex
	settingsEvery time.Duration // how long guard's verdict holds
	checkedAt     time.Time     // when guard last read the settings
	verdict       error         // what it found then: nil, or why they are unsafe

	writer    *groupcommit.Queue[*submission] // Options.Writers ballot writers (submit.go)
	issued    atomic.Int64                    // codes this Store issued since it opened
	closeOnce sync.Once
	finished  []string
}

// ErrWrongCodeKey is returned, wrapped, by Open when the code key is not
// the one the database's codes were issued under: an instance given a key
// directory of its own would find no code, and write round keys the others
// cannot read.
var ErrWrongCodeKey = errors.New("the code key is not the one this database's codes were issued under")

// checkCodeKey records the code key's fingerprint (an HMAC of a fixed
// text, which says nothing of any code) when the database has none, and
// refuses a key whose fingerprint differs.
func (s *Store) checkCodeKey(ctx context.Context) error {
	mine := s.codes.Derived("minping code key fingerprint v1")
	if _, err := s.pool.Exec(ctx, `INSERT INTO code_key (id, fingerprint) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, mine); err != nil {
		return err
	}
	var theirs []byte
	if err := s.pool.QueryRow(ctx, `SELECT fingerprint FROM code_key WHERE id = 1`).Scan(&theirs); err != nil {
		return err
	}
	if !bytes.Equal(mine, theirs) {
		return fmt.Errorf("%w: 这个数据库的测评码是用另一个 code.key 发放的，请让本实例使用与其他实例相同的密钥目录（--keys）/ give this instance the key directory the others use (--keys)", ErrWrongCodeKey)
	}
	return nil
}

// DefaultWriters is how many ballot writers a Store runs unless told:
// each commits its own groups on its own connection.
const DefaultWriters = 4

// Options configure a Store.
type Options struct {
	// CodeKey keys the hash under which ballot codes are stored (≥ 32
	// bytes). Every instance on one database must have the same.
	CodeKey []byte
	// KeyDir is the key directory, where the private half of each open
	// round's ballot key is kept until the round closes. Every instance
	// that may close a round must share it (see the package comment).
	KeyDir string
	// Now is the clock for round-level times (never used for ballots).
	Now func() time.Time
	// AllowUnsafeSettings opens the store even if the server's settings
	// would record ballots' times or codes' hashes (see ErrUnsafeSettings).
	AllowUnsafeSettings bool
	// Writers is the number of ballot writers, each committing its own
	// groups on its own connection (default 4).
	Writers int
	// MaxConns bounds the connections of the Store's pool (default 16).
	MaxConns int32
}

// Open connects to the database at dsn (a postgres:// URL or key=value
// string), refuses settings that would keep a record of ballots (unless
// allowed), applies pending migrations, and finishes what a close left
// undone in the key directory.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	if len(o.CodeKey) < 32 {
		return nil, fmt.Errorf("open store: code key must be at least 32 bytes")
	}
	if o.KeyDir == "" {
		return nil, fmt.Errorf("open store: a key directory is required for the rounds' ballot keys")
	}
	if fi, err := os.Stat(o.KeyDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("open store: key directory %q: not a directory (%v)", o.KeyDir, err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Writers <= 0 {
		o.Writers = DefaultWriters
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	codes := survey.NewCodeHasher(o.CodeKey)
	wrap, err := codes.AEAD("minping round key file v1") // seals round key files (box.go)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// A close holds one connection and reads turnout on another while
	// every writer may be waiting on its own, beside the slip readers.
	cfg.MaxConns = max(o.MaxConns, int32(o.Writers)+4)
	if !o.AllowUnsafeSettings {
		// A setting made for a role or the database (ALTER ROLE … SET)
		// reaches only new sessions: each is checked as it connects, and
		// one that would log ballots is refused, whatever guard last saw.
		cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
			bad, err := checkSettings(ctx, conn)
			if err != nil {
				return err
			}
			if len(bad) > 0 {
				return settingsError(bad)
			}
			return nil
		}
	}
	// Every session of the store runs at READ COMMITTED (the locking in
	// submit.go is written for it) and writes durably.
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "read committed"
	cfg.ConnConfig.RuntimeParams["application_name"] = "minping"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{
		pool: pool, codes: codes, keyDir: o.KeyDir, wrap: wrap, now: o.Now,
		defs: map[string]*survey.Definition{}, sealers: map[string]*boxSealer{}, allowUnsafe: o.AllowUnsafeSettings, settingsEvery: time.Second,
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.slips = newSlipReader(s.guard)
	bad, err := checkSettings(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if len(bad) > 0 {
		if !o.AllowUnsafeSettings {
			pool.Close()
			return nil, fmt.Errorf("open store: %w", settingsError(bad))
		}
		for _, u := range bad {
			s.finished = append(s.finished, fmt.Sprintf("opened despite an unsafe setting, as allowed: %s = %q: %s", u.name, u.value, u.en))
		}
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.checkCodeKey(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.removeStaleKeys(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.writer = groupcommit.New(s.commit, groupcommit.Options{Writers: o.Writers})
	return s, nil
}

// removeStaleKeys removes the key files of rounds that have closed: a
// close whose process stopped between its commit and the removal leaves
// one behind. Files of rounds this database does not hold are left alone.
func (s *Store) removeStaleKeys(ctx context.Context) error {
	entries, err := os.ReadDir(s.keyDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		id := roundIDOfKeyFile(e.Name())
		if id == "" {
			continue
		}
		var status survey.Status
		err := s.pool.QueryRow(ctx, `SELECT status FROM rounds WHERE id = $1`, id).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		if status == survey.StatusClosed || status == survey.StatusSealed {
			if removed, err := s.removeRoundKey(id); err != nil {
				return err
			} else if removed {
				s.finished = append(s.finished, fmt.Sprintf("removed the ballot key of round %s, closed before it could be removed: its boxes can no longer be opened by anyone", id))
			}
		}
	}
	return nil
}

// Finished says what Open finished that a change had left undone, or
// allowed against advice, for the caller to log.
func (s *Store) Finished() []string { return s.finished }

// Close stops the ballot writers, after they have committed what they
// hold, and closes the pool. Calling it again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.writer.Close()
		s.pool.Close()
	})
	return nil
}

// Writable reports whether a write transaction can commit now: the server
// is a primary (not a standby in recovery) and not read-only. It writes
// nothing.
func (s *Store) Writable(ctx context.Context) error {
	var recovery bool
	var readOnly string
	err := s.pool.QueryRow(ctx, `SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')`).Scan(&recovery, &readOnly)
	switch {
	case err != nil:
		return err
	case recovery:
		return errors.New("the database is a standby in recovery: writes go to the primary")
	case readOnly == "on":
		return errors.New("the database is read-only (default_transaction_read_only)")
	}
	return nil
}

// inTx runs fn in a transaction and commits it.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// lockRound locks a round's row for a change of the round, and returns its
// status: ErrNotFound if there is none. Changes of one round (issue, void,
// open, close, seal …) from any instance are so taken one at a time, each
// seeing the one before.
func lockRound(ctx context.Context, tx pgx.Tx, id string) (survey.Status, error) {
	var status survey.Status
	err := tx.QueryRow(ctx, `SELECT status FROM rounds WHERE id = $1 FOR UPDATE`, id).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("round: %w", survey.ErrNotFound)
	}
	return status, err
}

// stopVoting waits, inside tx, until no ballot of the round is being
// written, and keeps new ones waiting until tx ends (see submit.go).
func stopVoting(ctx context.Context, tx pgx.Tx, roundID string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockClassRound, roundLockKey(roundID))
	return err
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func newID() string { return uuid.NewString() }

func fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
