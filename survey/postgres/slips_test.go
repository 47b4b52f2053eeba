package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"minping/survey"
	"minping/survey/storetest"
)

// TestSlipSeesEveryInstance checks that what Slip keeps in memory never
// hides a change: a code spent or voided through this instance or another,
// and a round closed through another, show at once on both, and Submit
// with a slip read before the change is refused.
func TestSlipSeesEveryInstance(t *testing.T) {
	dsn := freshDatabase(t)
	keys := t.TempDir()
	a := openAt(t, dsn, keys, Options{})
	b := openAt(t, dsn, keys, Options{})
	ctx := context.Background()
	def, _ := storetest.Example(t, "quzhi-2026.yaml")
	r, err := a.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := a.IssueBatches(ctx, r.ID, []survey.BatchRequest{
		{Unit: "czj", Category: "staff", Count: 4},
		{Unit: "czj", Category: "staff", Count: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	codes, voidCodes := issued[0].Codes, issued[1].Codes
	if err := a.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	slip := func(s *Store, code string, want error) *survey.Slip {
		t.Helper()
		sl, err := s.Slip(ctx, code)
		if !errors.Is(err, want) {
			t.Fatalf("slip: got %v, want %v", err, want)
		}
		return sl
	}
	submit := func(s *Store, sl *survey.Slip, want error) {
		t.Helper()
		if err := s.Submit(ctx, sl, storetest.Ballot(t, sl, 1)); !errors.Is(err, want) {
			t.Fatalf("submit: got %v, want %v", err, want)
		}
	}

	// Spent through A: A and B say so at once.
	sl := slip(a, codes[0], nil)
	slip(b, codes[0], nil)
	submit(a, sl, nil)
	slip(a, codes[0], survey.ErrCodeUsed)
	slip(b, codes[0], survey.ErrCodeUsed)

	// Spent through B after A read it: A says so at once, and refuses the
	// slip it read before.
	early := slip(a, codes[1], nil)
	submit(b, slip(b, codes[1], nil), nil)
	slip(a, codes[1], survey.ErrCodeUsed)
	submit(a, early, survey.ErrCodeUsed)

	// Voided through B after A read a code: unknown on A at once, and the
	// slip read before is refused.
	early = slip(a, voidCodes[0], nil)
	slip(a, voidCodes[1], nil)
	if err := b.VoidBatch(ctx, r.ID, issued[1].Batch.ID); err != nil {
		t.Fatal(err)
	}
	slip(a, voidCodes[1], survey.ErrNotFound)
	submit(a, early, survey.ErrNotFound)

	// Closed through B after A read a code: over on A at once, and the
	// slip read before is refused.
	early = slip(a, codes[2], nil)
	slip(a, codes[3], nil)
	if err := b.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if got := slip(a, codes[3], survey.ErrVotingOver); got.Round.Status != survey.StatusClosed {
		t.Errorf("slip's round: got %s, want %s", got.Round.Status, survey.StatusClosed)
	}
	submit(a, early, survey.ErrVotingOver)
	slip(a, codes[0], survey.ErrCodeUsed)
}

// TestSlipsReadTogether looks up many codes at once, fresh, spent and
// unknown, of batches of different units: each lookup gets its own code's
// answer, whichever query read it.
func TestSlipsReadTogether(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	def, _ := storetest.Example(t, "quzhi-2026.yaml")
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []survey.BatchRequest
	for _, u := range def.Units {
		reqs = append(reqs, survey.BatchRequest{Unit: u.ID, Category: "staff", Count: 200})
	}
	issued, err := s.IssueBatches(ctx, r.ID, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	type want struct {
		unit string
		err  error
	}
	cases := map[string]want{}
	for i, is := range issued {
		for k, code := range is.Codes {
			w := want{unit: is.Batch.Unit}
			if k%3 == 0 {
				sl, err := s.Slip(ctx, code)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Submit(ctx, sl, storetest.Ballot(t, sl, 1)); err != nil {
					t.Fatal(err)
				}
				w.err = survey.ErrCodeUsed
			}
			cases[code] = w
		}
		cases[fmt.Sprintf("unknown-%d", i)] = want{err: survey.ErrNotFound}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	for code, w := range cases {
		wg.Go(func() {
			sl, err := s.Slip(ctx, code)
			var unit string
			if sl != nil && sl.Unit != nil {
				unit = sl.Unit.ID
			}
			if !errors.Is(err, w.err) || unit != w.unit {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("got unit %q, %v; want %q, %v", unit, err, w.unit, w.err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(problems) > 0 {
		t.Errorf("%d of %d lookups wrong, e.g. %s", len(problems), len(cases), problems[0])
	}
}
