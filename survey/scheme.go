package survey

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"

	"go.yaml.in/yaml/v3"
)

// What one slip of a category rates (CONTRACT §5.1).
const (
	SheetUnit   = "unit"   // the unit its batch names (v1, the default)
	SheetAll    = "all"    // every unit of the round, or of the category's unit_types
	SheetOthers = "others" // every other unit of its home unit's type, or of unit_types
)

// Which members a members form rates (CONTRACT §5.1).
const (
	MembersAll       = "all"
	MembersPrincipal = "principal" // 正职
	MembersDeputies  = "deputies"  // 副职
)

// What a category with weight and no valid vote does (CONTRACT §5.2).
const (
	MissingReweight = "reweight" // its weight goes to the others (v1, the default)
	MissingZero     = "zero"     // it counts as a mean of 0
	MissingUnrated  = "unrated"  // the subject has no score in the component
)

// Grading keys (CONTRACT §5.4).
const (
	GradeByScore = "score"
	GradeByTotal = "total"

	WithinType  = "type"
	WithinRound = "round"
	WithinRole  = "role" // members only: 正职 and 副职 apart

	RoundingRound = "round" // half up, the default
	RoundingFloor = "floor"
	RoundingCeil  = "ceil"

	TieShareTop    = "share:top"
	TieShareLowest = "share:lowest"
	TieComponent   = "component:" // followed by a component id
)

// ComponentDef is one component of a unit's score (CONTRACT §5.2): its
// forms, their voters' weights, and the points a score of 100 is worth.
type ComponentDef struct {
	ID            string                        `json:"id" yaml:"id"`
	Name          string                        `json:"name" yaml:"name"`
	Points        Decimal                       `json:"points,omitzero" yaml:"points"`
	PointsByType  map[string]Decimal            `json:"points_by_type,omitempty" yaml:"points_by_type"`
	Forms         []string                      `json:"forms" yaml:"forms"`
	Weights       map[string]Decimal            `json:"weights" yaml:"weights"`
	WeightsByType map[string]map[string]Decimal `json:"weights_by_type,omitempty" yaml:"weights_by_type"`
}

// PointsFor returns the component's full marks for a unit of unitType.
func (c *ComponentDef) PointsFor(unitType string) Decimal {
	if p, ok := c.PointsByType[unitType]; ok {
		return p
	}
	return c.Points
}

// WeightFor returns category's weight in the component for a unit of
// unitType, the type's override applied; 0 for a category not listed.
func (c *ComponentDef) WeightFor(unitType, category string) Decimal {
	if ws, ok := c.WeightsByType[unitType]; ok {
		return ws[category]
	}
	return c.Weights[category]
}

// Total is how the survey's components and the parts entered after the
// seal add up to a unit's total (CONTRACT §5.3).
type Total struct {
	Points     Decimal     `json:"points" yaml:"points"`
	Parts      []TotalPart `json:"parts" yaml:"parts"`
	MaxBonus   *Decimal    `json:"max_bonus,omitempty" yaml:"max_bonus"`
	MaxPenalty *Decimal    `json:"max_penalty,omitempty" yaml:"max_penalty"`
}

// TotalPart is an outside score (工作实绩, 党的建设) entered after the seal.
type TotalPart struct {
	ID     string  `json:"id" yaml:"id"`
	Name   string  `json:"name" yaml:"name"`
	Points Decimal `json:"points" yaml:"points"`
}

// Grading hands out grades by place within groups (CONTRACT §5.4).
type Grading struct {
	By        string   `json:"by,omitempty" yaml:"by"`
	Within    string   `json:"within,omitempty" yaml:"within"`
	Rounding  string   `json:"rounding,omitempty" yaml:"rounding"`
	TieBreak  []string `json:"tie_break,omitempty" yaml:"tie_break"`
	VetoGrade string   `json:"veto_grade,omitempty" yaml:"veto_grade"`
	Grades    []Grade  `json:"grades" yaml:"grades"`
	// Legacy is set on a round frozen under v1's rule (its grading a bare
	// list in the frozen bytes), so that its recount gives the sealed bytes.
	Legacy bool `json:"-" yaml:"-"`
	// list is set when the grading was written as v1's bare list, so
	// that its problems keep v1's paths.
	list bool
}

