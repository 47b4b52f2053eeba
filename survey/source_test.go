package survey

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// templateSourceBefore is the standard template as it was built in code
// before it became a template file; TemplateSource must render the same
// bytes, so that rounds made from it are unchanged.
func templateSourceBefore(o TemplateOptions) []byte {
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

var templateCases = []TemplateOptions{
	{Name: "2026年度区直单位领导班子和班子成员民主测评", Points: "20", Satisfaction: true},
	{Name: "2026年度区直单位领导班子和班子成员民主测评", Points: "20", Satisfaction: false},
	{Name: "x", Points: "200", Satisfaction: true},
	{Name: `名称带"引号"、\反斜杠和 # 号: 冒号`, Points: "12.5", Satisfaction: false},
	{Name: "多行\n名称\t带制表符", Points: "7", Satisfaction: true},
	{Name: "", Points: "", Satisfaction: false},
}

func TestTemplateSourceRendersAsBefore(t *testing.T) {
	for _, o := range templateCases {
		t.Run(fmt.Sprintf("%q %q %v", o.Name, o.Points, o.Satisfaction), func(t *testing.T) {
			got, want := TemplateSource(o), templateSourceBefore(o)
			if !bytes.Equal(got, want) {
				t.Errorf("TemplateSource differs from the template built in code (-want +got):\n%s", cmp.Diff(string(want), string(got)))
			}
		})
	}
}

// testUnits are two units, one with a principal and a post, to put into a
// template that has none.
var testUnits = []Unit{
	{ID: "czj", Name: "区财政局", Type: "经济管理部门", Members: []Member{
		{ID: "czj-1", Name: "张建国", Post: "局长", Principal: true},
		{ID: "czj-2", Name: "李秀英", Post: "副局长"},
	}},
	{ID: "mzj", Name: "区民政局", Type: "社会管理服务部门", Members: []Member{{ID: "mzj-1", Name: "徐卫东"}}},
}

func TestTemplateSourceParses(t *testing.T) {
	for _, o := range templateCases[:5] {
		t.Run(fmt.Sprintf("%q %v", o.Name, o.Satisfaction), func(t *testing.T) {
			src := TemplateSource(o)
			// Without units the only problem is that there are none.
			_, err := ParseDefinition(src)
			if diff := cmp.Diff([]string{"units"}, problemPaths(problemsOf(t, err))); diff != "" {
				t.Fatalf("the template without units: problem paths (-want +got):\n%s\n%v", diff, err)
			}
			merged, err := SourceWithUnits(src, testUnits)
			if err != nil {
				t.Fatal(err)
			}
			d, err := ParseDefinition(merged)
			if err != nil {
				t.Fatalf("the template with units: %v\n%s", err, merged)
			}
			forms, cats := 2, 3
			if o.Satisfaction {
				forms, cats = 3, 4
			}
			if d.Name != o.Name || d.Component.Points.String() != o.Points || len(d.Forms) != forms || len(d.Categories) != cats {
				t.Errorf("got name %q, points %s, %d forms, %d categories; want %q, %s, %d, %d",
					d.Name, d.Component.Points, len(d.Forms), len(d.Categories), o.Name, o.Points, forms, cats)
			}
		})
	}
}

func TestSourceWithUnits(t *testing.T) {
	got, err := SourceWithUnits([]byte(validYAML), append(testUnits, Unit{ID: "zzb", Name: "区委组织部", Type: "区直党群部门"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# 测试\n",
		"      - {id: czj-1, name: 张建国, post: 局长, principal: true}\n",
		"      - {id: mzj-1, name: 徐卫东}\n",
		"    members: []\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the source lacks %q:\n%s", want, got)
		}
	}
	// The new units replace the old ones, whole.
	var units struct{ Units []Unit }
	if err := yaml.Unmarshal(got, &units); err != nil {
		t.Fatal(err)
	}
	want := append(testUnits, Unit{ID: "zzb", Name: "区委组织部", Type: "区直党群部门", Members: []Member{}})
	if diff := cmp.Diff(want, units.Units); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
	// A unit without members is a problem while a form rates members.
	_, err = ParseDefinition(got)
	if diff := cmp.Diff([]string{"units[2].members"}, problemPaths(problemsOf(t, err))); diff != "" {
		t.Errorf("problem paths (-want +got):\n%s", diff)
	}
}

func TestSourceWithSettings(t *testing.T) {
	src, err := SourceWithUnits(TemplateSource(TemplateOptions{Name: "旧名称", Points: "20", Satisfaction: true}), testUnits)
	if err != nil {
		t.Fatal(err)
	}
	set := Settings{
		Name: "新名称", Points: "30",
		Weights: map[string]string{"leaders": "25", "cadres": "25", "staff": "30", "clients": "20", "nobody": "5"},
		Quorum:  "80%", MinGroup: "5", Lowest: "0.4", TopTwo: "3/4",
	}
	got, err := SourceWithSettings(src, set)
	if err != nil {
		t.Fatal(err)
	}
	for _, comment := range []string{"# 标准模板", "# 干部群众评价在单位总分中的满分", "# top_limit: 2", "# weights_by_type:", "# grading:"} {
		if !bytes.Contains(got, []byte(comment)) {
			t.Errorf("the settings lost the comment %q:\n%s", comment, got)
		}
	}
	d, err := ParseDefinition(got)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	var weights []string
	for _, c := range d.Categories {
		weights = append(weights, c.ID+"="+c.Weight.String())
	}
	gotSet := []string{d.Name, d.Component.Points.String(), strings.Join(weights, " "),
		d.Rules.Quorum.String(), strconv.Itoa(d.Rules.MinGroup), d.Rules.FlagLowestOver.String(), d.Rules.FlagTopTwoUnder.String()}
	wantSet := []string{"新名称", "30", "leaders=25 cadres=25 staff=30 clients=20", "0.8", "5", "0.4", "0.75"}
	if diff := cmp.Diff(wantSet, gotSet); diff != "" {
		t.Errorf("name, points, weights and rules (-want +got):\n%s", diff)
	}

	// Empty fields change nothing.
	same, err := SourceWithSettings(got, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if again, err := ParseDefinition(same); err != nil || !bytes.Equal(again.Canonical(), d.Canonical()) {
		t.Errorf("empty settings changed the definition: %v\n%s", err, same)
	}

	// Weights not summing to 100 are written, and ParseDefinition names them.
	set.Weights["leaders"] = "30"
	got, err = SourceWithSettings(src, set)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseDefinition(got)
	if ps := problemsOf(t, err); !cmp.Equal(ps, []Problem{{Path: "categories", Message: "各类测评人权重之和应为 100，现为 105"}}, equateProblems) {
		t.Errorf("got problems %+v, want the weights' sum of 105", ps)
	}
}

// TestSourceWithSettingsAddsParts: a source without a component or rules
// gets them, written as YAML flow mappings.
func TestSourceWithSettingsAddsParts(t *testing.T) {
	got, err := SourceWithSettings([]byte(`{"name": "x"}`), Settings{Points: "20", Quorum: "2/3", MinGroup: "3"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name": "x", component: {name: 干部群众评价, points: 20}, rules: {quorum: 2/3, min_group: 3}}` + "\n"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var parts struct {
		Component Component
		Rules     Rules
	}
	if err := yaml.Unmarshal(got, &parts); err != nil {
		t.Fatal(err)
	}
	if parts.Component.Points.String() != "20" || parts.Rules.Quorum.String() != "2/3" || parts.Rules.MinGroup != 3 {
		t.Errorf("got points %s, quorum %s, min_group %d; want 20, 2/3, 3", parts.Component.Points, parts.Rules.Quorum, parts.Rules.MinGroup)
	}
}

func TestSourceCategories(t *testing.T) {
	cats, ps := SourceCategories(TemplateSource(TemplateOptions{Name: "x", Points: "20", Satisfaction: true}))
	var got []string
	for _, c := range cats {
		got = append(got, c.ID+" "+c.Name)
	}
	want := []string{"leaders 区领导", "cadres 本单位班子成员及中层干部", "staff 一般干部职工", "clients 服务对象"}
	if diff := cmp.Diff(want, got); diff != "" || len(ps) > 0 {
		t.Errorf("categories (-want +got):\n%s\nproblems: %v", diff, ps)
	}
	if cats, ps := SourceCategories([]byte("name: x\n")); cats != nil || ps != nil {
		t.Errorf("a source without categories: got %v and %v, want neither", cats, ps)
	}
}

func TestSourceNotAMapping(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"- a\n- b\n", "定义的最外层应是键值映射"},
		{"", "定义的最外层应是键值映射"},
		{"name: [", "定义不是有效的 YAML 或 JSON"},
		{`{"name": "x"`, "定义不是有效的 YAML 或 JSON"},
	} {
		t.Run(tt.src, func(t *testing.T) {
			if _, ps := SourceCategories([]byte(tt.src)); len(ps) != 1 || !strings.HasPrefix(ps[0].Message, tt.want) {
				t.Errorf("SourceCategories: got problems %+v, want one starting %q", ps, tt.want)
			}
			for name, edit := range map[string]func([]byte) ([]byte, error){
				"SourceWithUnits":    func(b []byte) ([]byte, error) { return SourceWithUnits(b, testUnits) },
				"SourceWithSettings": func(b []byte) ([]byte, error) { return SourceWithSettings(b, Settings{Name: "x"}) },
			} {
				_, err := edit([]byte(tt.src))
				if ps := problemsOf(t, err); len(ps) != 1 || !strings.HasPrefix(ps[0].Message, tt.want) {
					t.Errorf("%s: got problems %+v, want one starting %q", name, ps, tt.want)
				}
			}
		})
	}
}

func TestYAMLScalar(t *testing.T) {
	for v, want := range map[string]string{"20": "!!int", "-3": "!!int", "33.5": "!!float", "2/3": "!!str", "80%": "!!str", "abc": "!!str"} {
		if got := yamlScalar(v).Tag; got != want {
			t.Errorf("yamlScalar(%q): got tag %s, want %s", v, got, want)
		}
	}
}
