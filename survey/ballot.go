package survey

import (
	"fmt"
	"sort"
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
	Unit    string `json:"unit,omitempty"`
	Form    string `json:"form"`
	Subject string `json:"subject"`
	Item    string `json:"item"`
	Option  string `json:"option"`
}

// Ballot is a checked ballot in its stored form: one record per unit it
// rates (and, for a recusal category, per part of that unit, so that no
// record lacks the holder's own rows), each one byte per slot, an option
// index or AbstainAnswer. Only a Sheet's encoders (and EncodeAnswers and
// EncodeSlots) make one, so a store given a Ballot holds one that was
// checked against its round's definition.
type Ballot struct{ records []Record }

// Record is one stored piece of a ballot: its unit, its part ("" for the
// whole layout, or for a recusal category the team's rows; a member's id
// for that member's rows) and its answers in RecordSlots' order.
type Record struct {
	Unit    string
	Part    string
	answers []byte
}

// Answers is the record as stored; the caller must not change it.
func (r Record) Answers() []byte { return r.answers }

// NewRecord is a stored record read back, for a store and a counter.
func NewRecord(unit, part string, answers []byte) Record {
	return Record{Unit: unit, Part: part, answers: answers}
}

// Records returns the ballot's records, in sheet order.
func (b Ballot) Records() []Record { return b.records }

// Bytes is the answers of a ballot of one record, as stored; nil for a
// ballot of several. The caller must not change it.
func (b Ballot) Bytes() []byte {
	if len(b.records) != 1 {
		return nil
	}
	return b.records[0].answers
}

// NoAnswer is a slot left blank in EncodeSlots' values.
const NoAnswer = -1

// EncodeAnswers checks a submitted ballot of category in unit u (a unit
// sheet, no recusal), given by names; see Sheet.EncodeAnswers.
func (d *Definition) EncodeAnswers(u *Unit, category string, answers []Answer) (Ballot, error) {
	return d.SheetFor(d.Category(category), u, nil).EncodeAnswers(answers)
}

// EncodeSlots checks a ballot of category in unit u (a unit sheet, no
// recusal) given one value per slot; see Sheet.EncodeSlots.
func (d *Definition) EncodeSlots(u *Unit, category string, values []int) (Ballot, error) {
	return d.SheetFor(d.Category(category), u, nil).EncodeSlots(values)
}

// Sheet is what one slip rates (CONTRACT §5.1): for each unit of its
// category's sheet, the slots of the unit's layout it answers — all of
// them, but for a recusal slip, whose holder's own rows are left out.
type Sheet struct {
	d        *Definition
	Category *Category
	Member   *Member // the holder of a recusal slip; nil for any other
	Units    []SheetPage
	slots    int
	// index finds a slot by unit, form, subject and row names, for
	// EncodeAnswers; built on first use, as the ballot form never needs it
	// and an others sheet of a large type is one per unit.
	indexOnce sync.Once
	index     map[slotKey]int
}

// SheetPage is one unit of a sheet: the slots shown, in layout order, and
// where each sits in the unit's layout. Slots may be shared with other
// sheets: callers must not change them.
type SheetPage struct {
	Unit   *Unit
	Slots  []Slot
	Start  int   // the sheet index of the first slot
	layout []int // each shown slot's index in Layout(Unit, category); nil: all, in order
	full   int   // len(Layout(Unit, category))
}

// layoutOf returns slot k's index in the unit's layout.
func (su *SheetPage) layoutOf(k int) int {
	if su.layout == nil {
		return k
	}
	return su.layout[k]
}

// SheetFor returns the sheet of a slip of category c whose batch names
// home (nil for an all sheet) and, for a recusal slip, its holder. Sheets
// of a parsed definition are built once and shared: callers must not
// change one.
func (d *Definition) SheetFor(c *Category, home *Unit, holder *Member) *Sheet {
	k := shapeKey{category: c.ID}
	if home != nil {
		k.unit = home.ID
	}
	if holder != nil {
		k.member = holder.ID
	}
	// An others sheet is one per home unit, each over the other units of
	// its type: kept, they would grow with the square of a type's size.
	if d.shapes == nil || c.SheetKind() == SheetOthers {
		return d.newSheet(c, home, holder)
	}
	d.shapes.mu.Lock()
	sh := d.shapes.m[k]
	d.shapes.mu.Unlock()
	if sh == nil {
		sh = d.newSheet(c, home, holder)
		d.shapes.mu.Lock()
		d.shapes.m[k] = sh
		d.shapes.mu.Unlock()
	}
	return sh
}

func (d *Definition) newSheet(c *Category, home *Unit, holder *Member) *Sheet {
	sh := &Sheet{d: d, Category: c, Member: holder}
	for _, u := range d.SheetUnits(c, home) {
		su := SheetPage{Unit: u, Start: sh.slots}
		layout := d.layout(u, c.ID)
		su.full = len(layout)
		if holder == nil || holder.ID == "" || u.Member(holder.ID) == nil {
			// every slot shown: the unit's layout itself, shared
			su.Slots = layout
			sh.slots += len(layout)
			sh.Units = append(sh.Units, su)
			continue
		}
		var subjects []Subject
		for i, s := range layout {
			f := &d.Forms[s.Form]
			if i == 0 || s.Form != layout[i-1].Form {
				subjects = d.Subjects(f, u)
			}
			if holder != nil && subjects[s.Subject].ID == holder.ID {
				continue
			}
			su.Slots = append(su.Slots, s)
			su.layout = append(su.layout, i)
			sh.slots++
		}
		sh.Units = append(sh.Units, su)
	}
	return sh
}

