package survey

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v3"
)

// validJSON is a small definition that passes every rule of CONTRACT §2; each
// case of TestParseDefinitionRules breaks it in one place.
const validJSON = `{
 "name": "2026年度测试测评",
 "component": {"name": "干部群众评价", "points": 20},
 "scales": [
  {"id": "grade", "options": [{"label": "优秀", "points": 100}, {"label": "称职", "points": 80}, {"label": "不称职", "points": 40}], "abstain": "不了解"},
  {"id": "level", "options": [{"label": "好", "points": 100}, {"label": "差", "points": 40}]}
 ],
 "forms": [
  {"id": "team", "title": "领导班子测评", "rates": "team", "scale": "level", "items": ["团结协作", "民主决策"]},
  {"id": "members", "title": "班子成员测评", "rates": "members", "scale": "grade",
   "items": [{"name": "德", "weight": 2}, "能"], "overall": "综合评价", "top_limit": 1, "voters": ["leaders", "staff"]}
 ],
 "categories": [{"id": "leaders", "name": "区领导", "weight": 40}, {"id": "staff", "name": "干部职工", "weight": 60}],
 "weights_by_type": {"经济管理部门": {"leaders": 50, "staff": 50}},
 "rules": {"quorum": "2/3", "min_group": 3, "flag_lowest_over": "1/3", "flag_top_two_under": "2/3"},
 "grading": [{"grade": "一等", "share": 20}, {"grade": "二等"}],
 "units": [
  {"id": "czj", "name": "区财政局", "type": "经济管理部门", "members": [{"id": "czj-1", "name": "张三", "post": "局长"}, {"id": "czj-2", "name": "李四"}]},
  {"id": "zzb", "name": "区委组织部", "type": "区直党群部门", "members": [{"id": "zzb-1", "name": "王五"}]}
 ]
}`

// doc is a definition as plain JSON values, to be broken by a test case.
type doc = map[string]any

func validDoc(t *testing.T) doc {
	t.Helper()
	var d doc
	if err := json.Unmarshal([]byte(validJSON), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// at walks a dotted path ("forms.1.items.0") through maps and slices and
// returns the container holding its last step, and that step.
func at(t *testing.T, d doc, path string) (any, string) {
	t.Helper()
	steps := strings.Split(path, ".")
	var cur any = d
	for _, s := range steps[:len(steps)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[s]
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i >= len(c) {
				t.Fatalf("path %q: bad index %q", path, s)
			}
			cur = c[i]
		default:
			t.Fatalf("path %q: cannot step into %T at %q", path, cur, s)
		}
	}
	return cur, steps[len(steps)-1]
}

func set(t *testing.T, d doc, path string, v any) {
	t.Helper()
	c, last := at(t, d, path)
	switch c := c.(type) {
	case map[string]any:
		c[last] = v
	case []any:
		i, err := strconv.Atoi(last)
		if err != nil || i >= len(c) {
			t.Fatalf("path %q: bad index", path)
		}
		c[i] = v
	default:
		t.Fatalf("path %q: cannot set in %T", path, c)
	}
}

func del(t *testing.T, d doc, path string) {
	t.Helper()
	c, last := at(t, d, path)
	m, ok := c.(map[string]any)
	if !ok {
		t.Fatalf("path %q: cannot delete from %T", path, c)
	}
	delete(m, last)
}

// appendTo appends v to the list at path.
func appendTo(t *testing.T, d doc, path string, v any) {
	t.Helper()
	c, last := at(t, d, path)
	m := c.(map[string]any)
	m[last] = append(m[last].([]any), v)
}

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got error %v (%T), want a *ValidationError", err, err)
	}
	return ve.Problems
}

func problemPaths(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Path
	}
	slices.Sort(out)
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidDefinitionParses(t *testing.T) {
	d, err := ParseDefinition([]byte(validJSON))
	if err != nil {
		t.Fatalf("ParseDefinition(validJSON): %v", err)
	}
	// Defaults filled in: item weight 1, form weight 1, voters = every category.
	if got, want := d.Forms[1].Items[1].Weight.String(), "1"; got != want {
		t.Errorf("default item weight: got %s, want %s", got, want)
	}
	if got, want := d.Forms[0].Weight.String(), "1"; got != want {
		t.Errorf("default form weight: got %s, want %s", got, want)
	}
	if diff := cmp.Diff([]string{"leaders", "staff"}, d.Forms[0].Voters); diff != "" {
		t.Errorf("default voters (-want +got):\n%s", diff)
	}
}

