package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // the raw group-commit baseline speaks to SQLite directly

	"minping/assets"
	"minping/survey"
	"minping/survey/sqlite"
)

// The load command. `minping bench` starts minping in this process on
// loopback with a temporary data directory, defines the example round,
// issues codes over its units and categories, opens it, and then, for each
// number of concurrent clients, measures in turn: the minimal request
// (GET /healthz), the cached ballot page (GET /b/CODE, gzip), durable
// ballots (POST /api/v1/ballots/CODE), and the limit those ballots are held
// to — raw durable group-commit inserts of the same rows into a separate
// SQLite file with the same pragmas and table. The four take turns in
// slices (-rounds), so that each ratio compares rates measured over the same
// stretch of time. It prints each rate with its latencies and the ratios
// against the targets, and fails if one is missed. Rates on a shared machine
// drift; ratios measured side by side drift far less.

// Targets (issue: performance).
const (
	targetBallotRatio = 0.50                   // ballots/s ÷ raw group commit, at the most clients
	targetPageRatio   = 0.25                   // ballot page rate ÷ minimal request rate
	targetRSS         = 150 << 20              // peak resident memory
	targetP99Few      = 100 * time.Millisecond // at 64 clients or fewer
	targetP99Many     = 200 * time.Millisecond // above
)

type benchConfig struct {
	clients    []int
	duration   time.Duration
	rounds     int
	codes      int
	cpuProfile string
}

func parseBenchFlags(args []string, stderr io.Writer) (benchConfig, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c benchConfig
	clients := fs.String("clients", "64,256", "concurrent clients, one run of every phase per number")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "length of each phase, over all its slices")
	fs.IntVar(&c.rounds, "rounds", 5, "slices each phase is run in, taking turns with the other phases")
	fs.IntVar(&c.codes, "codes", 200000, "codes to issue; ballot phases end early if they run out")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured phases (server and clients) to this file")
	if err := fs.Parse(args); err != nil {
		return c, usageError{err}
	}
	if fs.NArg() > 0 {
		return c, usageError{fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))}
	}
	for _, f := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return c, usageError{fmt.Errorf("bench: -clients %q: want numbers in 1..4096, comma separated", *clients)}
		}
		c.clients = append(c.clients, n)
	}
	if c.duration <= 0 || c.duration > 10*time.Minute {
		return c, usageError{fmt.Errorf("bench: -duration %s: want up to 10m", c.duration)}
	}
	if c.rounds < 1 || c.rounds > 100 || c.duration/time.Duration(c.rounds) < 10*time.Millisecond {
		return c, usageError{fmt.Errorf("bench: -rounds %d: want 1..100, each slice of -duration at least 10ms", c.rounds)}
	}
	if c.codes < 100 || c.codes > 2_000_000 {
		return c, usageError{fmt.Errorf("bench: -codes %d: want 100..2000000", c.codes)}
	}
	return c, nil
}