// slotIndex returns the sheet's slots by names, built once.
func (sh *Sheet) slotIndex() map[slotKey]int {
	sh.indexOnce.Do(func() {
		sh.index = make(map[slotKey]int, sh.slots)
		for _, su := range sh.Units {
			var subjects []Subject
			var rows []string
			for k, s := range su.Slots {
				f := &sh.d.Forms[s.Form]
				if k == 0 || s.Form != su.Slots[k-1].Form {
					subjects, rows = sh.d.Subjects(f, su.Unit), f.Rows()
				}
				sh.index[slotKey{su.Unit.ID, f.ID, subjects[s.Subject].ID, rows[s.Row]}] = su.Start + k
			}
		}
	})
	return sh.index
}

// Len is the number of slots the sheet answers.
func (sh *Sheet) Len() int { return sh.slots }

// At returns the unit and slot of sheet slot i.
func (sh *Sheet) At(i int) (*SheetPage, Slot) {
	// the last unit starting at or before i (units without slots share a
	// Start with the next one, which is the one holding i)
	k := sort.Search(len(sh.Units), func(k int) bool { return sh.Units[k].Start > i }) - 1
	for k > 0 && len(sh.Units[k].Slots) == 0 {
		k--
	}
	su := &sh.Units[k]
	return su, su.Slots[i-su.Start]
}

// EncodeAnswers checks a submitted ballot, given by names as the JSON API
// takes it, against the definition. Every answer must name a unit of the
// sheet (it may leave the unit out when the sheet has one), a form the
// category fills, a subject and row of it, and an option or the abstain
// label; every slot must be answered exactly once; a form's top_limit must
// hold in each unit. A *ValidationError lists every problem.
func (sh *Sheet) EncodeAnswers(answers []Answer) (Ballot, error) {
	e := newEncoding(sh)
	index := sh.slotIndex()
	for n, a := range answers {
		p := answerPath(n)
		unit := a.Unit
		if unit == "" && len(sh.Units) == 1 {
			unit = sh.Units[0].Unit.ID
		}
		i, ok := index[slotKey{unit, a.Form, a.Subject, a.Item}]
		if !ok {
			e.add(p.String(), -1, "%s", sh.whyNoSlot(a, unit))
			continue
		}
		if e.filled[i] {
			e.add(p.String(), i, "「%s」的「%s」已经回答过一次", sh.subjectName(i), a.Item)
			continue
		}
		_, s := sh.At(i)
		b, ok := sh.d.optionByte(&sh.d.Forms[s.Form], a.Option)
		if !ok {
			e.add(p.String(), i, "「%s」的「%s」没有选项「%s」", sh.subjectName(i), a.Item, a.Option)
			continue
		}
		e.out[i], e.filled[i] = b, true
	}
	return e.finish()
}

// EncodeSlots checks a ballot given as one value per slot of the sheet, as
// the ballot form posts it: an option index, AbstainAnswer, or NoAnswer for
// a blank. The rules are EncodeAnswers'; each problem carries the slot it
// is about, so that a form can mark its row.
func (sh *Sheet) EncodeSlots(values []int) (Ballot, error) {
	e := newEncoding(sh)
	if len(values) != sh.slots {
		return Ballot{}, fmt.Errorf("encode slots: %d values for %d slots", len(values), sh.slots)
	}
	for i, v := range values {
		if v == NoAnswer {
			continue
		}
		_, s := sh.At(i)
		sc := sh.d.Scale(sh.d.Forms[s.Form].Scale)
		if v != int(AbstainAnswer) && (v < 0 || v >= len(sc.Options)) || v == int(AbstainAnswer) && sc.Abstain == "" {
			e.add(sh.SlotPath(i), i, "「%s」的「%s」没有这个选项", sh.subjectName(i), sh.d.Forms[s.Form].Rows()[s.Row])
			continue
		}
		e.out[i], e.filled[i] = byte(v), true
	}
	return e.finish()
}

// SlotPath names sheet slot i as form/subject/row, prefixed with the unit
// id and a slash on a sheet of several units.
func (sh *Sheet) SlotPath(i int) string {
	su, s := sh.At(i)
	p := SlotPath(sh.d, su.Unit, s)
	if len(sh.Units) > 1 {
		p = su.Unit.ID + "/" + p
	}
	return p
}

// subjectName names the subject of sheet slot i, after its unit's name on
// a sheet of several units.
func (sh *Sheet) subjectName(i int) string {
	su, s := sh.At(i)
	name := sh.d.subjectName(su.Unit, s)
	if len(sh.Units) > 1 {
		name = su.Unit.Name + "·" + name
	}
	return name
}

