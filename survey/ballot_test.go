package survey

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// exampleUnit is the example round and its first unit, whose staff fill
// the team form (6 rows, scale with 不了解) and the members form (6 rows per
// member, top_limit 2 on 综合评价), and whose clients fill the service form
// (4 rows, a scale without an abstain option).
func exampleUnit(t *testing.T) (*Definition, *Unit) {
	t.Helper()
	src, err := os.ReadFile("../assets/examples/quzhi-2026.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDefinition(src)
	if err != nil {
		t.Fatal(err)
	}
	return d, &d.Units[0]
}

// slotProblem is a problem as the ballot form sees it: its slot (-1 for
// none) and its message.
type slotProblem struct {
	Slot    int
	Path    string
	Message string
}

func slotProblems(t *testing.T, err error) []slotProblem {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a *ValidationError", err)
	}
	var out []slotProblem
	for _, p := range ve.Problems {
		i, ok := p.Slot()
		if !ok {
			i = -1
		}
		out = append(out, slotProblem{i, p.Path, p.Message})
	}
	return out
}

// TestEncodeSlots checks the ballot form's encoder: values in, the stored
// bytes out, and each problem carrying the slot whose row the form marks.
func TestEncodeSlots(t *testing.T) {
	d, u := exampleUnit(t)
	n := len(d.Layout(u, "staff"))
	second := func() []int { // every row's second option: a valid ballot
		v := make([]int, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}

	b, err := d.EncodeSlots(u, "staff", second())
	if err != nil {
		t.Fatalf("a full ballot: %v", err)
	}
	if len(b.Bytes()) != n || b.Bytes()[0] != 1 {
		t.Errorf("encoded %v, want %d bytes of 1", b.Bytes(), n)
	}
	v := second()
	v[3] = int(AbstainAnswer)
	if b, err := d.EncodeSlots(u, "staff", v); err != nil || b.Bytes()[3] != AbstainAnswer {
		t.Errorf("不了解 in slot 3: got %v, %v, want the abstain byte", b.Bytes(), err)
	}
	// The same ballot by names encodes to the same bytes.
	var answers []Answer
	for _, s := range d.Layout(u, "staff") {
		f := &d.Forms[s.Form]
		answers = append(answers, Answer{Form: f.ID, Subject: d.Subjects(f, u)[s.Subject].ID, Item: f.Rows()[s.Row], Option: d.Scale(f.Scale).Options[1].Label})
	}
	byName, err := d.EncodeAnswers(u, "staff", answers)
	if err != nil || string(byName.Bytes()) != string(b.Bytes()) {
		t.Errorf("by names: got %v, %v, want %v", byName.Bytes(), err, b.Bytes())
	}

	tests := []struct {
		name     string
		category string
		change   func(v []int)
		want     []slotProblem
	}{
		{"a blank row", "staff", func(v []int) { v[2] = NoAnswer },
			[]slotProblem{{2, "team/team/执行落实", "请评价「领导班子」的「执行落实」"}}},
		{"an option the scale lacks", "staff", func(v []int) { v[0] = 4 },
			[]slotProblem{
				{0, "team/team/团结协作", "「领导班子」的「团结协作」没有这个选项"},
				{0, "team/team/团结协作", "请评价「领导班子」的「团结协作」"},
			}},
		{"不了解 on a scale without it", "clients", func(v []int) { v[1] = int(AbstainAnswer) },
			[]slotProblem{
				{1, "service/team/办事效率", "「领导班子」的「办事效率」没有这个选项"},
				{1, "service/team/办事效率", "请评价「领导班子」的「办事效率」"},
			}},
		{"three 优秀 where two are allowed", "staff", func(v []int) {
			for m := range 3 { // 综合评价 of the first three members
				v[6+6*m+5] = 0
			}
		}, []slotProblem{{-1, "members/*/综合评价", "「综合评价」最多评2人为「优秀」，您评了3人"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := make([]int, len(d.Layout(u, tt.category)))
			for i := range v {
				v[i] = 1
			}
			tt.change(v)
			_, err := d.EncodeSlots(u, tt.category, v)
			if diff := cmp.Diff(tt.want, slotProblems(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}

	if _, err := d.EncodeSlots(u, "staff", make([]int, n-1)); err == nil {
		t.Error("one value short: got no error")
	}
}