func TestParseDefinitionRules(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, d doc)
		want   []string // problem paths, sorted
	}{
		// Weights sum to 100.
		{"category weights sum to 90", func(t *testing.T, d doc) { set(t, d, "categories.1.weight", 50) },
			[]string{"categories"}},
		{"category weights sum to 110", func(t *testing.T, d doc) { set(t, d, "categories.1.weight", 70) },
			[]string{"categories"}},
		{"negative category weight", func(t *testing.T, d doc) {
			set(t, d, "categories.0.weight", -40)
			set(t, d, "categories.1.weight", 140)
		}, []string{"categories[0].weight"}},
		{"weights_by_type sum to 90", func(t *testing.T, d doc) { set(t, d, "weights_by_type.经济管理部门.staff", 40) },
			[]string{"weights_by_type.经济管理部门"}},
		{"weights_by_type misses a category", func(t *testing.T, d doc) {
			set(t, d, "weights_by_type.经济管理部门", map[string]any{"leaders": 100})
		}, []string{"weights_by_type.经济管理部门"}},
		{"weights_by_type names an unknown category", func(t *testing.T, d doc) {
			set(t, d, "weights_by_type.经济管理部门.ghost", 0)
		}, []string{"weights_by_type.经济管理部门.ghost"}},
		{"weights_by_type names an unknown unit type", func(t *testing.T, d doc) {
			set(t, d, "weights_by_type.镇街道", map[string]any{"leaders": 50, "staff": 50})
		}, []string{"weights_by_type.镇街道"}},

		// Option points lie in 0..100; component points any positive number.
		{"option points above 100", func(t *testing.T, d doc) { set(t, d, "scales.0.options.0.points", 101) },
			[]string{"scales[0].options[0].points"}},
		{"option points below 0", func(t *testing.T, d doc) { set(t, d, "scales.1.options.1.points", -1) },
			[]string{"scales[1].options[1].points"}},
		{"component points zero", func(t *testing.T, d doc) { set(t, d, "component.points", 0) },
			[]string{"component.points"}},
		{"component points negative", func(t *testing.T, d doc) { set(t, d, "component.points", -20) },
			[]string{"component.points"}},

		// Item and form weights are positive.
		{"item weight zero", func(t *testing.T, d doc) { set(t, d, "forms.1.items.0.weight", 0) },
			[]string{"forms[1].items[0].weight"}},
		{"item weight negative", func(t *testing.T, d doc) { set(t, d, "forms.1.items.0.weight", -2) },
			[]string{"forms[1].items[0].weight"}},
		{"form weight zero", func(t *testing.T, d doc) { set(t, d, "forms.0.weight", 0) },
			[]string{"forms[0].weight"}},
		{"form weight negative", func(t *testing.T, d doc) { set(t, d, "forms.1.weight", -1) },
			[]string{"forms[1].weight"}},

		// Ids unique within their kind; member ids across the round; team reserved.
		{"scale id twice", func(t *testing.T, d doc) { set(t, d, "scales.1.id", "grade") },
			// the team form's scale "level" no longer exists either
			[]string{"forms[0].scale", "scales[1].id"}},
		{"form id twice", func(t *testing.T, d doc) { set(t, d, "forms.1.id", "team") },
			[]string{"forms[1].id"}},
		{"category id twice", func(t *testing.T, d doc) {
			set(t, d, "categories.1.id", "leaders")
			set(t, d, "forms.0.voters", []any{"leaders"})
			set(t, d, "forms.1.voters", []any{"leaders"})
			del(t, d, "weights_by_type")
		}, []string{"categories[1].id"}},
		{"unit id twice", func(t *testing.T, d doc) { set(t, d, "units.1.id", "czj") },
			[]string{"units[1].id"}},
		{"member id twice in a unit", func(t *testing.T, d doc) { set(t, d, "units.0.members.1.id", "czj-1") },
			[]string{"units[0].members[1].id"}},
		{"member id twice across units", func(t *testing.T, d doc) { set(t, d, "units.1.members.0.id", "czj-2") },
			[]string{"units[1].members[0].id"}},
		{"member id team is reserved", func(t *testing.T, d doc) { set(t, d, "units.0.members.0.id", "team") },
			[]string{"units[0].members[0].id"}},
		{"empty ids", func(t *testing.T, d doc) {
			set(t, d, "units.0.id", "")
			set(t, d, "units.0.members.0.id", "")
		}, []string{"units[0].id", "units[0].members[0].id"}},
		{"id with a slash", func(t *testing.T, d doc) { set(t, d, "units.1.id", "a/b") },
			[]string{"units[1].id"}},

		// Option labels unique and differ from abstain; overall differs from items.
		{"option label twice", func(t *testing.T, d doc) { set(t, d, "scales.0.options.1.label", "优秀") },
			[]string{"scales[0].options[1].label"}},
		{"abstain label is an option", func(t *testing.T, d doc) { set(t, d, "scales.0.abstain", "称职") },
			[]string{"scales[0].abstain"}},
		{"overall is an item", func(t *testing.T, d doc) { set(t, d, "forms.1.overall", "能") },
			[]string{"forms[1].overall"}},
		{"item twice in a form", func(t *testing.T, d doc) { set(t, d, "forms.0.items.1", "团结协作") },
			[]string{"forms[0].items[1].name"}},

		// Only the last grade omits share.
		{"first grade omits share", func(t *testing.T, d doc) { del(t, d, "grading.0.share") },
			[]string{"grading[0].share"}},
		{"last grade has a share", func(t *testing.T, d doc) { set(t, d, "grading.1.share", 80) },
			[]string{"grading[1].share"}},
		{"middle grade omits share", func(t *testing.T, d doc) {
			set(t, d, "grading", []any{
				map[string]any{"grade": "一等", "share": 20},
				map[string]any{"grade": "二等"},
				map[string]any{"grade": "三等"},
			})
		}, []string{"grading[1].share"}},
		{"one grade only", func(t *testing.T, d doc) { set(t, d, "grading", []any{map[string]any{"grade": "一等"}}) },
			[]string{"grading"}},
		{"grade shares over 100", func(t *testing.T, d doc) {
			set(t, d, "grading", []any{
				map[string]any{"grade": "一等", "share": 60},
				map[string]any{"grade": "二等", "share": 60},
				map[string]any{"grade": "三等"},
			})
		}, []string{"grading"}},

		// Every reference resolves.
		{"form names an unknown scale", func(t *testing.T, d doc) { set(t, d, "forms.0.scale", "stars") },
			[]string{"forms[0].scale"}},
		{"form names an unknown voter category", func(t *testing.T, d doc) { set(t, d, "forms.1.voters.1", "public") },
			[]string{"forms[1].voters[1]"}},
		{"form lists a voter category twice", func(t *testing.T, d doc) { set(t, d, "forms.1.voters.1", "leaders") },
			[]string{"forms[1].voters[1]"}},
		{"category may fill no form", func(t *testing.T, d doc) {
			set(t, d, "forms.0.voters", []any{"leaders"})
			set(t, d, "forms.1.voters", []any{"leaders"})
		}, []string{"categories"}},

		// Scales have at least 2 options.
		{"scale with one option", func(t *testing.T, d doc) {
			set(t, d, "scales.1.options", []any{map[string]any{"label": "好", "points": 100}})
		}, []string{"scales[1].options"}},
		{"scale with no options", func(t *testing.T, d doc) { set(t, d, "scales.1.options", []any{}) },
			[]string{"scales[1].options"}},

		// Rules are proportions in (0, 1].
		{"quorum above 1", func(t *testing.T, d doc) { set(t, d, "rules.quorum", "3/2") },
			[]string{"rules.quorum"}},
		{"quorum 150%", func(t *testing.T, d doc) { set(t, d, "rules.quorum", "150%") },
			[]string{"rules.quorum"}},
		{"quorum written as 0", func(t *testing.T, d doc) { set(t, d, "rules.quorum", "0") },
			[]string{"rules.quorum"}},
		{"flag rule written as 0%", func(t *testing.T, d doc) { set(t, d, "rules.flag_lowest_over", "0%") },
			[]string{"rules.flag_lowest_over"}},
		{"flag_lowest_over negative", func(t *testing.T, d doc) { set(t, d, "rules.flag_lowest_over", -0.5) },
			[]string{"rules.flag_lowest_over"}},
		{"min_group negative", func(t *testing.T, d doc) { set(t, d, "rules.min_group", -1) },
			[]string{"rules.min_group"}},

		// Other required parts.
		{"rates neither team nor members", func(t *testing.T, d doc) { set(t, d, "forms.0.rates", "unit") },
			[]string{"forms[0].rates"}},
		{"top_limit on a team form", func(t *testing.T, d doc) { set(t, d, "forms.0.top_limit", 1) },
			[]string{"forms[0].top_limit"}},
		{"form without items", func(t *testing.T, d doc) { set(t, d, "forms.0.items", []any{}) },
			[]string{"forms[0].items"}},
		{"unit without members while a form rates members", func(t *testing.T, d doc) {
			set(t, d, "units.1.members", []any{})
		}, []string{"units[1].members"}},
		{"no units", func(t *testing.T, d doc) {
			set(t, d, "units", []any{})
			del(t, d, "weights_by_type")
		}, []string{"units"}},
		{"no name", func(t *testing.T, d doc) { set(t, d, "name", " ") },
			[]string{"name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDoc(t)
			tt.change(t, d)
			def, err := ParseDefinition(mustJSON(t, d))
			if err == nil {
				t.Fatalf("ParseDefinition accepted the definition (%d units), want problems at %q", len(def.Units), tt.want)
			}
			got := problemPaths(problemsOf(t, err))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problem paths (-want +got):\n%s\nproblems: %v", diff, err)
			}
			for _, p := range problemsOf(t, err) {
				if !hasHan(p.Message) {
					t.Errorf("problem at %q: message %q, want one in Chinese", p.Path, p.Message)
				}
			}
		})
	}
}

