package survey

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Scheme is what the console's scheme form edits of a definition (CONTRACT
// §5), each value as the organiser typed it: what each category's slip
// rates, which forms are scored and whom they rate, the components, the
// missing rule, the total and the grading of units and members. Lists are
// replaced whole; ParseDefinition then checks everything.
type Scheme struct {
	Categories    []CategoryScheme
	Forms         []FormScheme
	Components    []ComponentScheme // nil: keep the v1 component and the categories' weights
	Missing       string
	Total         *TotalScheme   // nil: no total
	Grading       *GradingScheme // nil: no grading
	MemberGrading *GradingScheme // nil: members not graded
}

// CategoryScheme is a category's sheet: SheetUnit, SheetAll or
// SheetOthers, and whether its members recuse themselves.
type CategoryScheme struct {
	ID     string
	Sheet  string
	Recuse bool
}

// FormScheme says whether a form is scored and which members it rates.
type FormScheme struct {
	ID       string
	Scored   bool
	Members  string // MembersAll, MembersPrincipal or MembersDeputies
	TopLimit string // 优秀名额 per ballot; "" or "0" for none
}

// ComponentScheme is one component as typed.
type ComponentScheme struct {
	ID, Name, Points string
	Forms            []string
	Weights          map[string]string // category id → weight; empty left out
}

// TotalScheme is the total as typed.
type TotalScheme struct {
	Points               string
	Parts                []PartScheme
	MaxBonus, MaxPenalty string
}

// PartScheme is one outside part as typed.
type PartScheme struct{ ID, Name, Points string }

// GradingScheme is a grading as typed.
type GradingScheme struct {
	By, Within, Rounding, VetoGrade string
	TieBreak                        []string
	Grades                          []GradeScheme
}

// GradeScheme is one grade as typed: its places as a count or a share
// (Places, "count" or "share"), its min and the flags it bars.
type GradeScheme struct {
	Grade, Places, Value, Min string
	Bar                       []string
}

// SourceWithScheme returns the source with the scheme written into it, as
// YAML: each category's sheet and recusal and each form's scored flag and
// members in place, the components, total and gradings replaced whole
// (comments inside them are not kept). With components, the v1 component
// and the categories' weights and weights_by_type go. Values are not
// checked (ParseDefinition does that).
func SourceWithScheme(src []byte, s Scheme) ([]byte, error) {
	doc, err := parseSource(src)
	if err != nil {
		return nil, err
	}
	root := doc.Content[0]
	eachByID(mapValue(root, "categories"), func(id string, c *yaml.Node) {
		for _, cs := range s.Categories {
			if cs.ID != id {
				continue
			}
			setOrDrop(c, "sheet", cs.Sheet, cs.Sheet == "" || cs.Sheet == SheetUnit)
			setOrDropBool(c, "recuse", cs.Recuse)
			if s.Components != nil {
				dropKey(c, "weight")
			}
		}
	})
	eachByID(mapValue(root, "forms"), func(id string, f *yaml.Node) {
		for _, fs := range s.Forms {
			if fs.ID != id {
				continue
			}
			if fs.Scored {
				dropKey(f, "scored")
			} else {
				setMapValue(f, "scored", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"})
			}
			setOrDrop(f, "members", fs.Members, fs.Members == "" || fs.Members == MembersAll)
			if tl := strings.TrimSpace(fs.TopLimit); tl == "" || tl == "0" {
				dropKey(f, "top_limit")
			} else {
				setMapValue(f, "top_limit", number(tl))
			}
		}
	})
	if s.Components != nil {
		dropKey(root, "component")
		dropKey(root, "weights_by_type")
		setMapValue(root, "components", componentsNode(s.Components))
	}
	rules := mapValue(root, "rules")
	if rules == nil || rules.Kind != yaml.MappingNode {
		rules = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
		setMapValue(root, "rules", rules)
	}
	setOrDrop(rules, "missing", s.Missing, s.Missing == "" || s.Missing == MissingReweight)
	if s.Total == nil {
		dropKey(root, "total")
	} else {
		setMapValue(root, "total", totalNode(s.Total))
	}
	for _, g := range []struct {
		key string
		g   *GradingScheme
	}{{"grading", s.Grading}, {"member_grading", s.MemberGrading}} {
		if g.g == nil {
			dropKey(root, g.key)
		} else {
			setMapValue(root, g.key, gradingNode(g.g))
		}
	}
	return encodeSource(doc)
}

// eachByID calls fn with each mapping of a sequence and its id.
func eachByID(seq *yaml.Node, fn func(id string, m *yaml.Node)) {
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return
	}
	for _, m := range seq.Content {
		if m.Kind != yaml.MappingNode {
			continue
		}
		if id := mapValue(m, "id"); id != nil {
			fn(id.Value, m)
		}
	}
}

