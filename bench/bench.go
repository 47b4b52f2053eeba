package bench

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

	"minping/assets"
	"minping/survey"
	"minping/survey/groupcommit"
	"minping/survey/sqlite"
)

// Targets (issue: performance).
const (
	targetBallotRatio = 0.50                   // ballots/s ÷ raw group commit, at the most clients
	targetPageRatio   = 0.25                   // ballot page rate ÷ minimal request rate
	targetRSS         = 150 << 20              // peak resident memory
	targetP99Few      = 100 * time.Millisecond // at 64 clients or fewer
	targetP99Many     = 200 * time.Millisecond // above
)

// Config is a load test's shape, from ParseFlags.
type Config struct {
	clients    []int
	duration   time.Duration
	rounds     int
	codes      int
	cpuProfile string
	db         string
}

// DB is the PostgreSQL database the bench runs minping on, "" for the
// embedded SQLite.
func (c Config) DB() string { return c.db }

// ParseFlags reads the bench's flags; a bad one is an error naming it.
func ParseFlags(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	clients := fs.String("clients", "64,256", "concurrent clients, one run of every phase per number")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "length of each phase, over all its slices")
	fs.IntVar(&c.rounds, "rounds", 5, "slices each phase is run in, taking turns with the other phases")
	fs.IntVar(&c.codes, "codes", 200000, "codes to issue; ballot phases end early if they run out")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured phases (server and clients) to this file")
	fs.StringVar(&c.db, "db", "", "run minping on this PostgreSQL database (postgres://…, a scratch one: the bench's rounds stay in it), with the raw baseline in a table there; default the embedded SQLite")
	if err := fs.Parse(args); err != nil {
		return c, UsageError{err}
	}
	if fs.NArg() > 0 {
		return c, UsageError{fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))}
	}
	for _, f := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return c, UsageError{fmt.Errorf("bench: -clients %q: want numbers in 1..4096, comma separated", *clients)}
		}
		c.clients = append(c.clients, n)
	}
	if c.duration <= 0 || c.duration > 10*time.Minute {
		return c, UsageError{fmt.Errorf("bench: -duration %s: want up to 10m", c.duration)}
	}
	if c.rounds < 1 || c.rounds > 100 || c.duration/time.Duration(c.rounds) < 10*time.Millisecond {
		return c, UsageError{fmt.Errorf("bench: -rounds %d: want 1..100, each slice of -duration at least 10ms", c.rounds)}
	}
	if c.codes < 100 || c.codes > 2_000_000 {
		return c, UsageError{fmt.Errorf("bench: -codes %d: want 100..2000000", c.codes)}
	}
	return c, nil
}

// UsageError is a bad flag: the command exits with status 2.
type UsageError struct{ error }

func (e UsageError) Unwrap() error { return e.error }

// Target is the minping under load, started by the caller on loopback.
type Target struct {
	URL   string // where it serves, e.g. http://127.0.0.1:41234
	Token string // an administrator's bearer token
	// Writer reads the ballot writer's totals, so that the bench can say how
	// many ballots each commit carried.
	Writer func() survey.WriterStats
	// Dir is a scratch directory for the raw group-commit baseline.
	Dir string
	// Raw, when set, is the raw baseline's table in the target's own
	// database (PostgreSQL); else an SQLite file in Dir holds it.
	Raw *RawTable
}

// RawTable is where the raw group-commit baseline writes: a database with
// the store's durability settings, holding a table of the store's ballot
// rows, and the statement inserting one (id, round_id, unit, category,
// answers, in that order).
type RawTable struct {
	DB     *sql.DB
	Insert string
	// Writers is how many ballot writers the store has, so many commit
	// raw groups at once [1, as SQLite's].
	Writers int
}

// verdicts are the targets a run checked, in order.
type verdicts []verdict

type verdict struct {
	what string
	ok   bool
}

func (v *verdicts) check(what string, ok bool) { *v = append(*v, verdict{what, ok}) }

