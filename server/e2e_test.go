package server

import (
	"database/sql"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"minping/assets"
	"minping/survey/postgres/pgtest"
	"minping/survey/sqlite"
)

// TestEndToEnd runs minping as main runs it, on port 0: a round from the
// example, slips for several units and categories, votes through the API,
// close. Then it checks turnout and that the data directory, copied now,
// could not tie a ballot to a code, a time or an order.
func TestEndToEnd(t *testing.T) {
	m := startMinping(t)
	round, voted := runEndToEnd(t, m)

	// Right after the close, while minping still runs: no write-ahead log
	// whose commit groups would pair spent codes with ballots.
	checkNoWAL(t, m.data, "after close, while serving")
	m.stop()
	checkNoWAL(t, m.data, "after stop")
	checkStoredBallots(t, m.data, round, voted)
}

// TestEndToEndPostgres is TestEndToEnd on a PostgreSQL database, as
// `minping serve --db postgres://…` runs it; the database's history is
// attacked in survey/postgres.
func TestEndToEndPostgres(t *testing.T) {
	dsn := pgtest.FreshDatabase(t)
	m := startMinping(t, func(c *Config) { c.DB = dsn })
	round, voted := runEndToEnd(t, m)
	// The round seals; its document counts every ballot as voted, and
	// enters all but those of the groups under min_group (fgj's 2 cadres,
	// cgjd's 1 client).
	admin := m.admin(t)
	admin.must(200, "POST", "/api/v1/rounds/"+round+"/seal", nil)
	var doc struct{ Ballots, Voted int }
	admin.must(200, "GET", "/api/v1/rounds/"+round+"/tally", nil).decode(t, &doc)
	if doc.Voted != voted || doc.Ballots != voted-3 {
		t.Errorf("sealed document: %d voted, %d ballots counted; want %d and %d", doc.Voted, doc.Ballots, voted, voted-3)
	}
	if _, err := os.Stat(filepath.Join(m.data, "minping.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("minping made an SQLite file beside its PostgreSQL database: %v", err)
	}
}

// runEndToEnd issues slips for several units and categories of the
// example round, votes through the API, closes, and checks turnout; it
// returns the round and the ballots cast.
func runEndToEnd(t *testing.T, m *runningMinping) (round string, voted int) {
	t.Helper()
	if r := testRequest(t, m.base, "GET", "/healthz", "", nil); r.status != 200 {
		t.Fatalf("healthz: got %s", r)
	}
	admin := m.admin(t)
	round = admin.createRound(assets.Example())

	type slips struct {
		unit, category string
		issued, votes  int
	}
	plan := []slips{
		{"czj", "leaders", 3, 3},
		{"czj", "staff", 5, 4},
		{"fgj", "cadres", 4, 2},
		{"zzb", "staff", 3, 3},
		{"cgjd", "clients", 3, 1},
		{"cgjd", "leaders", 2, 0},
	}
	codes := map[int][]string{}
	for i, p := range plan {
		_, codes[i] = admin.issue(round, p.unit, p.category, p.issued)
	}
	admin.state(round, "open")

	for i, p := range plan {
		for k, c := range codes[i][:p.votes] {
			// Vary the answers: the top option, the second, and 不了解.
			answers := answerAll(admin.ballot(c), func(form, subject, row string) string {
				switch {
				case form == "team" && k%3 == 0:
					return "好"
				case form == "members" && row != "综合评价" && k%3 == 1:
					return "不了解"
				case form == "service" && k%2 == 0:
					return "满意"
				}
				return ""
			})
			if r := submitBallot(t, m.base, c, answers); r.status != http.StatusCreated {
				t.Fatalf("%s %s ballot %d: got %s, want 201", p.unit, p.category, k, r)
			}
			voted++
		}
	}
	admin.state(round, "close")
	var got struct{ Status string }
	admin.must(200, "GET", "/api/v1/rounds/"+round, nil).decode(t, &got)
	if got.Status != "closed" {
		t.Errorf("round status: got %q, want closed", got.Status)
	}

	// Turnout: counts per unit and category, as issued and voted.
	for i, p := range plan {
		u := turnoutOf(t, admin, round, p.unit)
		for _, c := range u.Categories {
			if c.ID == p.category && (c.Issued != p.issued || c.Voted != p.votes) {
				t.Errorf("turnout %s/%s: got issued %d voted %d, want %d and %d", p.unit, p.category, c.Issued, c.Voted, plan[i].issued, plan[i].votes)
			}
		}
	}
	czj := turnoutOf(t, admin, round, "czj")
	if czj.Issued != 8 || czj.Voted != 7 {
		t.Errorf("czj turnout: got issued %d voted %d, want 8 and 7", czj.Issued, czj.Voted)
	}
	return round, voted
}

// checkStoredBallots opens the data directory's SQLite file, as someone
// who copied it would, and checks that its ballots table could not tie a
// ballot to a code, a time or an order, and that it holds voted ballots.
func checkStoredBallots(t *testing.T, data, round string, voted int) {
	t.Helper()
	db, err := sqlite.OpenFile(filepath.Join(data, "minping.db"), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cols := columns(t, db, "ballots")
	if diff := cmp.Diff([]string{"answers", "category", "id", "part", "round_id", "unit"}, cols); diff != "" {
		t.Errorf("ballots columns (-want +got):\n%s\nevery column beyond round, unit, category, part (the rows a recusal record holds) and answers under a random key could link a ballot to a code, a time or an order", diff)
	}
	var ddl string
	if err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ballots'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToUpper(ddl), "WITHOUT ROWID") {
		t.Errorf("ballots is a rowid table, whose hidden rowid grows with arrival:\n%s", ddl)
	}
	for _, c := range columns(t, db, "codes") {
		for _, bad := range []string{"ballot", "time", "_at", "ip", "seq", "order"} {
			if strings.Contains(c, bad) {
				t.Errorf("codes has a column %q: it could tie a spent code to a ballot or a time", c)
			}
		}
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM ballots WHERE round_id = ?`, round).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != voted {
		t.Errorf("got %d stored ballots, want %d", n, voted)
	}
	var idLen int
	if err := db.QueryRow(`SELECT MIN(length(id)) FROM ballots`).Scan(&idLen); err != nil {
		t.Fatal(err)
	}
	if idLen < 16 {
		t.Errorf("ballot keys are %d bytes, want at least 16 random bytes", idLen)
	}
}

// checkNoWAL fails unless the data directory's minping.db-wal is absent or
// empty.
func checkNoWAL(t *testing.T, dir, when string) {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, "minping.db-wal"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		t.Fatal(err)
	case fi.Size() != 0:
		t.Errorf("%s: minping.db-wal holds %d bytes, want it empty or absent", when, fi.Size())
	}
}

func columns(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.ToLower(name))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no table %q", table)
	}
	slices.Sort(out)
	return out
}
