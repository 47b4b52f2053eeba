// Package storetest is the behaviour every minping store must have, as a
// test suite: survey/sqlite and survey/postgres each run it against a
// fresh store of theirs, so that the HTTP layer answers alike whichever
// store is behind it.
package storetest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"minping/survey"
)

// Store is what the suite uses of a store: the methods the server's
// audiences, the seal and the console call.
type Store interface {
	Slip(ctx context.Context, code string) (*survey.Slip, error)
	Submit(ctx context.Context, slip *survey.Slip, ballot survey.Ballot) error

	Rounds(ctx context.Context) ([]*survey.Round, error)
	Round(ctx context.Context, id string) (*survey.Round, error)
	CreateRound(ctx context.Context, def *survey.Definition, source []byte) (*survey.Round, error)
	UpdateDefinition(ctx context.Context, id string, def *survey.Definition, source []byte) error
	OpenRound(ctx context.Context, id string) error
	CloseRound(ctx context.Context, id string) error
	DeleteRound(ctx context.Context, id string) error
	ArchiveRound(ctx context.Context, id string, archived bool) error
	CopyRound(ctx context.Context, id, name string) (*survey.Round, error)
	RoundSource(ctx context.Context, id string) ([]byte, error)
	SetBaseURL(ctx context.Context, id, base string) error
	Expected(ctx context.Context, roundID string) (survey.Expected, error)
	SetExpected(ctx context.Context, roundID string, e survey.Expected) error
	ImportRoster(ctx context.Context, id string, def *survey.Definition, source []byte, e survey.Expected) error

	Batches(ctx context.Context, roundID string) ([]survey.Batch, error)
	IssueBatch(ctx context.Context, roundID, unit, category string, count int) (*survey.Batch, []string, error)
	IssueBatches(ctx context.Context, roundID string, reqs []survey.BatchRequest) ([]survey.Issued, error)
	VoidBatch(ctx context.Context, roundID, batchID string) error
	Turnout(ctx context.Context, roundID string) ([]survey.UnitTurnout, error)

	EachBallot(ctx context.Context, roundID string, fn func(unit, category, part string, answers []byte) error) error
	EachBallotPart(ctx context.Context, roundID string, part, parts int, fn func(unit, category, part string, answers []byte) error) error
	Seal(ctx context.Context, roundID string, sealedAt time.Time, docs []survey.SealedDocument, drop []survey.Group) error
	Document(ctx context.Context, roundID, unit string) (*survey.SealedDocument, error)
	Results(ctx context.Context, roundID string) ([]byte, *time.Time, error)
	SaveResults(ctx context.Context, roundID string, entries []byte) error
	Finalize(ctx context.Context, roundID string, at time.Time, doc survey.SealedDocument) error
	Export(ctx context.Context, roundID, name string) ([]byte, error)
	SaveExport(ctx context.Context, roundID, name string, body []byte) error

	CreateAccount(ctx context.Context, n survey.NewAccount) (*survey.Account, string, error)
	AccountByToken(ctx context.Context, token string) (*survey.Account, error)
	Accounts(ctx context.Context) ([]*survey.Account, error)
	HasAccount(ctx context.Context, name string) (bool, error)
	SetPassword(ctx context.Context, name string, role survey.Role, password string) error
	Authenticate(ctx context.Context, name, password string) (*survey.Account, error)
	CreateSession(ctx context.Context, accountID string) (string, error)
	SessionAccount(ctx context.Context, token string) (*survey.Account, error)
	EndSession(ctx context.Context, token string) error
	EndSessionsOf(ctx context.Context, name string) error

	Writable(ctx context.Context) error
	Close() error
}

// Options are what a test asks of the store it opens.
type Options struct {
	// Now is the store's clock; nil for the time of day.
	Now func() time.Time
}

// Open opens a fresh, empty store for one test; it is closed at the
// test's end (closing it earlier is allowed).
type Open func(t *testing.T, o Options) Store

