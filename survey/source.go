package survey

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// The console edits a round's definition as its source text (YAML or JSON),
// so that what the organiser wrote — comments included — is what is kept
// and offered for download. The functions here change one part of a source
// and leave the rest as it was; ParseDefinition then checks the whole.

// TemplateOptions are the choices of the standard template.
type TemplateOptions struct {
	Name         string
	Points       string // the component's full marks, e.g. 20
	Satisfaction bool   // add the 服务对象满意度 form and its category
}

//go:embed template.yaml.tmpl
var templateText string

var standardTemplate = template.Must(template.New("template.yaml.tmpl").
	Funcs(template.FuncMap{"quote": strconv.Quote}).
	Parse(templateText))

// TemplateSource returns the standard round definition without units: the
// 领导班子团结协作 team form, the 班子成员德能勤绩廉 member form with its
// 综合评价 row, optionally the 服务对象满意度 form, typical categories and
// weights, and the usual rules. Points is written as it is given.
func TemplateSource(o TemplateOptions) []byte {
	var b bytes.Buffer
	if err := standardTemplate.Execute(&b, o); err != nil {
		panic(fmt.Sprintf("render the standard template: %v", err)) // our own template, into memory
	}
	return b.Bytes()
}

// parseSource reads a definition source into a YAML document; JSON is read
// as YAML's flow style.
func parseSource(src []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, &ValidationError{Problems: []Problem{{Message: "定义不是有效的 YAML 或 JSON：" + err.Error()}}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &ValidationError{Problems: []Problem{{Message: "定义的最外层应是键值映射（name:、forms:、categories: ……）"}}}
	}
	return &doc, nil
}

func encodeSource(doc *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode definition: %w", err)
	}
	enc.Close()
	return b.Bytes(), nil
}

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setMapValue sets key in a mapping node, appending it if it is missing.
func setMapValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v.HeadComment, v.LineComment = m.Content[i+1].HeadComment, m.Content[i+1].LineComment
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

func yamlScalar(v string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: v}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		n.Tag = "!!float"
		if _, err := strconv.Atoi(v); err == nil {
			n.Tag = "!!int"
		}
	} else {
		n.Tag = "!!str"
	}
	return n
}

// SourceWithUnits returns the source with its units replaced by units,
// written as YAML. A source that is not a mapping is a *ValidationError.
func SourceWithUnits(src []byte, units []Unit) ([]byte, error) {
	doc, err := parseSource(src)
	if err != nil {
		return nil, err
	}
	list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, u := range units {
		un := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		setMapValue(un, "id", yamlString(u.ID))
		setMapValue(un, "name", yamlString(u.Name))
		setMapValue(un, "type", yamlString(u.Type))
		ms := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, m := range u.Members {
			mn := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
			setMapValue(mn, "id", yamlString(m.ID))
			setMapValue(mn, "name", yamlString(m.Name))
			if m.Post != "" {
				setMapValue(mn, "post", yamlString(m.Post))
			}
			if m.Principal {
				setMapValue(mn, "principal", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
			}
			ms.Content = append(ms.Content, mn)
		}
		if len(u.Members) == 0 {
			ms.Style = yaml.FlowStyle
		}
		setMapValue(un, "members", ms)
		list.Content = append(list.Content, un)
	}
	setMapValue(doc.Content[0], "units", list)
	return encodeSource(doc)
}

// yamlString is a string scalar, quoted by the encoder where YAML needs it.
func yamlString(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
}

// Settings are the parts of a definition the console edits in plain
// fields, each as the organiser typed it; an empty field is left unchanged.
type Settings struct {
	Name     string
	Points   string            // component.points
	Weights  map[string]string // category id → weight
	Quorum   string
	MinGroup string
	Lowest   string // rules.flag_lowest_over
	TopTwo   string // rules.flag_top_two_under
}

// SourceWithSettings returns the source with the name, component points,
// category weights and rules of set, written as YAML; fields left empty are
// not changed, and the values are not checked (ParseDefinition does that).
// A source that is not a mapping is a *ValidationError.
func SourceWithSettings(src []byte, set Settings) ([]byte, error) {
	doc, err := parseSource(src)
	if err != nil {
		return nil, err
	}
	root := doc.Content[0]
	if set.Name != "" {
		setMapValue(root, "name", yamlString(set.Name))
	}
	if set.Points != "" {
		comp := mapValue(root, "component")
		if comp == nil || comp.Kind != yaml.MappingNode {
			comp = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
			setMapValue(comp, "name", yamlString("干部群众评价"))
			setMapValue(root, "component", comp)
		}
		setMapValue(comp, "points", yamlScalar(set.Points))
	}
	if cats := mapValue(root, "categories"); cats != nil && cats.Kind == yaml.SequenceNode {
		for _, c := range cats.Content {
			if c.Kind != yaml.MappingNode {
				continue
			}
			id := mapValue(c, "id")
			if id == nil {
				continue
			}
			if w, ok := set.Weights[id.Value]; ok && w != "" {
				setMapValue(c, "weight", yamlScalar(w))
			}
		}
	}
	rules := mapValue(root, "rules")
	for _, r := range []struct{ key, v string }{
		{"quorum", set.Quorum}, {"min_group", set.MinGroup},
		{"flag_lowest_over", set.Lowest}, {"flag_top_two_under", set.TopTwo},
	} {
		if r.v == "" {
			continue
		}
		if rules == nil || rules.Kind != yaml.MappingNode {
			rules = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
			setMapValue(root, "rules", rules)
		}
		v := yamlScalar(r.v)
		if strings.ContainsAny(r.v, "/%") {
			v.Tag = "!!str"
		}
		setMapValue(rules, r.key, v)
	}
	return encodeSource(doc)
}

// SourceCategories reads the voter categories (id and name) of a definition
// source that may not yet have units, to name a roster's 应到人数 columns.
// A source that is not a mapping gives its problems instead.
func SourceCategories(src []byte) ([]Category, []Problem) {
	doc, err := parseSource(src)
	if err != nil {
		return nil, ProblemsOf(err)
	}
	var cats []Category
	if n := mapValue(doc.Content[0], "categories"); n != nil {
		for _, c := range n.Content {
			if c.Kind != yaml.MappingNode {
				continue
			}
			var cat Category
			if id := mapValue(c, "id"); id != nil {
				cat.ID = id.Value
			}
			if name := mapValue(c, "name"); name != nil {
				cat.Name = name.Value
			}
			cats = append(cats, cat)
		}
	}
	return cats, nil
}

// ProblemsOf lists the problems of err: a *ValidationError's, or err
// itself as one problem without a path.
func ProblemsOf(err error) []Problem {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Problems
	}
	return []Problem{{Message: err.Error()}}
}
