package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"

	"minping/assets"
	"minping/survey"
	"minping/survey/sqlite"
)

// bigUnit is a unit with a 12-member leadership team, appended to the
// example round: the largest ballot a phone is usually shown.
const bigUnit = `
  - id: zfj
    name: 区综合行政执法局
    type: 社会管理服务部门
    members:
      - {id: zfj-1, name: 郑国平, post: 党组书记、局长, principal: true}
      - {id: zfj-2, name: 韩雪梅, post: 党组副书记、副局长}
      - {id: zfj-3, name: 冯建军, post: 党组成员、副局长}
      - {id: zfj-4, name: 曹丽娟, post: 党组成员、副局长}
      - {id: zfj-5, name: 彭志刚, post: 副局长}
      - {id: zfj-6, name: 曾晓军, post: 副局长}
      - {id: zfj-7, name: 萧红霞, post: 执法支队支队长}
      - {id: zfj-8, name: 田文华, post: 执法支队政委}
      - {id: zfj-9, name: 董立平, post: 副支队长}
      - {id: zfj-10, name: 袁芳芳, post: 副支队长}
      - {id: zfj-11, name: 潘永强, post: 总工程师}
      - {id: zfj-12, name: 蒋秀兰, post: 派驻纪检监察组组长}
`

// benchServer is the real server over a real SQLite store in a temporary
// directory, with the example round plus bigUnit created and opened.
func benchServer(b *testing.B) (*Server, *survey.Round) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "minping.db"), sqlite.Options{CodeKey: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(store, key, Config{Data: dir}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	src := append(bytes.TrimRight(assets.Example(), "\n"), bigUnit...)
	def, err := survey.ParseDefinition(src)
	if err != nil {
		b.Fatal(err)
	}
	r, err := store.CreateRound(ctx, def, src)
	if err != nil {
		b.Fatal(err)
	}
	if err := store.OpenRound(ctx, r.ID); err != nil {
		b.Fatal(err)
	}
	if r, err = store.Round(ctx, r.ID); err != nil {
		b.Fatal(err)
	}
	return srv, r
}

// BenchmarkIssue10k issues a batch of 10,000 codes and renders its print
// sheet (QR codes as SVG paths): one op is what an organiser waits for.
func BenchmarkIssue10k(b *testing.B) {
	srv, r := benchServer(b)
	ctx := context.Background()
	gin.SetMode(gin.ReleaseMode)
	var sheet int
	for b.Loop() {
		batch, codes, err := srv.api.store.IssueBatch(ctx, r.ID, "zfj", "staff", 10000)
		if err != nil {
			b.Fatal(err)
		}
		v, err := newPrintView(r, []survey.Issued{{Batch: *batch, Codes: codes}}, "https://mp.example.gov.cn")
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := srv.api.tmpl.ExecuteTemplate(&buf, "print", v); err != nil {
			b.Fatal(err)
		}
		sheet = buf.Len()
	}
	b.ReportMetric(float64(sheet)/(1<<20), "sheet-MB")
}

// BenchmarkBallotPage renders the ballot of a 12-member unit once (what a
// unit and category's first voter costs) and serves it from the cache (what
// every other voter costs: the code's lookup and the cached bytes), and
// reports its size on the wire.
func BenchmarkBallotPage(b *testing.B) {
	srv, r := benchServer(b)
	ctx := context.Background()
	_, codes, err := srv.api.store.IssueBatch(ctx, r.ID, "zfj", "staff", 100)
	if err != nil {
		b.Fatal(err)
	}
	slip, err := srv.voter.store.Slip(ctx, codes[0])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("render", func(b *testing.B) {
		var p *renderedPage
		for b.Loop() {
			if p, err = srv.voter.renderPage(slip); err != nil {
				b.Fatal(err)
			}
		}
		plain, err := gunzip(p.gzip)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(plain)), "html-bytes")
		b.ReportMetric(float64(len(p.gzip)), "gzip-bytes")
	})
	b.Run("serve", func(b *testing.B) {
		h := srv.Handler()
		var wire int
		i := 0
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, "/b/"+codes[i%len(codes)], nil)
			req.Header.Set("Accept-Encoding", "gzip")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != "gzip" {
				b.Fatalf("GET /b/CODE: status %d, encoding %q", w.Code, w.Header().Get("Content-Encoding"))
			}
			wire = w.Body.Len()
			i++
		}
		b.ReportMetric(float64(wire), "gzip-bytes")
		if wire > 10<<10 {
			b.Errorf("ballot page of a 12-member unit is %d bytes gzip, want ≤ 10 KB", wire)
		}
	})
}

// BenchmarkBallotPost submits ballots through the router — lookup, JSON,
// validation, durable group commit — from many goroutines at once, without
// a network: the server's own cost per ballot.
func BenchmarkBallotPost(b *testing.B) {
	srv, r := benchServer(b)
	ctx := context.Background()
	var codes []string
	for len(codes) < b.N {
		_, cs, err := srv.api.store.IssueBatch(ctx, r.ID, "zfj", "staff", min(survey.MaxBatch, b.N))
		if err != nil {
			b.Fatal(err)
		}
		codes = append(codes, cs...)
	}
	slip, err := srv.voter.store.Slip(ctx, codes[0])
	if err != nil {
		b.Fatal(err)
	}
	def := r.Definition
	var req submitRequest
	for _, sl := range def.Layout(slip.Unit, "staff") {
		f := &def.Forms[sl.Form]
		req.Answers = append(req.Answers, survey.Answer{
			Form: f.ID, Subject: def.Subjects(f, slip.Unit)[sl.Subject].ID,
			Item: f.Rows()[sl.Row], Option: def.Scale(f.Scale).Options[1].Label,
		})
	}
	body, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	var next atomic.Int64
	b.ReportMetric(float64(len(req.Answers)), "answers/ballot")
	b.SetParallelism(128)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			code := codes[next.Add(1)-1]
			req := httptest.NewRequest(http.MethodPost, "/api/v1/ballots/"+code, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusCreated {
				b.Errorf("POST: status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}
