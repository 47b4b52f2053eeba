package survey

import (
	"fmt"
	"sync"
)

// AbstainAnswer is the stored answer byte for the scale's abstain option
// (不了解). Any other byte is the index of the chosen option, best first.
const AbstainAnswer byte = 0xFF

// Slot is one answer a ballot gives: row Row (an index into Form.Rows) of
// form Form for subject Subject (an index into Definition.Subjects).
type Slot struct {
	Form    int
	Subject int
	Row     int
}

// Layout returns, in a fixed order, the answers a ballot of category in unit
// must give: for each form the category fills, for each subject, each row.
// A stored ballot is one byte per slot in this order, so the layout of a
// frozen definition decodes every ballot of its round.
func (d *Definition) Layout(u *Unit, category string) []Slot {
	var out []Slot
	for _, fi := range d.FormsFor(category) {
		f := &d.Forms[fi]
		rows := len(f.Rows())
		for si := range d.Subjects(f, u) {
			for r := 0; r < rows; r++ {
				out = append(out, Slot{Form: fi, Subject: si, Row: r})
			}
		}
	}
	return out
}

// Answer is one answer of a submitted ballot, by names as the voter saw them.
type Answer struct {
	Form    string `json:"form"`
	Subject string `json:"subject"`
	Item    string `json:"item"`
	Option  string `json:"option"`
}

// EncodeAnswers checks a submitted ballot of category in unit against the
// definition and returns its compact form (one byte per slot of Layout). Every
// answer must name a form the category fills, a subject and row of it, and an
// option or the abstain label; every slot must be answered exactly once; a
// form's top_limit must hold. A *ValidationError lists every problem.
func (d *Definition) EncodeAnswers(u *Unit, category string, answers []Answer) ([]byte, error) {
	sh := d.shape(u, category)
	slots := sh.slots
	out := make([]byte, len(slots))
	filled := make([]bool, len(slots))
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	for n, a := range answers {
		p := answerPath(n)
		i, ok := sh.index[slotKey{a.Form, a.Subject, a.Item}]
		if !ok {
			add(p.String(), "%s", d.whyNoSlot(u, category, a))
			continue
		}
		if filled[i] {
			add(p.String(), "「%s」的「%s」已经回答过一次", d.subjectName(u, slots[i]), a.Item)
			continue
		}
		b, ok := d.optionByte(&d.Forms[slots[i].Form], a.Option)
		if !ok {
			add(p.String(), "「%s」的「%s」没有选项「%s」", d.subjectName(u, slots[i]), a.Item, a.Option)
			continue
		}
		out[i], filled[i] = b, true
	}
	for i, s := range slots {
		if !filled[i] {
			f := &d.Forms[s.Form]
			add(SlotPath(d, u, s), "请评价「%s」的「%s」", d.subjectName(u, s), f.Rows()[s.Row])
		}
	}
	ps = append(ps, d.checkTopLimits(u, slots, out, filled)...)
	if len(ps) > 0 {
		return nil, &ValidationError{Problems: ps}
	}
	return out, nil
}

// answerPath is the path of the nth submitted answer, formatted only when a
// problem needs it.
type answerPath int

func (p answerPath) String() string { return fmt.Sprintf("answers[%d]", int(p)) }

// ballotShape is what checking a ballot of one unit and category needs: its
// layout, and each slot's index by the names an answer gives.
type ballotShape struct {
	slots []Slot
	index map[slotKey]int
}

type slotKey struct{ form, subject, row string }

type shapeKey struct{ unit, category string }

type shapeCache struct {
	mu sync.Mutex
	m  map[shapeKey]*ballotShape
}

// shape returns the ballot shape of category in unit, built once per
// parsed definition.
func (d *Definition) shape(u *Unit, category string) *ballotShape {
	if d.shapes == nil {
		return d.newShape(u, category)
	}
	k := shapeKey{u.ID, category}
	d.shapes.mu.Lock()
	sh := d.shapes.m[k]
	d.shapes.mu.Unlock()
	if sh == nil {
		sh = d.newShape(u, category)
		d.shapes.mu.Lock()
		d.shapes.m[k] = sh
		d.shapes.mu.Unlock()
	}
	return sh
}

func (d *Definition) newShape(u *Unit, category string) *ballotShape {
	sh := &ballotShape{slots: d.Layout(u, category)}
	sh.index = make(map[slotKey]int, len(sh.slots))
	var subjects []Subject
	var rows []string
	for i, s := range sh.slots {
		f := &d.Forms[s.Form]
		if i == 0 || s.Form != sh.slots[i-1].Form {
			subjects, rows = d.Subjects(f, u), f.Rows()
		}
		sh.index[slotKey{f.ID, subjects[s.Subject].ID, rows[s.Row]}] = i
	}
	return sh
}

// SlotPath names a slot as form/subject/row, the path a ballot problem
// carries so that a page can point at the row.
func SlotPath(d *Definition, u *Unit, s Slot) string {
	f := &d.Forms[s.Form]
	return f.ID + "/" + d.Subjects(f, u)[s.Subject].ID + "/" + f.Rows()[s.Row]
}

func (d *Definition) subjectName(u *Unit, s Slot) string {
	f := &d.Forms[s.Form]
	return d.Subjects(f, u)[s.Subject].Name
}

func (d *Definition) optionByte(f *Form, label string) (byte, bool) {
	sc := d.Scale(f.Scale)
	if sc.Abstain != "" && label == sc.Abstain {
		return AbstainAnswer, true
	}
	for i, o := range sc.Options {
		if o.Label == label {
			return byte(i), true
		}
	}
	return 0, false
}

func (d *Definition) whyNoSlot(u *Unit, category string, a Answer) string {
	for _, fi := range d.FormsFor(category) {
		f := &d.Forms[fi]
		if f.ID != a.Form {
			continue
		}
		found := false
		for _, s := range d.Subjects(f, u) {
			found = found || s.ID == a.Subject
		}
		if !found {
			return fmt.Sprintf("测评表「%s」没有测评对象「%s」", f.Title, a.Subject)
		}
		return fmt.Sprintf("测评表「%s」没有测评项目「%s」", f.Title, a.Item)
	}
	for _, f := range d.Forms {
		if f.ID == a.Form {
			return fmt.Sprintf("您所在的测评人类别不填写测评表「%s」", f.Title)
		}
	}
	return fmt.Sprintf("没有测评表「%s」", a.Form)
}

// checkTopLimits enforces each form's top_limit (优秀名额): at most that many
// subjects rated with the scale's top option on the overall row, or, for a
// form without one, on each item.
func (d *Definition) checkTopLimits(u *Unit, slots []Slot, answers []byte, filled []bool) []Problem {
	var ps []Problem
	type key struct{ form, row int }
	counts := map[key]int{}
	for i, s := range slots {
		f := &d.Forms[s.Form]
		if f.TopLimit == 0 || !filled[i] || answers[i] != 0 {
			continue
		}
		if f.Overall != "" && s.Row != len(f.Items) {
			continue
		}
		counts[key{s.Form, s.Row}]++
	}
	reported := map[key]bool{}
	for _, s := range slots {
		k := key{s.Form, s.Row}
		n := counts[k]
		f := &d.Forms[k.form]
		if n > f.TopLimit && !reported[k] {
			reported[k] = true
			top := d.Scale(f.Scale).Options[0].Label
			ps = append(ps, Problem{
				Path:    f.ID + "/*/" + f.Rows()[k.row],
				Message: fmt.Sprintf("「%s」最多评%d人为「%s」，您评了%d人", f.Rows()[k.row], f.TopLimit, top, n),
			})
		}
	}
	return ps
}
