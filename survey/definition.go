package survey

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// TeamSubject is the subject id of a unit's leadership team (领导班子); it is
// reserved and may not be used as a member id.
const TeamSubject = "team"

// Rates values of a form.
const (
	RatesTeam    = "team"
	RatesMembers = "members"
)

// Definition is a round definition (CONTRACT §2): what is rated, by whom, with
// which weights, and the units and members under evaluation. After Parse it
// carries every default filled in, so that its canonical JSON is the frozen
// configuration of an open round.
type Definition struct {
	Name          string                        `json:"name" yaml:"name"`
	Component     Component                     `json:"component" yaml:"component"`
	Scales        []Scale                       `json:"scales" yaml:"scales"`
	Forms         []Form                        `json:"forms" yaml:"forms"`
	Categories    []Category                    `json:"categories" yaml:"categories"`
	WeightsByType map[string]map[string]Decimal `json:"weights_by_type,omitempty" yaml:"weights_by_type"`
	Rules         Rules                         `json:"rules" yaml:"rules"`
	Grading       []Grade                       `json:"grading,omitempty" yaml:"grading"`
	Units         []Unit                        `json:"units" yaml:"units"`

	// shapes caches what checking a ballot needs per unit and category.
	// A parsed definition is never changed (an edit parses a new one), so
	// the cache never goes stale; nil in a definition built by hand.
	shapes *shapeCache
}

// Component is the public-evaluation component of a unit's total score:
// a subject score of 100 is worth Points of it.
type Component struct {
	Name   string  `json:"name" yaml:"name"`
	Points Decimal `json:"points" yaml:"points"`
}

// Scale is a list of answer options, best first, with an optional abstain
// label (不了解) that counts as no vote.
type Scale struct {
	ID      string   `json:"id" yaml:"id"`
	Options []Option `json:"options" yaml:"options"`
	Abstain string   `json:"abstain,omitempty" yaml:"abstain"`
}

// Option is one answer of a scale and the points it is worth.
type Option struct {
	Label  string  `json:"label" yaml:"label"`
	Points Decimal `json:"points" yaml:"points"`
}

// Form is a 测评表: items rated on one scale, for the team or for each member.
type Form struct {
	ID       string   `json:"id" yaml:"id"`
	Title    string   `json:"title" yaml:"title"`
	Rates    string   `json:"rates" yaml:"rates"`
	Scale    string   `json:"scale" yaml:"scale"`
	Items    []Item   `json:"items" yaml:"items"`
	Overall  string   `json:"overall,omitempty" yaml:"overall"`
	TopLimit int      `json:"top_limit,omitempty" yaml:"top_limit"`
	Voters   []string `json:"voters" yaml:"voters"`
	Weight   Decimal  `json:"weight" yaml:"weight"`
}

// Item is one rated row of a form with its weight in the form score.
type Item struct {
	Name   string  `json:"name" yaml:"name"`
	Weight Decimal `json:"weight" yaml:"weight"`
}

// Category is a voter category (测评人类别) with its default weight.
type Category struct {
	ID     string  `json:"id" yaml:"id"`
	Name   string  `json:"name" yaml:"name"`
	Weight Decimal `json:"weight" yaml:"weight"`
}

// Rules are the round's thresholds, as exact proportions.
type Rules struct {
	Quorum          Ratio `json:"quorum" yaml:"quorum"`
	MinGroup        int   `json:"min_group" yaml:"min_group"`
	FlagLowestOver  Ratio `json:"flag_lowest_over" yaml:"flag_lowest_over"`
	FlagTopTwoUnder Ratio `json:"flag_top_two_under" yaml:"flag_top_two_under"`
}

// Grade is one quota grade; Share is a percentage of the units of a type, and
// is nil only for the last grade, which takes the rest.
type Grade struct {
	Grade string   `json:"grade" yaml:"grade"`
	Share *Decimal `json:"share,omitempty" yaml:"share"`
}

