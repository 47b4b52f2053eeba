package postgres

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"minping/survey"
	"minping/survey/storetest"
)

// raceEnabled is set by race_test.go under the race detector.
var raceEnabled bool

// TestTwoInstances opens two Stores on one database, as two minping
// instances behind a load balancer, and submits every code through both at
// once: each code is spent exactly once (one instance stores its ballot,
// the other is told it is used), a code issued by one is accepted by the
// other, and a close and a seal asked of both at once happen once.
//
// 50,000 codes, each submitted through both instances (10⁵ submits); 4,000
// under -race or -short, where the race detector's cost, not PostgreSQL,
// would set the time.
func TestTwoInstances(t *testing.T) {
	n := 50000
	if raceEnabled || testing.Short() {
		n = 4000
	}
	dsn := freshDatabase(t)
	keys := t.TempDir() // the key directory both instances share
	a := openAt(t, dsn, keys, Options{})
	b := openAt(t, dsn, keys, Options{})
	ctx := context.Background()
	def, _ := storetest.Example(t, "quzhi-2026.yaml")
	r, err := a.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []survey.BatchRequest
	for left := n; left > 0; left -= survey.MaxBatch {
		reqs = append(reqs, survey.BatchRequest{Unit: "czj", Category: "staff", Count: min(left, survey.MaxBatch)})
	}
	issued, err := a.IssueBatches(ctx, r.ID, reqs)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, is := range issued {
		codes = append(codes, is.Codes...)
	}
	if err := b.OpenRound(ctx, r.ID); err != nil { // opened by the one that did not issue
		t.Fatal(err)
	}

	var stored, used atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, s := range []*Store{a, b} {
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(2*len(codes)) {
						return
					}
					// Both instances get every code, close together in time.
					code := codes[i/2]
					slip, err := s.Slip(ctx, code)
					if errors.Is(err, survey.ErrCodeUsed) {
						used.Add(1)
						continue
					}
					if err != nil {
						t.Errorf("slip: %v", err)
						return
					}
					switch err := s.Submit(ctx, slip, storetest.Ballot(t, slip, 1)); {
					case err == nil:
						stored.Add(1)
					case errors.Is(err, survey.ErrCodeUsed):
						used.Add(1)
					default:
						t.Errorf("submit: %v", err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d submits of %d codes through two instances in %v (%.0f stored ballots/s); commits %d + %d",
		2*len(codes), len(codes), elapsed.Round(time.Millisecond), float64(stored.Load())/elapsed.Seconds(), a.WriterStats().Commits, b.WriterStats().Commits)
	if stored.Load() != int64(len(codes)) || used.Load() != int64(len(codes)) {
		t.Fatalf("%d stored and %d told used, want %d and %d: each code spent exactly once", stored.Load(), used.Load(), len(codes), len(codes))
	}
	for _, s := range []*Store{a, b} {
		tu, err := s.Turnout(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if tu[0].Count != (survey.Count{Issued: n, Voted: n}) {
			t.Errorf("turnout %+v, want %d issued and voted", tu[0].Count, n)
		}
	}

	once := func(name string, fn func(s *Store) error) {
		t.Helper()
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, s := range []*Store{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = fn(s) }()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, survey.ErrWrongState):
				t.Errorf("%s: %v", name, err)
			}
		}
		if ok != 1 {
			t.Errorf("%s asked of both instances at once: %d succeeded (%v), want exactly 1, the other ErrWrongState", name, ok, errs)
		}
	}
	once("close", func(s *Store) error { return s.CloseRound(ctx, r.ID) })
	if _, err := os.Stat(filepath.Join(keys, keyFileName(r.ID))); !os.IsNotExist(err) {
		t.Errorf("the round's key file after the close: %v, want it removed", err)
	}
	if got := storetest.CountBallots(t, b, r.ID); got != n {
		t.Fatalf("%d ballots after the close, want %d", got, n)
	}
	once("seal", func(s *Store) error { return s.Seal(ctx, r.ID, survey.SealTime(time.Now()), nil, nil) })

	// A second round: opened by both at once, then issued on one while the
	// other closes it. The issue either comes first (its codes then find
	// the round over) or is refused; nothing is issued after the close.
	r2, err := a.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	once("open", func(s *Store) error { return s.OpenRound(ctx, r2.ID) })
	var issueErr, closeErr error
	var late []string
	var wg2 sync.WaitGroup
	wg2.Add(2)
	go func() { defer wg2.Done(); _, late, issueErr = a.IssueBatch(ctx, r2.ID, "fgj", "staff", 500) }()
	go func() { defer wg2.Done(); closeErr = b.CloseRound(ctx, r2.ID) }()
	wg2.Wait()
	if closeErr != nil {
		t.Fatalf("close while the other instance issues: %v", closeErr)
	}
	switch {
	case issueErr == nil:
		if _, err := b.Slip(ctx, late[0]); !errors.Is(err, survey.ErrVotingOver) {
			t.Errorf("a code issued just before the close: got %v, want ErrVotingOver", err)
		}
	case !errors.Is(issueErr, survey.ErrWrongState):
		t.Errorf("issue while the other instance closes: got %v, want success or ErrWrongState", issueErr)
	}
	t.Logf("issue racing a close: %v", issueErr)
}