func (sh *Sheet) whyNoSlot(a Answer, unit string) string {
	for _, su := range sh.Units {
		if su.Unit.ID == unit {
			return sh.d.whyNoSlot(su.Unit, sh.Category.ID, a)
		}
	}
	if unit == "" {
		return "这张票评价多个单位，请写明每个回答的单位（unit）"
	}
	return fmt.Sprintf("这张票不评价单位「%s」", unit)
}

// encoding is a ballot being checked: the answers so far and the problems.
type encoding struct {
	sh     *Sheet
	out    []byte
	filled []bool
	ps     []Problem
}

func newEncoding(sh *Sheet) *encoding {
	return &encoding{sh: sh, out: make([]byte, sh.slots), filled: make([]bool, sh.slots)}
}

// add records a problem; slot is the index of the slot it is about, or -1.
func (e *encoding) add(path string, slot int, format string, args ...any) {
	e.ps = append(e.ps, Problem{Path: path, Message: fmt.Sprintf(format, args...), slot: slot + 1})
}

// finish checks that every slot is answered and that the top limits hold,
// and splits the answers into the ballot's records.
func (e *encoding) finish() (Ballot, error) {
	sh := e.sh
	for i := range e.out {
		if !e.filled[i] {
			_, s := sh.At(i)
			e.add(sh.SlotPath(i), i, "请评价「%s」的「%s」", sh.subjectName(i), sh.d.Forms[s.Form].Rows()[s.Row])
		}
	}
	for _, su := range sh.Units {
		end := su.Start + len(su.Slots)
		e.ps = append(e.ps, sh.d.checkTopLimits(su.Unit, su.Slots, e.out[su.Start:end], e.filled[su.Start:end])...)
	}
	if len(e.ps) > 0 {
		return Ballot{}, &ValidationError{Problems: e.ps}
	}
	var b Ballot
	for _, su := range sh.Units {
		// Every slot shown, in layout order (all but a recusal holder's
		// unit): the answers are the record as they stand, no copy.
		full := e.out[su.Start : su.Start+len(su.Slots) : su.Start+len(su.Slots)]
		if su.layout != nil {
			full = make([]byte, su.full)
			for k := range su.Slots {
				full[su.layoutOf(k)] = e.out[su.Start+k]
			}
		}
		if !sh.Category.Recuse {
			b.records = append(b.records, Record{Unit: su.Unit.ID, answers: full})
			continue
		}
		for _, part := range sh.d.RecordParts(su.Unit, sh.Category.ID) {
			if sh.Member != nil && part.ID == sh.Member.ID {
				continue
			}
			rec := Record{Unit: su.Unit.ID, Part: part.ID, answers: make([]byte, len(part.Slots))}
			for k, li := range part.Slots {
				rec.answers[k] = full[li]
			}
			b.records = append(b.records, rec)
		}
	}
	return b, nil
}

// RecordPart is one stored part of a recusal category's ballot in a unit:
// the team's rows (ID "") or one member's (its ID), as indexes into the
// unit's layout.
type RecordPart struct {
	ID    string
	Slots []int
}

// RecordParts splits the layout of a recusal category in unit u: the rows
// of forms that rate the team (part "", stored for every ballot even when
// it has no rows, so that a unit's ballots are its "" records), then each
// member's rows; member parts without rows are left out.
func (d *Definition) RecordParts(u *Unit, category string) []RecordPart {
	layout := d.Layout(u, category)
	team := RecordPart{}
	byMember := map[string][]int{}
	for i, s := range layout {
		f := &d.Forms[s.Form]
		if f.Rates == RatesTeam {
			team.Slots = append(team.Slots, i)
			continue
		}
		id := d.Subjects(f, u)[s.Subject].ID
		byMember[id] = append(byMember[id], i)
	}
	out := []RecordPart{team}
	for _, m := range u.Members {
		if slots := byMember[m.ID]; len(slots) > 0 {
			out = append(out, RecordPart{m.ID, slots})
		}
	}
	return out
}

// answerPath is the path of the nth submitted answer, formatted only when a
// problem needs it.
type answerPath int

func (p answerPath) String() string { return fmt.Sprintf("answers[%d]", int(p)) }

type slotKey struct{ unit, form, subject, row string }

type shapeKey struct{ unit, category, member string }

type shapeCache struct {
	mu      sync.Mutex
	m       map[shapeKey]*Sheet
	layouts map[shapeKey][]Slot // by unit and category
}

// layout returns Layout(u, category), built once per parsed definition
// and shared: callers must not change it.
func (d *Definition) layout(u *Unit, category string) []Slot {
	if d.shapes == nil {
		return d.Layout(u, category)
	}
	k := shapeKey{unit: u.ID, category: category}
	d.shapes.mu.Lock()
	l, ok := d.shapes.layouts[k]
	d.shapes.mu.Unlock()
	if !ok {
		l = d.Layout(u, category)
		d.shapes.mu.Lock()
		d.shapes.layouts[k] = l
		d.shapes.mu.Unlock()
	}
	return l
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