// hasHan reports whether s has a Chinese character: organisers read the
// problems in a Chinese console.
func hasHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

// TestDefinitionProblemMessages pins the wording of a few problems, of the
// checks and of the decoders, as an organiser reads them.
func TestDefinitionProblemMessages(t *testing.T) {
	broken := func(change func(t *testing.T, d doc)) string {
		d := validDoc(t)
		change(t, d)
		return string(mustJSON(t, d))
	}
	tests := []struct {
		name, text string
		want       Problem
	}{
		{"weights sum to 105", broken(func(t *testing.T, d doc) { set(t, d, "categories.1.weight", 65) }),
			Problem{Path: "categories", Message: "各类测评人权重之和应为 100，现为 105"}},
		{"unknown scale", broken(func(t *testing.T, d doc) { set(t, d, "forms.0.scale", "stars") }),
			Problem{Path: "forms[0].scale", Message: "没有编号为「stars」的评价等级"}},
		{"quorum above 1", broken(func(t *testing.T, d doc) { set(t, d, "rules.quorum", "3/2") }),
			Problem{Path: "rules.quorum", Message: "应为大于 0、不超过 1 的比例（如 2/3、0.8 或 80%），现为 1.5"}},
		{"id with a slash", broken(func(t *testing.T, d doc) { set(t, d, "units.1.id", "a/b") }),
			Problem{Path: "units[1].id", Message: `编号「a/b」不能含空白或 / \ ? # % 字符`}},
		{"member id twice", broken(func(t *testing.T, d doc) { set(t, d, "units.1.members.0.id", "czj-2") }),
			Problem{Path: "units[1].members[0].id", Message: "班子成员编号「czj-2」已在 units[0] 中使用"}},
		{"empty", " \n", Problem{Path: "", Message: "定义是空的"}},
		{"JSON cut short", `{"name": "x"`, Problem{Path: "", Message: "JSON 不完整：有括号或引号没有闭合"}},
		{"JSON extra comma", "{\n \"name\": \"x\",\n}", Problem{Path: "", Message: "JSON 格式有误：第 3 行第 1 列附近有不应出现的字符 '}'（常见原因：缺少或多了逗号、引号、括号）"}},
		{"JSON wrong type", `{"rules": {"min_group": 1.5}}`, Problem{Path: "rules.min_group", Message: "应为整数，写的是数字「1.5」"}},
		{"JSON unknown field", `{"nmae": "x"}`, Problem{Path: "", Message: `不认识的字段 "nmae"（是否拼错？）`}},
		{"YAML unknown field", "name: x\nnmae: y\n", Problem{Path: "", Message: "第 2 行：不认识的字段 nmae（是否拼错？）"}},
		{"YAML unknown item field", "forms:\n  - items:\n      - {name: 德, wieght: 2}\n", Problem{Path: "", Message: "第 3 行：不认识的字段 wieght（测评项目只有 name 和 weight）"}},
		{"YAML wrong type", "rules: {min_group: x}\n", Problem{Path: "", Message: "第 1 行：应为整数，写的是文字「x」"}},
		{"YAML not a mapping", "- a\n- b\n", Problem{Path: "", Message: "第 1 行：应为键值映射，写的是列表"}},
		{"YAML key twice", "name: x\nname: y\n", Problem{Path: "", Message: `第 2 行：键 "name" 重复，第 1 行已经写过`}},
		{"YAML bad indent", "name: x\n  bad: indent\n", Problem{Path: "", Message: "第 2 行：YAML 格式有误（mapping values are not allowed in this context），请检查缩进、冒号和引号"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDefinition([]byte(tt.text))
			if err == nil {
				t.Fatalf("ParseDefinition accepted it, want the problem %v", tt.want)
			}
			ps := problemsOf(t, err)
			if !slices.Contains(ps, tt.want) {
				t.Errorf("got problems %+v, want one to be %+v", ps, tt.want)
			}
		})
	}
}

