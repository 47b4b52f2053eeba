package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"minping/survey"
)

func testSubmitSpendsCodeOnce(t *testing.T, open Open) {
	s := open(t, Options{})
	ctx := context.Background()
	r, codes := OpenRound(t, s, 1)
	slip, err := s.Slip(ctx, strings.ToLower(codes[0]))
	if err != nil {
		t.Fatalf("slip: %v", err)
	}
	answers := Ballot(t, slip, 1)

	const racers = 64
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Submit(ctx, slip, answers)
		}()
	}
	wg.Wait()
	ok, used := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, survey.ErrCodeUsed):
			used++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || used != racers-1 {
		t.Fatalf("got %d accepted and %d used, want 1 and %d", ok, used, racers-1)
	}
	if _, err := s.Slip(ctx, codes[0]); !errors.Is(err, survey.ErrCodeUsed) {
		t.Fatalf("slip after voting: got %v, want ErrCodeUsed", err)
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	n := 0
	s.EachBallot(ctx, r.ID, func(unit, category, _ string, a []byte) error {
		n++
		if unit != "czj" || category != "staff" || !bytes.Equal(a, answers.Bytes()) {
			t.Errorf("stored ballot %s/%s %v, want czj/staff %v", unit, category, a, answers.Bytes())
		}
		return nil
	})
	if n != 1 {
		t.Fatalf("got %d stored ballots, want 1", n)
	}
}

