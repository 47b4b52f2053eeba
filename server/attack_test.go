package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"minping/survey"
	"minping/survey/sqlite"
)

// The mid-round copy attack (issue: secrecy against a copy of the data
// directory). Someone copies minping's data directory while voting is open,
// as a backup program would, and knows which printed code each person
// holds (they watched the slips handed out). From the copy they try to tie
// each code to its ballot: they replay whatever journal the copy holds,
// commit by commit, to see which spent mark and which ballot appeared
// together, and map a known code to its spent mark through the code key,
// if the copy holds one.

// dirCopy copies every regular file of a directory, as a backup program
// would, and returns the copy.
func dirCopy(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		return os.WriteFile(filepath.Join(out, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dbState is what a copy of the database shows at one moment: its ballots
// (by id, with their answers) and each batch's spent positions.
type dbState struct {
	ballots map[string][]byte
	spent   map[string][]int // batch id -> spent positions
}

// readState opens a database file (with a write-ahead log beside it, if
// any) and reads its ballots and spent marks.
func readState(t *testing.T, db string) dbState {
	t.Helper()
	conn, err := sqlite.OpenFile(db, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st := dbState{ballots: map[string][]byte{}, spent: map[string][]int{}}
	rows, err := conn.Query(`SELECT id, answers FROM ballots`)
	if err != nil && strings.Contains(err.Error(), "no such table") {
		return st // a commit from before the schema was made
	}
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, answers []byte
		if err := rows.Scan(&id, &answers); err != nil {
			t.Fatal(err)
		}
		st.ballots[string(id)] = answers
	}
	rows.Close()
	rows, err = conn.Query(`SELECT id, spent_bits FROM batches`)
	if err != nil && strings.Contains(err.Error(), "no such column") {
		return st // a commit from before the migration that added it
	}
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var bits []byte
		if err := rows.Scan(&id, &bits); err != nil {
			t.Fatal(err)
		}
		for i := range len(bits) * 8 {
			if bits[i/8]&(1<<(i%8)) != 0 {
				st.spent[id] = append(st.spent[id], i)
			}
		}
	}
	rows.Close()
	return st
}

// replay returns the database's state after each commit its write-ahead
// log holds, oldest first, ending with the state the copy opens in. A
// commit's state is read by truncating the log after the commit's last
// frame: SQLite reads a log up to its last complete commit.
func replay(t *testing.T, copyDir string) []dbState {
	t.Helper()
	db := filepath.Join(copyDir, "minping.db")
	wal, err := os.ReadFile(db + "-wal")
	if errors.Is(err, fs.ErrNotExist) || len(wal) < 32 {
		return []dbState{readState(t, scratch(t, db, nil))}
	}
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.BigEndian.Uint32(wal[8:12]))
	salt := wal[16:24]
	var states []dbState
	for off := 32; off+24+pageSize <= len(wal); off += 24 + pageSize {
		hdr := wal[off : off+24]
		if !bytes.Equal(hdr[8:16], salt) {
			break // frames of an earlier generation of the log
		}
		if binary.BigEndian.Uint32(hdr[4:8]) != 0 { // a commit frame
			states = append(states, readState(t, scratch(t, db, wal[:off+24+pageSize])))
		}
	}
	if len(states) == 0 {
		states = append(states, readState(t, scratch(t, db, nil)))
	}
	return states
}

// scratch puts a copy of the database file, with wal as its log (none if
// nil), in a directory of its own, and returns the file's path.
func scratch(t *testing.T, db string, wal []byte) string {
	t.Helper()
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "minping.db")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if wal != nil {
		if err := os.WriteFile(p+"-wal", wal, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// linkage is what the attack on one copy achieved: for each known code, the
// ballots the copy leaves possible for it.
type linkage struct {
	candidates map[string][]string // code -> ids of the ballots it may have cast
	ballots    int
}

// attack ties codes to ballots from copies of the data directory, oldest
// first: it replays each copy's journal, finds each code's spent mark with
// the code key found in keyDir (if there is one), and takes the ballots
// that appeared with it, in the same commit or between two copies. Without
// a key, or when nothing shows the mark appear, every ballot of the last
// copy stays possible.
func attack(t *testing.T, copies []string, keyDir string, codes []string) linkage {
	t.Helper()
	var states []dbState
	for _, c := range copies {
		states = append(states, replay(t, c)...)
	}
	copyDir := copies[len(copies)-1]
	final := states[len(states)-1]
	all := slices.Collect(mapKeys(final.ballots))
	l := linkage{candidates: map[string][]string{}, ballots: len(all)}
	key, err := os.ReadFile(filepath.Join(keyDir, "code.key"))
	if err != nil {
		for _, c := range codes {
			l.candidates[c] = all
		}
		return l
	}
	db := filepath.Join(copyDir, "minping.db")
	wal, _ := os.ReadFile(db + "-wal") // the codes may be in the log alone
	conn, err := sqlite.OpenFile(scratch(t, db, wal), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, c := range codes {
		l.candidates[c] = all
		m := hmac.New(sha256.New, key)
		m.Write([]byte(survey.NormalizeCode(c)))
		var batch string
		var pos int
		if err := conn.QueryRow(`SELECT batch_id, pos FROM codes WHERE hash = ?`, m.Sum(nil)).Scan(&batch, &pos); err != nil {
			continue
		}
		for i := 1; i < len(states); i++ {
			if slices.Contains(states[i].spent[batch], pos) && !slices.Contains(states[i-1].spent[batch], pos) {
				var added []string
				for id := range states[i].ballots {
					if _, ok := states[i-1].ballots[id]; !ok {
						added = append(added, id)
					}
				}
				l.candidates[c] = added
				break
			}
		}
	}
	return l
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestMidRoundCopyLinksNothing: voters vote one at a time (each commit then
// holds one ballot, the attack's best case); the data directory is copied
// twice while the round is open, after 15 ballots and after 30. The
// attack, on one copy or on both, must narrow no code below every ballot,
// so its guess is chance. It logs the figures, and what an insider who
// could also read the key directory would get from the two copies (the
// residual risk README states).
func TestMidRoundCopyLinksNothing(t *testing.T) {
	m := startMinping(t)
	admin := m.admin(t)
	id := admin.createRound()
	_, codes := admin.issue(id, "czj", "staff", 30)
	admin.state(id, "open")
	// Each voter's answers are their own: voter i rates the team's first
	// three items with the digits of i in base 4, which the stored ballot's
	// first three bytes then hold.
	var copies []string
	for i, code := range codes {
		answers := answerAll(admin.ballot(code), func(form, subject, row string) string {
			digit := map[string]int{"团结协作": 0, "民主决策": 1, "执行落实": 2}
			if k, ok := digit[row]; ok && form == "team" {
				return []string{"好", "较好", "一般", "差"}[(i>>(2*k))&3]
			}
			return ""
		})
		if r := submitBallot(t, m.base, code, answers); r.status != 201 {
			t.Fatalf("vote %d: %s", i, r)
		}
		if i == 14 || i == 29 {
			copies = append(copies, dirCopy(t, m.data))
		}
	}
	keys := Config{Data: m.data}.withDefaults().Keys
	for _, tc := range []struct {
		name   string
		copies []string
		keyDir string
		strict bool // the data directory alone must give nothing
	}{
		{"one copy of the data directory", copies[1:], copies[1], true},
		{"two copies of the data directory", copies, copies[1], true},
		{"two copies, with the key directory too (an insider on the server)", copies, keys, false},
	} {
		l := attack(t, tc.copies, tc.keyDir, codes)
		final := replay(t, tc.copies[len(tc.copies)-1])
		ballots := final[len(final)-1].ballots
		certain, right, narrowed := 0, 0, 0
		chance := 0.0
		for i, c := range codes {
			n := len(l.candidates[c])
			if n == 1 {
				certain++
				if a := ballots[l.candidates[c][0]]; int(a[0])+4*int(a[1])+16*int(a[2]) == i {
					right++
				}
			}
			if n < l.ballots {
				narrowed++
			}
			if n > 0 {
				chance += 1 / float64(n)
			}
		}
		t.Logf("%s: %d of %d codes tied to exactly one ballot (%d rightly), %d narrowed below all %d ballots; expected right guesses %.1f (chance %.1f)",
			tc.name, certain, len(codes), right, narrowed, l.ballots, chance, float64(len(codes))/float64(max(l.ballots, 1)))
		if l.ballots != len(codes) {
			t.Errorf("%s: the copy holds %d ballots, want %d: the attack did not read it", tc.name, l.ballots, len(codes))
		}
		if tc.strict && narrowed > 0 {
			t.Errorf("%s narrows %d of %d codes to fewer ballots than all (%d tied to exactly one): it links ballots to slips", tc.name, narrowed, len(codes), certain)
		}
	}
}
