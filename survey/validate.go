package survey

import (
	"fmt"
	"strings"
)

// Validate checks the definition against CONTRACT §2 and returns a
// *ValidationError listing every problem, or nil. The problems come part by
// part in the order of the definition, so that an organiser reads them from
// top to bottom.
func (d *Definition) Validate() error {
	var ps problems
	d.checkHeader(&ps)
	scales := d.checkScales(&ps)
	cats := d.checkCategories(&ps)
	d.checkForms(&ps, scales, cats)
	d.checkWeightsByType(&ps, cats)
	d.checkRules(&ps)
	d.checkGrading(&ps)
	d.checkUnits(&ps)
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// problems collects the problems of a definition in the order found.
type problems []Problem

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// checkID adds a problem if id is empty or could not stand in a URL path.
func (ps *problems) checkID(path, id string) {
	switch {
	case id == "":
		ps.add(path, "an id is needed")
	case strings.ContainsAny(id, " /\\?#%\t\n"):
		ps.add(path, "id %q may not contain spaces or any of / \\ ? # %%", id)
	}
}

// checkHeader checks the round's name and its component.
func (d *Definition) checkHeader(ps *problems) {
	if strings.TrimSpace(d.Name) == "" {
		ps.add("name", "the round needs a name")
	}
	if strings.TrimSpace(d.Component.Name) == "" {
		ps.add("component.name", "the component needs a name (e.g. 干部群众评价)")
	}
	if d.Component.Points.r.Sign() <= 0 {
		ps.add("component.points", "must be a positive number (e.g. 20 of 100)")
	}
}

// checkScales checks the scales and returns the set of their ids.
func (d *Definition) checkScales(ps *problems) map[string]bool {
	scales := map[string]bool{}
	if len(d.Scales) == 0 {
		ps.add("scales", "at least one scale is needed")
	}
	for i := range d.Scales {
		s := &d.Scales[i]
		p := fmt.Sprintf("scales[%d]", i)
		ps.checkID(p+".id", s.ID)
		if scales[s.ID] && s.ID != "" {
			ps.add(p+".id", "scale id %q is used twice", s.ID)
		}
		scales[s.ID] = true
		s.check(ps, p)
	}
	return scales
}

// check checks the options and abstain label of the scale at path p.
func (s *Scale) check(ps *problems, p string) {
	if len(s.Options) < 2 {
		ps.add(p+".options", "a scale needs at least 2 options, has %d", len(s.Options))
	}
	if len(s.Options) > MaxOptions {
		ps.add(p+".options", "a scale may have at most %d options, has %d", MaxOptions, len(s.Options))
	}
	labels := map[string]bool{}
	for j, o := range s.Options {
		op := fmt.Sprintf("%s.options[%d]", p, j)
		if strings.TrimSpace(o.Label) == "" {
			ps.add(op+".label", "an option needs a label")
		} else if labels[o.Label] {
			ps.add(op+".label", "label %q is used twice in this scale", o.Label)
		}
		labels[o.Label] = true
		if o.Points.r.Sign() < 0 || o.Points.r.Cmp(bigHundred) > 0 {
			ps.add(op+".points", "points must lie in 0..100, got %s", o.Points)
		}
	}
	if s.Abstain != "" && labels[s.Abstain] {
		ps.add(p+".abstain", "the abstain label %q is also an option", s.Abstain)
	}
}

// checkCategories checks the voter categories and their weights, and returns
// the set of their ids.
func (d *Definition) checkCategories(ps *problems) map[string]bool {
	cats := map[string]bool{}
	if len(d.Categories) == 0 {
		ps.add("categories", "at least one voter category is needed")
	}
	sum := newRat()
	for i, c := range d.Categories {
		p := fmt.Sprintf("categories[%d]", i)
		ps.checkID(p+".id", c.ID)
		if cats[c.ID] && c.ID != "" {
			ps.add(p+".id", "category id %q is used twice", c.ID)
		}
		cats[c.ID] = true
		if strings.TrimSpace(c.Name) == "" {
			ps.add(p+".name", "the category needs a name")
		}
		if c.Weight.r.Sign() < 0 {
			ps.add(p+".weight", "a weight may not be negative")
		}
		sum.Add(sum, &c.Weight.r)
	}
	if len(d.Categories) > 0 && sum.Cmp(bigHundred) != 0 {
		ps.add("categories", "category weights must sum to 100, they sum to %s", ratDecimal(sum))
	}
	return cats
}

// checkForms checks the forms against the scale and category ids, then that
// every category fills some form.
func (d *Definition) checkForms(ps *problems, scales, cats map[string]bool) {
	forms := map[string]bool{}
	if len(d.Forms) == 0 {
		ps.add("forms", "at least one form is needed")
	}
	for i := range d.Forms {
		f := &d.Forms[i]
		p := fmt.Sprintf("forms[%d]", i)
		ps.checkID(p+".id", f.ID)
		if forms[f.ID] && f.ID != "" {
			ps.add(p+".id", "form id %q is used twice", f.ID)
		}
		forms[f.ID] = true
		f.check(ps, p, scales, cats)
	}
	for _, c := range d.Categories {
		if c.ID != "" && len(d.FormsFor(c.ID)) == 0 {
			ps.add("categories", "category %q may fill no form", c.ID)
		}
	}
}

// check checks the form at path p but for its id: its title, what it rates,
// its scale, items, weight, top limit and voters.
func (f *Form) check(ps *problems, p string, scales, cats map[string]bool) {
	if strings.TrimSpace(f.Title) == "" {
		ps.add(p+".title", "the form needs a title")
	}
	if f.Rates != RatesTeam && f.Rates != RatesMembers {
		ps.add(p+".rates", "must be %q or %q, got %q", RatesTeam, RatesMembers, f.Rates)
	}
	if !scales[f.Scale] {
		ps.add(p+".scale", "no scale has the id %q", f.Scale)
	}
	f.checkItems(ps, p)
	if f.Weight.r.Sign() <= 0 {
		ps.add(p+".weight", "a form weight must be positive, got %s", f.Weight)
	}
	if f.TopLimit < 0 {
		ps.add(p+".top_limit", "may not be negative")
	}
	if f.TopLimit > 0 && f.Rates != RatesMembers {
		ps.add(p+".top_limit", "a top limit applies to forms that rate members")
	}
	seen := map[string]bool{}
	for j, v := range f.Voters {
		if !cats[v] {
			ps.add(fmt.Sprintf("%s.voters[%d]", p, j), "no category has the id %q", v)
		}
		if seen[v] {
			ps.add(fmt.Sprintf("%s.voters[%d]", p, j), "category %q is listed twice", v)
		}
		seen[v] = true
	}
}

// checkItems checks the items and the overall item of the form at path p.
func (f *Form) checkItems(ps *problems, p string) {
	if len(f.Items) == 0 {
		ps.add(p+".items", "a form needs at least one item")
	}
	names := map[string]bool{}
	for j, it := range f.Items {
		ip := fmt.Sprintf("%s.items[%d]", p, j)
		if strings.TrimSpace(it.Name) == "" {
			ps.add(ip+".name", "an item needs a name")
		} else if names[it.Name] {
			ps.add(ip+".name", "item %q is used twice in this form", it.Name)
		}
		names[it.Name] = true
		if it.Weight.r.Sign() <= 0 {
			ps.add(ip+".weight", "an item weight must be positive, got %s", it.Weight)
		}
	}
	if f.Overall != "" && names[f.Overall] {
		ps.add(p+".overall", "the overall item %q is also one of the items", f.Overall)
	}
}

// checkWeightsByType checks each unit type's category weights: the type has
// units, every category has a weight, none is unknown, and they sum to 100.
func (d *Definition) checkWeightsByType(ps *problems, cats map[string]bool) {
	types := map[string]bool{}
	for _, u := range d.Units {
		types[u.Type] = true
	}
	for _, t := range sortedKeys(d.WeightsByType) {
		ws := d.WeightsByType[t]
		p := "weights_by_type." + t
		if !types[t] {
			ps.add(p, "no unit has the type %q", t)
		}
		sum := newRat()
		for _, c := range d.Categories {
			w, ok := ws[c.ID]
			if !ok {
				ps.add(p, "the weight of category %q is missing", c.ID)
				continue
			}
			if w.r.Sign() < 0 {
				ps.add(p+"."+c.ID, "a weight may not be negative")
			}
			sum.Add(sum, &w.r)
		}
		for _, id := range sortedKeys(ws) {
			if !cats[id] {
				ps.add(p+"."+id, "no category has the id %q", id)
			}
		}
		if sum.Cmp(bigHundred) != 0 {
			ps.add(p, "weights must sum to 100, they sum to %s", ratDecimal(sum))
		}
	}
}

// checkRules checks that the thresholds are proportions in (0, 1] and the
// smallest group is at least 1.
func (d *Definition) checkRules(ps *problems) {
	for _, r := range []struct {
		path string
		q    Ratio
	}{
		{"rules.quorum", d.Rules.Quorum},
		{"rules.flag_lowest_over", d.Rules.FlagLowestOver},
		{"rules.flag_top_two_under", d.Rules.FlagTopTwoUnder},
	} {
		if r.q.r.Sign() <= 0 || r.q.r.Cmp(bigOne) > 0 {
			ps.add(r.path, "must lie between 0 and 1 (e.g. 2/3, 0.8 or 80%%), got %s", r.q)
		}
	}
	if d.Rules.MinGroup < 1 {
		ps.add("rules.min_group", "must be at least 1, got %d", d.Rules.MinGroup)
	}
}

// checkGrading checks the quota grades: named once each, every share but the
// last's a percentage, and the shares together at most 100.
func (d *Definition) checkGrading(ps *problems) {
	grades := map[string]bool{}
	shares := newRat()
	for i, g := range d.Grading {
		p := fmt.Sprintf("grading[%d]", i)
		if strings.TrimSpace(g.Grade) == "" {
			ps.add(p+".grade", "the grade needs a name")
		} else if grades[g.Grade] {
			ps.add(p+".grade", "grade %q is used twice", g.Grade)
		}
		grades[g.Grade] = true
		last := i == len(d.Grading)-1
		switch {
		case g.Share == nil && !last:
			ps.add(p+".share", "only the last grade may omit its share")
		case g.Share != nil && last:
			ps.add(p+".share", "the last grade takes the rest and has no share")
		case g.Share != nil:
			if g.Share.r.Sign() <= 0 || g.Share.r.Cmp(bigHundred) > 0 {
				ps.add(p+".share", "a share is a percentage in 0..100, got %s", g.Share)
			}
			shares.Add(shares, &g.Share.r)
		}
	}
	if len(d.Grading) == 1 {
		ps.add("grading", "grading needs at least two grades")
	}
	if shares.Cmp(bigHundred) > 0 {
		ps.add("grading", "the shares sum to %s, more than 100", ratDecimal(shares))
	}
}

// checkUnits checks the units and their members; member ids are unique
// across the round, as a ballot names a member by id alone.
func (d *Definition) checkUnits(ps *problems) {
	units := map[string]bool{}
	members := map[string]string{} // member id → path of its unit
	if len(d.Units) == 0 {
		ps.add("units", "at least one unit is needed")
	}
	rated := d.hasMemberForm()
	for i, u := range d.Units {
		p := fmt.Sprintf("units[%d]", i)
		ps.checkID(p+".id", u.ID)
		if units[u.ID] && u.ID != "" {
			ps.add(p+".id", "unit id %q is used twice", u.ID)
		}
		units[u.ID] = true
		if strings.TrimSpace(u.Name) == "" {
			ps.add(p+".name", "the unit needs a name")
		}
		if strings.TrimSpace(u.Type) == "" {
			ps.add(p+".type", "the unit needs a type (it groups weights and ranking)")
		}
		if rated && len(u.Members) == 0 {
			ps.add(p+".members", "a form rates members, but this unit has none")
		}
		for j, m := range u.Members {
			mp := fmt.Sprintf("%s.members[%d]", p, j)
			ps.checkID(mp+".id", m.ID)
			if m.ID == TeamSubject {
				ps.add(mp+".id", "%q is reserved for the team", TeamSubject)
			} else if prev, dup := members[m.ID]; dup && m.ID != "" {
				ps.add(mp+".id", "member id %q is already used in %s", m.ID, prev)
			}
			members[m.ID] = p
			if strings.TrimSpace(m.Name) == "" {
				ps.add(mp+".name", "the member needs a name")
			}
		}
	}
}

// MaxOptions is the most options a scale may have; the compact ballot
// encoding keeps one byte per answer.
const MaxOptions = 20

func (d *Definition) hasMemberForm() bool {
	for _, f := range d.Forms {
		if f.Rates == RatesMembers {
			return true
		}
	}
	return false
}
