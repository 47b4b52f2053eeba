package sqlite

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"minping/survey"
	"minping/survey/groupcommit"
)

// Store keeps rounds, batches, codes, ballots, accounts and sealed documents
// in SQLite. All writes go through one connection; ballots are written by a
// single goroutine that gathers concurrent submissions into group commits,
// each durable (synchronous=FULL) before any of its submitters is answered.
type Store struct {
	w, r  *gorm.DB // the one writer connection and a pool of readers
	wdb   *sql.DB
	box   cipher.AEAD        // seals multi-record ballots until close (box.go)
	codes *survey.CodeHasher // the keyed hash codes are stored under
	now   func() time.Time

	writer    *groupcommit.Queue[*submission] // the one ballot writer (submit.go)
	closeOnce sync.Once

	compactWait  time.Duration // how long Compact waits for readers
	beforeVacuum func()        // tests: what happens between a close's commit and its compaction
	finished     []string      // what Open finished that a change had left undone

	mu   sync.Mutex
	defs map[string]*survey.Definition // parsed definitions by round id and fingerprint

	slips *slipIndex // codes and rounds as ballot requests need them
	// batchMu holds a change to a round's batches (issue, void, seal)
	// together with the index's following it, so that the index sees them
	// in the order SQLite did: a batch voided, or a round sealed, between
	// an issue's commit and its entry in the index would otherwise be
	// undone there.
	batchMu sync.Mutex
	issued  atomic.Int64 // codes issued since Open
}

// Options configure a Store.
type Options struct {
	// CodeKey keys the hash under which ballot codes are stored (≥ 32 bytes).
	CodeKey []byte
	// Now is the clock for round-level times (never used for ballots).
	Now func() time.Time
}

// Open opens (creating if needed) the SQLite database at path and applies
// pending migrations.
func Open(ctx context.Context, path string, o Options) (*Store, error) {
	if len(o.CodeKey) < 32 {
		return nil, fmt.Errorf("open store: code key must be at least 32 bytes")
	}
	codes := survey.NewCodeHasher(o.CodeKey)
	box, err := codes.AEAD("minping ballot box v1") // seals multi-record ballots until close (box.go)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	dsn := DSN(abs)
	cfg := &gorm.Config{Logger: logger.Discard, TranslateError: true, SkipDefaultTransaction: true}
	w, err := gorm.Open(dialector(dsn), cfg)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	wdb, err := w.DB()
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	if err := migrate(ctx, w); err != nil {
		wdb.Close()
		return nil, err
	}
	r, err := gorm.Open(dialector(readOnlyDSN(abs)), cfg)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open store readers: %w", err)
	}
	rdb, _ := r.DB()
	rdb.SetMaxOpenConns(8)
	rdb.SetMaxIdleConns(8)
	s := &Store{
		w: w, r: r, wdb: wdb, codes: codes, box: box, now: o.Now,
		compactWait: 30 * time.Second,
		defs:        map[string]*survey.Definition{},
		slips:       newSlipIndex(),
	}
	if err := s.loadSlips(ctx); err != nil {
		rdb.Close()
		wdb.Close()
		return nil, err
	}
	if owed, err := s.compactionOwed(ctx); err != nil || owed {
		if err == nil {
			err = s.Compact(ctx)
		}
		if err != nil && !errors.Is(err, ErrCompactIncomplete) {
			rdb.Close()
			wdb.Close()
			return nil, fmt.Errorf("open store: finish an owed compaction: %w", err)
		}
		if err == nil {
			s.finished = append(s.finished, "finished the compaction a close or seal had left undone: no page order from the voting remains")
		}
	}
	s.writer = groupcommit.New(s.commit, writerOptions)
	return s, nil
}

// Finished says what Open finished that a change had left undone (an
// interrupted close's compaction), for the caller to log.
func (s *Store) Finished() []string { return s.finished }