// Run runs the suite, each test on a store of its own.
func Run(t *testing.T, open Open) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Open)
	}{
		{"SubmitSpendsCodeOnce", testSubmitSpendsCodeOnce},
		{"SlipStatuses", testSlipStatuses},
		{"IssueBatchesAtomically", testIssueBatchesAtomically},
		{"EachBallotPartSplits", testEachBallotPartSplits},
		{"SubmitAfterClose", testSubmitAfterClose},
		{"SheetsAndRecusal", testSheetsAndRecusal},
		{"CloseWhileVoting", testCloseWhileVoting},
		{"VoidWhileVoting", testVoidWhileVoting},
		{"RacingCloses", testRacingCloses},
		{"SealPurgesCodes", testSealPurgesCodes},
		{"ExcludedGroups", testExcludedGroups},
		{"ResultsAndFinalize", testResultsAndFinalize},
		{"Accounts", testAccounts},
		{"Sessions", testSessions},
		{"Expected", testExpected},
		{"RoundLifecycle", testRoundLifecycle},
		{"RosterImport", testRosterImport},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// Example reads a definition of assets/examples by file name.
func Example(t testing.TB, name string) (*survey.Definition, []byte) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	src, err := os.ReadFile(filepath.Join(dir, "assets", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	d, err := survey.ParseDefinition(src)
	if err != nil {
		t.Fatalf("example %s: %v", name, err)
	}
	// Every ballot of a small group is kept (small_groups: count), so that
	// what a test finds stored does not hang on a store's handling of the
	// groups a seal excludes: PostgreSQL writes none of their records at
	// close, SQLite deletes them at the seal. ExcludedGroups tests that.
	d.Rules.SmallGroups = survey.SmallGroupsCount
	return d, src
}

// OpenRound creates the quzhi example round, issues n codes for czj ×
// staff and opens it.
func OpenRound(t testing.TB, s Store, n int) (*survey.Round, []string) {
	t.Helper()
	ctx := context.Background()
	def, _ := Example(t, "quzhi-2026.yaml")
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, codes, err := s.IssueBatch(ctx, r.ID, "czj", "staff", n)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	r, err = s.Round(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r, codes
}

// Ballot is a ballot for slip with every slot at value (1, the second
// option, is never over a top limit).
func Ballot(t testing.TB, slip *survey.Slip, value int) survey.Ballot {
	t.Helper()
	sh := slip.Sheet()
	values := make([]int, sh.Len())
	for i := range values {
		values[i] = value
	}
	b, err := sh.EncodeSlots(values)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Numbered is a ballot for slip that is k's own: its first slots hold k in
// base 4, the rest 1.
func Numbered(t testing.TB, slip *survey.Slip, k int) survey.Ballot {
	t.Helper()
	return NumberedWith(t, slip, k, []int{0})
}

// NumberedWith is Numbered with the slots past the eighth set from tail
// (repeated as needed), each to option 1 or 2 as its bit says, instead of
// 1: never the top option, whose count a quota may bound. A test that
// looks for its ballots' bytes where other tests write theirs (a
// cluster's WAL) gives them a tail of its own.
func NumberedWith(t testing.TB, slip *survey.Slip, k int, tail []int) survey.Ballot {
	t.Helper()
	sh := slip.Sheet()
	values := make([]int, sh.Len())
	for i := range values {
		values[i] = 1 + tail[i%len(tail)]&1
	}
	for i := 0; i < 8 && i < len(values); i++ {
		values[i] = k >> (2 * i) & 3
	}
	b, err := sh.EncodeSlots(values)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// NumberOf reads k back from a Numbered ballot's answers.
func NumberOf(answers []byte) int {
	k := 0
	for i := 0; i < 8 && i < len(answers); i++ {
		k |= int(answers[i]) << (2 * i)
	}
	return k
}

// Vote looks the code up and submits ballot(slip).
func Vote(ctx context.Context, s Store, code string, ballot func(*survey.Slip) survey.Ballot) error {
	slip, err := s.Slip(ctx, code)
	if err != nil {
		return err
	}
	return s.Submit(ctx, slip, ballot(slip))
}

// CountBallots is the number of ballot records of a round.
func CountBallots(t testing.TB, s Store, roundID string) int {
	t.Helper()
	n := 0
	if err := s.EachBallot(context.Background(), roundID, func(string, string, string, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// testClock is a clock a test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
