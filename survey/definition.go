package survey

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
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
	Component     Component                     `json:"component,omitzero" yaml:"component"`
	Components    []ComponentDef                `json:"components,omitempty" yaml:"components"`
	Scales        []Scale                       `json:"scales" yaml:"scales"`
	Forms         []Form                        `json:"forms" yaml:"forms"`
	Categories    []Category                    `json:"categories" yaml:"categories"`
	WeightsByType map[string]map[string]Decimal `json:"weights_by_type,omitempty" yaml:"weights_by_type"`
	Rules         Rules                         `json:"rules" yaml:"rules"`
	Grading       *Grading                      `json:"grading,omitempty" yaml:"grading"`
	MemberGrading *Grading                      `json:"member_grading,omitempty" yaml:"member_grading"`
	Total         *Total                        `json:"total,omitempty" yaml:"total"`
	PublishScores bool                          `json:"publish_scores,omitempty" yaml:"publish_scores"`
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
	// Members is MembersAll (""), MembersPrincipal or MembersDeputies.
	Members string `json:"members,omitempty" yaml:"members"`
	// Scored is false for a reference form (参考): counted, not scored.
	Scored *bool `json:"scored,omitempty" yaml:"scored"`
}

// Item is one rated row of a form with its weight in the form score.
type Item struct {
	Name   string  `json:"name" yaml:"name"`
	Weight Decimal `json:"weight" yaml:"weight"`
}

// Category is a voter category (测评人类别): its default weight (v1; with
// components the weights are the components'), what one slip rates, and
// whether its members recuse themselves (CONTRACT §5.1).
type Category struct {
	ID        string   `json:"id" yaml:"id"`
	Name      string   `json:"name" yaml:"name"`
	Weight    Decimal  `json:"weight,omitzero" yaml:"weight"`
	Sheet     string   `json:"sheet,omitempty" yaml:"sheet"`
	UnitTypes []string `json:"unit_types,omitempty" yaml:"unit_types"`
	Recuse    bool     `json:"recuse,omitempty" yaml:"recuse"`
}

// Rules are the round's thresholds, as exact proportions, and what is done
// with a small group of voters.
type Rules struct {
	Quorum          Ratio `json:"quorum" yaml:"quorum"`
	MinGroup        int   `json:"min_group" yaml:"min_group"`
	FlagLowestOver  Ratio `json:"flag_lowest_over" yaml:"flag_lowest_over"`
	FlagTopTwoUnder Ratio `json:"flag_top_two_under" yaml:"flag_top_two_under"`
	// SmallGroups is SmallGroupsExclude (the default) or SmallGroupsCount:
	// whether the ballots of a category of a unit with fewer than MinGroup
	// voters enter the figures (CONTRACT §3).
	SmallGroups string `json:"small_groups,omitempty" yaml:"small_groups"`
	// Missing is what a category with weight and no valid vote does:
	// MissingReweight (""), MissingZero or MissingUnrated.
	Missing string `json:"missing,omitempty" yaml:"missing"`
}

// Excludes reports whether the ballots of a group (a unit's category) of
// voted voters enter no figure: under SmallGroupsExclude, when 1 ≤ voted
// < MinGroup. voted is the group's turnout (its spent codes), which stays
// when its ballots go, so that a recount finds the same groups.
func (r Rules) Excludes(voted int) bool {
	return r.SmallGroups == SmallGroupsExclude && voted >= 1 && voted < r.MinGroup
}

// What is done with the ballots of a small group (CONTRACT §3 v2).
const (
	// SmallGroupsExclude: they enter no score, count, share or digest of any
	// document, and are deleted at the seal.
	SmallGroupsExclude = "exclude"
	// SmallGroupsCount: v1's arithmetic; every document says its figures
	// can be traced to few voters.
	SmallGroupsCount = "count"
)

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
				return fmt.Errorf("第 %d 行：不认识的字段 %s（测评项目只有 name 和 weight）", n.Content[i].Line, k)
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
	// slot is 1 + the index in the layout of the ballot slot a ballot
	// problem is about, 0 for any other problem; see Slot.
	slot int
}

// Slot is the ballot slot (an index into the layout) a ballot problem is
// about, so that a page can mark its row; ok is false for other problems.
func (p Problem) Slot() (slot int, ok bool) { return p.slot - 1, p.slot > 0 }

// ValidationError lists every problem found in a definition or a ballot.
type ValidationError struct{ Problems []Problem }

// Error lists the problems, each after its path, in Chinese.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "发现 %d 个问题：", len(e.Problems))
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("；")
		}
		if p.Path != "" {
			b.WriteString(p.Path + "：")
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
		return nil, &ValidationError{Problems: []Problem{{Message: "定义是空的"}}}
	}
	if trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return nil, &ValidationError{Problems: []Problem{jsonProblem(err, trimmed)}}
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(trimmed))
		dec.KnownFields(true)
		if err := dec.Decode(&d); err != nil {
			return nil, &ValidationError{Problems: yamlProblems(err)}
		}
	}
	d.fillDefaults()
	if err := d.Validate(); err != nil {
		return nil, err
	}
	d.shapes = &shapeCache{m: map[shapeKey]*Sheet{}, layouts: map[shapeKey][]Slot{}}
	return &d, nil
}

