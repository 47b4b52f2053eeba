package sqlite

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"minping/survey"
)

// BenchmarkSubmit submits ballots through the store as the voter path does
// (look the code up, then spend it and store the ballot durably), from many
// goroutines at once so that the single writer commits in groups. Each op is
// one ballot, answered only after its group's commit.
func BenchmarkSubmit(b *testing.B) {
	ctx := context.Background()
	src, err := os.ReadFile("../../assets/examples/quzhi-2026.yaml")
	if err != nil {
		b.Fatal(err)
	}
	def, err := survey.ParseDefinition(src)
	if err != nil {
		b.Fatal(err)
	}
	s, err := Open(ctx, filepath.Join(b.TempDir(), "minping.db"), Options{CodeKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		b.Fatal(err)
	}
	// Codes over every unit and category, as many as the run may need.
	var codes []string
	for len(codes) < b.N {
		for _, u := range def.Units {
			for _, c := range def.Categories {
				_, cs, err := s.IssueBatch(ctx, r.ID, u.ID, c.ID, min(survey.MaxBatch, b.N/(len(def.Units)*len(def.Categories))+1))
				if err != nil {
					b.Fatal(err)
				}
				codes = append(codes, cs...)
			}
		}
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetParallelism(128) // 128 × GOMAXPROCS voters waiting at once
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			slip, err := s.Slip(ctx, codes[next.Add(1)-1])
			if err != nil {
				b.Error(err)
				return
			}
			if err := s.Submit(ctx, slip, fullAnswers(def, slip.Unit, slip.Category.ID)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	var n int
	if err := s.EachBallot(ctx, r.ID, func(string, string, string, []byte) error { n++; return nil }); err != nil {
		b.Fatal(err)
	}
	if int64(n) != next.Load() {
		b.Fatalf("stored %d ballots, submitted %d", n, next.Load())
	}
}

// BenchmarkTurnout counts a round of 120,000 codes, half of them spent, as
// the console and the big screen poll it while voting runs.
func BenchmarkTurnout(b *testing.B) {
	ctx := context.Background()
	s, path := openStore(b)
	r, err := s.CreateRound(ctx, exampleDefinition(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, u := range r.Definition.Units {
		for _, c := range r.Definition.Categories {
			if _, _, err := s.IssueBatch(ctx, r.ID, u.ID, c.ID, 5000); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Spend half of each batch behind the store's back — turnout reads
	// the batches' counts — and reopen it.
	if _, err := s.wdb.ExecContext(ctx, `UPDATE batches SET spent = 2500`); err != nil {
		b.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path, Options{CodeKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for b.Loop() {
		tu, err := s.Turnout(ctx, r.ID)
		if err != nil {
			b.Fatal(err)
		}
		var issued, voted int
		for _, u := range tu {
			issued += u.Count.Issued
			voted += u.Count.Voted
		}
		if issued != 120000 || voted != 60000 {
			b.Fatalf("turnout %d issued, %d voted; want 120000 and 60000", issued, voted)
		}
	}
}

// BenchmarkIssueBatch stores a batch of 10,000 codes (without the print
// sheet, which the server benchmarks).
func BenchmarkIssueBatch(b *testing.B) {
	ctx := context.Background()
	s, _ := openStore(b)
	r, err := s.CreateRound(ctx, exampleDefinition(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, codes, err := s.IssueBatch(ctx, r.ID, "czj", "staff", survey.MaxBatch); err != nil || len(codes) != survey.MaxBatch {
			b.Fatalf("issued %d codes: %v", len(codes), err)
		}
	}
}
