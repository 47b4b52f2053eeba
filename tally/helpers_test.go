package tally

import (
	"fmt"
	"testing"

	"minping/survey"
)

func parseDef(t testing.TB, yaml string) *survey.Definition {
	t.Helper()
	def, err := survey.ParseDefinition([]byte(yaml))
	if err != nil {
		t.Fatalf("definition: %v", err)
	}
	return def
}

// vote is a hand-written ballot: one character per slot of the layout, 'A'
// for the best option, 'B' the next and so on, '-' for abstain.
type vote struct{ unit, cat, answers string }

func (v vote) bytes() []byte {
	out := make([]byte, len(v.answers))
	for i, r := range []byte(v.answers) {
		if r == '-' {
			out[i] = survey.AbstainAnswer
		} else {
			out[i] = r - 'A'
		}
	}
	return out
}

// votes repeats the same ballot n times.
func votes(n int, unit, cat, answers string) []vote {
	out := make([]vote, n)
	for i := range out {
		out[i] = vote{unit, cat, answers}
	}
	return out
}

func concat(vs ...[]vote) []vote {
	var out []vote
	for _, v := range vs {
		out = append(out, v...)
	}
	return out
}

// count adds the votes and computes the documents. A nil turnout means
// every code issued was used.
func count(t testing.TB, def *survey.Definition, vs []vote, turnout Turnout) *Documents {
	t.Helper()
	c := NewCounter(def)
	derived := Turnout{}
	for _, v := range vs {
		if err := c.Add(v.unit, v.cat, v.bytes()); err != nil {
			t.Fatalf("add %+v: %v", v, err)
		}
		if derived[v.unit] == nil {
			derived[v.unit] = map[string]Count{}
		}
		n := derived[v.unit][v.cat]
		n.Issued++
		n.Voted++
		derived[v.unit][v.cat] = n
	}
	if turnout == nil {
		turnout = derived
	}
	docs, err := c.Documents(turnout, Meta{RoundID: "r1", SealedAt: "2026-01-20T09:30:00Z"})
	if err != nil {
		t.Fatalf("documents: %v", err)
	}
	return docs
}

func unitByID(t testing.TB, docs *Documents, id string) *UnitResult {
	t.Helper()
	for _, u := range docs.Units {
		if u.ID == id {
			return u.Result
		}
	}
	t.Fatalf("no unit %q", id)
	return nil
}

// unitView is what most tests compare: a unit's headline as printed.
type unitView struct {
	Score, Component string
	Rank             string // "2/4", or "" without a rank
	Grade            string
	Flags            []string
}

func viewUnit(u *UnitResult) unitView {
	v := unitView{Score: u.Score.String(), Component: u.Component.String(), Flags: u.Flags}
	if u.Rank != nil {
		v.Rank = fmt.Sprintf("%d/%d", *u.Rank, u.RankOf)
	}
	if u.Grade != nil {
		v.Grade = *u.Grade
	}
	return v
}

// formView is a subject's form as printed.
type formView struct {
	Score  string
	Valid  int
	Shares string
	Flags  []string
	Items  []string // "name score"
}

func viewForm(f FormResult) formView {
	v := formView{Score: f.Score.String(), Valid: f.Valid, Flags: f.Flags}
	b, _ := f.Shares.MarshalJSON()
	v.Shares = string(b)
	for _, it := range f.Items {
		v.Items = append(v.Items, it.Name+" "+it.Score.String())
	}
	return v
}
