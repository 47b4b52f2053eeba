package postgres

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"minping/survey"
	"minping/survey/storetest"
)

// TestExcludedGroupNeverWritten votes a group of one (a single slip of
// fgj's staff, under small_groups: exclude with min_group 3) beside a
// group that enters the figures, and closes. The close writes no record
// of the lone voter's ballot — no live row, no dead tuple on any page of
// ballots, nothing in its column statistics — so that neither the table,
// nor a copy of its pages, nor ANALYZE keeps what min_group hides (a row
// written at close and deleted at the seal would stay in all three, and
// in the close's WAL).
func TestExcludedGroupNeverWritten(t *testing.T) {
	ctx := context.Background()
	s, dsn := openStore(t)
	execSQL(t, dsn, `CREATE EXTENSION pageinspect`)
	execSQL(t, dsn, `ALTER TABLE ballots SET (autovacuum_enabled = false)`)
	def, _ := storetest.Example(t, "quzhi-2026.yaml")
	def.Rules.SmallGroups = survey.SmallGroupsExclude
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := s.IssueBatches(ctx, r.ID, []survey.BatchRequest{
		{Unit: "czj", Category: "staff", Count: 3}, {Unit: "fgj", Category: "staff", Count: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	var lone []byte // the lone voter's answers, told apart by their numbering
	for i, is := range issued {
		for k, c := range is.Codes {
			slip, err := s.Slip(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			b := storetest.Numbered(t, slip, 40+10*i+k)
			if is.Batch.Unit == "fgj" {
				lone = bytes.Clone(b.Bytes())
			}
			if err := s.Submit(ctx, slip, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	execSQL(t, dsn, `ANALYZE ballots`)

	var fgj, all int
	s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE unit = 'fgj'), count(*) FROM ballots WHERE round_id = $1`, r.ID).Scan(&fgj, &all)
	if fgj != 0 || all != 3 {
		t.Errorf("after close: %d of fgj's staff stored, %d in all; want 0 and czj's 3", fgj, all)
	}
	tuples := heapTuples(t, s.pool, "ballots")
	if len(tuples) != 3 {
		t.Errorf("ballots' pages hold %d tuples, live or dead; want the 3 stored", len(tuples))
	}
	for _, tu := range tuples {
		if bytes.Contains(tu.data, lone) {
			t.Errorf("tuple (%d,%d) holds the lone voter's answers", tu.block, tu.item)
		}
	}
	var stats []byte
	s.pool.QueryRow(ctx, `SELECT COALESCE(string_agg(most_common_vals::text || histogram_bounds::text, ''), '')::bytea
		FROM pg_stats WHERE tablename = 'ballots'`).Scan(&stats)
	if bytes.Contains(stats, []byte("fgj")) {
		t.Errorf("the column statistics of ballots name fgj: %q", stats)
	}

	// The seal finds the same group excluded, and its documents count the
	// lone ballot nowhere: the seal drops nothing that was stored.
	if err := s.Seal(ctx, r.ID, survey.SealTime(s.now()), nil, []survey.Group{{Unit: "fgj", Category: "staff"}}); err != nil {
		t.Fatal(err)
	}
	if n := storetest.CountBallots(t, s, r.ID); n != 3 {
		t.Errorf("after the seal: %d ballots, want 3", n)
	}
}

// TestSealRemovesLeftKey: a round's key file that outlived its close (the
// process stopped between the commit and the removal) is removed by the
// seal on the same instance, not only when another starts.
func TestSealRemovesLeftKey(t *testing.T) {
	ctx := context.Background()
	dsn := freshDatabase(t)
	keys := t.TempDir()
	s := openAt(t, dsn, keys, Options{})
	def, _ := storetest.Example(t, "quzhi-2026.yaml")
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(keys, keyFileName(r.ID))
	key, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the open round's key file: %v", err)
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, key, 0o600); err != nil { // as if the removal never happened
		t.Fatal(err)
	}
	if err := s.Seal(ctx, r.ID, survey.SealTime(s.now()), nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after the seal the round's key file is still there: %v", err)
	}
}
