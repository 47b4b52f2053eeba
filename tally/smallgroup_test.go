package tally

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"minping/survey"
)

// The subtraction attack (issue: secrecy against the appraisal group): a
// unit with 40 staff slips and 1 leader slip, categories 60 / 40. v1 printed
// pooled counts (39·m + x) and a weighted item score (60·m + 40·x)/100: two
// equations, two unknowns, and the lone leader's answers followed exactly.
const subtractionDef = basicDef + "rules: {min_group: 3%s}\n"

// subtractionVotes is the staff's 40 ballots and the lone leader's, whose
// answer to both items is leader ('A' best … 'D' worst, '-' abstain).
func subtractionVotes(leader string) []vote {
	staff := concat(votes(25, "u1", "b", "AB"), votes(10, "u1", "b", "BB"), votes(5, "u1", "b", "CA"))
	return append(staff, vote{"u1", "a", leader + leader})
}

// TestSmallGroupCannotBeSolved mounts the attack on every document: whatever
// the lone leader answered, every byte of the unit and round documents is
// the same, so no figure, alone or combined, determines the answer. Under
// small_groups: count (v1, written explicitly) the same attack still
// succeeds, which is why exclude is the default.
func TestSmallGroupCannotBeSolved(t *testing.T) {
	answers := []string{"A", "B", "C", "D", "-"}
	docsFor := func(mode, leader string) *Documents {
		return count(t, parseDef(t, fmt.Sprintf(subtractionDef, mode)), subtractionVotes(leader), nil)
	}
	base := docsFor("", answers[0])
	if len(base.Excluded) != 1 || base.Excluded[0] != (survey.Group{Unit: "u1", Category: "a"}) {
		t.Fatalf("excluded groups: got %v, want u1/a", base.Excluded)
	}
	for _, leader := range answers[1:] {
		d := docsFor("", leader)
		if !bytes.Equal(d.Round, base.Round) {
			t.Errorf("the round document changes with the lone leader's answer %q:\n%s", leader, cmp.Diff(string(base.Round), string(d.Round)))
		}
		if !bytes.Equal(d.Units[0].Bytes, base.Units[0].Bytes) {
			t.Errorf("the unit document changes with the lone leader's answer %q:\n%s", leader, cmp.Diff(string(base.Units[0].Bytes), string(d.Units[0].Bytes)))
		}
	}
	// The figures are the staff's alone: their digest, their counts.
	staffOnly := count(t, parseDef(t, fmt.Sprintf(subtractionDef, "")), subtractionVotes("A")[:40], Turnout{"u1": {"a": {Issued: 1, Voted: 1}, "b": {Issued: 40, Voted: 40}}})
	if !bytes.Equal(staffOnly.Round, base.Round) {
		t.Errorf("the documents differ from the staff's alone with the leader's ballot deleted (as the seal deletes it):\n%s", cmp.Diff(string(staffOnly.Round), string(base.Round)))
	}

	// Counted (v1): the pooled counts move with the leader's answer.
	v1 := map[string]bool{}
	for _, leader := range answers {
		v1[string(docsFor(", small_groups: count", leader).Units[0].Bytes)] = true
	}
	if len(v1) != len(answers) {
		t.Errorf("counted: %d different unit documents for %d answers; the test no longer shows what exclude prevents", len(v1), len(answers))
	}
}
