package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"minping/seal"
	"minping/survey"
	"minping/survey/sqlite"
	"minping/tally"
)

// schemeDef is a round of n units in types of perType, each with a
// principal and two deputies: 区领导 rate every unit on one sheet (all),
// each unit's 党政正职 rate every other unit of its type (others), on a
// team form of one row; the survey is 20 of a total of 100.
func schemeDef(n, perType int) []byte {
	var b strings.Builder
	b.WriteString(`name: 2000个单位的年度考核民主测评
scales:
  - id: level
    options: [{label: 好, points: 100}, {label: 较好, points: 80}, {label: 一般, points: 60}, {label: 差, points: 40}]
    abstain: 不了解
forms:
  - {id: team, title: 领导班子总体评价, rates: team, scale: level, items: [总体评价]}
categories:
  - {id: leaders, name: 区领导, sheet: all}
  - {id: heads, name: 同类单位党政正职, sheet: others}
components:
  - {id: public, name: 干部群众评价, points: 20, forms: [team], weights: {leaders: 50, heads: 50}}
total:
  points: 100
  parts: [{id: performance, name: 工作实绩, points: 80}]
grading:
  by: total
  grades: [{grade: 好, share: 20}, {grade: 较好, share: 60}, {grade: 一般}]
units:
`)
	for i := range n {
		fmt.Fprintf(&b, "  - {id: u%04d, name: 第%d单位, type: 类型%d, members: [{id: u%04d-1, name: 甲%d, principal: true}, {id: u%04d-2, name: 乙%d}, {id: u%04d-3, name: 丙%d}]}\n",
			i, i+1, i/perType, i, i, i, i, i, i)
	}
	return []byte(b.String())
}

// BenchmarkScheme2000 measures CONTRACT §5 at the issue's scale: a round of
// 2,000 units (20 types of 100) with an all sheet of 40 leaders and an
// others sheet for each unit's 正职 (2,000 slips, each rating the 99 other
// units of its type), over a real SQLite file and a real HTTP server on
// loopback. It reports the issuing time, the gzipped ballot page of the
// 2,000-row leader sheet, the time for that ballot's submit to be
// accepted, the seal and finalize times, and the process's peak RSS.
// Targets (issue 12): page ≤ 60 KB gzip, submit ≤ 200 ms, seal + finalize
// ≤ 10 s, peak RSS ≤ 400 MB. Run alone, so that the RSS is its own:
//
//	go test ./server -run '^$' -bench Scheme2000 -benchtime 1x
func BenchmarkScheme2000(b *testing.B) {
	for b.Loop() {
		runScheme2000(b, schemeUnits(), schemePerType(), 40)
	}
}