func testSlipStatuses(t *testing.T, open Open) {
	s := open(t, Options{})
	ctx := context.Background()
	def, _ := Example(t, "quzhi-2026.yaml")
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, codes, err := s.IssueBatch(ctx, r.ID, "czj", "staff", 3)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := s.Slip(ctx, codes[0])
	if !errors.Is(err, survey.ErrNotStarted) || sl == nil || sl.Round.ID != r.ID {
		t.Errorf("draft round: got %v, %v; want ErrNotStarted with the slip", sl, err)
	}
	if sl != nil {
		if err := s.Submit(ctx, sl, Ballot(t, sl, 1)); !errors.Is(err, survey.ErrNotStarted) {
			t.Errorf("a ballot for a draft round: got %v, want ErrNotStarted", err)
		}
	}
	if _, err := s.Slip(ctx, "2222-2222-2222-2222"); !errors.Is(err, survey.ErrNotFound) {
		t.Errorf("unknown code: got %v, want ErrNotFound", err)
	}
	if _, err := s.Slip(ctx, "not a code"); !errors.Is(err, survey.ErrNotFound) {
		t.Errorf("malformed code: got %v, want ErrNotFound", err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	slip, err := s.Slip(ctx, codes[0])
	if err != nil {
		t.Fatal(err)
	}
	if slip.Unit.ID != "czj" || slip.Category.ID != "staff" || slip.Round.Status != survey.StatusOpen {
		t.Errorf("slip of czj/staff in an open round: got %s/%s in a %s round", slip.Unit.ID, slip.Category.ID, slip.Round.Status)
	}
	if err := s.Submit(ctx, slip, Ballot(t, slip, 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.VoidBatch(ctx, r.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.VoidBatch(ctx, r.ID, "no-such-batch"); !errors.Is(err, survey.ErrNotFound) {
		t.Errorf("void an unknown batch: got %v, want ErrNotFound", err)
	}
	if _, err := s.Slip(ctx, codes[1]); !errors.Is(err, survey.ErrNotFound) {
		t.Errorf("void code: got %v, want ErrNotFound", err)
	}
	if _, err := s.Slip(ctx, codes[0]); !errors.Is(err, survey.ErrCodeUsed) {
		t.Errorf("a spent code of a voided batch: got %v, want ErrCodeUsed", err)
	}
	tu, err := s.Turnout(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := tu[0].Count; tu[0].Unit != "czj" || got != (survey.Count{Issued: 1, Voted: 1}) {
		t.Errorf("turnout of %s after voiding: got %+v, want czj issued 1 (the spent code), voted 1", tu[0].Unit, got)
	}
	_, more, err := s.IssueBatch(ctx, r.ID, "czj", "staff", 2)
	if err != nil {
		t.Fatal(err)
	}
	early, err := s.Slip(ctx, more[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Slip(ctx, more[0]); !errors.Is(err, survey.ErrVotingOver) {
		t.Errorf("closed round: got %v, want ErrVotingOver", err)
	}
	if err := s.Submit(ctx, early, Ballot(t, early, 1)); !errors.Is(err, survey.ErrVotingOver) {
		t.Errorf("a slip read before the close, submitted after: got %v, want ErrVotingOver", err)
	}
	if err := s.Submit(ctx, slip, Ballot(t, slip, 1)); !errors.Is(err, survey.ErrCodeUsed) {
		t.Errorf("second submit: got %v, want ErrCodeUsed", err)
	}
	if _, _, err := s.IssueBatch(ctx, r.ID, "czj", "staff", 2); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("issue after close: got %v, want ErrWrongState", err)
	}
	if err := s.VoidBatch(ctx, r.ID, b.ID); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("void after close: got %v, want ErrWrongState", err)
	}
	if got := CountBallots(t, s, r.ID); got != 1 {
		t.Errorf("%d ballots after the close, want 1", got)
	}
}

// testIssueBatchesAtomically: several batches are issued in one
// transaction, each with working codes; a request with one bad batch issues
// none, and says which one is wrong.
func testIssueBatchesAtomically(t *testing.T, open Open) {
	s := open(t, Options{})
	ctx := context.Background()
	def, _ := Example(t, "quzhi-2026.yaml")
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := []survey.BatchRequest{{Unit: "czj", Category: "staff", Count: 3}, {Unit: "nosuch", Category: "staff", Count: 2}}
	_, err = s.IssueBatches(ctx, r.ID, bad)
	var ve *survey.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Path != "batches[1].unit" {
		t.Fatalf("one bad batch: got %v, want one problem at batches[1].unit", err)
	}
	if bs, err := s.Batches(ctx, r.ID); err != nil || len(bs) != 0 {
		t.Fatalf("after a refused issue: %d batches (%v), want none", len(bs), err)
	}
	if _, err := s.IssueBatches(ctx, "no-such-round", []survey.BatchRequest{{Unit: "czj", Category: "staff", Count: 1}}); !errors.Is(err, survey.ErrNotFound) {
		t.Errorf("issue for an unknown round: got %v, want ErrNotFound", err)
	}

	good := []survey.BatchRequest{{Unit: "czj", Category: "staff", Count: 3}, {Unit: "fgj", Category: "leaders", Count: 2}}
	issued, err := s.IssueBatches(ctx, r.ID, good)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, is := range issued {
		if is.Batch.Unit != good[i].Unit || is.Batch.Category != good[i].Category || len(is.Codes) != good[i].Count || is.Batch.RoundID != r.ID {
			t.Errorf("batch %d: got %s/%s with %d codes, want %+v", i, is.Batch.Unit, is.Batch.Category, len(is.Codes), good[i])
		}
		for _, code := range is.Codes {
			if seen[code] {
				t.Errorf("code %s issued twice", code)
			}
			seen[code] = true
			slip, err := s.Slip(ctx, code)
			if err != nil || slip.Unit.ID != good[i].Unit || slip.Category.ID != good[i].Category || slip.Ref.Batch != is.Batch.ID {
				t.Errorf("code of batch %d: got %v, %v", i, slip, err)
			}
		}
	}
	bs, _ := s.Batches(ctx, r.ID)
	if len(bs) != 2 {
		t.Fatalf("got %d batches, want 2", len(bs))
	}
	for _, b := range bs {
		if b.Voided || b.Count == 0 || b.CreatedAt.IsZero() {
			t.Errorf("batch %+v: want a fresh batch with its count and time", b)
		}
	}
}

// testEachBallotPartSplits stores ballots that differ from each other and
// reads them back in parts: however many parts, every ballot is read once,
// in exactly one part.
func testEachBallotPartSplits(t *testing.T, open Open) {
	s := open(t, Options{})
	ctx := context.Background()
	const n = 300
	r, codes := OpenRound(t, s, n)
	want := map[int]int{}
	var wg sync.WaitGroup
	for k, code := range codes {
		want[k] = 1
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Vote(ctx, s, code, func(sl *survey.Slip) survey.Ballot { return Numbered(t, sl, k) }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	for _, parts := range []int{1, 2, 3, 7, 256} {
		got := map[int]int{}
		for part := range parts {
			if err := s.EachBallotPart(ctx, r.ID, part, parts, func(unit, category, _ string, a []byte) error {
				got[NumberOf(a)]++
				return nil
			}); err != nil {
				t.Fatalf("part %d of %d: %v", part, parts, err)
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("%d parts: read %d distinct ballots, want each of the %d stored once", parts, len(got), len(want))
		}
	}
	for _, bad := range [][2]int{{0, 0}, {2, 2}, {-1, 2}, {0, 257}} {
		if err := s.EachBallotPart(ctx, r.ID, bad[0], bad[1], func(string, string, string, []byte) error { return nil }); err == nil {
			t.Errorf("part %d of %d: no error", bad[0], bad[1])
		}
	}
	stop := errors.New("stop")
	if err := s.EachBallot(ctx, r.ID, func(string, string, string, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("an error from fn: got %v, want it returned", err)
	}
}

// testSubmitAfterClose checks that a ballot sent to a closed store is
// refused at once, never left waiting for a writer that has stopped.
func testSubmitAfterClose(t *testing.T, open Open) {
	for range 5 {
		s := open(t, Options{})
		_, codes := OpenRound(t, s, 1)
		slip, err := s.Slip(context.Background(), codes[0])
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		done := make(chan error, 1)
		go func() { done <- s.Submit(context.Background(), slip, Ballot(t, slip, 1)) }()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("a ballot submitted to a closed store was accepted")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a ballot submitted to a closed store is still waiting after 5 s")
		}
	}
}

// testSheetsAndRecusal votes ballots of several records — an all sheet's
// over every unit, a recusal ballot's parts — and finds every record after
// the close, each once, with its unit, category and part.
func testSheetsAndRecusal(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t, Options{})
	def, src := Example(t, "county-20-of-100.yaml")
	r, err := s.CreateRound(ctx, def, src)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := s.IssueBatches(ctx, r.ID, []survey.BatchRequest{
		{Category: "leaders", Count: 2},
		{Unit: "cgz", Category: "members", Member: "cgz-2", Count: 1},
		{Unit: "cgz", Category: "staff", Count: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, is := range issued {
		for _, code := range is.Codes {
			slip, err := s.Slip(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			if is.Batch.Member != "" && (slip.Member == nil || slip.Member.ID != is.Batch.Member) {
				t.Errorf("recusal slip: member %v, want %s", slip.Member, is.Batch.Member)
			}
			b := Ballot(t, slip, 2)
			for _, rec := range b.Records() {
				want[fmt.Sprintf("%s/%s/%s/%x", rec.Unit, slip.Category.ID, rec.Part, rec.Answers())]++
			}
			if err := s.Submit(ctx, slip, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	if err := s.EachBallot(ctx, r.ID, func(unit, category, part string, a []byte) error {
		got[fmt.Sprintf("%s/%s/%s/%x", unit, category, part, a)]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("records after close:\n got %v\nwant %v", got, want)
	}
	tu, err := s.Turnout(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range tu {
		for _, c := range u.Categories {
			if c.Category == "leaders" && c.Count != (survey.Count{Issued: 2, Voted: 2}) {
				t.Errorf("an all sheet counts in every unit: %s/leaders %+v, want 2 issued, 2 voted", u.Unit, c.Count)
			}
		}
	}
}

// testCloseWhileVoting closes a round while ballots are being submitted:
// every ballot acknowledged is in the round after the close, and every
// other was refused as the round being over.
func testCloseWhileVoting(t *testing.T, open Open) {
	s := open(t, Options{})
	ctx := context.Background()
	const n = 400
	r, codes := OpenRound(t, s, n)
	var accepted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for k, code := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			time.Sleep(time.Duration(k%200) * 5 * time.Millisecond)
			err := Vote(ctx, s, code, func(sl *survey.Slip) survey.Ballot { return Numbered(t, sl, k) })
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, survey.ErrVotingOver):
			default:
				t.Errorf("a ballot racing the close: %v", err)
			}
		}()
	}
	close(start)
	// Close once a quarter are in: the rest race the close.
	for deadline := time.Now().Add(10 * time.Second); accepted.Load() < n/4 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	got := CountBallots(t, s, r.ID)
	if int64(got) != accepted.Load() {
		t.Fatalf("%d ballots acknowledged, %d in the round after the close", accepted.Load(), got)
	}
	tu, _ := s.Turnout(ctx, r.ID)
	if v := tu[0].Count.Voted; int64(v) != accepted.Load() {
		t.Errorf("turnout says %d voted, %d ballots were acknowledged", v, accepted.Load())
	}
	if a := accepted.Load(); a < n/4 || a == n {
		t.Errorf("%d of %d ballots came in before the close: the close did not race the voting", a, n)
	}
}

// testVoidWhileVoting voids a batch while its codes are being spent: a
// ballot is either acknowledged and counted, or refused as void.
func testVoidWhileVoting(t *testing.T, open Open) {
	s := open(t, Options{})
	ctx := context.Background()
	const n = 300
	r, codes := OpenRound(t, s, n)
	bs, err := s.Batches(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for k, code := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(k%40) * time.Millisecond)
			err := Vote(ctx, s, code, func(sl *survey.Slip) survey.Ballot { return Ballot(t, sl, 1) })
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, survey.ErrNotFound):
			default:
				t.Errorf("a ballot racing the void: %v", err)
			}
		}()
	}
	time.Sleep(15 * time.Millisecond)
	if err := s.VoidBatch(ctx, r.ID, bs[0].ID); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	tu, err := s.Turnout(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := (survey.Count{Issued: int(accepted.Load()), Voted: int(accepted.Load())}); tu[0].Count != want {
		t.Errorf("after the void: turnout %+v, want %+v (the acknowledged ballots)", tu[0].Count, want)
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if got := CountBallots(t, s, r.ID); int64(got) != accepted.Load() {
		t.Errorf("%d ballots acknowledged, %d stored", accepted.Load(), got)
	}
}

// testRacingCloses asks for the close, and then the seal, twice at once:
// one succeeds, the other is told the round is no longer in that state.
func testRacingCloses(t *testing.T, open Open) {
	s := open(t, Options{})
	ctx := context.Background()
	r, codes := OpenRound(t, s, 3)
	for _, c := range codes {
		if err := Vote(ctx, s, c, func(sl *survey.Slip) survey.Ballot { return Ballot(t, sl, 1) }); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		name string
		fn   func() error
	}{
		{"close", func() error { return s.CloseRound(ctx, r.ID) }},
		{"seal", func() error { return s.Seal(ctx, r.ID, survey.SealTime(time.Now()), nil, nil) }},
	} {
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = step.fn() }()
		}
		wg.Wait()
		ok, wrong := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, survey.ErrWrongState):
				wrong++
			default:
				t.Errorf("%s: %v", step.name, err)
			}
		}
		// SQLite answers a close of a closed round that still owes its
		// compaction by finishing it, so both may succeed there; a store
		// with several instances must answer exactly one (its own tests
		// check that).
		if ok < 1 || ok+wrong != 2 || step.name == "seal" && ok != 1 {
			t.Errorf("two at once: %d %ss succeeded and %d got ErrWrongState, want 1 and 1", ok, step.name, wrong)
		}
	}
	if got := CountBallots(t, s, r.ID); got != 3 {
		t.Errorf("%d ballots after close and seal, want 3", got)
	}
}