// DSN is the data source name under which minping opens the SQLite file at
// path. Every connection gets the same pragmas through it: a rollback
// journal truncated at every commit, with full fsync (a 201 is durable),
// freed pages zeroed (secure_delete), IMMEDIATE transactions so the writer
// never upgrades a read lock, and prepared statements kept per connection.
//
// Not a write-ahead log: a copy of a WAL taken while voting is open holds
// every commit since its last checkpoint, and replaying them one by one
// pairs each ballot with the spent mark committed with it (a test measured
// 30 of 30 ballots tied to their slips). The rollback journal holds only
// the pre-images of the commit in flight. Group commit keeps the rate: the
// bench measured as many durable ballots a second as with the log. A
// database an older minping kept in WAL mode is converted at Open.
func DSN(path string) string { return dsn(path, false) }

// Close stops the ballot writer, after it has committed what it holds, and
// closes the database. Calling it again does nothing.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.writer.Close()
		rdb, _ := s.r.DB()
		rdb.Close()
		err = s.wdb.Close()
	})
	return err
}

type roundRow struct {
	ID           string `gorm:"primaryKey"`
	Name         string
	Status       survey.Status
	Definition   []byte
	Source       []byte
	ConfigSHA256 string `gorm:"column:config_sha256"`
	CreatedAt    time.Time
	OpenedAt     *time.Time
	ClosedAt     *time.Time
	SealedAt     *time.Time
	Archived     bool
	BaseURL      string `gorm:"column:base_url"`
}

func (roundRow) TableName() string { return "rounds" }

// CreateRound stores a new draft round. source is the definition as the
// organiser wrote it (YAML or JSON), kept for download.
func (s *Store) CreateRound(ctx context.Context, def *survey.Definition, source []byte) (*survey.Round, error) {
	row := roundRow{
		ID: newID(), Name: def.Name, Status: survey.StatusDraft,
		Definition: def.Canonical(), Source: source, CreatedAt: s.now().UTC(),
	}
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		return nil, fmt.Errorf("create round: %w", err)
	}
	return s.toRound(&row)
}

// UpdateDefinition replaces the definition of a draft round; ErrWrongState
// once it has opened. Batches already issued keep their unit and category,
// which must still exist.
func (s *Store) UpdateDefinition(ctx context.Context, id string, def *survey.Definition, source []byte) error {
	defer s.slips.forget(id)
	return s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return updateDefinition(tx, id, def, source) })
}

// updateDefinition replaces a draft's definition inside tx.
func updateDefinition(tx *gorm.DB, id string, def *survey.Definition, source []byte) error {
	var row roundRow
	if err := tx.First(&row, "id = ?", id).Error; err != nil {
		return notFound(err, "update definition")
	}
	if row.Status != survey.StatusDraft {
		return fmt.Errorf("update definition: %w", survey.ErrWrongState)
	}
	var batches []batchRow
	if err := tx.Where("round_id = ? AND voided = 0", id).Find(&batches).Error; err != nil {
		return fmt.Errorf("update definition: %w", err)
	}
	var ps []survey.Problem
	for _, b := range batches {
		if survey.CheckBatches(def, []survey.BatchRequest{{Unit: b.Unit, Category: b.Category, Member: b.Member, Count: b.Count}}) != nil {
			ps = append(ps, survey.Problem{Path: "units", Message: fmt.Sprintf("已为单位「%s」的测评人类别「%s」发放测评码：请先作废该批次", b.Unit, b.Category)})
		}
	}
	if len(ps) > 0 {
		return &survey.ValidationError{Problems: ps}
	}
	return tx.Model(&roundRow{}).Where("id = ?", id).Updates(map[string]any{
		"name": def.Name, "definition": def.Canonical(), "source": source,
	}).Error
}

// Round returns the round with the id, or ErrNotFound.
func (s *Store) Round(ctx context.Context, id string) (*survey.Round, error) {
	var row roundRow
	if err := s.r.WithContext(ctx).First(&row, "id = ?", id).Error; err != nil {
		return nil, notFound(err, "round")
	}
	return s.toRound(&row)
}