// Grade is one grade: its places as a count or as a share (% of the
// group), the value it needs (min), and the flags that bar it. The last
// grade has neither count nor share: it takes the rest.
type Grade struct {
	Grade string   `json:"grade" yaml:"grade"`
	Count *int     `json:"count,omitempty" yaml:"count"`
	Share *Decimal `json:"share,omitempty" yaml:"share"`
	Min   *Decimal `json:"min,omitempty" yaml:"min"`
	Bar   []string `json:"bar,omitempty" yaml:"bar"`
}

var gradingKeys = []string{"by", "within", "rounding", "tie_break", "veto_grade", "grades"}

// UnmarshalJSON reads a grading written as §5.4's mapping or as v1's list
// of grades (read as grades, every other key at its default).
func (g *Grading) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		*g = Grading{list: true}
		return strictJSON(b, &g.Grades)
	}
	type plain Grading
	var p plain
	if err := strictJSON(b, &p); err != nil {
		return err
	}
	*g = Grading(p)
	return nil
}

// UnmarshalYAML reads a grading written as §5.4's mapping or v1's list.
func (g *Grading) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		*g = Grading{list: true}
		return n.Decode(&g.Grades)
	}
	if err := knownKeys(n, gradingKeys, "grading"); err != nil {
		return err
	}
	type plain Grading
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*g = Grading(p)
	return nil
}

// UnmarshalYAML checks a grade's keys, which Node.Decode would not.
func (gr *Grade) UnmarshalYAML(n *yaml.Node) error {
	if err := knownKeys(n, []string{"grade", "count", "share", "min", "bar"}, "等次"); err != nil {
		return err
	}
	type plain Grade
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*gr = Grade(p)
	return nil
}

// knownKeys refuses a mapping key not in keys: Node.Decode does not apply
// the decoder's KnownFields, and a misspelt key must not pass silently.
func knownKeys(n *yaml.Node, keys []string, what string) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains(keys, k) {
			return fmt.Errorf("第 %d 行：不认识的字段 %s（%s只有 %v）", n.Content[i].Line, k, what, keys)
		}
	}
	return nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// IsZero reports whether the component was left out (a v2 definition has
// components instead).
func (c Component) IsZero() bool { return c.Name == "" && !c.Points.set }

// IsZero reports whether the decimal was left out of the definition.
func (d Decimal) IsZero() bool { return !d.set }

// Scored reports whether the form enters a score; a form marked
// scored: false (参考) is counted and reported only.
func (f *Form) IsScored() bool { return f.Scored == nil || *f.Scored }

// SheetKind returns what one slip of the category rates: SheetUnit,
// SheetAll or SheetOthers.
func (c *Category) SheetKind() string {
	if c.Sheet == "" {
		return SheetUnit
	}
	return c.Sheet
}

// covers reports whether the category's unit_types admit the type.
func (c *Category) covers(unitType string) bool {
	return len(c.UnitTypes) == 0 || slices.Contains(c.UnitTypes, unitType)
}

// SheetUnits returns the units one slip of category rates: the home unit
// for a unit sheet; every unit of the round (or of its unit_types) for an
// all sheet, whose home is nil; every other unit of the home unit's type
// (or of unit_types) for an others sheet.
func (d *Definition) SheetUnits(c *Category, home *Unit) []*Unit {
	var out []*Unit
	switch c.SheetKind() {
	case SheetAll:
		for i := range d.Units {
			if c.covers(d.Units[i].Type) {
				out = append(out, &d.Units[i])
			}
		}
	case SheetOthers:
		if home == nil {
			return nil
		}
		for i := range d.Units {
			u := &d.Units[i]
			same := u.Type == home.Type
			if len(c.UnitTypes) > 0 {
				same = c.covers(u.Type)
			}
			if same && u.ID != home.ID {
				out = append(out, u)
			}
		}
	default:
		if home != nil {
			out = append(out, home)
		}
	}
	return out
}