// benchCommand runs the load test and prints its figures to stdout.
func benchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "minping-bench-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)

	// minping itself, in this process, on a loopback port of its choosing.
	// Its log goes to a file, as a service's goes to the journal, so that
	// what logging costs is part of what is measured.
	logFile, err := os.Create(filepath.Join(dir, "minping.log"))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer logFile.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	token := survey.NewToken()
	addr := newAddrCatcher()
	served := make(chan error, 1)
	stores := make(chan *sqlite.Store, 1)
	go func() {
		served <- serve(ctx, config{
			Addr: "127.0.0.1:0", Data: filepath.Join(dir, "data"),
			AdminToken: token, AdminPassword: survey.NewToken(),
			opened: func(s *sqlite.Store) { stores <- s },
		}, addr, logFile)
	}()
	var base string
	var store *sqlite.Store
	select {
	case base = <-addr.url:
		store = <-stores
	case err := <-served:
		return fmt.Errorf("bench: start minping: %w", err)
	case <-time.After(30 * time.Second):
		return errors.New("bench: minping did not start within 30 s")
	}
	defer func() {
		cancel()
		<-served
	}()

	def, err := survey.ParseDefinition(assets.Example())
	if err != nil {
		return fmt.Errorf("bench: example round: %w", err)
	}
	admin := &benchAPI{base: base, token: token, client: &http.Client{Timeout: 5 * time.Minute}}
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	host := u.Host
	start := time.Now()
	round, pool, err := setUpRound(admin, def, cfg.codes)
	if err != nil {
		return err
	}
	issuing := time.Since(start)
	groups := pool.groups
	fmt.Fprintf(stdout, "minping bench: %s — %d units × %d categories, %d answers per ballot on average; %d codes issued in %s; %s per phase in %d turns; GOMAXPROCS %d\n",
		def.Name, len(def.Units), len(def.Categories), pool.meanAnswers(), len(pool.codes)+len(groups), issuing.Round(time.Millisecond), cfg.duration, cfg.rounds, runtime.GOMAXPROCS(0))

	raw, err := openRawBaseline(filepath.Join(dir, "data", "minping.db"), filepath.Join(dir, "raw.db"), round)
	if err != nil {
		return err
	}
	defer raw.close()

	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(stdout, "%-8s %-24s %10s %9s %9s %9s %6s\n", "clients", "phase", "per second", "p50", "p99", "CPU/op", "failed")
	line := func(c int, name string, r phaseResult) {
		fmt.Fprintf(stdout, "%-8d %-24s %10.0f %9s %9s %9s %6d%s\n", c, name, r.rate(), fmtDur(r.pct(50)), fmtDur(r.pct(99)), fmtDur(r.cpuPerOp()), r.failed, r.note())
	}
	type verdict struct {
		what string
		ok   bool
	}
	var verdicts []verdict
	check := func(what string, ok bool) { verdicts = append(verdicts, verdict{what, ok}) }
	var acknowledged int
	var pageBytes int

	// What this disk's flush costs: one writer committing one row at a time
	// (every commit waits for its fsync). The ballot ÷ raw ratio depends on
	// it: where flushing is slow, group commit is bound by it and a ballot's
	// other work hides behind it; where it is fast, that work shows.
	single := runPhase(ctx, 1, min(cfg.duration, 2*time.Second), func(int) (bool, bool, error) {
		if !raw.insert(&groups[mrand.IntN(len(groups))]) {
			return false, true, errors.New("raw insert failed")
		}
		return true, true, nil
	})
	line(1, "raw, a commit per row", single)
	fmt.Fprintf(stdout, "%-8s %-24s %s per single-row durable commit\n", "", "  the disk's flush", fmtDur(time.Duration(float64(time.Second)/single.rate())))

	for _, c := range cfg.clients {
		// The four phases take turns, a slice of each per round, so that a
		// shared machine's speed, which drifts over seconds, weighs on each
		// phase alike.
		var minimal, page, ballots, rawr phaseResult
		var roundRatios []float64 // ballots ÷ raw in each round, to show the spread
		var wire atomic.Int64
		var writer sqlite.WriterStats
		// One connection per client, kept alive through every phase.
		cs := make([]*loadConn, c)
		for i := range cs {
			cs[i] = newLoadConn(host)
		}
		slice := cfg.duration / time.Duration(cfg.rounds)
		for range cfg.rounds {
			minimal.add(runPhase(ctx, c, slice, func(w int) (bool, bool, error) {
				return cs[w].expect(http.MethodGet, "/healthz", nil, nil, http.StatusOK, nil)
			}))
			page.add(runPhase(ctx, c, slice, func(w int) (bool, bool, error) {
				g := &groups[mrand.IntN(len(groups))]
				var n int64
				ok, more, err := cs[w].expect(http.MethodGet, "/b/"+g.pageCode, acceptGzip, nil, http.StatusOK, &n)
				wire.Store(n)
				return ok, more, err
			}))
			var ballotSlice phaseResult
			if !ballots.exhausted {
				w0 := store.WriterStats()
				ballotSlice = runPhase(ctx, c, slice, func(w int) (bool, bool, error) {
					sl, ok := pool.take()
					if !ok {
						return false, false, nil
					}
					g := &groups[sl.group]
					body := g.bodies[mrand.IntN(len(g.bodies))]
					return cs[w].expect(http.MethodPost, "/api/v1/ballots/"+sl.code, jsonBody, body, http.StatusCreated, nil)
				})
				ballots.add(ballotSlice)
				w1 := store.WriterStats()
				writer.Commits += w1.Commits - w0.Commits
				writer.Submissions += w1.Submissions - w0.Submissions
				writer.Busy += w1.Busy - w0.Busy
			}
			rawSlice := runPhase(ctx, c, slice, func(w int) (bool, bool, error) {
				g := &groups[mrand.IntN(len(groups))]
				if !raw.insert(g) {
					return false, true, errors.New("raw insert failed")
				}
				return true, true, nil
			})
			rawr.add(rawSlice)
			if ballotSlice.ok > 0 && rawSlice.ok > 0 && !ballotSlice.exhausted {
				roundRatios = append(roundRatios, ratio(ballotSlice.rate(), rawSlice.rate()))
			}
		}
		closeAll(cs)
		pageBytes = int(wire.Load())
		acknowledged += ballots.ok

		line(c, "minimal (GET /healthz)", minimal)
		line(c, "ballot page (GET /b/…)", page)
		line(c, "ballots (POST, durable)", ballots)
		if writer.Commits > 0 {
			fmt.Fprintf(stdout, "%-8d %-24s %d commits of %.1f ballots on average; busy %.0f%% of the phase\n", c, "  the ballot writer", writer.Commits,
				float64(writer.Submissions)/float64(writer.Commits), 100*writer.Busy.Seconds()/ballots.elapsed.Seconds())
		}
		line(c, "raw group commit (SQL)", rawr)

		br := ratio(ballots.rate(), rawr.rate())
		pr := ratio(page.rate(), minimal.rate())
		spread := ""
		if len(roundRatios) > 1 {
			spread = fmt.Sprintf(" (%.2f–%.2f in its %d rounds)", slices.Min(roundRatios), slices.Max(roundRatios), len(roundRatios))
		}
		fmt.Fprintf(stdout, "%-8d ballots ÷ raw group commit %.2f%s · page ÷ minimal %.2f · ballots ÷ minimal %.2f · minimal ÷ raw group commit %.2f (what a handler costing nothing would reach)\n",
			c, br, spread, pr, ratio(ballots.rate(), minimal.rate()), ratio(minimal.rate(), rawr.rate()))
		if c == slices.Max(cfg.clients) {
			check(fmt.Sprintf("ballots ÷ raw group commit at %d clients = %.2f (target ≥ %.2f)", c, br, targetBallotRatio), br >= targetBallotRatio)
		}
		check(fmt.Sprintf("page ÷ minimal at %d clients = %.2f (target ≥ %.2f)", c, pr, targetPageRatio), pr >= targetPageRatio)
		limit := targetP99Few
		if c > 64 {
			limit = targetP99Many
		}
		check(fmt.Sprintf("ballot p99 at %d clients = %s (target ≤ %s)", c, fmtDur(ballots.pct(99)), limit), ballots.pct(99) <= limit)
		failed := minimal.failed + page.failed + ballots.failed + rawr.failed
		check(fmt.Sprintf("failed requests at %d clients = %d (target 0)", c, failed), failed == 0)
	}

	// Every acknowledged ballot must have spent its code.
	voted, err := admin.voted(round)
	if err != nil {
		return err
	}
	check(fmt.Sprintf("acknowledged ballots %d, turnout counts %d voted", acknowledged, voted), voted == acknowledged)
	check(fmt.Sprintf("ballot page on the wire %.1f KB gzip (target ≤ 10 KB)", float64(pageBytes)/1024), pageBytes > 0 && pageBytes <= 10<<10)
	rss := peakRSS()
	check(fmt.Sprintf("peak RSS %d MB (target ≤ %d MB)", rss>>20, targetRSS>>20), rss > 0 && rss <= targetRSS)

	var missed []string
	for _, v := range verdicts {
		mark := "ok  "
		if !v.ok {
			mark = "MISS"
			missed = append(missed, v.what)
		}
		fmt.Fprintf(stdout, "%s %s\n", mark, v.what)
	}
	if len(missed) > 0 {
		return fmt.Errorf("bench: %d target(s) missed", len(missed))
	}
	return nil
}

