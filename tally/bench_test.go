package tally

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"minping/survey"
)

// BenchmarkCounter1M adds 1,000,000 ballots and writes the documents:
// "example" is the example round as it is (22 answers a ballot on average,
// 服务对象 answering 4); "60answers" gives every unit of it nine members, so
// that a ballot of the three categories that rate members has 60 answers.
func BenchmarkCounter1M(b *testing.B) {
	b.Run("example", func(b *testing.B) {
		benchmarkCounter(b, loadExample(b), nil)
	})
	b.Run("60answers", func(b *testing.B) {
		def := loadExample(b)
		for ui := range def.Units {
			u := &def.Units[ui]
			for i := len(u.Members); i < 9; i++ {
				u.Members = append(u.Members, survey.Member{ID: fmt.Sprintf("%s-x%d", u.ID, i), Name: fmt.Sprintf("成员%d", i)})
			}
		}
		benchmarkCounter(b, def, []string{"leaders", "cadres", "staff"})
	})
}

// benchmarkCounter counts a million ballots of the categories (nil: all),
// spread evenly over the units.
func benchmarkCounter(b *testing.B, def *survey.Definition, categories []string) {
	const n = 1_000_000
	if categories == nil {
		for _, c := range def.Categories {
			categories = append(categories, c.ID)
		}
	}
	type group struct {
		unit, category string
		layout         []survey.Slot
	}
	var groups []group
	for ui := range def.Units {
		for _, cat := range categories {
			groups = append(groups, group{def.Units[ui].ID, cat, def.Layout(&def.Units[ui], cat)})
		}
	}
	// The ballots are kept free of pointers, as a store streaming rows
	// would hold them, so that the collector has no fixture to scan.
	type ballot struct{ group, off, len int32 }
	rng := rand.New(rand.NewPCG(1, 1))
	ballots := make([]ballot, n)
	var all []byte
	turnout := Turnout{}
	for i := range ballots {
		gi := rng.IntN(len(groups))
		g := groups[gi]
		ballots[i] = ballot{int32(gi), int32(len(all)), int32(len(g.layout))}
		for _, s := range g.layout {
			sc := def.Scale(def.Forms[s.Form].Scale)
			all = append(all, pickOption(rng, 0.6, len(sc.Options), sc.Abstain != ""))
		}
		if turnout[g.unit] == nil {
			turnout[g.unit] = map[string]Count{}
		}
		cnt := turnout[g.unit][g.category]
		cnt.Issued++
		cnt.Voted++
		turnout[g.unit][g.category] = cnt
	}
	b.ReportAllocs()
	var docs time.Duration
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		c := NewCounter(def)
		for _, bl := range ballots {
			g := &groups[bl.group]
			if err := c.Add(g.unit, g.category, all[bl.off:bl.off+bl.len]); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		if _, err := c.Documents(turnout, Meta{RoundID: "bench"}); err != nil {
			b.Fatal(err)
		}
		docs += time.Since(start)
	}
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(docs.Nanoseconds())/float64(b.N), "documents-ns/op")
	b.ReportMetric(float64(len(all))/n, "answers/ballot")
}
