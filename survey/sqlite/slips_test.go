package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"minping/survey"
)

// slipVerdict is what a lookup says of a code, for comparing the index's
// answer with SQLite's.
func slipVerdict(sl *survey.Slip, err error) string {
	if sl == nil {
		return fmt.Sprintf("no slip, %v", err)
	}
	return fmt.Sprintf("%s/%s/%s in round %s (%s), %v", sl.Round.Name, sl.Unit.ID, sl.Category.ID, sl.Round.ID, sl.Round.Status, err)
}

// checkIndex compares, for every code, the slip the index gives with the
// slip SQLite gives, and with the error wanted.
func checkIndex(t *testing.T, step string, s *Store, codes []string, want []error) {
	t.Helper()
	ctx := context.Background()
	for i, code := range codes {
		got, gotErr := s.Slip(ctx, code)
		db, dbErr := s.slipFromDB(ctx, s.codes.Hash(survey.NormalizeCode(code)))
		if g, d := slipVerdict(got, gotErr), slipVerdict(db, dbErr); g != d {
			t.Errorf("%s: code %d: index says %s; SQLite says %s", step, i, g, d)
		}
		if !errors.Is(gotErr, want[i]) || (want[i] == nil && gotErr != nil) {
			t.Errorf("%s: code %d: got %v, want %v", step, i, gotErr, want[i])
		}
	}
}