// Unit is an evaluated unit with its leadership-team members.
type Unit struct {
	ID      string   `json:"id" yaml:"id"`
	Name    string   `json:"name" yaml:"name"`
	Type    string   `json:"type" yaml:"type"`
	Members []Member `json:"members" yaml:"members"`
}

// Member is a leadership-team member (班子成员). Principal marks 党政正职.
type Member struct {
	ID        string `json:"id" yaml:"id"`
	Name      string `json:"name" yaml:"name"`
	Post      string `json:"post,omitempty" yaml:"post"`
	Principal bool   `json:"principal,omitempty" yaml:"principal"`
}

// UnmarshalJSON accepts an item written as a bare name or as {name, weight}.
func (it *Item) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		*it = Item{Name: name}
		return nil
	}
	type plain Item
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*it = Item(p)
	return nil
}

// UnmarshalYAML accepts an item written as a bare name or as {name, weight}.
func (it *Item) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*it = Item{Name: n.Value}
		return nil
	}
	if n.Kind == yaml.MappingNode {
		// Node.Decode does not apply the decoder's KnownFields, so check
		// the keys here: a misspelt "weight" must not silently become 1.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; k != "name" && k != "weight" {
				return fmt.Errorf("line %d: field %s not found in type survey.Item", n.Content[i].Line, k)
			}
		}
	}
	type plain Item
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*it = Item(p)
	return nil
}

// Problem is one thing wrong with an input, at a path such as
// "forms[1].items[0].weight".
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// ValidationError lists every problem found in a definition or a ballot.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		if p.Path != "" {
			b.WriteString(p.Path + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// ParseDefinition reads a definition written in YAML or JSON (JSON when the
// text starts with '{'), fills in the defaults and validates it. Every problem
// found is returned at once in a *ValidationError.
func ParseDefinition(data []byte) (*Definition, error) {
	var d Definition
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, &ValidationError{Problems: []Problem{{Message: "the definition is empty"}}}
	}
	if trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return nil, &ValidationError{Problems: []Problem{{Path: jsonErrorPath(err), Message: err.Error()}}}
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(trimmed))
		dec.KnownFields(true)
		if err := dec.Decode(&d); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				ve := &ValidationError{}
				for _, m := range te.Errors {
					ve.Problems = append(ve.Problems, Problem{Message: m})
				}
				return nil, ve
			}
			return nil, &ValidationError{Problems: []Problem{{Message: err.Error()}}}
		}
	}
	d.fillDefaults()
	if err := d.Validate(); err != nil {
		return nil, err
	}
	d.shapes = &shapeCache{m: map[shapeKey]*ballotShape{}}
	return &d, nil
}

func jsonErrorPath(err error) string {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return ute.Field
	}
	return ""
}

func (d *Definition) fillDefaults() {
	one := NewDecimal(1)
	for i := range d.Forms {
		f := &d.Forms[i]
		if !f.Weight.set {
			f.Weight = one
		}
		for j := range f.Items {
			if !f.Items[j].Weight.set {
				f.Items[j].Weight = one
			}
		}
		if len(f.Voters) == 0 {
			for _, c := range d.Categories {
				f.Voters = append(f.Voters, c.ID)
			}
		}
	}
	if !d.Rules.Quorum.set {
		d.Rules.Quorum = mustRatio("2/3")
	}
	if d.Rules.MinGroup == 0 {
		d.Rules.MinGroup = 3
	}
	if !d.Rules.FlagLowestOver.set {
		d.Rules.FlagLowestOver = mustRatio("1/3")
	}
	if !d.Rules.FlagTopTwoUnder.set {
		d.Rules.FlagTopTwoUnder = mustRatio("2/3")
	}
}