// addrCatcher is serve's stdout: it passes nothing on and reports the URL
// from serve's "serving on" line.
type addrCatcher struct {
	mu   sync.Mutex
	buf  []byte
	url  chan string
	done bool
}

func newAddrCatcher() *addrCatcher { return &addrCatcher{url: make(chan string, 1)} }

func (a *addrCatcher) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		return len(p), nil
	}
	a.buf = append(a.buf, p...)
	if _, rest, ok := bytes.Cut(a.buf, []byte("serving on ")); ok {
		if u, _, ok := bytes.Cut(rest, []byte(" ")); ok {
			a.done = true
			a.url <- string(u)
		}
	}
	return len(p), nil
}

// benchAPI makes the organiser's calls.
type benchAPI struct {
	base, token string
	client      *http.Client
}

func (a *benchAPI) call(method, path, contentType string, body []byte, want int, out any) error {
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("bench: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("bench: %s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("bench: %s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// benchGroup is one unit × category: a code kept unspent for the page
// phase, and ballot bodies answering its layout.
type benchGroup struct {
	unit, category string
	slots          int // answers per ballot
	pageCode       string
	bodies         [][]byte
}

type benchSlip struct {
	code  string
	group int
}

// codePool hands out each issued code once, in random order across groups.
type codePool struct {
	groups []benchGroup
	codes  []benchSlip
	next   atomic.Int64
}

func (p *codePool) take() (benchSlip, bool) {
	i := p.next.Add(1) - 1
	if i >= int64(len(p.codes)) {
		return benchSlip{}, false
	}
	return p.codes[i], true
}

func (p *codePool) meanAnswers() int {
	n := 0
	for _, g := range p.groups {
		n += g.slots
	}
	return n / max(len(p.groups), 1)
}

// setUpRound defines the example round, issues about n codes spread over
// every unit and category, opens the round and builds, from each group's
// GET /api/v1/ballots, valid ballots that answer everything.
func setUpRound(a *benchAPI, def *survey.Definition, n int) (string, *codePool, error) {
	var created struct{ ID string }
	if err := a.call(http.MethodPost, "/api/v1/rounds", "application/yaml", assets.Example(), http.StatusCreated, &created); err != nil {
		return "", nil, err
	}
	pool := &codePool{}
	per := (n + len(def.Units)*len(def.Categories) - 1) / (len(def.Units) * len(def.Categories))
	for _, u := range def.Units {
		for _, c := range def.Categories {
			gi := len(pool.groups)
			pool.groups = append(pool.groups, benchGroup{unit: u.ID, category: c.ID, slots: len(def.Layout(&u, c.ID))})
			for left := per + 1; left > 0; { // one more: the page phase's code
				k := min(left, survey.MaxBatch)
				left -= k
				var batch struct{ Codes []string }
				req, _ := json.Marshal(batchRequest{Unit: u.ID, Category: c.ID, Count: k})
				if err := a.call(http.MethodPost, "/api/v1/rounds/"+created.ID+"/batches", "application/json", req, http.StatusCreated, &batch); err != nil {
					return "", nil, err
				}
				for _, code := range batch.Codes {
					if pool.groups[gi].pageCode == "" {
						pool.groups[gi].pageCode = code
						continue
					}
					pool.codes = append(pool.codes, benchSlip{code, gi})
				}
			}
		}
	}
	mrand.Shuffle(len(pool.codes), func(i, j int) { pool.codes[i], pool.codes[j] = pool.codes[j], pool.codes[i] })
	if err := a.call(http.MethodPost, "/api/v1/rounds/"+created.ID+"/open", "", nil, http.StatusOK, nil); err != nil {
		return "", nil, err
	}
	for i := range pool.groups {
		g := &pool.groups[i]
		var doc ballotDoc
		if err := a.call(http.MethodGet, "/api/v1/ballots/"+g.pageCode, "", nil, http.StatusOK, &doc); err != nil {
			return "", nil, err
		}
		for v := 0; v < 16; v++ {
			body, err := json.Marshal(submitRequest{Answers: benchAnswers(&doc)})
			if err != nil {
				return "", nil, err
			}
			g.bodies = append(g.bodies, body)
		}
	}
	return created.ID, pool, nil
}

// benchAnswers answers every row of every form a voter is asked, at random
// but within each form's top_limit; one answer in ten is the abstain label.
func benchAnswers(doc *ballotDoc) []survey.Answer {
	var out []survey.Answer
	for _, f := range doc.Forms {
		rows := f.Items
		if f.Overall != "" {
			rows = append(slices.Clip(rows), f.Overall)
		}
		tops := map[string]int{} // top options given per row
		for _, s := range f.Subjects {
			for _, row := range rows {
				opt := f.Options[mrand.IntN(len(f.Options))]
				limited := f.TopLimit > 0 && (row == f.Overall || f.Overall == "")
				if limited && opt == f.Options[0] {
					if tops[row] >= f.TopLimit {
						opt = f.Options[1]
					} else {
						tops[row]++
					}
				}
				if f.Abstain != "" && mrand.IntN(10) == 0 {
					opt = f.Abstain
				}
				out = append(out, survey.Answer{Form: f.ID, Subject: s.ID, Item: row, Option: opt})
			}
		}
	}
	return out
}

// voted is the round's turnout: codes spent.
func (a *benchAPI) voted(round string) (int, error) {
	var t turnoutJSON
	if err := a.call(http.MethodGet, "/api/v1/rounds/"+round+"/turnout", "", nil, http.StatusOK, &t); err != nil {
		return 0, err
	}
	n := 0
	for _, u := range t.Units {
		n += u.Voted
	}
	return n, nil
}

var (
	acceptGzip = []string{"Accept-Encoding: gzip"}
	jsonBody   = []string{"Content-Type: application/json"}
)

// expect makes one request and reads the whole answer; ok when the status
// is want. n, if not nil, receives the bytes of the body as sent.
func (lc *loadConn) expect(method, target string, headers []string, body []byte, want int, n *int64) (ok, more bool, err error) {
	status, k, err := lc.do(method, target, headers, body)
	if n != nil {
		*n = k
	}
	if err != nil {
		return false, true, err
	}
	if status != want {
		return false, true, fmt.Errorf("%s %s: status %d, want %d", method, target, status, want)
	}
	return true, true, nil
}

func closeAll(cs []*loadConn) {
	for _, c := range cs {
		c.drop()
	}
}

// phaseResult is what one phase measured.
type phaseResult struct {
	ok, failed int
	elapsed    time.Duration
	latencies  []time.Duration // of successful requests, sorted
	cpu        time.Duration   // CPU time of the whole process (server and clients)
	exhausted  bool
	firstErr   error
}

// add merges another slice of the same phase into r.
func (r *phaseResult) add(o phaseResult) {
	r.ok += o.ok
	r.failed += o.failed
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.latencies = append(r.latencies, o.latencies...)
	slices.Sort(r.latencies)
	r.exhausted = r.exhausted || o.exhausted
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
}

func (r phaseResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

func (r phaseResult) pct(p int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, len(r.latencies)*p/100)]
}

func (r phaseResult) note() string {
	var s string
	if r.exhausted {
		s += "  (codes ran out after " + r.elapsed.Round(time.Millisecond).String() + ")"
	}
	if r.firstErr != nil {
		s += "  first failure: " + r.firstErr.Error()
	}
	return s
}

// runPhase calls op from c goroutines until d has passed, or until op says
// there is nothing more to do. op reports whether its request succeeded.
func runPhase(ctx context.Context, c int, d time.Duration, op func(worker int) (ok, more bool, err error)) phaseResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type tally struct {
		ok, failed int
		lat        []time.Duration
		exhausted  bool
		err        error
	}
	tallies := make([]tally, c)
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), processCPU()
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := &tallies[w]
			t.lat = make([]time.Duration, 0, 1024)
			for ctx.Err() == nil {
				t0 := time.Now()
				ok, more, err := op(w)
				if !more && !ok && err == nil {
					t.exhausted = true
					cancel()
					return
				}
				if ok {
					t.ok++
					t.lat = append(t.lat, time.Since(t0))
				} else {
					t.failed++
					if t.err == nil {
						t.err = err
					}
				}
			}
		}()
	}
	wg.Wait()
	r := phaseResult{elapsed: time.Since(start), cpu: processCPU() - cpu0}
	for _, t := range tallies {
		r.ok += t.ok
		r.failed += t.failed
		r.latencies = append(r.latencies, t.lat...)
		r.exhausted = r.exhausted || t.exhausted
		if r.firstErr == nil {
			r.firstErr = t.err
		}
	}
	slices.Sort(r.latencies)
	return r
}

