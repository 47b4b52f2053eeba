package tally

import (
	"math/rand/v2"
	"testing"
	"time"

	"minping/survey"
)

// BenchmarkCounter1M adds 1,000,000 ballots of the example round, spread
// over its units and categories, and writes the documents.
func BenchmarkCounter1M(b *testing.B) {
	const n = 1_000_000
	def := loadExample(b)
	type group struct {
		unit, category string
		layout         []survey.Slot
	}
	var groups []group
	for ui := range def.Units {
		for _, cat := range def.Categories {
			groups = append(groups, group{def.Units[ui].ID, cat.ID, def.Layout(&def.Units[ui], cat.ID)})
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
	b.ReportMetric(float64(docs.Nanoseconds())/float64(b.N), "documents-ns/op")
	b.ReportMetric(float64(len(all))/n, "answers/ballot")
}