func TestValidationErrorLists(t *testing.T) {
	err := &ValidationError{Problems: []Problem{
		{Path: "categories", Message: "各类测评人权重之和应为 100，现为 105"},
		{Path: "", Message: "定义是空的"},
	}}
	if got, want := err.Error(), "发现 2 个问题：categories：各类测评人权重之和应为 100，现为 105；定义是空的"; got != want {
		t.Errorf("Error(): got %q, want %q", got, want)
	}
}

// TestParseDefinitionAccepts holds edge cases that are valid.
func TestParseDefinitionAccepts(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, d doc)
	}{
		{"component points 200 of 1200", func(t *testing.T, d doc) { set(t, d, "component.points", 200) }},
		{"option points 0 and 100", func(t *testing.T, d doc) {
			set(t, d, "scales.1.options.1.points", 0)
			set(t, d, "scales.1.options.0.points", 100)
		}},
		{"decimal weights summing to 100", func(t *testing.T, d doc) {
			set(t, d, "categories.0.weight", 33.5)
			set(t, d, "categories.1.weight", 66.5)
		}},
		{"a category weighted 0", func(t *testing.T, d doc) {
			set(t, d, "categories.0.weight", 0)
			set(t, d, "categories.1.weight", 100)
		}},
		{"no weights_by_type and no grading", func(t *testing.T, d doc) {
			del(t, d, "weights_by_type")
			del(t, d, "grading")
		}},
		{"no abstain label", func(t *testing.T, d doc) { del(t, d, "scales.0.abstain") }},
		{"quorum 1", func(t *testing.T, d doc) { set(t, d, "rules.quorum", "100%") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDoc(t)
			tt.change(t, d)
			if _, err := ParseDefinition(mustJSON(t, d)); err != nil {
				t.Errorf("ParseDefinition: %v, want it accepted", err)
			}
		})
	}
}