// checkTurnout compares the turnout (each batch's count, kept as codes are
// spent) with the codes' states by their batches' bitmaps, before the seal.
func checkTurnout(t *testing.T, step string, s *Store, roundID string) {
	t.Helper()
	ctx := context.Background()
	tu, err := s.Turnout(ctx, roundID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]survey.Count{}
	for _, u := range tu {
		for _, c := range u.Categories {
			if c.Count != (survey.Count{}) {
				got[u.Unit+"/"+c.Category] = c.Count
			}
		}
	}
	// Each batch's codes, by the bits of its bitmap.
	rows, err := s.wdb.QueryContext(ctx, `SELECT b.unit, b.category, b.voided, b.spent_bits, c.pos
		FROM codes c JOIN batches b ON b.id = c.batch_id WHERE c.round_id = ?`, roundID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := map[string]survey.Count{}
	for rows.Next() {
		var u, c string
		var voided bool
		var bits []byte
		var pos int
		if err := rows.Scan(&u, &c, &voided, &bits, &pos); err != nil {
			t.Fatal(err)
		}
		n := want[u+"/"+c]
		switch codeState(bits, voided, pos) {
		case codeSpent:
			n.Issued++
			n.Voted++
		case codeFresh:
			n.Issued++
		}
		if n != (survey.Count{}) {
			want[u+"/"+c] = n
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: turnout says %v; the codes in SQLite say %v", step, got, want)
	}
}

// TestSlipIndexFollowsEveryChange walks a round through its life and checks
// after each step, and after reopening the store, that the in-memory index
// answers exactly as SQLite does.
func TestSlipIndexFollowsEveryChange(t *testing.T) {
	s, path := openStore(t)
	ctx := context.Background()
	def := exampleDefinition(t)
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, a, err := s.IssueBatch(ctx, r.ID, "czj", "staff", 3)
	if err != nil {
		t.Fatal(err)
	}
	b, more, err := s.IssueBatch(ctx, r.ID, "fgj", "leaders", 2)
	if err != nil {
		t.Fatal(err)
	}
	codes := append(append([]string{}, a...), more...)
	held := func(step string, want int) {
		t.Helper()
		n := 0
		for _, c := range codes {
			if _, _, _, ok := s.slips.lookup(s.codes.Hash(survey.NormalizeCode(c))); ok {
				n++
			}
		}
		if n != want {
			t.Errorf("%s: the index holds %d of the issued codes, want %d", step, n, want)
		}
	}
	held("issued", 5)
	codes = append(codes, "2222-2222-2222-2222") // never issued
	checkIndex(t, "draft", s, codes, []error{survey.ErrNotStarted, survey.ErrNotStarted, survey.ErrNotStarted, survey.ErrNotStarted, survey.ErrNotStarted, survey.ErrNotFound})
	checkTurnout(t, "draft", s, r.ID)

	// A draft's definition may change: the round's name must follow.
	def2 := exampleDefinition(t)
	def2.Name = "改过名的测评"
	if err := s.UpdateDefinition(ctx, r.ID, def2, nil); err != nil {
		t.Fatal(err)
	}
	if sl, _ := s.Slip(ctx, a[0]); sl == nil || sl.Round.Name != def2.Name {
		t.Errorf("after the definition changed, the slip names round %q, want %q", slipVerdict(sl, nil), def2.Name)
	}

	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, "open", s, codes, []error{nil, nil, nil, nil, nil, survey.ErrNotFound})
	checkTurnout(t, "open", s, r.ID)

	sl, err := s.Slip(ctx, a[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Submit(ctx, sl, fullAnswers(sl.Round.Definition, sl.Unit, "staff")); err != nil {
		t.Fatal(err)
	}
	sl, err = s.Slip(ctx, more[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Submit(ctx, sl, fullAnswers(sl.Round.Definition, sl.Unit, "leaders")); err != nil {
		t.Fatal(err)
	}
	if err := s.VoidBatch(ctx, r.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	afterVoid := []error{survey.ErrCodeUsed, nil, nil, survey.ErrCodeUsed, survey.ErrNotFound, survey.ErrNotFound}
	checkIndex(t, "spent and voided", s, codes, afterVoid)
	checkTurnout(t, "spent and voided", s, r.ID)

	// A store opened afresh loads the same picture from the file.
	s.Close()
	s, err = Open(ctx, path, Options{CodeKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	held("reopened", 5)
	checkIndex(t, "reopened", s, codes, afterVoid)
	checkTurnout(t, "reopened", s, r.ID)

	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, "closed", s, codes, []error{survey.ErrCodeUsed, survey.ErrVotingOver, survey.ErrVotingOver, survey.ErrCodeUsed, survey.ErrNotFound, survey.ErrNotFound})
	checkTurnout(t, "closed", s, r.ID)

	if err := s.Seal(ctx, r.ID, survey.SealTime(s.now()), nil, nil); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, "sealed", s, codes, []error{survey.ErrNotFound, survey.ErrNotFound, survey.ErrNotFound, survey.ErrNotFound, survey.ErrNotFound, survey.ErrNotFound})
	held("sealed", 0)
}

// TestSlipIndexIsNotTheAuthority: a second process working on the same file
// (minping is meant to run once per data directory, but nothing must break
// if it does not) issues codes this store never saw and closes the round
// behind its back. The codes are found in SQLite, and the writer, not the
// index, refuses a ballot for the closed round.
func TestSlipIndexIsNotTheAuthority(t *testing.T) {
	s, path := openStore(t)
	ctx := context.Background()
	r, own := openRound(t, s, 1)

	other, err := Open(ctx, path, Options{CodeKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, codes, err := other.IssueBatch(ctx, r.ID, "czj", "staff", 2)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := s.Slip(ctx, codes[0])
	if err != nil {
		t.Fatalf("a code issued by another process: %v", err)
	}
	if err := s.Submit(ctx, sl, fullAnswers(sl.Round.Definition, sl.Unit, "staff")); err != nil {
		t.Fatal(err)
	}

	if _, _, _, ok := s.slips.lookup(s.codes.Hash(survey.NormalizeCode(own[0]))); !ok {
		t.Fatal("the store's own code is not in its index")
	}
	if err := other.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	// This store's snapshot of the round still says open, so its index
	// routes its own code to the ballot; the writer reads the round afresh
	// and refuses it. (A code it does not hold is read from SQLite, round
	// and all.)
	for _, code := range []string{own[0], codes[1]} {
		sl, err := s.Slip(ctx, code)
		if sl == nil {
			t.Fatalf("code %s after the close elsewhere: %v", code, err)
		}
		if err := s.Submit(ctx, sl, fullAnswers(sl.Round.Definition, sl.Unit, "staff")); !errors.Is(err, survey.ErrVotingOver) {
			t.Errorf("a ballot for a round another process closed: got %v, want ErrVotingOver", err)
		}
	}
	checkTurnout(t, "batch issued elsewhere", s, r.ID)
}

// TestSpentWhileLookedUp spends codes while other requests look codes up, as
// a round under load does: the writer marks codes spent in the index while
// lookups read it (the race detector checks they do so safely), every ballot
// is stored once, and every spent code then answers as used from the index.
func TestSpentWhileLookedUp(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	r, codes := openRound(t, s, 300)

	stop := make(chan struct{})
	var readers sync.WaitGroup
	for i := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for j := i; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Slip(ctx, codes[j%len(codes)]); err != nil && !errors.Is(err, survey.ErrCodeUsed) {
					t.Errorf("lookup while voting: %v", err)
					return
				}
			}
		}()
	}
	var voters sync.WaitGroup
	for _, code := range codes {
		voters.Add(1)
		go func() {
			defer voters.Done()
			slip, err := s.Slip(ctx, code)
			if err != nil {
				t.Errorf("slip: %v", err)
				return
			}
			if err := s.Submit(ctx, slip, fullAnswers(r.Definition, slip.Unit, "staff")); err != nil {
				t.Errorf("submit: %v", err)
			}
		}()
	}
	voters.Wait()
	close(stop)
	readers.Wait()

	for i, code := range codes {
		if _, _, state, ok := s.slips.lookup(s.codes.Hash(survey.NormalizeCode(code))); !ok || state != codeSpent {
			t.Fatalf("code %d after voting: in the index %v, state %d, want spent (%d)", i, ok, state, codeSpent)
		}
	}
	n := 0
	if err := s.EachBallot(ctx, r.ID, func(string, string, string, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != len(codes) {
		t.Fatalf("stored %d ballots, want %d", n, len(codes))
	}
}
