package seal

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"minping/assets"
	"minping/survey"
	"minping/survey/sqlite"
	"minping/tally"
)

// BenchmarkSealMillion tallies 1,000,000 stored ballots of a realistic round
// (the example round with 8 members per unit: 54 answers per staff ballot)
// from the SQLite store to signed documents: every stored ballot streamed
// and counted, the turnout read, every document written and signed. The
// ballots and their spent codes are written straight into the database file
// in the setup, which is not timed.
//
//	go test ./server -run - -bench SealMillion -benchtime 3x
func BenchmarkSealMillion(b *testing.B) {
	const ballots = 1_000_000
	ctx := context.Background()
	store, r := closedRound(b, ballots)
	// A round is compacted when it closes (log checkpointed, file rebuilt);
	// the seal reads that file, not a log of a million rows.
	if err := store.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)

	var heap runtime.MemStats
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		docs, err := Compute(ctx, store, r, time.Unix(1_800_000_000, 0))
		if err != nil {
			b.Fatal(err)
		}
		round, err := docs.Write(func(u tally.UnitDoc) error {
			tally.Sign(key, u.Bytes)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		tally.Sign(key, round)
		if docs.Result.Ballots != ballots {
			b.Fatalf("counted %d ballots, want %d", docs.Result.Ballots, ballots)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&heap)
	b.ReportMetric(float64(heap.HeapSys)/(1<<20), "heap-MB")
}

// closedRound opens a store in a temporary directory holding one closed
// round of eightMemberRound with n ballots, written by fillClosedRound.
func closedRound(tb testing.TB, n int) (*sqlite.Store, *survey.Round) {
	ctx := context.Background()
	def := eightMemberRound(tb)
	path := filepath.Join(tb.TempDir(), "minping.db")
	store, err := sqlite.Open(ctx, path, sqlite.Options{CodeKey: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	r, err := store.CreateRound(ctx, def, nil)
	if err != nil {
		tb.Fatal(err)
	}
	fillClosedRound(tb, path, r.ID, def, n)
	if r, err = store.Round(ctx, r.ID); err != nil {
		tb.Fatal(err)
	}
	return store, r
}

// eightMemberRound is the example round with every unit's team at eight
// members.
func eightMemberRound(b testing.TB) *survey.Definition {
	def, err := survey.ParseDefinition(assets.Example())
	if err != nil {
		b.Fatal(err)
	}
	for i := range def.Units {
		u := &def.Units[i]
		for n := len(u.Members); n < 8; n++ {
			u.Members = append(u.Members, survey.Member{ID: fmt.Sprintf("%s-x%d", u.ID, n), Name: fmt.Sprintf("成员%d", n), Post: "副职"})
		}
	}
	def, err = survey.ParseDefinition(def.Canonical())
	if err != nil {
		b.Fatal(err)
	}
	if n := len(def.Layout(&def.Units[0], "staff")); n < 50 {
		b.Fatalf("a staff ballot has %d answers, want 50 or more", n)
	}
	return def
}

// fillClosedRound writes n ballots, spread over units and categories, each
// with a spent code, and marks the round closed, in the database file.
func fillClosedRound(b testing.TB, path, roundID string, def *survey.Definition, n int) {
	db, err := sqlite.OpenFile(path, map[string]string{"journal_mode": "MEMORY", "synchronous": "OFF", "busy_timeout": "10000"}, false)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	batch, _ := tx.Prepare(`INSERT INTO batches (id, round_id, unit, category, count, spent, spent_bits, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	code, _ := tx.Prepare(`INSERT INTO codes (hash, round_id, batch_id, unit, category, pos) VALUES (?, ?, ?, ?, ?, ?)`)
	ballot, _ := tx.Prepare(`INSERT INTO ballots (id, round_id, unit, category, answers) VALUES (?, ?, ?, ?, ?)`)
	type pair struct {
		unit     *survey.Unit
		category string
		slots    []survey.Slot
	}
	var pairs []pair
	for i := range def.Units {
		for _, c := range def.Categories {
			pairs = append(pairs, pair{&def.Units[i], c.ID, def.Layout(&def.Units[i], c.ID)})
		}
	}
	per := n / len(pairs)
	rng := mrand.New(mrand.NewPCG(1, 2))
	written := 0
	for pi, p := range pairs {
		count := per
		if pi == len(pairs)-1 {
			count = n - written
		}
		batchID := fmt.Sprintf("bench-%d", pi)
		allSpent := bytes.Repeat([]byte{0xFF}, (count+7)/8)
		if _, err := batch.Exec(batchID, roundID, p.unit.ID, p.category, count, count, allSpent, time.Now().UTC()); err != nil {
			b.Fatal(err)
		}
		answers := make([]byte, len(p.slots))
		for k := 0; k < count; k++ {
			var id [16]byte
			rand.Read(id[:])
			if _, err := code.Exec(id[:], roundID, batchID, p.unit.ID, p.category, k); err != nil {
				b.Fatal(err)
			}
			for j, sl := range p.slots {
				opts := len(def.Scale(def.Forms[sl.Form].Scale).Options)
				answers[j] = byte(rng.IntN(opts))
				if rng.IntN(20) == 0 && def.Scale(def.Forms[sl.Form].Scale).Abstain != "" {
					answers[j] = survey.AbstainAnswer
				}
			}
			rand.Read(id[:])
			if _, err := ballot.Exec(id[:], roundID, p.unit.ID, p.category, answers); err != nil {
				b.Fatal(err)
			}
		}
		written += count
	}
	if _, err := tx.Exec(`UPDATE rounds SET status = 'closed', config_sha256 = ? WHERE id = ?`, def.Fingerprint(), roundID); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
}

// TestCountBallotsInParts seals the same stored ballots counted in one part
// and in several read at once: every document must be byte for byte the
// same.
func TestCountBallotsInParts(t *testing.T) {
	ctx := context.Background()
	const ballots = 5000
	store, r := closedRound(t, ballots)
	ts, err := turnout(ctx, store, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	documents := func(parts int) *tally.Documents {
		c, err := count(ctx, store, r, parts)
		if err != nil {
			t.Fatalf("%d parts: %v", parts, err)
		}
		docs, err := c.Documents(ts, tally.Meta{RoundID: r.ID})
		if err != nil {
			t.Fatalf("%d parts: %v", parts, err)
		}
		return docs
	}
	want := documents(1)
	if want.Result.Ballots != ballots {
		t.Fatalf("one part counted %d ballots, want %d", want.Result.Ballots, ballots)
	}
	for _, parts := range []int{2, 5} {
		got := documents(parts)
		if !bytes.Equal(got.Round, want.Round) {
			t.Errorf("%d parts: the round document differs from one part's", parts)
		}
		for i := range want.Units {
			if !bytes.Equal(got.Units[i].Bytes, want.Units[i].Bytes) {
				t.Errorf("%d parts: unit %s's document differs from one part's", parts, want.Units[i].ID)
			}
		}
	}
}

// TestSealDeletesExcludedGroups: a unit whose lone leader voted beside its
// staff. The seal leaves that ballot out of every document and deletes it,
// so that no stored ballot is one known person's; the recount without it
// reproduces every document, and the leader's turnout stays.
func TestSealDeletesExcludedGroups(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "minping.db"), sqlite.Options{CodeKey: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	def, err := survey.ParseDefinition(assets.Example())
	if err != nil {
		t.Fatal(err)
	}
	r, err := store.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	unit := def.Units[0].ID
	issued, err := store.IssueBatches(ctx, r.ID, []survey.BatchRequest{{Unit: unit, Category: "leaders", Count: 1}, {Unit: unit, Category: "staff", Count: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	for _, is := range issued {
		for _, code := range is.Codes {
			slip, err := store.Slip(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			values := make([]int, len(def.Layout(slip.Unit, slip.Category.ID)))
			for i := range values {
				values[i] = 1
			}
			b, err := def.EncodeSlots(slip.Unit, slip.Category.ID, values)
			if err != nil {
				t.Fatal(err)
			}
			if err := store.Submit(ctx, slip, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := store.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	docs, err := Seal(ctx, store, key, r.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := []survey.Group{{Unit: unit, Category: "leaders"}}; !slices.Equal(docs.Excluded, want) {
		t.Errorf("excluded: got %v, want %v", docs.Excluded, want)
	}
	left := map[string]int{}
	if err := store.EachBallot(ctx, r.ID, func(u, c, _ string, _ []byte) error { left[u+"/"+c]++; return nil }); err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{unit + "/staff": 5}; !maps.Equal(left, want) {
		t.Errorf("ballots left after the seal: %v, want %v", left, want)
	}
	d, err := store.Document(ctx, r.ID, unit)
	if err != nil {
		t.Fatal(err)
	}
	u, err := tally.DecodeUnit(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	if u.Ballots != 5 || u.Voted != 6 || !slices.Contains(u.Flags, tally.FlagSmallGroup) {
		t.Errorf("unit: %d ballots of %d voted, flags %v; want 5 of 6 and small_group", u.Ballots, u.Voted, u.Flags)
	}
	rep, err := Recount(ctx, store, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Identical() {
		t.Errorf("recount after the deletion: %+v, want every document identical", rep.Checks)
	}
}

// The SQLite store takes a seal's documents one at a time.
var _ EachSealer = (*sqlite.Store)(nil)

// sliceStore is a store that takes a seal's documents all at once: its
// Seal only, not the SQLite store's SealEach.
type sliceStore struct{ Store }

// TestSealAllAtOnce: a store without SealEach is handed every document
// at once, and a recount reproduces each of them.
func TestSealAllAtOnce(t *testing.T) {
	ctx := context.Background()
	store, r := closedRound(t, 200)
	_, key, _ := ed25519.GenerateKey(nil)
	sealed, err := Seal(ctx, sliceStore{store}, key, r.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if sealed.Units != len(r.Definition.Units) || sealed.Result.Ballots != 200 {
		t.Errorf("sealed %d unit documents of %d ballots, want %d of 200", sealed.Units, sealed.Result.Ballots, len(r.Definition.Units))
	}
	rep, err := Recount(ctx, store, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Identical() || len(rep.Checks) != sealed.Units+1 {
		t.Errorf("recount: %+v, want %d documents identical", rep.Checks, sealed.Units+1)
	}
}