// Run sets up the example round on t, runs every phase for each number of
// clients, prints the figures and the ratios against the targets to
// stdout, and returns an error if a target is missed.
func Run(ctx context.Context, cfg Config, t Target, stdout io.Writer) error {
	def, err := survey.ParseDefinition(assets.Example())
	if err != nil {
		return fmt.Errorf("bench: example round: %w", err)
	}
	admin := &benchAPI{base: t.URL, token: t.Token, client: &http.Client{Timeout: 5 * time.Minute}}
	u, err := url.Parse(t.URL)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	start := time.Now()
	round, pool, err := setUpRound(admin, def, cfg.codes)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "minping bench: %s — %d units × %d categories, %d answers per ballot on average; %d codes issued in %s; %s per phase in %d turns; GOMAXPROCS %d\n",
		def.Name, len(def.Units), len(def.Categories), pool.meanAnswers(), len(pool.codes)+len(pool.groups), time.Since(start).Round(time.Millisecond), cfg.duration, cfg.rounds, runtime.GOMAXPROCS(0))

	table := t.Raw
	if table == nil {
		db, err := sqlite.OpenBallotTable(filepath.Join(t.Dir, "raw.db"))
		if err != nil {
			return fmt.Errorf("bench: raw database: %w", err)
		}
		defer db.Close()
		table = &RawTable{DB: db, Insert: `INSERT INTO ballots (id, round_id, unit, category, answers) VALUES (?, ?, ?, ?, ?)`}
	}
	raw := startRawBaseline(table, round)
	defer raw.close()
	if cfg.cpuProfile != "" {
		stop, err := startCPUProfile(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	m := &measure{cfg: cfg, host: u.Host, pool: pool, raw: raw, writer: t.Writer, out: stdout}
	fmt.Fprintf(stdout, "%-8s %-24s %10s %9s %9s %9s %6s\n", "clients", "phase", "per second", "p50", "p99", "CPU/op", "failed")
	m.flush(ctx)
	for _, c := range cfg.clients {
		m.clients(ctx, c, c == slices.Max(cfg.clients))
	}

	// Every acknowledged ballot must have spent its code.
	voted, err := admin.voted(round)
	if err != nil {
		return err
	}
	m.verdicts.check(fmt.Sprintf("acknowledged ballots %d, turnout counts %d voted", m.acknowledged, voted), voted == m.acknowledged)
	m.verdicts.check(fmt.Sprintf("ballot page on the wire %.1f KB gzip (target ≤ 10 KB)", float64(m.pageBytes)/1024), m.pageBytes > 0 && m.pageBytes <= 10<<10)
	rss := peakRSS()
	m.verdicts.check(fmt.Sprintf("peak RSS %d MB (target ≤ %d MB)", rss>>20, targetRSS>>20), rss > 0 && rss <= targetRSS)
	return m.verdicts.report(stdout)
}

// report prints each verdict and returns an error if one was missed.
func (v verdicts) report(stdout io.Writer) error {
	missed := 0
	for _, v := range v {
		mark := "ok  "
		if !v.ok {
			mark = "MISS"
			missed++
		}
		fmt.Fprintf(stdout, "%s %s\n", mark, v.what)
	}
	if missed > 0 {
		return fmt.Errorf("bench: %d target(s) missed", missed)
	}
	return nil
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// measure is a run in progress: what its phases share and what they found.
type measure struct {
	cfg    Config
	host   string
	pool   *codePool
	raw    *rawBaseline
	writer func() survey.WriterStats
	out    io.Writer

	verdicts     verdicts
	acknowledged int // ballots answered 201
	pageBytes    int // the ballot page's size on the wire
}

func (m *measure) line(c int, name string, r phaseResult) {
	fmt.Fprintf(m.out, "%-8d %-24s %10.0f %9s %9s %9s %6d%s\n", c, name, r.rate(), fmtDur(r.pct(50)), fmtDur(r.pct(99)), fmtDur(r.cpuPerOp()), r.failed, r.note())
}

// flush measures what this disk's flush costs: one writer committing one
// row at a time (every commit waits for its fsync). The ballot ÷ raw ratio
// depends on it: where flushing is slow, group commit is bound by it and a
// ballot's other work hides behind it; where it is fast, that work shows.
func (m *measure) flush(ctx context.Context) {
	groups := m.pool.groups
	single := runPhase(ctx, 1, min(m.cfg.duration, 2*time.Second), func(int) (bool, bool, error) {
		if !m.raw.insert(&groups[mrand.IntN(len(groups))]) {
			return false, true, errors.New("raw insert failed")
		}
		return true, true, nil
	})
	m.line(1, "raw, a commit per row", single)
	fmt.Fprintf(m.out, "%-8s %-24s %s per single-row durable commit\n", "", "  the disk's flush", fmtDur(time.Duration(float64(time.Second)/single.rate())))
}

// phases is what the four phases measured at one number of clients.
type phases struct {
	minimal, page, ballots, raw phaseResult
	roundRatios                 []float64 // ballots ÷ raw in each round, to show the spread
	writer                      survey.WriterStats
}

// clients runs the four phases with c clients, taking turns a slice of
// each per round so that a shared machine's speed, which drifts over
// seconds, weighs on each phase alike; then prints and checks them.
func (m *measure) clients(ctx context.Context, c int, most bool) {
	var p phases
	var wire atomic.Int64
	// One connection per client, kept alive through every phase.
	cs := make([]*loadConn, c)
	for i := range cs {
		cs[i] = newLoadConn(m.host)
	}
	defer closeAll(cs)
	slice := m.cfg.duration / time.Duration(m.cfg.rounds)
	for range m.cfg.rounds {
		m.round(ctx, &p, cs, slice, &wire)
	}
	m.pageBytes = int(wire.Load())
	m.acknowledged += p.ballots.ok
	m.report(c, &p, most)
}

// round runs one slice of each phase.
func (m *measure) round(ctx context.Context, p *phases, cs []*loadConn, slice time.Duration, wire *atomic.Int64) {
	groups := m.pool.groups
	c := len(cs)
	p.minimal.add(runPhase(ctx, c, slice, func(w int) (bool, bool, error) {
		return cs[w].expect(http.MethodGet, "/healthz", nil, nil, http.StatusOK, nil)
	}))
	p.page.add(runPhase(ctx, c, slice, func(w int) (bool, bool, error) {
		g := &groups[mrand.IntN(len(groups))]
		var n int64
		ok, more, err := cs[w].expect(http.MethodGet, "/b/"+g.pageCode, acceptGzip, nil, http.StatusOK, &n)
		wire.Store(n)
		return ok, more, err
	}))
	var ballotSlice phaseResult
	if !p.ballots.exhausted {
		w0 := m.writer()
		ballotSlice = runPhase(ctx, c, slice, func(w int) (bool, bool, error) {
			sl, ok := m.pool.take()
			if !ok {
				return false, false, nil
			}
			g := &groups[sl.group]
			body := g.bodies[mrand.IntN(len(g.bodies))]
			return cs[w].expect(http.MethodPost, "/api/v1/ballots/"+sl.code, jsonBody, body, http.StatusCreated, nil)
		})
		p.ballots.add(ballotSlice)
		w1 := m.writer()
		p.writer.Commits += w1.Commits - w0.Commits
		p.writer.Submissions += w1.Submissions - w0.Submissions
		p.writer.Busy += w1.Busy - w0.Busy
	}
	rawSlice := runPhase(ctx, c, slice, func(w int) (bool, bool, error) {
		if !m.raw.insert(&groups[mrand.IntN(len(groups))]) {
			return false, true, errors.New("raw insert failed")
		}
		return true, true, nil
	})
	p.raw.add(rawSlice)
	if ballotSlice.ok > 0 && rawSlice.ok > 0 && !ballotSlice.exhausted {
		p.roundRatios = append(p.roundRatios, ratio(ballotSlice.rate(), rawSlice.rate()))
	}
}

// report prints what c clients measured and checks it against the targets;
// the ballot ratio's target holds at the most clients.
func (m *measure) report(c int, p *phases, most bool) {
	m.line(c, "minimal (GET /healthz)", p.minimal)
	m.line(c, "ballot page (GET /b/…)", p.page)
	m.line(c, "ballots (POST, durable)", p.ballots)
	if w := p.writer; w.Commits > 0 {
		fmt.Fprintf(m.out, "%-8d %-24s %d commits of %.1f ballots on average; busy %.0f%% of the phase\n", c, "  the ballot writer", w.Commits,
			float64(w.Submissions)/float64(w.Commits), 100*w.Busy.Seconds()/p.ballots.elapsed.Seconds())
	}
	m.line(c, "raw group commit (SQL)", p.raw)

	br := ratio(p.ballots.rate(), p.raw.rate())
	pr := ratio(p.page.rate(), p.minimal.rate())
	spread := ""
	if len(p.roundRatios) > 1 {
		spread = fmt.Sprintf(" (%.2f–%.2f in its %d rounds)", slices.Min(p.roundRatios), slices.Max(p.roundRatios), len(p.roundRatios))
	}
	fmt.Fprintf(m.out, "%-8d ballots ÷ raw group commit %.2f%s · page ÷ minimal %.2f · ballots ÷ minimal %.2f · minimal ÷ raw group commit %.2f (what a handler costing nothing would reach)\n",
		c, br, spread, pr, ratio(p.ballots.rate(), p.minimal.rate()), ratio(p.minimal.rate(), p.raw.rate()))
	if most {
		m.verdicts.check(fmt.Sprintf("ballots ÷ raw group commit at %d clients = %.2f (target ≥ %.2f)", c, br, targetBallotRatio), br >= targetBallotRatio)
	}
	m.verdicts.check(fmt.Sprintf("page ÷ minimal at %d clients = %.2f (target ≥ %.2f)", c, pr, targetPageRatio), pr >= targetPageRatio)
	limit := targetP99Few
	if c > 64 {
		limit = targetP99Many
	}
	m.verdicts.check(fmt.Sprintf("ballot p99 at %d clients = %s (target ≤ %s)", c, fmtDur(p.ballots.pct(99)), limit), p.ballots.pct(99) <= limit)
	failed := p.minimal.failed + p.page.failed + p.ballots.failed + p.raw.failed
	m.verdicts.check(fmt.Sprintf("failed requests at %d clients = %d (target 0)", c, failed), failed == 0)
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
				req, _ := json.Marshal(batchJSON{Unit: u.ID, Category: c.ID, Count: k})
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
		var doc ballotJSON
		if err := a.call(http.MethodGet, "/api/v1/ballots/"+g.pageCode, "", nil, http.StatusOK, &doc); err != nil {
			return "", nil, err
		}
		for v := 0; v < 16; v++ {
			body, err := json.Marshal(submitJSON{Answers: benchAnswers(&doc)})
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
func benchAnswers(doc *ballotJSON) []answerJSON {
	var out []answerJSON
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
				out = append(out, answerJSON{Form: f.ID, Subject: s.ID, Item: row, Option: opt})
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
// rows inserted into a table of the store's with the same durability, by
// as many writers as the store has, each committing what waits as one
// transaction (survey/groupcommit, the stores' own) and answering each
// waiter after the commit.
type rawBaseline struct {
	table  *RawTable
	round  string
	writer *groupcommit.Queue[rawRow]
}

type rawRow struct {
	unit, category string
	answers        []byte
	result         chan error
}

// startRawBaseline starts the baseline's writers on table.
func startRawBaseline(table *RawTable, round string) *rawBaseline {
	b := &rawBaseline{table: table, round: round}
	b.writer = groupcommit.New(func(group []rawRow) {
		err := b.commit(group)
		for _, r := range group {
			r.result <- err
		}
	}, groupcommit.Options{Writers: table.Writers})
	return b
}

// close stops the writers; the caller closes the table's database.
func (b *rawBaseline) close() { b.writer.Close() }

// insert stores one ballot of the group and returns once it is durable.
func (b *rawBaseline) insert(g *benchGroup) bool {
	answers := make([]byte, g.slots)
	for i := range answers {
		answers[i] = byte(mrand.IntN(4))
	}
	r := rawRow{unit: g.unit, category: g.category, answers: answers, result: make(chan error, 1)}
	return b.writer.Do(context.Background(), r, r.result) == nil
}

func (b *rawBaseline) commit(group []rawRow) error {
	tx, err := b.table.DB.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insert, err := tx.Prepare(b.table.Insert)
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