func TestParseDefinitionRuleFormats(t *testing.T) {
	tests := []struct {
		yaml, json string
		want       *big.Rat
	}{
		{`2/3`, `"2/3"`, big.NewRat(2, 3)},
		{`0.8`, `0.8`, big.NewRat(4, 5)},
		{`"0.8"`, `"0.8"`, big.NewRat(4, 5)},
		{`80%`, `"80%"`, big.NewRat(4, 5)},
		{`"66.5%"`, `"66.5%"`, big.NewRat(133, 200)},
		{`1`, `1`, big.NewRat(1, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			d := validDoc(t)
			set(t, d, "rules.quorum", json.RawMessage(tt.json))
			fromJSON, err := ParseDefinition(mustJSON(t, d))
			if err != nil {
				t.Fatalf("JSON quorum %s: %v", tt.json, err)
			}
			if got := fromJSON.Rules.Quorum.Rat(); got.Cmp(tt.want) != 0 {
				t.Errorf("JSON quorum %s: got %s, want %s", tt.json, got.RatString(), tt.want.RatString())
			}
			y := strings.Replace(validYAML, "quorum: 2/3", "quorum: "+tt.yaml, 1)
			fromYAML, err := ParseDefinition([]byte(y))
			if err != nil {
				t.Fatalf("YAML quorum %s: %v", tt.yaml, err)
			}
			if got := fromYAML.Rules.Quorum.Rat(); got.Cmp(tt.want) != 0 {
				t.Errorf("YAML quorum %s: got %s, want %s", tt.yaml, got.RatString(), tt.want.RatString())
			}
		})
	}
	for _, bad := range []string{`"two thirds"`, `"2/0"`, `"1e-1"`, `""`, `true`} {
		t.Run("rejects "+bad, func(t *testing.T) {
			d := validDoc(t)
			set(t, d, "rules.quorum", json.RawMessage(bad))
			if _, err := ParseDefinition(mustJSON(t, d)); err == nil {
				t.Errorf("quorum %s accepted, want a problem", bad)
			} else {
				problemsOf(t, err)
			}
		})
	}
}