// ParseFrozen parses a definition as a store froze it (Canonical bytes).
// One frozen before rules.small_groups existed had v1's arithmetic, and
// keeps it (SmallGroupsCount), so that a round sealed then still recounts
// to the same bytes; every definition parsed since carries the key.
func ParseFrozen(canonical []byte) (*Definition, error) {
	d, err := ParseDefinition(canonical)
	if err != nil {
		return nil, err
	}
	var keys struct {
		Rules   map[string]json.RawMessage
		Grading json.RawMessage
	}
	if json.Unmarshal(canonical, &keys) == nil {
		if _, ok := keys.Rules["small_groups"]; !ok {
			d.Rules.SmallGroups = SmallGroupsCount
		}
		// v1's grading was frozen as a bare list: keep v1's rule for it.
		if g := bytes.TrimSpace(keys.Grading); len(g) > 0 && g[0] == '[' && d.Grading != nil {
			d.Grading.Legacy = true
		}
	}
	return d, nil
}

// jsonProblem says in Chinese what the JSON decoder found wrong in text.
// A value of the wrong type is placed at its path; errors of the
// definition's own types are already written for the organiser.
func jsonProblem(err error, text []byte) Problem {
	var (
		ute *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &ute):
		return Problem{Path: ute.Field, Message: fmt.Sprintf("应为%s，写的是%s", goKind(ute.Type.String()), jsonKind(ute.Value))}
	case errors.As(err, &se):
		line, col := lineCol(text, se.Offset)
		msg := fmt.Sprintf("JSON 格式有误：第 %d 行第 %d 列附近", line, col)
		if c, ok := strings.CutPrefix(se.Error(), "invalid character "); ok {
			if i := strings.LastIndex(c, "' "); i > 0 {
				msg += "有不应出现的字符 " + c[:i+1]
			}
		}
		return Problem{Message: msg + "（常见原因：缺少或多了逗号、引号、括号）"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Problem{Message: "JSON 不完整：有括号或引号没有闭合"}
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return Problem{Message: "不认识的字段 " + f + "（是否拼错？）"}
	}
	return Problem{Message: strings.TrimPrefix(err.Error(), "json: ")}
}

// lineCol returns the line and column, from 1, of the byte at offset.
func lineCol(text []byte, offset int64) (line, col int) {
	before := text[:min(max(offset, 0), int64(len(text)))]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len([]rune(string(before[bytes.LastIndexByte(before, '\n')+1:])))
	return line, max(col, 1)
}

// jsonKind names in Chinese the kind of JSON value the decoder reports.
func jsonKind(v string) string {
	kind, rest, _ := strings.Cut(v, " ")
	name, ok := map[string]string{"number": "数字", "string": "文字", "array": "列表", "object": "键值映射", "bool": "布尔值"}[kind]
	if !ok {
		return v
	}
	if rest != "" {
		return name + "「" + rest + "」"
	}
	return name
}

// goKind names in Chinese what a value of the Go type t is written as.
func goKind(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "列表"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "survey."):
		return "键值映射"
	case t == "string":
		return "文字"
	case t == "bool":
		return "布尔值（true 或 false）"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "整数"
	}
	return t
}

var (
	yamlUnknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type \S+$`)
	yamlWrongType    = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")
	yamlDuplicateKey = regexp.MustCompile(`^line (\d+): mapping key (".*") already defined at line (\d+)$`)
	yamlSyntax       = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)
)

// yamlProblems says in Chinese what the YAML decoder found wrong: every
// value of the wrong type or unknown field, or else the one error that
// stopped it.
func yamlProblems(err error) []Problem {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []Problem{{Message: yamlMessage(err.Error())}}
	}
	ps := make([]Problem, len(te.Errors))
	for i, m := range te.Errors {
		ps[i] = Problem{Message: yamlMessage(m)}
	}
	return ps
}

// yamlMessage translates one message of the YAML decoder; one it does not
// know, such as an error of the definition's own types, it returns as it is.
func yamlMessage(m string) string {
	if g := yamlUnknownField.FindStringSubmatch(m); g != nil {
		return fmt.Sprintf("第 %s 行：不认识的字段 %s（是否拼错？）", g[1], g[2])
	}
	if g := yamlWrongType.FindStringSubmatch(m); g != nil {
		written := map[string]string{"str": "文字", "int": "整数", "float": "数字", "bool": "布尔值", "seq": "列表", "map": "键值映射", "null": "空值"}[g[2]]
		if written == "" {
			written = g[2]
		}
		if g[3] != "" {
			written += "「" + g[3] + "」"
		}
		return fmt.Sprintf("第 %s 行：应为%s，写的是%s", g[1], goKind(g[4]), written)
	}
	if g := yamlDuplicateKey.FindStringSubmatch(m); g != nil {
		return fmt.Sprintf("第 %s 行：键 %s 重复，第 %s 行已经写过", g[1], g[2], g[3])
	}
	if g := yamlSyntax.FindStringSubmatch(m); g != nil {
		if g[1] != "" {
			return fmt.Sprintf("第 %s 行：YAML 格式有误（%s），请检查缩进、冒号和引号", g[1], g[2])
		}
		return fmt.Sprintf("YAML 格式有误（%s），请检查缩进、冒号和引号", g[2])
	}
	return m
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
	if d.Rules.SmallGroups == "" {
		d.Rules.SmallGroups = SmallGroupsExclude
	}
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
	out := make([]Subject, 0, len(u.Members))
	for i := range u.Members {
		if m := &u.Members[i]; f.rates(m) {
			out = append(out, Subject{ID: m.ID, Name: m.Name, Post: m.Post})
		}
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