func dropKey(m *yaml.Node, key string) {
	if m == nil {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

func setOrDrop(m *yaml.Node, key, v string, drop bool) {
	if drop {
		dropKey(m, key)
		return
	}
	setMapValue(m, key, yamlString(v))
}

func setOrDropBool(m *yaml.Node, key string, v bool) {
	if !v {
		dropKey(m, key)
		return
	}
	setMapValue(m, key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
}

func flowMap() *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
}

func flowSeq(vs []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, v := range vs {
		n.Content = append(n.Content, yamlString(v))
	}
	return n
}

// number writes a typed number as a YAML number, or as the text it is
// when it is not one (so that ParseDefinition names the problem).
func number(v string) *yaml.Node {
	return yamlScalar(strings.TrimSpace(v))
}

func componentsNode(cs []ComponentScheme) *yaml.Node {
	list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, c := range cs {
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		setMapValue(n, "id", yamlString(c.ID))
		setMapValue(n, "name", yamlString(c.Name))
		setMapValue(n, "points", number(c.Points))
		setMapValue(n, "forms", flowSeq(c.Forms))
		ws := flowMap()
		for _, id := range sortedKeys(c.Weights) {
			if w := strings.TrimSpace(c.Weights[id]); w != "" {
				setMapValue(ws, id, number(w))
			}
		}
		setMapValue(n, "weights", ws)
		list.Content = append(list.Content, n)
	}
	return list
}

func totalNode(t *TotalScheme) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	setMapValue(n, "points", number(t.Points))
	parts := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, p := range t.Parts {
		pn := flowMap()
		setMapValue(pn, "id", yamlString(p.ID))
		setMapValue(pn, "name", yamlString(p.Name))
		setMapValue(pn, "points", number(p.Points))
		parts.Content = append(parts.Content, pn)
	}
	setMapValue(n, "parts", parts)
	if strings.TrimSpace(t.MaxBonus) != "" {
		setMapValue(n, "max_bonus", number(t.MaxBonus))
	}
	if strings.TrimSpace(t.MaxPenalty) != "" {
		setMapValue(n, "max_penalty", number(t.MaxPenalty))
	}
	return n
}

func gradingNode(g *GradingScheme) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, kv := range [][2]string{{"by", g.By}, {"within", g.Within}, {"rounding", g.Rounding}, {"veto_grade", g.VetoGrade}} {
		if kv[1] != "" {
			setMapValue(n, kv[0], yamlString(kv[1]))
		}
	}
	if len(g.TieBreak) > 0 {
		setMapValue(n, "tie_break", flowSeq(g.TieBreak))
	}
	grades := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, gr := range g.Grades {
		gn := flowMap()
		setMapValue(gn, "grade", yamlString(gr.Grade))
		if v := strings.TrimSpace(gr.Value); v != "" && (gr.Places == "count" || gr.Places == "share") {
			setMapValue(gn, gr.Places, number(v))
		}
		if m := strings.TrimSpace(gr.Min); m != "" {
			setMapValue(gn, "min", number(m))
		}
		if len(gr.Bar) > 0 {
			setMapValue(gn, "bar", flowSeq(gr.Bar))
		}
		grades.Content = append(grades.Content, gn)
	}
	setMapValue(n, "grades", grades)
	return n
}

// SchemeOf returns a definition's scheme as the console's form shows it.
func SchemeOf(d *Definition) Scheme {
	var s Scheme
	for _, c := range d.Categories {
		s.Categories = append(s.Categories, CategoryScheme{ID: c.ID, Sheet: c.SheetKind(), Recuse: c.Recuse})
	}
	for _, f := range d.Forms {
		m := f.Members
		if m == "" {
			m = MembersAll
		}
		fs := FormScheme{ID: f.ID, Scored: f.IsScored(), Members: m}
		if f.TopLimit > 0 {
			fs.TopLimit = strconv.Itoa(f.TopLimit)
		}
		s.Forms = append(s.Forms, fs)
	}
	for _, c := range d.Components {
		cs := ComponentScheme{ID: c.ID, Name: c.Name, Points: c.Points.String(), Forms: c.Forms, Weights: map[string]string{}}
		for id, w := range c.Weights {
			cs.Weights[id] = w.String()
		}
		s.Components = append(s.Components, cs)
	}
	s.Missing = d.Rules.MissingRule()
	if t := d.Total; t != nil {
		ts := &TotalScheme{Points: t.Points.String()}
		for _, p := range t.Parts {
			ts.Parts = append(ts.Parts, PartScheme{p.ID, p.Name, p.Points.String()})
		}
		if t.MaxBonus != nil {
			ts.MaxBonus = t.MaxBonus.String()
		}
		if t.MaxPenalty != nil {
			ts.MaxPenalty = t.MaxPenalty.String()
		}
		s.Total = ts
	}
	s.Grading, s.MemberGrading = gradingScheme(d.Grading), gradingScheme(d.MemberGrading)
	return s
}

func gradingScheme(g *Grading) *GradingScheme {
	if g == nil {
		return nil
	}
	gs := &GradingScheme{By: g.By, Within: g.Within, Rounding: g.Rounding, VetoGrade: g.VetoGrade, TieBreak: g.TieBreak}
	for _, gr := range g.Grades {
		s := GradeScheme{Grade: gr.Grade, Bar: gr.Bar}
		switch {
		case gr.Count != nil:
			s.Places, s.Value = "count", strconv.Itoa(*gr.Count)
		case gr.Share != nil:
			s.Places, s.Value = "share", gr.Share.String()
		}
		if gr.Min != nil {
			s.Min = gr.Min.String()
		}
		gs.Grades = append(gs.Grades, s)
	}
	return gs
}