// RoundSource returns the definition of a round as the organiser wrote it,
// or, for a round created without one, its canonical JSON.
func (s *Store) RoundSource(ctx context.Context, id string) ([]byte, error) {
	var row roundRow
	if err := s.r.WithContext(ctx).Select("source", "definition").First(&row, "id = ?", id).Error; err != nil {
		return nil, notFound(err, "round source")
	}
	if len(row.Source) == 0 {
		return row.Definition, nil
	}
	return row.Source, nil
}

// Rounds returns every round, newest first.
func (s *Store) Rounds(ctx context.Context) ([]*survey.Round, error) {
	var rows []roundRow
	if err := s.r.WithContext(ctx).Order("created_at DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("rounds: %w", err)
	}
	out := make([]*survey.Round, 0, len(rows))
	for i := range rows {
		r, err := s.toRound(&rows[i])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Store) toRound(row *roundRow) (*survey.Round, error) {
	def, err := s.definition(row.ID, row.Definition)
	if err != nil {
		return nil, err
	}
	return &survey.Round{
		ID: row.ID, Name: row.Name, Status: row.Status, Definition: def,
		ConfigSHA256: row.ConfigSHA256, CreatedAt: row.CreatedAt,
		OpenedAt: row.OpenedAt, ClosedAt: row.ClosedAt, SealedAt: row.SealedAt, Archived: row.Archived, BaseURL: row.BaseURL,
	}, nil
}

// definition parses a stored canonical definition once and caches it; the
// cache key includes the text's fingerprint so draft edits are seen.
func (s *Store) definition(id string, canonical []byte) (*survey.Definition, error) {
	key := id + ":" + fingerprint(canonical)
	s.mu.Lock()
	d, ok := s.defs[key]
	s.mu.Unlock()
	if ok {
		return d, nil
	}
	d, err := survey.ParseFrozen(canonical)
	if err != nil {
		return nil, fmt.Errorf("stored definition of round %s: %w", id, err)
	}
	s.mu.Lock()
	s.defs[key] = d
	s.mu.Unlock()
	return d, nil
}

// OpenRound freezes the definition and opens voting (draft → open).
func (s *Store) OpenRound(ctx context.Context, id string) error {
	defer s.slips.forget(id)
	return s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row roundRow
		if err := tx.First(&row, "id = ?", id).Error; err != nil {
			return notFound(err, "open round")
		}
		if row.Status != survey.StatusDraft {
			return fmt.Errorf("open round: %w", survey.ErrWrongState)
		}
		// Frozen as this version writes it: a draft stored by an older one
		// gains the keys added since, with their defaults.
		def, err := survey.ParseDefinition(row.Definition)
		if err != nil {
			return fmt.Errorf("open round: stored definition: %w", err)
		}
		frozen := def.Canonical()
		now := s.now().UTC()
		return tx.Model(&roundRow{}).Where("id = ?", id).Updates(map[string]any{
			"status": survey.StatusOpen, "definition": frozen, "config_sha256": fingerprint(frozen), "opened_at": now,
		}).Error
	})
}

