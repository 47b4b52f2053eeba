package postgres

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"minping/survey"
	"minping/survey/storetest"
)

// TestSettingsCheck: settings that would record ballots' times or codes'
// hashes keep the store from opening, with a message in Chinese and
// English naming the setting; allowed explicitly, it opens and says so.
func TestSettingsCheck(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, set string }{
		{"log_statement", `ALTER DATABASE %s SET log_statement = 'mod'`},
		{"log_min_duration_statement", `ALTER DATABASE %s SET log_min_duration_statement = 0`},
		{"log_parameter_max_length_on_error", `ALTER DATABASE %s SET log_parameter_max_length_on_error = -1`},
		{"log_transaction_sample_rate", `ALTER DATABASE %s SET log_transaction_sample_rate = 0.01`},
		{"pg_stat_statements", `CREATE EXTENSION pg_stat_statements`},
		{"debug_print_plan", `ALTER DATABASE %s SET debug_print_plan = on`},
		{"session_preload_libraries", `ALTER DATABASE %s SET session_preload_libraries = '$libdir/auto_explain.so'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := freshDatabase(t)
			cfg, _ := pgx.ParseConfig(dsn)
			q := tc.set
			if strings.Contains(q, "%s") {
				q = strings.Replace(q, "%s", cfg.Database, 1)
			}
			execSQL(t, dsn, q)
			_, err := Open(ctx, dsn, Options{CodeKey: testCodeKey, KeyDir: t.TempDir()})
			if !errors.Is(err, ErrUnsafeSettings) || !strings.Contains(err.Error(), tc.name) || !regexp.MustCompile(`\p{Han}`).MatchString(err.Error()) {
				t.Fatalf("open with %s: got %v, want ErrUnsafeSettings naming it, in Chinese and English", tc.name, err)
			}
			s, err := Open(ctx, dsn, Options{CodeKey: testCodeKey, KeyDir: t.TempDir(), AllowUnsafeSettings: true})
			if err != nil {
				t.Fatalf("open with %s allowed: %v", tc.name, err)
			}
			defer s.Close()
			if f := strings.Join(s.Finished(), "\n"); !strings.Contains(f, tc.name) {
				t.Errorf("opened despite %s: Finished says %q, want it named", tc.name, f)
			}
		})
	}
	// The cluster the tests run on is set up as deploy/postgres asks.
	s, _ := openStore(t)
	if len(s.Finished()) != 0 {
		t.Errorf("a clean database: Finished says %q", s.Finished())
	}
}

// TestSettingsChangedWhileVoting: a setting that would log codes' hashes,
// turned on after the store opened (here for the database, as a DBA
// chasing a slow meeting might), stops code lookups and ballots before a
// hash reaches a statement (ErrUnsafeStore, which the server answers with
// 503); the slip stays unspent, and once the setting is undone it votes.
func TestSettingsChangedWhileVoting(t *testing.T) {
	ctx := context.Background()
	s, dsn := openStore(t)
	s.settingsEvery = 0 // every lookup and commit reads them again
	cfg, _ := pgx.ParseConfig(dsn)
	def, _ := storetest.Example(t, "quzhi-2026.yaml")
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := s.IssueBatches(ctx, r.ID, []survey.BatchRequest{{Unit: "czj", Category: "staff", Count: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	code := issued[0].Codes[0]
	slip, err := s.Slip(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	set := func(q string) {
		execSQL(t, dsn, strings.Replace(q, "%s", cfg.Database, 1))
		s.pool.Reset() // new sessions, which take the database's settings
	}
	set(`ALTER DATABASE %s SET log_min_duration_statement = 0`)
	if _, err := s.Slip(ctx, code); !errors.Is(err, survey.ErrUnsafeStore) {
		t.Errorf("look a code up with statements logged: got %v, want ErrUnsafeStore", err)
	}
	if err := s.Submit(ctx, slip, storetest.Ballot(t, slip, 1)); !errors.Is(err, survey.ErrUnsafeStore) {
		t.Errorf("submit with statements logged: got %v, want ErrUnsafeStore", err)
	}
	set(`ALTER DATABASE %s RESET log_min_duration_statement`)

	// A session that starts under such a setting is refused as it
	// connects, even while the last verdict said safe.
	s.settingsEvery = time.Hour
	if _, err := s.Slip(ctx, code); err != nil {
		t.Fatal(err)
	}
	set(`ALTER DATABASE %s SET log_statement = 'all'`)
	if _, err := s.Slip(ctx, code); !errors.Is(err, survey.ErrUnsafeStore) {
		t.Errorf("look a code up on a new session that logs statements: got %v, want ErrUnsafeStore", err)
	}
	set(`ALTER DATABASE %s RESET log_statement`)
	slip, err = s.Slip(ctx, code)
	if err != nil {
		t.Fatalf("the slip once the setting is undone: %v; want it unspent", err)
	}
	if err := s.Submit(ctx, slip, storetest.Ballot(t, slip, 1)); err != nil {
		t.Errorf("submit once the setting is undone: %v", err)
	}
}

// TestOpenRefusesNewerSchema: a database a newer minping migrated is not
// served, and the error says what to do.
func TestOpenRefusesNewerSchema(t *testing.T) {
	s, dsn := openStore(t)
	s.Close()
	execSQL(t, dsn, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())`, len(migrations))
	_, err := Open(context.Background(), dsn, Options{CodeKey: testCodeKey, KeyDir: t.TempDir()})
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "newer minping") {
		t.Fatalf("open a newer schema: %v, want ErrNewerSchema saying what to do", err)
	}
}