func runScheme2000(b *testing.B, units, perType, leaders int) {
	ctx := context.Background()
	dir := b.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "minping.db"), sqlite.Options{CodeKey: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	_, key, _ := ed25519.GenerateKey(nil)
	srv, err := New(store, key, Config{Data: dir, AdminToken: testAdminToken}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	admin := apiClient{t: b, base: ts.URL, token: testAdminToken}
	id := admin.createRound(schemeDef(units, perType))

	// Issuing: the leaders' batch and one 正职 slip per unit, one transaction.
	reqs := []survey.BatchRequest{{Category: "leaders", Count: leaders}}
	for i := range units {
		reqs = append(reqs, survey.BatchRequest{Unit: fmt.Sprintf("u%04d", i), Category: "heads", Count: 1})
	}
	start := time.Now()
	issued, err := store.IssueBatches(ctx, id, reqs)
	if err != nil {
		b.Fatal(err)
	}
	issue := time.Since(start)
	admin.state(id, "open")

	// One leader's ballot: the page, then the answers posted as JSON.
	code := issued[0].Codes[0]
	page := testRequest(b, ts.URL, "GET", "/b/"+code, "", nil, "Accept-Encoding", "gzip")
	if page.status != http.StatusOK {
		b.Fatalf("ballot page: %s", page)
	}
	d := admin.ballot(code)
	answers := answerAll(d, nil)
	start = time.Now()
	r := testRequest(b, ts.URL, "POST", "/api/v1/ballots/"+code, "", map[string]any{"answers": answers})
	submit := time.Since(start)
	if r.status != http.StatusCreated {
		b.Fatalf("submit: %.300s", r)
	}

	// Every other slip votes through the store, on every core.
	var codes []string
	for i, is := range issued {
		for k, c := range is.Codes {
			if i > 0 || k > 0 {
				codes = append(codes, c)
			}
		}
	}
	fill(b, store, codes)
	afterFill := processPeakRSS()
	start = time.Now()
	admin.state(id, "close") // opens the boxes the sheets' ballots waited in
	closed := time.Since(start)

	start = time.Now()
	admin.must(http.StatusOK, "POST", "/api/v1/rounds/"+id+"/seal", nil)
	sealed := time.Since(start)
	afterSeal := processPeakRSS()
	entries := make([]tally.Entry, units)
	for i := range entries {
		entries[i] = tally.Entry{Unit: fmt.Sprintf("u%04d", i), Parts: map[string]string{"performance": fmt.Sprintf("%d.5", 60+i%20)}}
	}
	admin.must(http.StatusOK, "PUT", "/api/v1/rounds/"+id+"/results", entries)
	start = time.Now()
	admin.must(http.StatusOK, "POST", "/api/v1/rounds/"+id+"/finalize", nil)
	finalized := time.Since(start)
	rep, err := seal.Recount(ctx, store, id)
	if err != nil || !rep.Identical() {
		b.Fatalf("recount: %v identical %v", err, rep != nil && rep.Identical())
	}

	b.ReportMetric(issue.Seconds(), "issue-s")
	b.ReportMetric(float64(len(page.body))/1024, "page-KB-gzip")
	b.ReportMetric(float64(submit.Milliseconds()), "submit-ms")
	b.ReportMetric(closed.Seconds(), "close-s")
	b.ReportMetric(sealed.Seconds(), "seal-s")
	b.ReportMetric(finalized.Seconds(), "finalize-s")
	b.ReportMetric(float64(processPeakRSS()>>20), "peak-RSS-MB")
	b.Logf("peak RSS after voting %d MB, after the seal %d MB", afterFill>>20, afterSeal>>20)
	b.Logf("%d units, %d slips, %d rows on the leader's sheet: issue %v, page %.1f KB gzip (target ≤ 60), submit %v (≤ 200 ms), close %v, seal %v + finalize %v (≤ 10 s), peak RSS %d MB (≤ 400)",
		units, len(codes)+1, len(answers), issue.Round(time.Millisecond), float64(len(page.body))/1024, submit.Round(time.Millisecond),
		closed.Round(time.Millisecond), sealed.Round(time.Millisecond), finalized.Round(time.Millisecond), processPeakRSS()>>20)
}

// fill casts a ballot (every row 较好) for each code, through the store.
func fill(b *testing.B, store *sqlite.Store, codes []string) {
	ctx := context.Background()
	var wg sync.WaitGroup
	next := make(chan string)
	for range 8 {
		wg.Go(func() {
			for code := range next {
				slip, err := store.Slip(ctx, code)
				if err != nil {
					b.Error(err)
					continue
				}
				sh := slip.Sheet()
				values := make([]int, sh.Len())
				for i := range values {
					values[i] = 1
				}
				ballot, err := sh.EncodeSlots(values)
				if err != nil {
					b.Error(err)
					continue
				}
				if err := store.Submit(ctx, slip, ballot); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for _, c := range codes {
		next <- c
	}
	close(next)
	wg.Wait()
}

// processPeakRSS is the process's peak resident set (VmHWM) in bytes, or 0
// where /proc is not there.
func processPeakRSS() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

// schemePerType is the units per type of BenchmarkScheme2000: 100, or
// MINPING_BENCH_PER_TYPE (2000 puts every unit in one type, so that each
// 正职's sheet rates 1,999 units: 4 million stored records).
func schemePerType() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("MINPING_BENCH_PER_TYPE"), &n); err == nil && n > 0 {
		return n
	}
	return 100
}

// schemeUnits is the units of BenchmarkScheme2000: 2,000, or
// MINPING_BENCH_UNITS.
func schemeUnits() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("MINPING_BENCH_UNITS"), &n); err == nil && n > 0 {
		return n
	}
	return 2000
}

// BenchmarkProvinceIssue issues a province's round in one go — 2,000
// units, 200 staff slips each: 400,000 codes, one transaction — and lays
// out one print part (1,000 slips with their QR codes): the issue's
// target is 400,000 codes in ≤ 20 s, and a print job of 400 parts each
// opened as the organiser prints.
//
//	go test ./server -run '^$' -bench ProvinceIssue -benchtime 1x
func BenchmarkProvinceIssue(b *testing.B) {
	for b.Loop() {
		ctx := context.Background()
		dir := b.TempDir()
		store, err := sqlite.Open(ctx, filepath.Join(dir, "minping.db"), sqlite.Options{CodeKey: bytes.Repeat([]byte{9}, 32)})
		if err != nil {
			b.Fatal(err)
		}
		var src strings.Builder
		src.WriteString(`name: 全省
component: {name: 干部群众评价, points: 20}
scales: [{id: g, options: [{label: 好, points: 100}, {label: 较好, points: 80}, {label: 一般, points: 60}, {label: 差, points: 40}]}]
forms: [{id: t, title: 班子, rates: team, scale: g, items: [总体]}]
categories: [{id: staff, name: 干部职工, weight: 100}]
units:
`)
		for i := range 2000 {
			fmt.Fprintf(&src, "  - {id: u%04d, name: 第%d单位, type: T%d, members: []}\n", i, i, i%20)
		}
		def, err := survey.ParseDefinition([]byte(src.String()))
		if err != nil {
			b.Fatal(err)
		}
		r, err := store.CreateRound(ctx, def, nil)
		if err != nil {
			b.Fatal(err)
		}
		reqs := make([]survey.BatchRequest, 2000)
		for i := range reqs {
			reqs[i] = survey.BatchRequest{Unit: fmt.Sprintf("u%04d", i), Category: "staff", Count: 200}
		}
		start := time.Now()
		issued, err := store.IssueBatches(ctx, r.ID, reqs)
		if err != nil {
			b.Fatal(err)
		}
		issue := time.Since(start)
		// One print part: the first 1,000 slips, as the console lays it out.
		part := []survey.Issued{issued[0], issued[1], issued[2], issued[3], issued[4]}
		start = time.Now()
		v, err := newPrintView(r, part, "https://mp.example.gov.cn")
		if err != nil || v.Count != 1000 {
			b.Fatalf("print part: %d slips, %v", v.Count, err)
		}
		render := time.Since(start)
		store.Close()
		b.ReportMetric(issue.Seconds(), "issue-400k-s")
		b.ReportMetric(render.Seconds(), "print-part-s")
		b.ReportMetric(float64(processPeakRSS()>>20), "peak-RSS-MB")
		b.Logf("400,000 codes issued in %v (target ≤ 20 s); a print part of 1,000 slips laid out in %v (400 parts: %v in all, opened one by one as they print); peak RSS %d MB",
			issue.Round(time.Millisecond), render.Round(time.Millisecond), (render * 400).Round(time.Second), processPeakRSS()>>20)
	}
}

// BenchmarkProvinceSeal seals a province's round — 2,000 units of 6
// members, 200 ballots each (400,000 ballots of 42 answers) — and reports
// the seal's time and the process's peak RSS (target ≤ 250 MB). Filling
// the ballots takes most of its minute.
//
//	go test ./server -run '^$' -bench ProvinceSeal -benchtime 1x -timeout 30m
func BenchmarkProvinceSeal(b *testing.B) {
	for b.Loop() {
		ctx := context.Background()
		dir := b.TempDir()
		store, err := sqlite.Open(ctx, filepath.Join(dir, "minping.db"), sqlite.Options{CodeKey: bytes.Repeat([]byte{9}, 32)})
		if err != nil {
			b.Fatal(err)
		}
		var src strings.Builder
		src.WriteString(`name: 全省
component: {name: 干部群众评价, points: 20}
scales: [{id: g, options: [{label: 优秀, points: 100}, {label: 称职, points: 80}, {label: 基本称职, points: 60}, {label: 不称职, points: 40}], abstain: 不了解}]
forms:
  - {id: t, title: 班子, rates: team, scale: g, items: [政治建设, 思想建设, 组织建设, 作风建设, 纪律建设], overall: 综合}
  - {id: m, title: 成员, rates: members, scale: g, items: [德, 能, 勤, 绩, 廉], overall: 综合}
categories: [{id: staff, name: 干部职工, weight: 100}]
units:
`)
		units := schemeUnits()
		for i := range units {
			fmt.Fprintf(&src, "  - {id: u%04d, name: 第%d单位, type: T%d, members: [", i, i, i%20)
			for k := range 6 {
				if k > 0 {
					src.WriteString(", ")
				}
				fmt.Fprintf(&src, "{id: u%04d-%d, name: 成员%d}", i, k, k)
			}
			src.WriteString("]}\n")
		}
		def, err := survey.ParseDefinition([]byte(src.String()))
		if err != nil {
			b.Fatal(err)
		}
		r, err := store.CreateRound(ctx, def, nil)
		if err != nil {
			b.Fatal(err)
		}
		reqs := make([]survey.BatchRequest, units)
		for i := range reqs {
			reqs[i] = survey.BatchRequest{Unit: fmt.Sprintf("u%04d", i), Category: "staff", Count: 200}
		}
		issued, err := store.IssueBatches(ctx, r.ID, reqs)
		if err != nil {
			b.Fatal(err)
		}
		if err := store.OpenRound(ctx, r.ID); err != nil {
			b.Fatal(err)
		}
		var codes []string
		for _, is := range issued {
			codes = append(codes, is.Codes...)
		}
		issued = nil
		fill(b, store, codes)
		codes = nil
		if err := store.CloseRound(ctx, r.ID); err != nil {
			b.Fatal(err)
		}
		_, key, _ := ed25519.GenerateKey(nil)
		before := processPeakRSS()
		start := time.Now()
		sealed, err := seal.Seal(ctx, store, key, r.ID, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		store.Close()
		b.ReportMetric(took.Seconds(), "seal-s")
		b.ReportMetric(float64(processPeakRSS()>>20), "peak-RSS-MB")
		b.Logf("sealed %d ballots of %d units in %v; round document %d KB; peak RSS %d MB before the seal, %d MB after (target ≤ 250)",
			sealed.Result.Ballots, units, took.Round(time.Millisecond), sealed.RoundBytes>>10, before>>20, processPeakRSS()>>20)
	}
}