// CloseRound ends voting (open → closed) and then rebuilds the database
// file (VACUUM), so that its page order says nothing of the order ballots
// arrived in. The close and the compaction it owes are committed together;
// if readers keep the compaction from running it returns
// ErrCompactIncomplete: the round is closed, and closing it again (or the
// next start, or minping compact) finishes the job.
func (s *Store) CloseRound(ctx context.Context, id string) error {
	// The status change goes through the ballot writer's connection like
	// every write, so no ballot commits after it. A client that goes away
	// does not roll it back: opening a province's boxes takes seconds.
	err := s.w.WithContext(context.WithoutCancel(ctx)).Transaction(func(tx *gorm.DB) error {
		var row roundRow
		if err := tx.First(&row, "id = ?", id).Error; err != nil {
			return notFound(err, "close round")
		}
		switch {
		case row.Status == survey.StatusClosed && owesCompaction(tx):
			return nil // closed, compaction owed: try it again
		case row.Status != survey.StatusOpen:
			return fmt.Errorf("close round: %w", survey.ErrWrongState)
		}
		if err := oweCompaction(tx); err != nil {
			return err
		}
		if err := s.openBoxes(tx, id); err != nil {
			return fmt.Errorf("close round: %w", err)
		}
		return tx.Model(&roundRow{}).Where("id = ?", id).Updates(map[string]any{
			"status": survey.StatusClosed, "closed_at": s.now().UTC(),
		}).Error
	})
	s.slips.forget(id)
	if err != nil {
		return err
	}
	if s.beforeVacuum != nil {
		s.beforeVacuum()
	}
	return s.Compact(ctx)
}

// oweCompaction records, in tx, that a compaction is owed.
func oweCompaction(tx *gorm.DB) error {
	return tx.Exec(`INSERT OR IGNORE INTO maintenance (task) VALUES ('compact')`).Error
}

// owesCompaction reports whether a compaction is owed, as tx sees it.
func owesCompaction(tx *gorm.DB) bool {
	var n int64
	tx.Raw(`SELECT COUNT(*) FROM maintenance WHERE task = 'compact'`).Scan(&n)
	return n > 0
}

func (s *Store) compactionOwed(ctx context.Context) (bool, error) {
	var n int64
	err := s.w.WithContext(ctx).Raw(`SELECT COUNT(*) FROM maintenance WHERE task = 'compact'`).Scan(&n).Error
	return n > 0, err
}

// ErrCompactIncomplete is returned, wrapped, by CloseRound, Seal and
// Compact when readers kept the database file from being rebuilt: the
// change stands, the compaction stays owed, and it runs again at the next
// close, the next start, or minping compact.
var ErrCompactIncomplete = errors.New("the database file could not be rebuilt while others read it")

// Compact rebuilds the database file (VACUUM), so that page order keeps no
// history of which rows were written when, and clears the compaction owed.
// It runs when a round closes or is sealed and can be run at any time.
// Readers keep it from starting; it retries for up to 30 s, then
// ErrCompactIncomplete. It is not cut short by ctx's cancellation (a
// client that goes away must not leave the history behind), only by its
// deadline.
func (s *Store) Compact(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	deadline := time.Now().Add(s.compactWait)
	for {
		err := s.w.WithContext(ctx).Exec("VACUUM").Error
		if err == nil {
			break
		}
		if !isBusy(err) {
			return fmt.Errorf("compact: vacuum: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("compact: readers held the database for %s: %w", s.compactWait, ErrCompactIncomplete)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := s.w.WithContext(ctx).Exec(`DELETE FROM maintenance WHERE task = 'compact'`).Error; err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	return nil
}

func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", what, survey.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// OpenBallotTable creates a SQLite file at path with the store's pragmas
// (DSN) and its ballots table alone, for measuring raw group commit against
// the store's ballot writer; the caller closes it.
func OpenBallotTable(path string) (*sql.DB, error) {
	db, err := sql.Open(driverName, DSN(path))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	var syncMode string
	if _, err = db.Exec(ballotsTable); err == nil {
		err = db.QueryRow(`PRAGMA synchronous`).Scan(&syncMode)
	}
	if err == nil && syncMode != "2" {
		err = fmt.Errorf("synchronous = %q, want 2 (FULL)", syncMode)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Writable reports whether a write transaction can begin now: the file is
// not read-only, its lock can be taken. It writes nothing.
func (s *Store) Writable(ctx context.Context) error {
	tx, err := s.wdb.BeginTx(ctx, nil) // IMMEDIATE: takes the write lock
	if err != nil {
		return err
	}
	return tx.Rollback()
}