func TestParseDefinitionUnknownFields(t *testing.T) {
	tests := []struct {
		name, text, field string
		bug               string // why this case is skipped, while the bug stands
	}{
		{"JSON top level", strings.Replace(validJSON, `"name":`, `"nmae": "x", "name":`, 1), "nmae", ""},
		{"JSON in a form", strings.Replace(validJSON, `"title": "领导班子测评"`, `"title": "领导班子测评", "voter": ["staff"]`, 1), "voter", ""},
		{"JSON in an item", strings.Replace(validJSON, `{"name": "德", "weight": 2}`, `{"name": "德", "wieght": 2}`, 1), "wieght", ""},
		{"JSON in rules", strings.Replace(validJSON, `"min_group": 3`, `"mingroup": 3`, 1), "mingroup", ""},
		{"YAML top level", strings.Replace(validYAML, "name: 2026", "nmae: x\nname: 2026", 1), "nmae", ""},
		{"YAML in a form", strings.Replace(validYAML, "title: 领导班子测评", "title: 领导班子测评\n    voter: [staff]", 1), "voter", ""},
		{"YAML in rules", strings.Replace(validYAML, "min_group: 3", "mingroup: 3", 1), "mingroup", ""},
		{"YAML in an item", strings.Replace(validYAML, "{name: 德, weight: 2}", "{name: 德, wieght: 2}", 1), "wieght", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.text, tt.field) {
				t.Fatalf("test text does not contain %q", tt.field)
			}
			_, err := ParseDefinition([]byte(tt.text))
			if err == nil {
				if tt.bug != "" {
					t.Skip("BUG: unknown field accepted: " + tt.bug)
				}
				t.Fatalf("unknown field %q accepted, want a problem naming it", tt.field)
			}
			ps := problemsOf(t, err)
			if len(ps) == 0 || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("got problems %v, want one naming %q", ps, tt.field)
			}
		})
	}
}

func TestParseDefinitionMalformed(t *testing.T) {
	for _, text := range []string{"", "   \n", "{", "name: [", `{"name": 1}`, `{"component": {"points": "x"}}`, "scales: 3"} {
		t.Run(text, func(t *testing.T) {
			_, err := ParseDefinition([]byte(text))
			if err == nil {
				t.Fatalf("ParseDefinition(%q) accepted it", text)
			}
			if ps := problemsOf(t, err); len(ps) == 0 {
				t.Errorf("ParseDefinition(%q): got no problems", text)
			}
		})
	}
}