// Reaches reports whether a slip of category c can rate unit u, whether
// or not one was issued (CONTRACT §5.6: a category may vote on a subject
// when its sheet can reach the subject's unit).
func (d *Definition) Reaches(c *Category, u *Unit) bool {
	switch c.SheetKind() {
	case SheetAll:
		return c.covers(u.Type)
	case SheetOthers:
		if len(c.UnitTypes) > 0 {
			if !c.covers(u.Type) {
				return false
			}
			for i := range d.Units {
				if d.Units[i].ID != u.ID && c.covers(d.Units[i].Type) {
					return true
				}
			}
			return false
		}
		for i := range d.Units {
			if d.Units[i].ID != u.ID && d.Units[i].Type == u.Type {
				return true
			}
		}
		return false
	}
	return true
}

// Member returns the member of the unit with the id, or nil.
func (u *Unit) Member(id string) *Member {
	for i := range u.Members {
		if u.Members[i].ID == id {
			return &u.Members[i]
		}
	}
	return nil
}

// rates reports whether a members form rates member m.
func (f *Form) rates(m *Member) bool {
	switch f.Members {
	case MembersPrincipal:
		return m.Principal
	case MembersDeputies:
		return !m.Principal
	}
	return true
}

// ComponentList returns the round's components as §5.2 defines them: its
// components, or for a v1 definition the one component over every scored
// form, with the categories' weights and weights_by_type, whose id is "".
func (d *Definition) ComponentList() []ComponentDef {
	if len(d.Components) > 0 {
		return d.Components
	}
	c := ComponentDef{Name: d.Component.Name, Points: d.Component.Points, Weights: map[string]Decimal{}, WeightsByType: d.WeightsByType}
	for _, f := range d.Forms {
		if f.IsScored() {
			c.Forms = append(c.Forms, f.ID)
		}
	}
	for _, cat := range d.Categories {
		c.Weights[cat.ID] = cat.Weight
	}
	return []ComponentDef{c}
}

// Missing returns rules.missing with its default.
func (r Rules) MissingRule() string {
	if r.Missing == "" {
		return MissingReweight
	}
	return r.Missing
}

// PointsFor returns the full marks of every component together for a unit
// of unitType.
func (d *Definition) PointsFor(unitType string) *big.Rat {
	sum := new(big.Rat)
	for _, c := range d.ComponentList() {
		p := c.PointsFor(unitType)
		sum.Add(sum, &p.r)
	}
	return sum
}

// FormIndex returns the index of the form with the id, or -1.
func (d *Definition) FormIndex(id string) int {
	for i := range d.Forms {
		if d.Forms[i].ID == id {
			return i
		}
	}
	return -1
}

// UnitTypes returns the unit types in the order they first appear.
func (d *Definition) UnitTypes() []string {
	var out []string
	for _, u := range d.Units {
		if !slices.Contains(out, u.Type) {
			out = append(out, u.Type)
		}
	}
	return out
}

// SheetSummary is what one category's slips are, for a preview: who gets
// them, how many units one rates and how many answers one asks, at least
// and at most over the slips the category may be issued.
type SheetSummary struct {
	Category   *Category
	Units      int // units one slip rates, at most
	MinAnswers int
	MaxAnswers int
}

// SheetSummaries previews every category's slips: for a unit sheet over
// each unit, an others sheet over one home unit of each type, an all sheet
// once, and for a recusal category over each member holding a slip.
func (d *Definition) SheetSummaries() []SheetSummary {
	var out []SheetSummary
	for i := range d.Categories {
		c := &d.Categories[i]
		s := SheetSummary{Category: c, MinAnswers: -1}
		see := func(sh *Sheet) {
			s.Units = max(s.Units, len(sh.Units))
			if s.MinAnswers < 0 || sh.Len() < s.MinAnswers {
				s.MinAnswers = sh.Len()
			}
			s.MaxAnswers = max(s.MaxAnswers, sh.Len())
		}
		switch {
		case c.SheetKind() == SheetUnit:
			for ui := range d.Units {
				u := &d.Units[ui]
				if !c.Recuse {
					see(d.SheetFor(c, u, nil))
					continue
				}
				for mi := range u.Members {
					see(d.newSheet(c, u, &u.Members[mi]))
				}
			}
		default:
			for _, home := range d.sheetHomes(c) {
				see(d.newSheet(c, home, nil))
			}
		}
		s.MinAnswers = max(s.MinAnswers, 0)
		out = append(out, s)
	}
	return out
}
