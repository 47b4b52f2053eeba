package postgres

import (
	"bufio"
	"bytes"
	"context"
	"crypto/cipher"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"minping/survey"
	"minping/survey/storetest"
)

// tuple is a heap tuple as pageinspect shows it, dead ones included.
type tuple struct {
	block, item int
	xmin, xmax  uint32
	data        []byte
}

// heapTuples reads every tuple of a table's pages, live or dead, as an
// attacker with a copy of the data directory would.
func heapTuples(t *testing.T, pool *pgxpool.Pool, table string) []tuple {
	t.Helper()
	ctx := context.Background()
	var blocks int
	if err := pool.QueryRow(ctx, `SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int`, table).Scan(&blocks); err != nil {
		t.Fatal(err)
	}
	var out []tuple
	for b := range blocks {
		rows, err := pool.Query(ctx, `SELECT lp, COALESCE(t_xmin::text::bigint, 0), COALESCE(t_xmax::text::bigint, 0), t_data
			FROM heap_page_items(get_raw_page($1, $2::int)) WHERE t_data IS NOT NULL`, table, b)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			tu := tuple{block: b}
			var xmin, xmax int64
			if err := rows.Scan(&tu.item, &xmin, &xmax, &tu.data); err != nil {
				t.Fatal(err)
			}
			tu.xmin, tu.xmax = uint32(xmin), uint32(xmax)
			out = append(out, tu)
		}
		rows.Close()
	}
	return out
}