// TestParseDefinitionListsEveryProblem breaks many rules at once: every one
// must be reported in the one error.
func TestParseDefinitionListsEveryProblem(t *testing.T) {
	d := validDoc(t)
	set(t, d, "component.points", 0)
	set(t, d, "scales.0.options.0.points", 120)
	set(t, d, "scales.0.abstain", "称职")
	set(t, d, "scales.1.options", []any{map[string]any{"label": "好", "points": 100}})
	set(t, d, "forms.0.weight", 0)
	set(t, d, "forms.1.overall", "德")
	set(t, d, "forms.1.voters.1", "public")
	set(t, d, "categories.1.weight", 50)
	set(t, d, "weights_by_type.经济管理部门.staff", 10)
	del(t, d, "grading.0.share")
	set(t, d, "rules.quorum", "120%")
	set(t, d, "units.1.members.0.id", "czj-1")
	appendTo(t, d, "units.0.members", map[string]any{"id": "team", "name": "赵六"})

	_, err := ParseDefinition(mustJSON(t, d))
	if err == nil {
		t.Fatal("ParseDefinition accepted a definition with 13 problems")
	}
	want := []string{
		"categories",
		"component.points",
		"forms[0].weight",
		"forms[1].overall",
		"forms[1].voters[1]",
		"grading[0].share",
		"rules.quorum",
		"scales[0].abstain",
		"scales[0].options[0].points",
		"scales[1].options",
		"units[0].members[2].id",
		"units[1].members[0].id",
		"weights_by_type.经济管理部门",
	}
	if diff := cmp.Diff(want, problemPaths(problemsOf(t, err))); diff != "" {
		t.Errorf("problem paths (-want +got):\n%s", diff)
	}
}

// validYAML is validJSON written the way organisers write YAML.
const validYAML = `# 测试
name: 2026年度测试测评
component: {name: 干部群众评价, points: 20}
scales:
  - id: grade
    options:
      - {label: 优秀, points: 100}
      - {label: 称职, points: 80}
      - {label: 不称职, points: 40}
    abstain: 不了解
  - id: level
    options: [{label: 好, points: 100}, {label: 差, points: 40}]
forms:
  - id: team
    title: 领导班子测评
    rates: team
    scale: level
    items: [团结协作, 民主决策]
  - id: members
    title: 班子成员测评
    rates: members
    scale: grade
    items:
      - {name: 德, weight: 2}
      - 能
    overall: 综合评价
    top_limit: 1
    voters: [leaders, staff]
categories:
  - {id: leaders, name: 区领导, weight: 40}
  - {id: staff, name: 干部职工, weight: 60}
weights_by_type:
  经济管理部门: {leaders: 50, staff: 50}
rules: {quorum: 2/3, min_group: 3, flag_lowest_over: 1/3, flag_top_two_under: 2/3}
grading:
  - {grade: 一等, share: 20}
  - {grade: 二等}
units:
  - id: czj
    name: 区财政局
    type: 经济管理部门
    members:
      - {id: czj-1, name: 张三, post: 局长}
      - {id: czj-2, name: 李四}
  - id: zzb
    name: 区委组织部
    type: 区直党群部门
    members:
      - {id: zzb-1, name: 王五}
`

func TestYAMLAndJSONParseAlike(t *testing.T) {
	fromYAML, err := ParseDefinition([]byte(validYAML))
	if err != nil {
		t.Fatalf("YAML: %v", err)
	}
	fromJSON, err := ParseDefinition([]byte(validJSON))
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	if got, want := string(fromYAML.Canonical()), string(fromJSON.Canonical()); got != want {
		t.Errorf("canonical bytes differ:\nYAML %s\nJSON %s", got, want)
	}

	// The example round, converted mechanically from YAML to JSON.
	src, err := os.ReadFile("../assets/examples/quzhi-2026.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := yaml.Unmarshal(src, &generic); err != nil {
		t.Fatal(err)
	}
	exYAML, err := ParseDefinition(src)
	if err != nil {
		t.Fatalf("example YAML: %v", err)
	}
	exJSON, err := ParseDefinition(mustJSON(t, generic))
	if err != nil {
		t.Fatalf("example as JSON: %v", err)
	}
	if !bytes.Equal(exYAML.Canonical(), exJSON.Canonical()) {
		t.Errorf("example: canonical bytes differ:\nYAML %s\nJSON %s", exYAML.Canonical(), exJSON.Canonical())
	}
	if exYAML.Fingerprint() != exJSON.Fingerprint() {
		t.Errorf("example: got fingerprints %s and %s, want equal", exYAML.Fingerprint(), exJSON.Fingerprint())
	}
}

