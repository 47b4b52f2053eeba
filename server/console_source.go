package server

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"minping/survey"
)

// The console edits a round's definition as its source text (YAML or JSON),
// so that what the organiser wrote — comments included — is what is kept
// and offered for download. The helpers here change one part of a source
// and leave the rest as it was; survey.ParseDefinition then checks the
// whole.

// templateOptions are the choices of the standard template.
type templateOptions struct {
	Name         string
	Points       string // the component's full marks, e.g. 20
	Satisfaction bool   // add the 服务对象满意度 form and its category
}

// templateSource returns the standard round definition without units: the
// 领导班子团结协作 team form, the 班子成员德能勤绩廉 member form with its
// 综合评价 row, optionally the 服务对象满意度 form, typical categories and
// weights, and the usual rules.
func templateSource(o templateOptions) []byte {
	var b bytes.Buffer
	q := func(s string) string { return strconv.Quote(s) }
	fmt.Fprintf(&b, "# 标准模板：领导班子团结协作 + 班子成员德能勤绩廉%s。\n", map[bool]string{true: " + 服务对象满意度", false: ""}[o.Satisfaction])
	fmt.Fprintf(&b, "name: %s\n", q(o.Name))
	fmt.Fprintf(&b, "component: {name: 干部群众评价, points: %s}   # 干部群众评价在单位总分中的满分\n", o.Points)
	b.WriteString(`scales:
  - id: grade
    options:
      - {label: 优秀, points: 100}
      - {label: 称职, points: 80}
      - {label: 基本称职, points: 60}
      - {label: 不称职, points: 40}
    abstain: 不了解
  - id: level
    options:
      - {label: 好, points: 100}
      - {label: 较好, points: 80}
      - {label: 一般, points: 60}
      - {label: 差, points: 40}
    abstain: 不了解
`)
	if o.Satisfaction {
		b.WriteString(`  - id: satisfaction
    options:
      - {label: 满意, points: 100}
      - {label: 基本满意, points: 70}
      - {label: 不满意, points: 40}
`)
	}
	b.WriteString(`forms:
  - id: team
    title: 领导班子团结协作测评
    rates: team
    scale: level
    weight: 2
    items: [团结协作, 民主决策, 执行落实, 工作实绩, 党风廉政]
    overall: 综合评价
    voters: [leaders, cadres, staff]
  - id: members
    title: 班子成员德能勤绩廉测评
    rates: members
    scale: grade
    items:
      - {name: 德, weight: 2}
      - {name: 能, weight: 2}
      - {name: 勤, weight: 2}
      - {name: 绩, weight: 3}
      - {name: 廉, weight: 1}
    overall: 综合评价
    # top_limit: 2   # 每张票“综合评价”评为优秀的人数上限（优秀名额）
    voters: [leaders, cadres, staff]
`)
	if o.Satisfaction {
		b.WriteString(`  - id: service
    title: 服务对象满意度测评
    rates: team
    scale: satisfaction
    items: [服务态度, 办事效率, 依法行政, 廉洁从政]
    voters: [clients]
categories:
  - {id: leaders, name: 区领导, weight: 20}
  - {id: cadres, name: 本单位班子成员及中层干部, weight: 30}
  - {id: staff, name: 一般干部职工, weight: 30}
  - {id: clients, name: 服务对象, weight: 20}
`)
	} else {
		b.WriteString(`categories:
  - {id: leaders, name: 区领导, weight: 30}
  - {id: cadres, name: 本单位班子成员及中层干部, weight: 30}
  - {id: staff, name: 一般干部职工, weight: 40}
`)
	}
	b.WriteString(`# weights_by_type:   # 某类单位使用不同权重时填写，须列出全部类别，合计 100
#   镇街道: {leaders: 30, cadres: 20, staff: 50}
rules: {quorum: 2/3, min_group: 3, flag_lowest_over: 1/3, flag_top_two_under: 2/3}
# grading:           # 按单位类型分等次的比例（可选）
#   - {grade: 一等, share: 20}
#   - {grade: 二等, share: 70}
#   - {grade: 三等}
`)
	return b.Bytes()
}

// parseSource reads a definition source into a YAML document; JSON is read
// as YAML's flow style.
func parseSource(src []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, &survey.ValidationError{Problems: []survey.Problem{{Message: "定义不是有效的 YAML 或 JSON：" + err.Error()}}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &survey.ValidationError{Problems: []survey.Problem{{Message: "定义的最外层应是键值映射（name:、forms:、categories: ……）"}}}
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

// sourceWithUnits returns the source with its units replaced by units.
func sourceWithUnits(src []byte, units []survey.Unit) ([]byte, error) {
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

// settings are the parts of a definition the console edits in plain fields.
type roundSettings struct {
	Name     string
	Points   string
	Weights  map[string]string // category id → weight
	Quorum   string
	MinGroup string
	Lowest   string // flag_lowest_over
	TopTwo   string // flag_top_two_under
}

// sourceWithSettings returns the source with the name, component points,
// category weights and rules of set; fields left empty are not changed.
func sourceWithSettings(src []byte, set roundSettings) ([]byte, error) {
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

// sourceCategories reads the voter categories of a definition source that
// may not yet have units, to name a roster's 应到人数 columns.
func sourceCategories(src []byte) ([]survey.Category, []survey.Problem) {
	doc, err := parseSource(src)
	if err != nil {
		return nil, problemList(err)
	}
	var cats []survey.Category
	if n := mapValue(doc.Content[0], "categories"); n != nil {
		for _, c := range n.Content {
			if c.Kind != yaml.MappingNode {
				continue
			}
			var cat survey.Category
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