// rawBaseline is the limit durable ballots are held to: the same ballot
// rows inserted into a separate SQLite file with the same pragmas and the
// same table, by one writer that commits whatever is waiting as one
// transaction and answers each waiter after the commit.
type rawBaseline struct {
	db    *sql.DB
	round string
	rows  chan rawRow
	done  chan struct{}
	wg    sync.WaitGroup
}

type rawRow struct {
	unit, category string
	answers        []byte
	result         chan error
}

// openRawBaseline creates path with the ballots table as minping created it
// in the database at minpingDB, and starts its writer.
func openRawBaseline(minpingDB, path, round string) (*rawBaseline, error) {
	src, err := sql.Open("sqlite3", "file:"+minpingDB+"?mode=ro")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var ddl string
	err = src.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ballots'`).Scan(&ddl)
	src.Close()
	if err != nil {
		return nil, fmt.Errorf("bench: ballots table: %w", err)
	}
	db, err := sql.Open("sqlite3", sqlite.DSN(path)) // the pragmas of sqlite.Open
	if err != nil {
		return nil, fmt.Errorf("bench: raw database: %w", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(ddl); err != nil {
		db.Close()
		return nil, fmt.Errorf("bench: raw database: %w", err)
	}
	var syncMode string
	if err := db.QueryRow(`PRAGMA synchronous`).Scan(&syncMode); err != nil || syncMode != "2" {
		db.Close()
		return nil, fmt.Errorf("bench: raw database: synchronous = %q, want 2 (FULL): %v", syncMode, err)
	}
	b := &rawBaseline{db: db, round: round, rows: make(chan rawRow, 4096), done: make(chan struct{})}
	b.wg.Add(1)
	go b.write()
	return b, nil
}

func (b *rawBaseline) close() {
	close(b.done)
	b.wg.Wait()
	b.db.Close()
}

// insert stores one ballot of the group and returns once it is durable.
func (b *rawBaseline) insert(g *benchGroup) bool {
	answers := make([]byte, g.slots)
	for i := range answers {
		answers[i] = byte(mrand.IntN(4))
	}
	r := rawRow{unit: g.unit, category: g.category, answers: answers, result: make(chan error, 1)}
	b.rows <- r
	return <-r.result == nil
}

func (b *rawBaseline) write() {
	defer b.wg.Done()
	group := make([]rawRow, 0, 512)
	for {
		select {
		case r := <-b.rows:
			group = append(group[:0], r)
		case <-b.done:
			return
		}
	gather:
		for len(group) < cap(group) {
			select {
			case r := <-b.rows:
				group = append(group, r)
			default:
				break gather
			}
		}
		err := b.commit(group)
		for _, r := range group {
			r.result <- err
		}
	}
}

func (b *rawBaseline) commit(group []rawRow) error {
	tx, err := b.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insert, err := tx.Prepare(`INSERT INTO ballots (id, round_id, unit, category, answers) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insert.Close()
	for _, r := range group {
		var id [16]byte
		rand.Read(id[:])
		if _, err := insert.Exec(id[:], b.round, r.unit, r.category, r.answers); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// peakRSS is the process's peak resident set (VmHWM), or 0 where /proc
// does not tell.
func peakRSS() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb << 10
		}
	}
	return 0
}

// cpuPerOp is the process's CPU time per successful request.
func (r phaseResult) cpuPerOp() time.Duration {
	if r.ok == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.ok)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}
