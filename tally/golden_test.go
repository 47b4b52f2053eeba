package tally

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"minping/survey"
)

var update = flag.Bool("update", false, "rewrite the golden documents under testdata")

func loadExample(tb testing.TB) *survey.Definition {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "assets", "examples", "quzhi-2026.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	def, err := survey.ParseDefinition(b)
	if err != nil {
		tb.Fatal(err)
	}
	return def
}

// exampleBallot is one generated stored ballot.
type exampleBallot struct {
	unit, category string
	answers        []byte
}

// exampleRound generates a deterministic, realistic set of ballots for the
// example round, and the turnout that goes with it. Each unit has its own
// leaning; 区民政局 has only two 区领导 ballots (a small group), 区委组织部
// has no 服务对象 ballots (reweighted), 城关街道 misses the quorum, and one
// member of 区发展和改革局 draws many 不称职 votes.
func exampleRound(def *survey.Definition) ([]exampleBallot, Turnout) {
	rng := rand.New(rand.NewPCG(2026, 1))
	voters := map[string]map[string][2]int{ // unit -> category -> {issued, voted}
		"czj":  {"leaders": {6, 6}, "cadres": {15, 14}, "staff": {50, 46}, "clients": {20, 18}},
		"fgj":  {"leaders": {6, 5}, "cadres": {12, 12}, "staff": {40, 37}, "clients": {20, 15}},
		"zzb":  {"leaders": {6, 6}, "cadres": {10, 10}, "staff": {30, 28}, "clients": {0, 0}},
		"mzj":  {"leaders": {3, 2}, "cadres": {12, 11}, "staff": {45, 40}, "clients": {25, 21}},
		"rsj":  {"leaders": {6, 6}, "cadres": {14, 13}, "staff": {55, 50}, "clients": {25, 22}},
		"cgjd": {"leaders": {8, 5}, "cadres": {20, 12}, "staff": {80, 50}, "clients": {30, 18}},
	}
	lean := map[string]float64{"czj": 0.75, "fgj": 0.6, "zzb": 0.8, "mzj": 0.55, "rsj": 0.7, "cgjd": 0.5}
	var out []exampleBallot
	t := Turnout{}
	for ui := range def.Units {
		u := &def.Units[ui]
		t[u.ID] = map[string]Count{}
		for _, cat := range def.Categories {
			n := voters[u.ID][cat.ID]
			t[u.ID][cat.ID] = Count{Issued: n[0], Voted: n[1]}
			layout := def.Layout(u, cat.ID)
			for v := 0; v < n[1]; v++ {
				b := make([]byte, len(layout))
				for i, s := range layout {
					f := &def.Forms[s.Form]
					sc := def.Scale(f.Scale)
					b[i] = pickOption(rng, lean[u.ID], len(sc.Options), sc.Abstain != "")
					if f.Rates == survey.RatesMembers && u.Members[s.Subject].ID == "fgj-3" && b[i] != survey.AbstainAnswer {
						b[i] = byte(len(sc.Options)-1) - b[i] // the scale upside down
					}
				}
				limitTop(def, layout, b)
				out = append(out, exampleBallot{u.ID, cat.ID, b})
			}
		}
	}
	return out, t
}

// pickOption draws an answer: the best option with probability p, else a
// lower one, now and then the abstain answer.
func pickOption(rng *rand.Rand, p float64, options int, abstain bool) byte {
	x := rng.Float64()
	switch {
	case abstain && x > 0.97:
		return survey.AbstainAnswer
	case x < p:
		return 0
	case x < p+(1-p)*0.6:
		return 1
	case x < p+(1-p)*0.85:
		return byte(min(2, options-1))
	default:
		return byte(options - 1)
	}
}

// limitTop keeps a generated ballot within its forms' top_limit on the
// overall row, as the ballot page enforces.
func limitTop(def *survey.Definition, layout []survey.Slot, b []byte) {
	seen := map[int]int{}
	for i, s := range layout {
		f := &def.Forms[s.Form]
		if f.TopLimit == 0 || f.Overall == "" || s.Row != len(f.Items) || b[i] != 0 {
			continue
		}
		seen[s.Form]++
		if seen[s.Form] > f.TopLimit {
			b[i] = 1
		}
	}
}

func exampleDocuments(tb testing.TB, shuffle bool) *Documents {
	tb.Helper()
	def := loadExample(tb)
	ballots, turnout := exampleRound(def)
	if shuffle {
		rng := rand.New(rand.NewPCG(7, 7))
		rng.Shuffle(len(ballots), func(i, j int) { ballots[i], ballots[j] = ballots[j], ballots[i] })
	}
	c := NewCounter(def)
	for _, b := range ballots {
		if err := c.Add(b.unit, b.category, b.answers); err != nil {
			tb.Fatal(err)
		}
	}
	docs, err := c.Documents(turnout, Meta{RoundID: "r-2026", ConfigSHA256: def.Fingerprint(), SealedAt: "2026-01-20T09:30:00Z"})
	if err != nil {
		tb.Fatal(err)
	}
	return docs
}

func TestGoldenRound(t *testing.T) {
	docs := exampleDocuments(t, false)
	files := map[string][]byte{"round.json": docs.Round}
	for _, u := range docs.Units {
		files["unit-"+u.ID+".json"] = u.Bytes
	}
	for name, got := range files {
		golden(t, name, got)
	}
}

// golden compares got with the golden file testdata/quzhi-2026/name, or
// rewrites the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "quzhi-2026", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tally/ -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, diff)
	}
}

// A recount of the same ballots in another order gives identical bytes.
func TestRecountIsIdentical(t *testing.T) {
	a := exampleDocuments(t, false)
	b := exampleDocuments(t, true)
	if !bytes.Equal(a.Round, b.Round) {
		t.Errorf("round document depends on the order ballots were added:\n%s", cmp.Diff(string(a.Round), string(b.Round)))
	}
	for i := range a.Units {
		if !bytes.Equal(a.Units[i].Bytes, b.Units[i].Bytes) {
			t.Errorf("unit %s document depends on ballot order", a.Units[i].ID)
		}
	}
}

// Decoding a sealed document and encoding it again gives the same bytes, so
// exports made from sealed bytes show what was signed.
func TestDecodeRoundTrip(t *testing.T) {
	docs := exampleDocuments(t, false)
	r, err := DecodeRound(docs.Round)
	if err != nil {
		t.Fatal(err)
	}
	got, err := encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(docs.Round), string(got)); diff != "" {
		t.Errorf("round document after decode and encode (-want +got):\n%s", diff)
	}
	for i, u := range docs.Units {
		ur, err := DecodeUnit(u.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encode(ur)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, u.Bytes) {
			t.Errorf("unit %s after decode and encode differs", u.ID)
		}
		// The round document holds the same unit results.
		inRound, _ := encode(&r.Units[i])
		if !bytes.Equal(inRound, u.Bytes) {
			t.Errorf("unit %s in the round document differs from its unit document", u.ID)
		}
	}
}