// Validate checks the definition against CONTRACT §2 and returns a
// *ValidationError listing every problem, or nil.
func (d *Definition) Validate() error {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(d.Name) == "" {
		add("name", "the round needs a name")
	}
	if strings.TrimSpace(d.Component.Name) == "" {
		add("component.name", "the component needs a name (e.g. 干部群众评价)")
	}
	if d.Component.Points.r.Sign() <= 0 {
		add("component.points", "must be a positive number (e.g. 20 of 100)")
	}

	scales := map[string]*Scale{}
	if len(d.Scales) == 0 {
		add("scales", "at least one scale is needed")
	}
	for i := range d.Scales {
		s := &d.Scales[i]
		p := fmt.Sprintf("scales[%d]", i)
		checkID(add, p+".id", s.ID)
		if _, dup := scales[s.ID]; dup && s.ID != "" {
			add(p+".id", "scale id %q is used twice", s.ID)
		}
		scales[s.ID] = s
		if len(s.Options) < 2 {
			add(p+".options", "a scale needs at least 2 options, has %d", len(s.Options))
		}
		if len(s.Options) > MaxOptions {
			add(p+".options", "a scale may have at most %d options, has %d", MaxOptions, len(s.Options))
		}
		labels := map[string]bool{}
		for j, o := range s.Options {
			op := fmt.Sprintf("%s.options[%d]", p, j)
			if strings.TrimSpace(o.Label) == "" {
				add(op+".label", "an option needs a label")
			} else if labels[o.Label] {
				add(op+".label", "label %q is used twice in this scale", o.Label)
			}
			labels[o.Label] = true
			if o.Points.r.Sign() < 0 || o.Points.r.Cmp(bigHundred) > 0 {
				add(op+".points", "points must lie in 0..100, got %s", o.Points)
			}
		}
		if s.Abstain != "" && labels[s.Abstain] {
			add(p+".abstain", "the abstain label %q is also an option", s.Abstain)
		}
	}

	cats := map[string]bool{}
	if len(d.Categories) == 0 {
		add("categories", "at least one voter category is needed")
	}
	sum := newRat()
	for i, c := range d.Categories {
		p := fmt.Sprintf("categories[%d]", i)
		checkID(add, p+".id", c.ID)
		if cats[c.ID] && c.ID != "" {
			add(p+".id", "category id %q is used twice", c.ID)
		}
		cats[c.ID] = true
		if strings.TrimSpace(c.Name) == "" {
			add(p+".name", "the category needs a name")
		}
		if c.Weight.r.Sign() < 0 {
			add(p+".weight", "a weight may not be negative")
		}
		sum.Add(sum, &c.Weight.r)
	}
	if len(d.Categories) > 0 && sum.Cmp(bigHundred) != 0 {
		add("categories", "category weights must sum to 100, they sum to %s", ratDecimal(sum))
	}

	forms := map[string]bool{}
	if len(d.Forms) == 0 {
		add("forms", "at least one form is needed")
	}
	for i := range d.Forms {
		f := &d.Forms[i]
		p := fmt.Sprintf("forms[%d]", i)
		checkID(add, p+".id", f.ID)
		if forms[f.ID] && f.ID != "" {
			add(p+".id", "form id %q is used twice", f.ID)
		}
		forms[f.ID] = true
		if strings.TrimSpace(f.Title) == "" {
			add(p+".title", "the form needs a title")
		}
		if f.Rates != RatesTeam && f.Rates != RatesMembers {
			add(p+".rates", "must be %q or %q, got %q", RatesTeam, RatesMembers, f.Rates)
		}
		if _, ok := scales[f.Scale]; !ok {
			add(p+".scale", "no scale has the id %q", f.Scale)
		}
		if len(f.Items) == 0 {
			add(p+".items", "a form needs at least one item")
		}
		names := map[string]bool{}
		for j, it := range f.Items {
			ip := fmt.Sprintf("%s.items[%d]", p, j)
			if strings.TrimSpace(it.Name) == "" {
				add(ip+".name", "an item needs a name")
			} else if names[it.Name] {
				add(ip+".name", "item %q is used twice in this form", it.Name)
			}
			names[it.Name] = true
			if it.Weight.r.Sign() <= 0 {
				add(ip+".weight", "an item weight must be positive, got %s", it.Weight)
			}
		}
		if f.Overall != "" && names[f.Overall] {
			add(p+".overall", "the overall item %q is also one of the items", f.Overall)
		}
		if f.Weight.r.Sign() <= 0 {
			add(p+".weight", "a form weight must be positive, got %s", f.Weight)
		}
		if f.TopLimit < 0 {
			add(p+".top_limit", "may not be negative")
		}
		if f.TopLimit > 0 && f.Rates != RatesMembers {
			add(p+".top_limit", "a top limit applies to forms that rate members")
		}
		seen := map[string]bool{}
		for j, v := range f.Voters {
			if !cats[v] {
				add(fmt.Sprintf("%s.voters[%d]", p, j), "no category has the id %q", v)
			}
			if seen[v] {
				add(fmt.Sprintf("%s.voters[%d]", p, j), "category %q is listed twice", v)
			}
			seen[v] = true
		}
	}
	for _, c := range d.Categories {
		if c.ID != "" && len(d.FormsFor(c.ID)) == 0 {
			add("categories", "category %q may fill no form", c.ID)
		}
	}

	types := map[string]bool{}
	for _, u := range d.Units {
		types[u.Type] = true
	}
	for _, t := range sortedKeys(d.WeightsByType) {
		ws := d.WeightsByType[t]
		p := "weights_by_type." + t
		if !types[t] {
			add(p, "no unit has the type %q", t)
		}
		sum := newRat()
		for _, c := range d.Categories {
			w, ok := ws[c.ID]
			if !ok {
				add(p, "the weight of category %q is missing", c.ID)
				continue
			}
			if w.r.Sign() < 0 {
				add(p+"."+c.ID, "a weight may not be negative")
			}
			sum.Add(sum, &w.r)
		}
		for _, id := range sortedKeys(ws) {
			if !cats[id] {
				add(p+"."+id, "no category has the id %q", id)
			}
		}
		if sum.Cmp(bigHundred) != 0 {
			add(p, "weights must sum to 100, they sum to %s", ratDecimal(sum))
		}
	}

	checkRatio := func(path string, q Ratio) {
		if q.r.Sign() <= 0 || q.r.Cmp(bigOne) > 0 {
			add(path, "must lie between 0 and 1 (e.g. 2/3, 0.8 or 80%%), got %s", q)
		}
	}
	checkRatio("rules.quorum", d.Rules.Quorum)
	checkRatio("rules.flag_lowest_over", d.Rules.FlagLowestOver)
	checkRatio("rules.flag_top_two_under", d.Rules.FlagTopTwoUnder)
	if d.Rules.MinGroup < 1 {
		add("rules.min_group", "must be at least 1, got %d", d.Rules.MinGroup)
	}

	grades := map[string]bool{}
	shares := newRat()
	for i, g := range d.Grading {
		p := fmt.Sprintf("grading[%d]", i)
		if strings.TrimSpace(g.Grade) == "" {
			add(p+".grade", "the grade needs a name")
		} else if grades[g.Grade] {
			add(p+".grade", "grade %q is used twice", g.Grade)
		}
		grades[g.Grade] = true
		last := i == len(d.Grading)-1
		switch {
		case g.Share == nil && !last:
			add(p+".share", "only the last grade may omit its share")
		case g.Share != nil && last:
			add(p+".share", "the last grade takes the rest and has no share")
		case g.Share != nil:
			if g.Share.r.Sign() <= 0 || g.Share.r.Cmp(bigHundred) > 0 {
				add(p+".share", "a share is a percentage in 0..100, got %s", g.Share)
			}
			shares.Add(shares, &g.Share.r)
		}
	}
	if len(d.Grading) == 1 {
		add("grading", "grading needs at least two grades")
	}
	if shares.Cmp(bigHundred) > 0 {
		add("grading", "the shares sum to %s, more than 100", ratDecimal(shares))
	}

	units := map[string]bool{}
	members := map[string]string{}
	if len(d.Units) == 0 {
		add("units", "at least one unit is needed")
	}
	for i, u := range d.Units {
		p := fmt.Sprintf("units[%d]", i)
		checkID(add, p+".id", u.ID)
		if units[u.ID] && u.ID != "" {
			add(p+".id", "unit id %q is used twice", u.ID)
		}
		units[u.ID] = true
		if strings.TrimSpace(u.Name) == "" {
			add(p+".name", "the unit needs a name")
		}
		if strings.TrimSpace(u.Type) == "" {
			add(p+".type", "the unit needs a type (it groups weights and ranking)")
		}
		if d.hasMemberForm() && len(u.Members) == 0 {
			add(p+".members", "a form rates members, but this unit has none")
		}
		for j, m := range u.Members {
			mp := fmt.Sprintf("%s.members[%d]", p, j)
			checkID(add, mp+".id", m.ID)
			if m.ID == TeamSubject {
				add(mp+".id", "%q is reserved for the team", TeamSubject)
			} else if prev, dup := members[m.ID]; dup && m.ID != "" {
				add(mp+".id", "member id %q is already used in %s", m.ID, prev)
			}
			members[m.ID] = p
			if strings.TrimSpace(m.Name) == "" {
				add(mp+".name", "the member needs a name")
			}
		}
	}
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// MaxOptions is the most options a scale may have; the compact ballot
// encoding keeps one byte per answer.
const MaxOptions = 20

func checkID(add func(string, string, ...any), path, id string) {
	switch {
	case id == "":
		add(path, "an id is needed")
	case strings.ContainsAny(id, " /\\?#%\t\n"):
		add(path, "id %q may not contain spaces or any of / \\ ? # %%", id)
	}
}

func (d *Definition) hasMemberForm() bool {
	for _, f := range d.Forms {
		if f.Rates == RatesMembers {
			return true
		}
	}
	return false
}

// Canonical returns the definition as canonical JSON: the frozen
// configuration whose SHA-256 is the round's config_sha256.
func (d *Definition) Canonical() []byte {
	b, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("marshal definition: %v", err)) // only our own types are in it
	}
	return b
}