// rawPages returns the raw bytes of every page of every relation (tables,
// indexes, TOAST) of the database's own schema.
func rawPages(t *testing.T, pool *pgxpool.Pool) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ('public', 'pg_toast') AND c.relkind IN ('r', 'i', 't') AND c.relpersistence = 'p'`)
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for rows.Next() {
		var r string
		rows.Scan(&r)
		rels = append(rels, r)
	}
	rows.Close()
	out := map[string][]byte{}
	for _, r := range rels {
		var blocks int
		pool.QueryRow(ctx, `SELECT pg_relation_size($1::regclass) / 8192`, r).Scan(&blocks)
		var all []byte
		for b := range blocks {
			var page []byte
			if err := pool.QueryRow(ctx, `SELECT get_raw_page($1, $2::int)`, r, b).Scan(&page); err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
		}
		out[r] = all
	}
	return out
}

// fixedPoints is how many voters a guess (voter → ballot number) gets
// right; a guess by a random permutation gets one on average.
func fixedPoints(guess map[int]int) int {
	n := 0
	for v, g := range guess {
		if v == g {
			n++
		}
	}
	return n
}

// orderedPairs is the share of voter pairs that order puts in arrival
// order: 0.5 is chance.
func orderedPairs(rank map[int]int, voters int) float64 {
	var right, all float64
	for i := range voters {
		for j := i + 1; j < voters; j++ {
			if rank[i] < rank[j] {
				right++
			}
			all++
		}
	}
	return right / all
}

// TestAttack votes, one by one in a known order, through the codes of
// one-person batches (so a batch is a person), and then attacks the
// database as one who copies everything PostgreSQL keeps: while voting is
// open no plaintext ballot is in any table or index; after the close and
// the seal, the ballots' xmin and ctid, every tuple pageinspect shows
// (dead ones included, autovacuum off), the statistics views and a
// pg_waldump of the WAL written since voting began tie no voter to a
// ballot beyond chance. Each attack is first shown to work on what the
// store does keep (the spend marks' order), so that a broken attack
// cannot pass for secrecy.
func TestAttack(t *testing.T) {
	const voters = 200
	ctx := context.Background()
	s, dsn := openStore(t)
	for _, q := range []string{`CREATE EXTENSION pageinspect`,
		`ALTER TABLE spent SET (autovacuum_enabled = false)`, `ALTER TABLE ballot_boxes SET (autovacuum_enabled = false)`,
		`ALTER TABLE ballots SET (autovacuum_enabled = false)`, `ALTER TABLE batches SET (autovacuum_enabled = false)`,
		`ALTER TABLE codes SET (autovacuum_enabled = false)`} {
		execSQL(t, dsn, q)
	}
	pool := s.pool
	def, _ := storetest.Example(t, "quzhi-2026.yaml")
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := make([]survey.BatchRequest, voters)
	for i := range reqs {
		reqs[i] = survey.BatchRequest{Unit: "czj", Category: "staff", Count: 1}
	}
	issued, err := s.IssueBatches(ctx, r.ID, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	var walStart string
	pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&walStart)

	// Voter i holds the one slip of batch i and votes i-th, its own ballot:
	// numbered i, with a tail of this run's own, so that no other test's
	// ballot in the cluster's WAL has the same bytes.
	tail := make([]int, 61)
	for i := range tail {
		tail[i] = mrand.IntN(2)
	}
	answers := make([][]byte, voters)
	batchOf := map[string]int{}
	for i, is := range issued {
		batchOf[is.Batch.ID] = i
		slip, err := s.Slip(ctx, is.Codes[0])
		if err != nil {
			t.Fatal(err)
		}
		b := storetest.NumberedWith(t, slip, i, tail)
		answers[i] = bytes.Clone(b.Bytes())
		if err := s.Submit(ctx, slip, b); err != nil {
			t.Fatal(err)
		}
	}
	var walVoted string
	pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&walVoted)

	// While voting is open: no ballot in the clear in any page of any
	// table, index or TOAST table.
	var inTable int
	pool.QueryRow(ctx, `SELECT count(*) FROM ballots`).Scan(&inTable)
	if inTable != 0 {
		t.Fatalf("%d plaintext ballot records while voting is open, want 0", inTable)
	}
	for rel, pages := range rawPages(t, pool) {
		for i, a := range answers {
			if bytes.Contains(pages, a) {
				t.Errorf("while voting is open, voter %d's answers are in the clear in %s", i, rel)
			}
		}
	}
	// Positive control: the spend marks do keep the order of the spends
	// (each its own transaction), and the boxes' xmin ties them to boxes.
	spendXid := map[int]uint32{}
	for _, tu := range heapTuples(t, pool, "spent") {
		for id, i := range batchOf {
			if bytes.Contains(tu.data, []byte(id)) {
				spendXid[i] = tu.xmin
			}
		}
	}
	rank := map[int]int{}
	for i, x := range spendXid {
		rank[i] = int(x)
	}
	if len(spendXid) != voters || orderedPairs(rank, voters) < 0.99 {
		t.Fatalf("positive control: the spend marks' xmin should order the %d voters by arrival (found %d, ordered %.2f)", voters, len(spendXid), orderedPairs(rank, voters))
	}
	boxXids := map[uint32]bool{}
	for _, tu := range heapTuples(t, pool, "ballot_boxes") {
		boxXids[tu.xmin] = true
	}
	linkedToBox := 0
	for _, x := range spendXid {
		if boxXids[x] {
			linkedToBox++
		}
	}
	t.Logf("while open: %d of %d voters' spend marks share a transaction with a box (sealed: what an attacker without the round key gets)", linkedToBox, voters)

	// What remains, measured: a copy of the key directory taken now, while
	// the round is open, holds the round key, which opens the boxes.
	stolenKey, err := s.readRoundKey(r.ID, boxKeyOf(t, pool, r.ID))
	if err != nil {
		t.Fatal(err)
	}

	// Close, then seal, and attack the remains.
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(ctx, r.ID, survey.SealTime(time.Now()), nil, nil); err != nil {
		t.Fatal(err)
	}
	var walEnd string
	pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&walEnd)

	// Which voter each ballot is (the test knows; the attacker tries to).
	voterOf := func(data []byte) int {
		for i, a := range answers {
			if bytes.HasSuffix(data, a) || bytes.Contains(data, a) {
				return i
			}
		}
		return -1
	}
	ballots := heapTuples(t, pool, "ballots")
	if len(ballots) != voters {
		t.Fatalf("%d ballot tuples after the seal, want %d", len(ballots), voters)
	}
	xmins := map[uint32]bool{}
	ctidRank := map[int]int{}
	var ids [][]byte
	for k, tu := range ballots { // in ctid order
		xmins[tu.xmin] = true
		v := voterOf(tu.data)
		if v < 0 {
			t.Fatal("a ballot tuple the test cannot place")
		}
		ctidRank[v] = k
		ids = append(ids, tu.data[1:17]) // a short varlena header, then the 16-byte id
	}
	if len(xmins) != 1 {
		t.Errorf("the ballots carry %d different xmin, want 1 (one transaction, no commit groups)", len(xmins))
	}
	ctidShare := orderedPairs(ctidRank, voters)
	// By the spend order the attacker knows each voter's arrival rank; the
	// guess gives the voter of arrival rank a the ballot of ctid rank a.
	arrival := make([]int, voters)
	for i := range arrival {
		arrival[i] = i
	}
	sort.Slice(arrival, func(a, b int) bool { return spendXid[arrival[a]] < spendXid[arrival[b]] })
	byCtid := make([]int, voters)
	for v, k := range ctidRank {
		byCtid[k] = v
	}
	guess := map[int]int{}
	for a, v := range arrival {
		guess[v] = byCtid[a]
	}
	// The ids' order, as an index on them would give it.
	idRank := map[int]int{}
	order := make([]int, voters)
	for k := range order {
		order[k] = k
	}
	sort.Slice(order, func(a, b int) bool { return bytes.Compare(ids[order[a]], ids[order[b]]) < 0 })
	for k, tupleIndex := range order {
		idRank[voterOf(ballots[tupleIndex].data)] = k
	}
	idShare := orderedPairs(idRank, voters)
	t.Logf("after the seal: pairs in arrival order by ctid %.3f, by id %.3f (chance 0.5); voters linked by ctid order %d of %d (chance 1)",
		ctidShare, idShare, fixedPoints(guess), voters)
	// Under chance the share's standard deviation is about 0.024 for 200.
	for name, share := range map[string]float64{"ctid": ctidShare, "id": idShare} {
		if share < 0.4 || share > 0.6 {
			t.Errorf("ballots by %s order %.3f of voter pairs by arrival, want chance (0.5 ± 0.1)", name, share)
		}
	}
	if n := fixedPoints(guess); n > 6 { // P(≥ 7 by chance) < 0.0001
		t.Errorf("the ctid order links %d voters to their ballots, want no more than chance", n)
	}
	// Dead tuples: spend marks (deleted at the seal) and boxes (deleted at
	// the close) share xmin, but no ballot has the xmin of any spend.
	for _, tu := range ballots {
		for i, x := range spendXid {
			if tu.xmin == x {
				t.Errorf("a ballot shares its xmin with voter %d's spend mark", i)
			}
		}
	}
	for _, table := range []string{"spent", "ballot_boxes", "batches", "codes"} {
		for _, tu := range heapTuples(t, pool, table) {
			if v := voterOf(tu.data); v >= 0 {
				t.Errorf("%s keeps voter %d's answers in a tuple (xmin %d)", table, v, tu.xmin)
			}
		}
	}
	// With the key copied while voting was open, the dead boxes open, and
	// a box shares its xmin with the spend mark committed with it: each
	// ballot is linked to within its group commit (here, one by one, to
	// its voter). That is the bound the package comment states.
	opener := &boxOpener{roundID: r.ID, priv: stolenKey, aeads: map[[32]byte]cipher.AEAD{}}
	withKey := 0
	for _, tu := range heapTuples(t, pool, "ballot_boxes") {
		k := bytes.Index(tu.data, []byte{boxVersion})
		for ; k >= 0 && k < len(tu.data); k++ {
			if _, recs, err := opener.open(tu.data[k:]); err == nil {
				for i, x := range spendXid {
					if x == tu.xmin && voterOf(recs[0].Answers()) == i {
						withKey++
					}
				}
				break
			}
		}
	}
	t.Logf("with a copy of the key directory taken while voting was open: %d of %d voters linked (each commit held one ballot)", withKey, voters)
	if _, err := os.Stat(filepath.Join(s.keyDir, keyFileName(r.ID))); !os.IsNotExist(err) {
		t.Errorf("the round key is still in the key directory after the close: %v", err)
	}

	// Commit times are not kept.
	if _, err := pool.Exec(ctx, `SELECT pg_xact_commit_timestamp($1::text::xid)`, strconv.FormatUint(uint64(spendXid[0]), 10)); err == nil {
		t.Error("the server keeps commit timestamps: each spend's time is known")
	}
	// Statistics views hold counts, no values: no code hash, ballot id or
	// answers in their text.
	var stats string
	pool.QueryRow(ctx, `SELECT string_agg(x::text, ' ') FROM (
		SELECT row_to_json(a)::text x FROM pg_stat_activity a UNION ALL
		SELECT row_to_json(u)::text FROM pg_stat_user_tables u UNION ALL
		SELECT row_to_json(i)::text FROM pg_stat_user_indexes i UNION ALL
		SELECT row_to_json(d)::text FROM pg_stat_database d) v`).Scan(&stats)
	for _, id := range ids {
		if strings.Contains(stats, hex.EncodeToString(id)) {
			t.Error("a statistics view names a ballot id")
		}
	}
	for _, is := range issued {
		if strings.Contains(stats, hex.EncodeToString(s.codes.Hash(survey.NormalizeCode(is.Codes[0])))) {
			t.Error("a statistics view names a code's hash")
		}
	}

	t.Run("wal", func(t *testing.T) {
		walAttack(t, pool, dsn, walStart, walVoted, walEnd, answers, ids, spendXid)
	})
}

// boxKeyOf is a round's public box key.
func boxKeyOf(t *testing.T, pool *pgxpool.Pool, roundID string) []byte {
	t.Helper()
	var pub []byte
	if err := pool.QueryRow(context.Background(), `SELECT box_key FROM rounds WHERE id = $1`, roundID).Scan(&pub); err != nil {
		t.Fatal(err)
	}
	return pub
}

// walRecord is one record of a pg_waldump listing.
type walRecord struct {
	lsn uint64
	tx  uint32
	db  string // the first block reference's database oid, "" if none
	rel string // and its relfilenode
}

func parseLSN(s string) uint64 {
	hi, lo, _ := strings.Cut(s, "/")
	h, _ := strconv.ParseUint(hi, 16, 32)
	l, _ := strconv.ParseUint(lo, 16, 32)
	return h<<32 | l
}

// walAttack reads the WAL segments written from start to end and looks,
// byte by byte, for each voter's answers and each ballot id, and, with
// pg_waldump, for the transaction whose record holds them: a ballot found
// in a record of a transaction that also wrote a spend mark is linked.
// Positive control: every ballot is found, in the close's transaction.
func walAttack(t *testing.T, pool *pgxpool.Pool, dsn, start, voted, end string, answers [][]byte, ids [][]byte, spendXid map[int]uint32) {
	ctx := context.Background()
	waldump := os.Getenv("PG_WALDUMP")
	if waldump == "" {
		waldump, _ = exec.LookPath("pg_waldump")
	}
	if waldump == "" {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_waldump")
		sort.Strings(matches)
		if len(matches) > 0 {
			waldump = matches[len(matches)-1]
		}
	}
	if waldump == "" {
		msg := "pg_waldump not found (install Debian's postgresql, or set PG_WALDUMP)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	rows, err := pool.Query(ctx, `SELECT name FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'
		AND name >= pg_walfile_name($1::pg_lsn) AND name <= pg_walfile_name($2::pg_lsn) ORDER BY name`, start, end)
	if err != nil {
		t.Fatal(err)
	}
	var segs []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		segs = append(segs, n)
	}
	rows.Close()
	var segSize uint64
	pool.QueryRow(ctx, `SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'`).Scan(&segSize)
	type found struct {
		lsn   uint64
		what  string
		voter int
	}
	var hits []found
	for _, n := range segs {
		var body []byte
		if err := pool.QueryRow(ctx, `SELECT pg_read_binary_file('pg_wal/' || $1)`, n).Scan(&body); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), body, 0o600); err != nil {
			t.Fatal(err)
		}
		logNo, _ := strconv.ParseUint(n[8:16], 16, 32)
		segNo, _ := strconv.ParseUint(n[16:24], 16, 32)
		base := logNo*(0x100000000/segSize)*segSize + segNo*segSize
		for i, a := range answers {
			for off := 0; ; {
				k := bytes.Index(body[off:], a)
				if k < 0 {
					break
				}
				hits = append(hits, found{base + uint64(off+k), "answers", i})
				off += k + 1
			}
		}
		for i, id := range ids {
			if k := bytes.Index(body, id); k >= 0 {
				hits = append(hits, found{base + uint64(k), "id", i})
			}
		}
	}
	out, err := exec.Command(waldump, "-p", dir, "-s", start, "-e", end).CombinedOutput()
	if err != nil && len(out) == 0 {
		t.Fatalf("pg_waldump: %v", err)
	}
	re := regexp.MustCompile(`tx:\s+(\d+), lsn: ([0-9A-F]+/[0-9A-F]+),.*?(?:blkref #0: rel \d+/\d+/(\d+))?`)
	relRe := regexp.MustCompile(`blkref #\d+: rel \d+/(\d+)/(\d+)`)
	var recs []walRecord
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		tx, _ := strconv.ParseUint(m[1], 10, 32)
		rec := walRecord{lsn: parseLSN(m[2]), tx: uint32(tx)}
		if rm := relRe.FindStringSubmatch(sc.Text()); rm != nil {
			rec.db, rec.rel = rm[1], rm[2]
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		t.Fatalf("pg_waldump listed no records:\n%s", out)
	}
	var spentRel string
	pool.QueryRow(ctx, `SELECT pg_relation_filenode('spent')::text`).Scan(&spentRel)
	spendTx := map[uint32]bool{}
	for _, r := range recs {
		if r.rel == spentRel && r.tx != 0 {
			spendTx[r.tx] = true
		}
	}
	// Positive control: the WAL shows each voter's spend, by transaction.
	seen := 0
	for _, x := range spendXid {
		if spendTx[x] {
			seen++
		}
	}
	if seen != len(spendXid) {
		t.Fatalf("positive control: pg_waldump shows %d of %d spends' transactions writing the spent table", seen, len(spendXid))
	}
	votedLSN := parseLSN(voted)
	txAt := func(lsn uint64) uint32 {
		k := sort.Search(len(recs), func(i int) bool { return recs[i].lsn > lsn })
		if k == 0 {
			return 0
		}
		return recs[k-1].tx
	}
	// The WAL is the cluster's: other tests' databases write there too,
	// and a ballot of theirs may have the same bytes as one of ours. A hit
	// in a record of another database's relation is theirs.
	var db string
	pool.QueryRow(ctx, `SELECT oid::text FROM pg_database WHERE datname = current_database()`).Scan(&db)
	recAt := func(lsn uint64) walRecord {
		k := sort.Search(len(recs), func(i int) bool { return recs[i].lsn > lsn })
		if k == 0 {
			return walRecord{}
		}
		return recs[k-1]
	}
	foundVoters := map[int]bool{}
	linked, duringVoting, others := 0, 0, 0
	for _, h := range hits {
		if r := recAt(h.lsn); r.db != "" && r.db != db {
			others++
			continue
		}
		if h.lsn < votedLSN {
			duringVoting++
			t.Errorf("voter %d's %s is in the WAL written while voting was open (lsn %X)", h.voter, h.what, h.lsn)
		}
		if h.what == "answers" {
			foundVoters[h.voter] = true
		}
		if spendTx[txAt(h.lsn)] {
			linked++
			t.Errorf("voter %d's %s is in a WAL record of a transaction that spent a code", h.voter, h.what)
		}
	}
	if len(foundVoters) < len(answers)*95/100 {
		t.Fatalf("positive control: only %d of %d ballots found in the WAL of the close (the scan is broken)", len(foundVoters), len(answers))
	}
	t.Logf("WAL from %s to %s: %d records, %d spends; %d ballots found in the clear, %d of them in WAL written while voting was open, %d in a transaction with a spend mark (%d matches in other databases' records ignored)",
		start, end, len(recs), len(spendTx), len(foundVoters), duringVoting, linked, others)
	_ = fmt.Sprint
	_ = dsn
}
