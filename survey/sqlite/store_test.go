package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"minping/survey"
)

func exampleDefinition(t testing.TB) *survey.Definition {
	t.Helper()
	b, err := os.ReadFile("../../assets/examples/quzhi-2026.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := survey.ParseDefinition(b)
	if err != nil {
		t.Fatalf("example definition: %v", err)
	}
	return d
}

func openStore(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "minping.db")
	s, err := Open(context.Background(), path, Options{CodeKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// openRound creates the example round, opens it and issues n codes for
// czj × staff.
func openRound(t testing.TB, s *Store, n int) (*survey.Round, []string) {
	t.Helper()
	ctx := context.Background()
	r, err := s.CreateRound(ctx, exampleDefinition(t), nil)
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
	return r, codes
}

// fullAnswers is a ballot of category in unit u with every row's second
// option (never over a top limit).
func fullAnswers(d *survey.Definition, u *survey.Unit, category string) survey.Ballot {
	b := make([]byte, len(d.Layout(u, category)))
	for i := range b {
		b[i] = 1
	}
	return mustBallot(d, u, category, b)
}

// mustBallot encodes answers, one byte per slot, as the ballot form would.
func mustBallot(d *survey.Definition, u *survey.Unit, category string, answers []byte) survey.Ballot {
	values := make([]int, len(answers))
	for i, a := range answers {
		values[i] = int(a)
	}
	b, err := d.EncodeSlots(u, category, values)
	if err != nil {
		panic(err)
	}
	return b
}

func TestCodeFormat(t *testing.T) {
	re := regexp.MustCompile(`^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$`)
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		c := survey.NewCode()
		if !re.MatchString(c) {
			t.Fatalf("code %q does not match %s", c, re)
		}
		if seen[c] {
			t.Fatalf("code %q drawn twice", c)
		}
		seen[c] = true
	}
	for _, tc := range []struct{ in, want string }{
		{"ABCD-EFGH-JKLM-NPQR", "ABCDEFGHJKLMNPQR"},
		{"abcd efgh jklm npqr", "ABCDEFGHJKLMNPQR"},
		{"abcdefghjklmnpqr", "ABCDEFGHJKLMNPQR"},
		{"ABCD-EFGH-JKLM-NPQ0", ""}, // 0 is not in the alphabet
		{"ABCD-EFGH-JKLM", ""},
		{"ABCD-EFGH-JKLM-NPQRS", ""},
		{"测评码测评码测评码测评码测评码测评", ""},
	} {
		if got := survey.NormalizeCode(tc.in); got != tc.want {
			t.Errorf("NormalizeCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestBallotTableSchema fails if the ballots table gains anything that could
// link a ballot to a code, a time, an address or an arrival order.
func TestBallotTableSchema(t *testing.T) {
	s, _ := openStore(t)
	type col struct {
		Name string
		Type string
		Pk   int
	}
	var cols []col
	if err := s.r.Raw(`SELECT name, type, pk FROM pragma_table_info('ballots')`).Scan(&cols).Error; err != nil {
		t.Fatal(err)
	}
	// part names which rows of a recusal ballot a record holds: '' or the
	// member rated, never the member who voted.
	allowed := map[string]bool{"id": true, "round_id": true, "unit": true, "category": true, "part": true, "answers": true}
	suspicious := regexp.MustCompile(`(?i)time|date|_at$|ip|addr|agent|seq|order|serial|code|hash|token|slip|batch|created|updated|num`)
	for _, c := range cols {
		if !allowed[c.Name] || suspicious.MatchString(c.Name) && c.Name != "round_id" {
			t.Errorf("ballots has column %q (%s): a ballot carries round, unit, category, part and answers only", c.Name, c.Type)
		}
		if c.Pk > 0 && (c.Name != "id" || !strings.EqualFold(c.Type, "BLOB")) {
			t.Errorf("ballots key is %q %s, want the random BLOB id", c.Name, c.Type)
		}
		if strings.Contains(strings.ToUpper(c.Type), "INT") {
			t.Errorf("ballots column %q is an integer (%s): no counters or sequences", c.Name, c.Type)
		}
	}
	var sqlText string
	s.r.Raw(`SELECT sql FROM sqlite_master WHERE name = 'ballots'`).Scan(&sqlText)
	if !strings.Contains(strings.ToUpper(sqlText), "WITHOUT ROWID") {
		t.Errorf("ballots is a rowid table (its hidden integer key grows with arrival):\n%s", sqlText)
	}
	var idx []string
	s.r.Raw(`SELECT name FROM sqlite_master WHERE type IN ('index','trigger') AND tbl_name = 'ballots' AND sql IS NOT NULL`).Scan(&idx)
	if len(idx) > 0 {
		t.Errorf("ballots has indexes or triggers %v: check they carry no order", idx)
	}
	var codeCols []string
	s.r.Raw(`SELECT name FROM pragma_table_info('codes')`).Scan(&codeCols)
	for _, c := range codeCols {
		if regexp.MustCompile(`(?i)time|date|_at$|ip|agent|seq|order|ballot`).MatchString(c) {
			t.Errorf("codes has column %q: a spent code keeps no time and no link to its ballot", c)
		}
	}
}

// TestPragmas checks durability and secure deletion on writer and readers.
func TestPragmas(t *testing.T) {
	s, _ := openStore(t)
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "truncate"}, {"synchronous", "2"}, {"secure_delete", "1"}, {"foreign_keys", "1"},
	} {
		for name, db := range map[string]*gorm.DB{"writer": s.w, "reader": s.r} {
			var got string
			if err := db.Raw("PRAGMA " + tc.pragma).Scan(&got).Error; err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s: PRAGMA %s = %q, want %q", name, tc.pragma, got, tc.want)
			}
		}
	}
}

// TestNoCommitHistory checks that voting leaves no commit history in the
// data directory: there is no write-ahead log, and the rollback journal is
// empty between commits, so a copy holds the current state alone.
func TestNoCommitHistory(t *testing.T) {
	s, path := openStore(t)
	ctx := context.Background()
	r, codes := openRound(t, s, 5)
	for _, c := range codes {
		slip, err := s.Slip(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Submit(ctx, slip, fullAnswers(r.Definition, slip.Unit, "staff")); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path + "-wal"); err == nil {
			t.Fatalf("a write-ahead log of %d bytes exists while voting", fi.Size())
		}
		if fi, err := os.Stat(path + "-journal"); err == nil && fi.Size() != 0 {
			t.Fatalf("between commits the journal holds %d bytes, want 0", fi.Size())
		}
	}
}

// TestWALDatabaseConverted: a database an older minping kept in WAL mode,
// with commits still in its log, opens in rollback-journal mode with every
// commit kept and the log gone.
func TestWALDatabaseConverted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "minping.db")
	old, err := OpenFile(path, map[string]string{"journal_mode": "WAL"}, false)
	if err != nil {
		t.Fatal(err)
	}
	old.SetMaxOpenConns(1)
	// Keep the commits in the log: no checkpoint before Open.
	for _, q := range []string{`PRAGMA wal_autocheckpoint=0`, `CREATE TABLE keep (x)`, `INSERT INTO keep VALUES (1), (2)`} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("the old database's log should hold its commits: %v %v", fi, err)
	}
	old.Close()
	s, err := Open(context.Background(), path, Options{CodeKey: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.r.Raw(`SELECT COUNT(*) FROM keep`).Scan(&n).Error; err != nil || n != 2 {
		t.Errorf("rows of the old log: %d (%v), want 2", n, err)
	}
	var mode string
	s.w.Raw(`PRAGMA journal_mode`).Scan(&mode)
	if mode != "truncate" {
		t.Errorf("journal mode %q, want truncate", mode)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("the old log is still there, %d bytes", fi.Size())
	}
}

// TestCloseCompactsOrSaysSo: a reader that holds the database as a close
// commits keeps its compaction from running: the close stands, says
// ErrCompactIncomplete and owes the compaction; closing again once the
// reader is gone finishes it.
func TestCloseCompactsOrSaysSo(t *testing.T) {
	s, path := openStore(t)
	s.compactWait = 300 * time.Millisecond
	ctx := context.Background()
	r, _ := openRound(t, s, 2)
	reader, err := sql.Open(driverName, DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var tx *sql.Tx
	var readErr error
	s.beforeVacuum = func() { // a backup starts reading just then
		if tx, readErr = reader.Begin(); readErr == nil {
			var n int
			readErr = tx.QueryRow(`SELECT COUNT(*) FROM ballots`).Scan(&n)
		}
	}
	err = s.CloseRound(ctx, r.ID)
	if readErr != nil {
		t.Fatal(readErr)
	}
	if !errors.Is(err, ErrCompactIncomplete) {
		t.Fatalf("close while a reader holds the database: got %v, want ErrCompactIncomplete", err)
	}
	if got, _ := s.Round(ctx, r.ID); got.Status != survey.StatusClosed {
		t.Fatalf("the round is %s after the close, want closed", got.Status)
	}
	if owed, _ := s.compactionOwed(ctx); !owed {
		t.Error("no compaction owed after an incomplete one")
	}
	tx.Rollback()
	s.beforeVacuum = nil
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatalf("closing again once the reader is gone: %v", err)
	}
	if owed, _ := s.compactionOwed(ctx); owed {
		t.Error("a compaction still owed after it ran")
	}
	if err := s.CloseRound(ctx, r.ID); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("closing a closed, compacted round: got %v, want ErrWrongState", err)
	}
}

// TestOpenFinishesOwedCompaction: a process that stops between a close's
// commit and its compaction (a crash) leaves the compaction owed; the next
// Open runs it and says so.
func TestOpenFinishesOwedCompaction(t *testing.T) {
	s, path := openStore(t)
	ctx := context.Background()
	r, _ := openRound(t, s, 2)
	s.beforeVacuum = func() { panic("stopped") }
	func() {
		defer func() { recover() }()
		s.CloseRound(ctx, r.ID)
	}()
	s.beforeVacuum = nil
	s.Close()
	s2, err := Open(ctx, path, Options{CodeKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if len(s2.Finished()) != 1 || !strings.Contains(s2.Finished()[0], "compaction") {
		t.Errorf("Open says it finished %q, want the owed compaction", s2.Finished())
	}
	if owed, _ := s2.compactionOwed(ctx); owed {
		t.Error("the compaction is still owed after Open")
	}
	if got, _ := s2.Round(ctx, r.ID); got.Status != survey.StatusClosed {
		t.Errorf("the round is %s, want closed", got.Status)
	}
}