// Fingerprint returns the hex SHA-256 of the canonical definition.
func (d *Definition) Fingerprint() string {
	sum := sha256.Sum256(d.Canonical())
	return hex.EncodeToString(sum[:])
}

// FormsFor returns the indexes of the forms that category may fill.
func (d *Definition) FormsFor(category string) []int {
	var out []int
	for i, f := range d.Forms {
		for _, v := range f.Voters {
			if v == category {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// Unit returns the unit with the id, or nil.
func (d *Definition) Unit(id string) *Unit {
	for i := range d.Units {
		if d.Units[i].ID == id {
			return &d.Units[i]
		}
	}
	return nil
}

// Category returns the category with the id, or nil.
func (d *Definition) Category(id string) *Category {
	for i := range d.Categories {
		if d.Categories[i].ID == id {
			return &d.Categories[i]
		}
	}
	return nil
}

// Scale returns the scale with the id, or nil.
func (d *Definition) Scale(id string) *Scale {
	for i := range d.Scales {
		if d.Scales[i].ID == id {
			return &d.Scales[i]
		}
	}
	return nil
}

// Weight returns category's weight for a unit of unitType, the type's
// override applied.
func (d *Definition) Weight(unitType, category string) Decimal {
	if ws, ok := d.WeightsByType[unitType]; ok {
		return ws[category]
	}
	if c := d.Category(category); c != nil {
		return c.Weight
	}
	return Decimal{}
}

// Subjects returns what form f rates in unit u: the team, or each member.
func (d *Definition) Subjects(f *Form, u *Unit) []Subject {
	if f.Rates == RatesTeam {
		return []Subject{{ID: TeamSubject, Name: "领导班子"}}
	}
	out := make([]Subject, len(u.Members))
	for i, m := range u.Members {
		out[i] = Subject{ID: m.ID, Name: m.Name, Post: m.Post}
	}
	return out
}

// Subject is something a form rates: a team or a member.
type Subject struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Post string `json:"post,omitempty"`
}

// Rows returns the rows of form f in the order a ballot answers them: its
// items, then its overall item if it has one.
func (f *Form) Rows() []string {
	out := make([]string, 0, len(f.Items)+1)
	for _, it := range f.Items {
		out = append(out, it.Name)
	}
	if f.Overall != "" {
		out = append(out, f.Overall)
	}
	return out
}
