package postgres

import (
	"context"
	"crypto/rand"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"minping/survey"
	"minping/survey/groupcommit"
	"minping/survey/storetest"
)

// BenchmarkSubmit submits ballots through the store as the voter path does
// (look the code up in the database, then seal, spend and store the box
// durably), from many goroutines at once so that the writers commit in
// groups. Each op is one ballot, answered only after its group's commit.
func BenchmarkSubmit(b *testing.B) {
	ctx := context.Background()
	s, _ := openStore(b)
	def, _ := storetest.Example(b, "quzhi-2026.yaml")
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		b.Fatal(err)
	}
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
	b.SetParallelism(128)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			slip, err := s.Slip(ctx, codes[next.Add(1)-1])
			if err != nil {
				b.Error(err)
				return
			}
			if err := s.Submit(ctx, slip, storetest.Ballot(b, slip, 1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ballots/s")
	st := s.WriterStats()
	b.ReportMetric(float64(st.Submissions)/float64(max(st.Commits, 1)), "ballots/commit")
	// The close opens every box and writes the records shuffled, holding
	// them all: its time and the process's peak resident memory, before
	// and after (run with -benchtime 100000x for a figure that matters).
	before := peakRSS()
	closeStart := time.Now()
	if err := s.CloseRound(ctx, r.ID); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(closeStart).Seconds(), "close-s")
	b.ReportMetric(float64(before>>20), "peak-before-close-MB")
	b.ReportMetric(float64(peakRSS()>>20), "peak-after-close-MB")
	if n := storetest.CountBallots(b, s, r.ID); n != b.N {
		b.Fatalf("stored %d ballots, submitted %d", n, b.N)
	}
}

// BenchmarkRawGroupCommit is the baseline: the same rows (a spend mark and
// a box of the store's size per ballot) committed the same way (as many
// writers, each gathering what waits into one durable transaction), with
// nothing else — no lookup, no checks, no locks, no sealing.
func BenchmarkRawGroupCommit(b *testing.B) {
	ctx := context.Background()
	s, _ := openStore(b)
	type sub struct {
		hash, box []byte
		done      chan error
	}
	// The store's own group commit: as many writers, the same gathering.
	writer := groupcommit.New(func(group []*sub) {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			hs, ids, boxes, rounds := make([][]byte, len(group)), make([][]byte, len(group)), make([][]byte, len(group)), make([]string, len(group))
			for i, x := range group {
				id := make([]byte, 16)
				rand.Read(id)
				hs[i], ids[i], boxes[i], rounds[i] = x.hash, id, x.box, "r"
			}
			if _, err := tx.Exec(ctx, `INSERT INTO spent (hash, round_id, batch_id) SELECT * FROM unnest($1::bytea[], $2::text[], $2::text[])`, hs, rounds); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO ballot_boxes (id, round_id, box) SELECT * FROM unnest($1::bytea[], $2::text[], $3::bytea[])`, ids, rounds, boxes)
			return err
		})
		for _, x := range group {
			x.done <- err
		}
	}, groupcommit.Options{Writers: 4})
	defer writer.Close()
	box := make([]byte, boxHeader+boxMinBytes+16)
	b.SetParallelism(128)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h := make([]byte, 32)
			rand.Read(h)
			x := &sub{hash: h, box: box, done: make(chan error, 1)}
			if err := writer.Do(ctx, x, x.done); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ballots/s")
}

// peakRSS is the process's peak resident set (VmHWM), 0 where /proc does
// not tell.
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
