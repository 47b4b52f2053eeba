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

// Ballot is a checked ballot in its compact form: one byte per slot of
// its layout, each an option index or AbstainAnswer. Only EncodeAnswers and
// EncodeSlots make one, so a store given a Ballot holds one that was checked
// against its round's definition.
type Ballot struct{ answers []byte }

// Bytes is the ballot as stored; the caller must not change it.
func (b Ballot) Bytes() []byte { return b.answers }

// NoAnswer is a slot left blank in EncodeSlots' values.
const NoAnswer = -1

// EncodeAnswers checks a submitted ballot of category in unit, given by
// names as the JSON API takes it, against the definition. Every answer must
// name a form the category fills, a subject and row of it, and an option or
// the abstain label; every slot must be answered exactly once; a form's
// top_limit must hold. A *ValidationError lists every problem.
func (d *Definition) EncodeAnswers(u *Unit, category string, answers []Answer) (Ballot, error) {
	sh := d.shape(u, category)
	e := newEncoding(d, u, sh.slots)
	for n, a := range answers {
		p := answerPath(n)
		i, ok := sh.index[slotKey{a.Form, a.Subject, a.Item}]
		if !ok {
			e.add(p.String(), -1, "%s", d.whyNoSlot(u, category, a))
			continue
		}
		if e.filled[i] {
			e.add(p.String(), i, "「%s」的「%s」已经回答过一次", d.subjectName(u, e.slots[i]), a.Item)
			continue
		}
		b, ok := d.optionByte(&d.Forms[e.slots[i].Form], a.Option)
		if !ok {
			e.add(p.String(), i, "「%s」的「%s」没有选项「%s」", d.subjectName(u, e.slots[i]), a.Item, a.Option)
			continue
		}
		e.out[i], e.filled[i] = b, true
	}
	return e.finish()
}

// EncodeSlots checks a ballot of category in unit given as one value per
// slot of its layout, as the ballot form posts it: an option index,
// AbstainAnswer, or NoAnswer for a blank. The rules are EncodeAnswers'; each
// problem carries the slots it is about, so that a form can mark its rows.
func (d *Definition) EncodeSlots(u *Unit, category string, values []int) (Ballot, error) {
	e := newEncoding(d, u, d.shape(u, category).slots)
	if len(values) != len(e.slots) {
		return Ballot{}, fmt.Errorf("encode slots: %d values for %d slots", len(values), len(e.slots))
	}
	for i, v := range values {
		if v == NoAnswer {
			continue
		}
		s := e.slots[i]
		sc := d.Scale(d.Forms[s.Form].Scale)
		if v != int(AbstainAnswer) && (v < 0 || v >= len(sc.Options)) || v == int(AbstainAnswer) && sc.Abstain == "" {
			e.add(SlotPath(d, u, s), i, "「%s」的「%s」没有这个选项", d.subjectName(u, s), d.Forms[s.Form].Rows()[s.Row])
			continue
		}
		e.out[i], e.filled[i] = byte(v), true
	}
	return e.finish()
}

// encoding is a ballot being checked: the answers so far and the problems.
type encoding struct {
	d      *Definition
	u      *Unit
	slots  []Slot
	out    []byte
	filled []bool
	ps     []Problem
}

func newEncoding(d *Definition, u *Unit, slots []Slot) *encoding {
	return &encoding{d: d, u: u, slots: slots, out: make([]byte, len(slots)), filled: make([]bool, len(slots))}
}

// add records a problem; slot is the index of the slot it is about, or -1.
func (e *encoding) add(path string, slot int, format string, args ...any) {
	e.ps = append(e.ps, Problem{Path: path, Message: fmt.Sprintf(format, args...), slot: slot + 1})
}

// finish checks that every slot is answered and that the top limits hold.
func (e *encoding) finish() (Ballot, error) {
	for i, s := range e.slots {
		if !e.filled[i] {
			e.add(SlotPath(e.d, e.u, s), i, "请评价「%s」的「%s」", e.d.subjectName(e.u, s), e.d.Forms[s.Form].Rows()[s.Row])
		}
	}
	e.ps = append(e.ps, e.d.checkTopLimits(e.u, e.slots, e.out, e.filled)...)
	if len(e.ps) > 0 {
		return Ballot{}, &ValidationError{Problems: e.ps}
	}
	return Ballot{answers: e.out}, nil
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