// TestInstancesStartTogether: instances started at once on an empty
// database migrate it once, without an error from either.
func TestInstancesStartTogether(t *testing.T) {
	dsn := freshDatabase(t)
	keys := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), dsn, Options{CodeKey: testCodeKey, KeyDir: keys})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	s := openAt(t, dsn, keys, Options{})
	var n int
	s.pool.QueryRow(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&n)
	if n != len(migrations)-1 {
		t.Errorf("%d migrations recorded, want %d", n, len(migrations)-1)
	}
}

// TestRoundKey: the private half of a round's ballot key is a file in the
// key directory while the round is open, never in the database; a close
// without it is refused and leaves the round open; the close removes it;
// one left behind by a close that stopped is removed at the next Open.
func TestRoundKey(t *testing.T) {
	ctx := context.Background()
	s, dsn := openStore(t)
	keys := s.keyDir
	r, codes := storetest.OpenRound(t, s, 2)
	path := filepath.Join(keys, keyFileName(r.ID))
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the round's key file: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("key file mode %v, want no access for others", fi.Mode().Perm())
	}
	var pub []byte
	s.pool.QueryRow(ctx, `SELECT box_key FROM rounds WHERE id = $1`, r.ID).Scan(&pub)
	if len(pub) != 32 || string(body[:32]) != string(pub) {
		t.Fatalf("the round's public key (%d bytes) is not the key file's", len(pub))
	}
	if err := storetest.Vote(ctx, s, codes[0], func(sl *survey.Slip) survey.Ballot { return storetest.Ballot(t, sl, 1) }); err != nil {
		t.Fatal(err)
	}
	// Another instance with a key directory of its own cannot close.
	other := openAt(t, dsn, t.TempDir(), Options{})
	if err := other.CloseRound(ctx, r.ID); !errors.Is(err, ErrNoRoundKey) {
		t.Fatalf("close without the key: got %v, want ErrNoRoundKey", err)
	}
	if got, _ := s.Round(ctx, r.ID); got.Status != survey.StatusOpen {
		t.Fatalf("after a refused close the round is %s, want open", got.Status)
	}
	if err := storetest.Vote(ctx, other, codes[1], func(sl *survey.Slip) survey.Ballot { return storetest.Ballot(t, sl, 1) }); err != nil {
		t.Fatalf("voting through an instance without the private key: %v", err)
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("key file after the close: %v, want it gone", err)
	}
	if n := storetest.CountBallots(t, s, r.ID); n != 2 {
		t.Errorf("%d ballots after the close, want 2", n)
	}
	var stillKey bool
	s.pool.QueryRow(ctx, `SELECT box_key IS NOT NULL FROM rounds WHERE id = $1`, r.ID).Scan(&stillKey)
	if stillKey {
		t.Error("the closed round keeps its public key")
	}
	// A close that stopped before removing the file: the file is back.
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := openAt(t, dsn, keys, Options{})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a closed round's key file after Open: %v, want it removed", err)
	}
	if f := strings.Join(s2.Finished(), "\n"); !strings.Contains(f, r.ID) {
		t.Errorf("Open says it finished %q, want the key's removal", f)
	}
	// And closing again removes it too, answering as for any closed round.
	os.WriteFile(path, body, 0o600)
	if err := s2.CloseRound(ctx, r.ID); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("closing a closed round whose key was left: %v, want ErrWrongState", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("key file after closing again: %v, want it gone", err)
	}
}

// TestTablesCarryNoOrder fails if a table that holds ballots or spent marks
// gains anything that could link a ballot to a code, a time or an arrival
// order: a time column, a sequence or identity, an integer.
func TestTablesCarryNoOrder(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	suspicious := regexp.MustCompile(`(?i)time|date|_at$|ip|addr|agent|seq|order|serial|code|token|slip|created|updated|num`)
	allowed := map[string][]string{
		"ballots":      {"id", "round_id", "unit", "category", "part", "answers"},
		"ballot_boxes": {"id", "round_id", "box"},
		"spent":        {"hash", "round_id", "batch_id"},
	}
	for table, want := range allowed {
		rows, err := s.pool.Query(ctx, `SELECT column_name, data_type, column_default IS NOT NULL OR is_identity = 'YES'
			FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, table)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var name, typ string
			var generated bool
			rows.Scan(&name, &typ, &generated)
			got = append(got, name)
			if strings.Contains(typ, "int") || strings.Contains(typ, "time") || strings.Contains(typ, "serial") {
				t.Errorf("%s.%s is %s: no counters, sequences or times", table, name, typ)
			}
			if generated && !(table == "ballots" && name == "part") {
				t.Errorf("%s.%s has a default or identity: nothing the server fills in", table, name)
			}
			if suspicious.MatchString(name) && name != "round_id" {
				t.Errorf("%s has column %q", table, name)
			}
		}
		rows.Close()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s has columns %v, want %v", table, got, want)
		}
	}
	var n int
	s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relname IN ('ballots', 'ballot_boxes', 'spent') AND NOT t.tgisinternal`).Scan(&n)
	if n != 0 {
		t.Errorf("%d triggers on the ballot tables", n)
	}
}

var _ = time.Now

// TestOpenRefusesAnotherCodeKey: an instance given a key directory of its
// own (another code key) is refused at start, saying to share the others'
// — it would otherwise find no code and write round keys nobody else can
// read. The key the database knows still opens it.
func TestOpenRefusesAnotherCodeKey(t *testing.T) {
	_, dsn := openStore(t)
	other := bytes.Repeat([]byte{8}, 32)
	_, err := Open(context.Background(), dsn, Options{CodeKey: other, KeyDir: t.TempDir()})
	if !errors.Is(err, ErrWrongCodeKey) || !strings.Contains(err.Error(), "--keys") {
		t.Fatalf("open with another code key: got %v, want ErrWrongCodeKey saying to share the key directory", err)
	}
	openAt(t, dsn, t.TempDir(), Options{})
}