func TestCanonicalRoundTrips(t *testing.T) {
	src, err := os.ReadFile("../assets/examples/quzhi-2026.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string][]byte{"example": src, "validYAML": []byte(validYAML), "validJSON": []byte(validJSON)} {
		t.Run(name, func(t *testing.T) {
			d, err := ParseDefinition(text)
			if err != nil {
				t.Fatal(err)
			}
			first := d.Canonical()
			again, err := ParseDefinition(first)
			if err != nil {
				t.Fatalf("ParseDefinition(Canonical()): %v\n%s", err, first)
			}
			if second := again.Canonical(); !bytes.Equal(first, second) {
				t.Errorf("canonical bytes changed on a round trip:\nfirst  %s\nsecond %s", first, second)
			}
			if !json.Valid(first) {
				t.Errorf("Canonical() is not valid JSON: %s", first)
			}
		})
	}
}

func TestCanonicalKeepsValues(t *testing.T) {
	y := strings.Replace(validYAML, "{id: leaders, name: 区领导, weight: 40}", "{id: leaders, name: 区领导, weight: 33.5}", 1)
	y = strings.Replace(y, "{id: staff, name: 干部职工, weight: 60}", "{id: staff, name: 干部职工, weight: 66.5}", 1)
	y = strings.Replace(y, "quorum: 2/3", "quorum: 80%", 1)
	d, err := ParseDefinition([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Categories []struct{ Weight json.Number } `json:"categories"`
		Rules      struct{ Quorum string }        `json:"rules"`
	}
	dec := json.NewDecoder(bytes.NewReader(d.Canonical()))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Categories[0].Weight != "33.5" || got.Categories[1].Weight != "66.5" {
		t.Errorf("canonical weights: got %s and %s, want 33.5 and 66.5", got.Categories[0].Weight, got.Categories[1].Weight)
	}
	if got.Rules.Quorum != "0.8" {
		t.Errorf("canonical quorum: got %q, want %q", got.Rules.Quorum, "0.8")
	}
}

// TestValidateOrder breaks one rule of every part at once: the problems come
// in the order of the definition's parts, each part's in the order written.
func TestValidateOrder(t *testing.T) {
	d := validDoc(t)
	set(t, d, "name", "")
	set(t, d, "component.points", 0)
	set(t, d, "scales.0.options.0.points", 120)
	set(t, d, "scales.0.abstain", "称职")
	set(t, d, "scales.1.options", []any{map[string]any{"label": "好", "points": 100}})
	set(t, d, "categories.1.weight", 50)
	set(t, d, "forms.0.weight", 0)
	set(t, d, "forms.0.voters", []any{"leaders"})
	set(t, d, "forms.1.overall", "德")
	set(t, d, "forms.1.voters.1", "public")
	set(t, d, "weights_by_type.经济管理部门.staff", 10)
	set(t, d, "rules.quorum", "120%")
	set(t, d, "rules.min_group", -1)
	del(t, d, "grading.0.share")
	set(t, d, "units.1.members.0.id", "czj-1")
	appendTo(t, d, "units.0.members", map[string]any{"id": "team", "name": "赵六"})

	_, err := ParseDefinition(mustJSON(t, d))
	if err == nil {
		t.Fatal("ParseDefinition accepted a definition with 16 problems")
	}
	var got []string
	for _, p := range problemsOf(t, err) {
		got = append(got, p.Path)
	}
	want := []string{
		"name",
		"component.points",
		"scales[0].options[0].points",
		"scales[0].abstain",
		"scales[1].options",
		"categories",
		"forms[0].weight",
		"forms[1].overall",
		"forms[1].voters[1]",
		"categories",
		"weights_by_type.经济管理部门",
		"rules.quorum",
		"rules.min_group",
		"grading[0].share",
		"units[0].members[2].id",
		"units[1].members[0].id",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problem paths in order (-want +got):\n%s\nproblems: %v", diff, err)
	}
}

// equateProblems compares problems as values, slot included.
var equateProblems = cmpopts.EquateComparable(Problem{})
