package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"minping/survey"
)

// TestMigrateBatchCounts opens a database written at schema version 2 (each
// code with its state) and checks that version 3 carries every state over
// to positions and the batches' bitmaps and counts: an open round's spent,
// fresh and void codes, and a sealed round whose codes are gone. Lookups,
// turnout, a ballot and the seal must all work afterwards.
func TestMigrateBatchCounts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "minping.db")
	key := bytes.Repeat([]byte{7}, 32)
	hash := survey.NewCodeHasher(key).Hash

	old, err := sql.Open(driverName, DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := old.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at DATETIME NOT NULL)`)
	for v := 1; v <= 2; v++ {
		exec(migrations[v])
		exec(`INSERT INTO schema_migrations VALUES (?, ?)`, v, time.Now().UTC())
	}
	def := exampleDefinition(t)
	now := time.Now().UTC()
	exec(`INSERT INTO rounds (id, name, status, definition, config_sha256, created_at, opened_at) VALUES ('open', 'open round', 'open', ?, ?, ?, ?)`,
		def.Canonical(), fingerprint(def.Canonical()), now, now)
	exec(`INSERT INTO rounds (id, name, status, definition, config_sha256, created_at, opened_at, closed_at, sealed_at) VALUES ('sealed', 'sealed round', 'sealed', ?, ?, ?, ?, ?, ?)`,
		def.Canonical(), fingerprint(def.Canonical()), now, now, now, now)
	exec(`INSERT INTO batches (id, round_id, unit, category, count, voided, created_at) VALUES ('a', 'open', 'czj', 'staff', 3, 0, ?)`, now)
	exec(`INSERT INTO batches (id, round_id, unit, category, count, voided, created_at) VALUES ('b', 'open', 'czj', 'staff', 2, 1, ?)`, now)
	exec(`INSERT INTO batches (id, round_id, unit, category, count, voided, used, created_at) VALUES ('c', 'sealed', 'czj', 'staff', 6, 0, 5, ?)`, now)
	codes := map[string][2]any{ // code → batch, state
		"AAAA-AAAA-AAAA-AAA2": {"a", 1}, "AAAA-AAAA-AAAA-AAA3": {"a", 1}, "AAAA-AAAA-AAAA-AAA4": {"a", 0},
		"AAAA-AAAA-AAAA-AAA5": {"b", 1}, "AAAA-AAAA-AAAA-AAA6": {"b", 2},
		// Left behind by something that should not happen: codes of a
		// batch that is gone, and of a sealed one (the seal purges them).
		"AAAA-AAAA-AAAA-AAA7": {"gone", 0}, "AAAA-AAAA-AAAA-AAA8": {"gone", 1}, "AAAA-AAAA-AAAA-AAA9": {"c", 0},
	}
	for code, v := range codes {
		exec(`INSERT INTO codes (hash, round_id, batch_id, unit, category, state) VALUES (?, 'open', ?, 'czj', 'staff', ?)`,
			hash(survey.NormalizeCode(code)), v[0], v[1])
	}
	old.Close()

	s, err := Open(ctx, path, Options{CodeKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for round, want := range map[string]survey.Count{"open": {Issued: 3 + 1, Voted: 2 + 1}, "sealed": {Issued: 6, Voted: 5}} {
		tu, err := s.Turnout(ctx, round)
		if err != nil {
			t.Fatal(err)
		}
		if got := tu[0].Count; got != want {
			t.Errorf("turnout of czj in the %s round after migrating: %+v, want %+v", round, got, want)
		}
	}
	for code, want := range map[string]error{"AAAA-AAAA-AAAA-AAA3": survey.ErrCodeUsed, "AAAA-AAAA-AAAA-AAA5": survey.ErrCodeUsed, "AAAA-AAAA-AAAA-AAA6": survey.ErrNotFound,
		"AAAA-AAAA-AAAA-AAA7": survey.ErrNotFound, "AAAA-AAAA-AAAA-AAA9": survey.ErrNotFound} {
		if _, err := s.Slip(ctx, code); !errors.Is(err, want) {
			t.Errorf("code %s after migrating: %v, want %v", code, err, want)
		}
		if _, err := s.slipFromDB(ctx, hash(survey.NormalizeCode(code))); !errors.Is(err, want) {
			t.Errorf("code %s after migrating, read from SQLite: %v, want %v", code, err, want)
		}
	}
	var cols []string
	s.r.Raw(`SELECT name FROM pragma_table_info('codes')`).Scan(&cols)
	if slices.Contains(cols, "state") || !slices.Contains(cols, "pos") {
		t.Errorf("codes has columns %v after migrating, want pos and no state", cols)
	}
	sl, err := s.Slip(ctx, "AAAA-AAAA-AAAA-AAA4")
	if err != nil {
		t.Fatalf("a fresh code after migrating: %v", err)
	}
	if err := s.Submit(ctx, sl, fullAnswers(sl.Round.Definition, sl.Unit, "staff")); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseRound(ctx, "open"); err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(ctx, "open", survey.SealTime(time.Now()), nil, nil); err != nil {
		t.Fatal(err)
	}
	tu, err := s.Turnout(ctx, "open")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tu[0].Count, (survey.Count{Issued: 3 + 1, Voted: 3 + 1}); got != want {
		t.Errorf("turnout after a ballot and the seal: %+v, want %+v", got, want)
	}
}

// TestOpenRefusesNewerSchema: a database a newer minping migrated is not
// served, and the error says what to do.
func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openStore(t)
	if err := s.w.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, len(migrations), time.Now()).Error; err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(t.Context(), path, Options{CodeKey: bytes.Repeat([]byte{9}, 32)})
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "newer minping") {
		t.Fatalf("open a newer schema: %v, want ErrNewerSchema saying what to do", err)
	}
}
