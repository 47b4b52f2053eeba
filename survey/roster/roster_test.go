package roster

import (
	"bytes"
	"minping/survey"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

var rosterCategories = []survey.Category{
	{ID: "leaders", Name: "区领导"},
	{ID: "staff", Name: "一般干部职工"},
}

// workbook builds an .xlsx with one sheet of rows (row 1 first); merge lists
// cell ranges to merge, e.g. "A2:A3".
func workbook(t *testing.T, sheet string, rows [][]any, merge ...string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if sheet != "Sheet1" {
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range merge {
		a, b, _ := strings.Cut(m, ":")
		if err := f.MergeCell(sheet, a, b); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var rosterHead = []any{"单位编号", "单位名称", "单位类型", "成员编号", "姓名", "职务", "党政正职", "应到人数（一般干部职工）", "应到人数-leaders", "备注"}

func TestParseRosterWorkbook(t *testing.T) {
	rows := [][]any{
		{"2026年度名册"}, // a title row above the headings
		rosterHead,
		{"czj", "区财政局", "经济管理部门", "czj-1", "张建国", "党组书记、局长", "是", 40, 3},
		{"", "", "", "czj-2", "李秀英", "副局长", "否"}, // merged unit cells read as blank
		{"", "", "", "", "王海涛", "副局长", ""},
		{},
		{"cgjd", "城关街道", "镇街道", "", "高志远", "党工委书记", "√", 60, "", "备注不读"},
		{"cgjd", "城关街道", "镇街道", "", "林芳", "主任", "1", 60}, // repeated on every row
		{"zzb", "区委组织部", "区直党群部门"},                       // a unit with no members listed
	}
	b := workbook(t, "名册", rows, "A3:A5", "B3:B5", "C3:C5")
	r, ps := Parse(b, rosterCategories)
	if len(ps) > 0 {
		t.Fatalf("got problems %v, want none", ps)
	}
	want := []survey.Unit{
		{ID: "czj", Name: "区财政局", Type: "经济管理部门", Members: []survey.Member{
			{ID: "czj-1", Name: "张建国", Post: "党组书记、局长", Principal: true},
			{ID: "czj-2", Name: "李秀英", Post: "副局长"},
			{ID: "czj-3", Name: "王海涛", Post: "副局长"},
		}},
		{ID: "cgjd", Name: "城关街道", Type: "镇街道", Members: []survey.Member{
			{ID: "cgjd-1", Name: "高志远", Post: "党工委书记", Principal: true},
			{ID: "cgjd-2", Name: "林芳", Post: "主任", Principal: true},
		}},
		{ID: "zzb", Name: "区委组织部", Type: "区直党群部门"},
	}
	if d := cmp.Diff(want, r.Units); d != "" {
		t.Errorf("units (-want +got):\n%s", d)
	}
	wantExp := survey.Expected{"czj": {"staff": 40, "leaders": 3}, "cgjd": {"staff": 60}}
	if d := cmp.Diff(wantExp, r.Expected); d != "" {
		t.Errorf("expected attendance (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int{3, 7, 9}, r.UnitRows); d != "" {
		t.Errorf("unit rows (-want +got):\n%s", d)
	}
	for path, want := range map[string]string{
		"units[1].members[1].id": "名册 第8行",
		"units[0].name":          "名册 第3行",
		"units[0].members[2]":    "名册 第5行",
		"units[9].name":          "units[9].name",
		"categories[0].weight":   "categories[0].weight",
	} {
		if got := r.Locate(path); got != want {
			t.Errorf("Locate(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestParseRosterProblems checks that every problem is reported, each at
// its sheet row, and that no roster is returned with them.
func TestParseRosterProblems(t *testing.T) {
	rows := [][]any{
		rosterHead,
		{"czj", "区财政局", "经济管理部门", "czj-1", "张建国", "局长", "是的", "四十"},
		{"czj", "区财政局X", "经济管理部门", "czj-1", "李秀英", "副局长", "", 41},
		{"fgj", "", "", "", "", "副局长"},
		{"czj", "区财政局", "经济管理部门", "", "王五", ""},
		{"", "区民政局", "社会管理服务部门", "", "徐卫东", ""},
		{"mzj", "区民政局", "社会管理服务部门", "team", "孙丽", "", "", 20000},
		{"rs j", "区人社局", "社会管理服务部门", "rsj 1", "朱红梅"},
	}
	_, ps := Parse(workbook(t, "名册", rows), rosterCategories)
	want := []survey.Problem{
		{Path: "名册 第2行", Message: "应到人数（一般干部职工） “四十” 应是不小于 0 的整数"},
		{Path: "名册 第2行", Message: "党政正职 “是的” 应填 是 或 否（也可留空，表示否）"},
		{Path: "名册 第3行", Message: "单位名称 “区财政局X” 与第2行的 “区财政局” 不一致（单位编号 czj）"},
		{Path: "名册 第3行", Message: "成员编号 czj-1 已在第2行使用"},
		{Path: "名册 第4行", Message: "缺少单位名称"},
		{Path: "名册 第4行", Message: "缺少单位类型（它决定权重和排名分组，例如 经济管理部门、镇街道）"},
		{Path: "名册 第4行", Message: "缺少姓名"},
		{Path: "名册 第5行", Message: "单位编号 czj 已在第2行出现：同一单位的成员应写在相邻的行"},
		{Path: "名册 第6行", Message: "缺少单位编号"},
		{Path: "名册 第7行", Message: "应到人数（一般干部职工） 20000 超过一批的上限 10000"},
		{Path: "名册 第7行", Message: "成员编号 不能是 “team”（它代表领导班子）"},
		{Path: "名册 第8行", Message: "单位编号 “rs j” 不能包含空格或 / \\ ? # % 等字符"},
		{Path: "名册 第8行", Message: "成员编号 “rsj 1” 不能包含空格或 / \\ ? # % 等字符"},
	}
	if d := cmp.Diff(want, ps, equateProblems); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if r, _ := Parse(workbook(t, "名册", rows), rosterCategories); r != nil {
		t.Errorf("got a roster with problems, want nil")
	}
}

func TestParseRosterHeadings(t *testing.T) {
	for _, tc := range []struct {
		name string
		head []any
		want []survey.Problem
	}{
		// 单位编号 and 单位类型 may be left out: made from the names, and
		// a default type (TestParseRosterOffice).
		{"only name columns", []any{"单位名称", "姓名"}, nil},
		{"unknown category", []any{"单位编号", "单位名称", "单位类型", "姓名", "应到人数（服务对象）"}, []survey.Problem{
			{Path: "名册 第1行", Message: "列 “应到人数（服务对象）”：本次测评没有名为 “服务对象” 的测评人类别（现有：区领导、一般干部职工）"}}},
		{"expected without category", []any{"单位编号", "单位名称", "单位类型", "应到人数"}, []survey.Problem{
			{Path: "名册 第1行", Message: "列 “应到人数”：没有写明测评人类别，应写成 “应到人数（类别名称）”"}}},
		{"column twice", []any{"单位编号", "单位名称", "单位类型", "姓名", "成员姓名"}, []survey.Problem{
			{Path: "名册 第1行", Message: "列 “姓名” 出现了两次"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := [][]any{tc.head, {"czj", "区财政局", "经济管理部门", "张三", "1"}}
			_, ps := Parse(workbook(t, "名册", rows), rosterCategories)
			if d := cmp.Diff(tc.want, ps, equateProblems); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseRosterFiles(t *testing.T) {
	csvText := "单位编号,单位名称,单位类型,姓名,职务,党政正职\nczj,区财政局,经济管理部门,张建国,局长,是\n,,,李秀英,副局长,\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(csvText)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"utf-8 csv", []byte(csvText)},
		{"utf-8 csv with BOM", append([]byte("\xEF\xBB\xBF"), csvText...)},
		{"gbk csv", []byte(gbk)},
		{"first sheet when none is named 名册", workbook(t, "Sheet1", [][]any{
			{"单位编号", "单位名称", "单位类型", "姓名", "职务", "党政正职"},
			{"czj", "区财政局", "经济管理部门", "张建国", "局长", "是"},
			{"", "", "", "李秀英", "副局长"}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ps := Parse(tc.data, nil)
			if len(ps) > 0 {
				t.Fatalf("got problems %v", ps)
			}
			want := []survey.Unit{{ID: "czj", Name: "区财政局", Type: "经济管理部门", Members: []survey.Member{
				{ID: "czj-1", Name: "张建国", Post: "局长", Principal: true}, {ID: "czj-2", Name: "李秀英", Post: "副局长"}}}}
			if d := cmp.Diff(want, r.Units); d != "" {
				t.Errorf("units (-want +got):\n%s", d)
			}
		})
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "文件是空的"},
		{"old xls", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), "这是旧版 Excel（.xls）文件"},
		{"no headings", []byte("a,b,c\n1,2,3\n"), "没有找到表头行"},
		{"headings only", []byte("单位编号,单位名称,单位类型\n"), "表头下面没有单位"},
		{"broken zip", []byte("PK\x03\x04broken"), "无法读取这个 Excel 文件"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ps := Parse(tc.data, nil)
			if r != nil || len(ps) != 1 || !strings.Contains(ps[0].Message, tc.want) {
				t.Errorf("got %v, %v; want one problem containing %q", r, ps, tc.want)
			}
		})
	}
}

// TestRosterTemplate checks that the offered template reads back as the
// roster it shows.
func TestRosterTemplate(t *testing.T) {
	b, err := Template(rosterCategories)
	if err != nil {
		t.Fatal(err)
	}
	r, ps := Parse(b, rosterCategories)
	if len(ps) > 0 {
		t.Fatalf("the template has problems: %v", ps)
	}
	if len(r.Units) != 2 || len(r.Units[0].Members) != 2 || r.Units[1].Members[1].ID != "cgjd-2" {
		t.Errorf("got units %+v, want czj and cgjd with 2 members each", r.Units)
	}
	want := survey.Expected{"czj": {"leaders": 10, "staff": 20}, "cgjd": {"leaders": 10, "staff": 20}}
	if d := cmp.Diff(want, r.Expected); d != "" {
		t.Errorf("expected attendance (-want +got):\n%s", d)
	}
}

// TestParseRosterAwkward pins what the parser makes of awkward CSV rosters:
// the units, members, rows and expected attendance it builds, and every
// problem with its row, in order. It looks at the parser's own result, so
// that what is built alongside problems is pinned too, and checks that
// Parse reports the same.
func TestParseRosterAwkward(t *testing.T) {
	for _, tc := range []struct {
		name     string
		csv      string
		want     Result
		problems []survey.Problem
	}{
		{
			// No 单位类型: every unit is 未分类, and the notice says so.
			name: "missing unit type column",
			csv:  "单位编号,单位名称,姓名\nczj,区财政局,张建国\n",
			want: Result{
				Units:    []survey.Unit{{ID: "czj", Name: "区财政局", Type: DefaultType, Members: []survey.Member{{ID: "czj-1", Name: "张建国"}}}},
				Expected: survey.Expected{}, UnitRows: []int{2}, MemberRows: [][]int{{2}},
				Notices: []string{"名册没有“单位类型”列：全部单位归入“未分类”一类（权重和排名按类型分组，可在测评方案中修改）"},
			},
		},
		{
			// No 单位编号: ids are made from the names, the same every time.
			name: "missing unit id column under a title row",
			csv:  "2026年度名册\n单位名称,单位类型,姓名\n区财政局,经济管理部门,张建国\n",
			want: Result{
				Units: []survey.Unit{{ID: UnitID("区财政局"), Name: "区财政局", Type: "经济管理部门",
					Members: []survey.Member{{ID: UnitID("区财政局") + "-1", Name: "张建国"}}}},
				Expected: survey.Expected{}, UnitRows: []int{3}, MemberRows: [][]int{{3}},
				Notices: []string{"名册没有“单位编号”列：按单位名称生成了单位编号（同名单位得到同一编号，再次导入不变）"},
			},
		},
		{
			name: "unit columns last, left off continuation rows",
			csv:  "姓名,职务,单位编号,单位名称,单位类型,应到人数(一般干部职工)\n张建国,局长,czj,区财政局,经济管理部门,40\n李秀英,副局长\n",
			want: Result{
				Units: []survey.Unit{{ID: "czj", Name: "区财政局", Type: "经济管理部门", Members: []survey.Member{
					{ID: "czj-1", Name: "张建国", Post: "局长"}, {ID: "czj-2", Name: "李秀英", Post: "副局长"}}}},
				Expected:   survey.Expected{"czj": {"staff": 40}},
				UnitRows:   []int{2},
				MemberRows: [][]int{{2, 3}},
			},
		},
		{
			name: "duplicate unit and a unit that disagrees with its first row",
			csv: "单位编号,单位名称,单位类型,成员编号,姓名\n" +
				"czj,区财政局,经济管理部门,,张建国\n" +
				"czj,区财政局局,镇街道,,李四\n" +
				"fgj,区发改局,经济管理部门,czj-3,刘强\n" +
				"czj,区财政局,经济管理部门,,王五\n",
			want: Result{
				Units: []survey.Unit{
					{ID: "czj", Name: "区财政局", Type: "经济管理部门", Members: []survey.Member{
						{ID: "czj-1", Name: "张建国"}, {ID: "czj-2", Name: "李四"}}},
					{ID: "fgj", Name: "区发改局", Type: "经济管理部门", Members: []survey.Member{{ID: "czj-3", Name: "刘强"}}},
					// numbered past the ids already taken
					{ID: "czj", Name: "区财政局", Type: "经济管理部门", Members: []survey.Member{{ID: "czj-4", Name: "王五"}}},
				},
				Expected:   survey.Expected{},
				UnitRows:   []int{2, 4, 5},
				MemberRows: [][]int{{2, 3}, {4}, {5}},
			},
			problems: []survey.Problem{
				{Path: "第3行", Message: "单位名称 “区财政局局” 与第2行的 “区财政局” 不一致（单位编号 czj）"},
				{Path: "第3行", Message: "单位类型 “镇街道” 与第2行的 “经济管理部门” 不一致（单位编号 czj）"},
				{Path: "第5行", Message: "单位编号 czj 已在第2行出现：同一单位的成员应写在相邻的行"},
			},
		},
		{
			name: "member rows before any unit and under another unit's name",
			csv: "单位编号,单位名称,单位类型,姓名,应到人数（一般干部职工）\n" +
				",,,张建国,40\n" +
				",区财政局,,李秀英\n" +
				"czj,区财政局,经济管理部门,王五\n" +
				",区民政局,,赵六,30\n" +
				",区财政局,,孙七\n",
			want: Result{
				Units: []survey.Unit{{ID: "czj", Name: "区财政局", Type: "经济管理部门", Members: []survey.Member{
					{ID: "czj-1", Name: "王五"}, {ID: "czj-2", Name: "孙七"}}}},
				Expected:   survey.Expected{},
				UnitRows:   []int{4},
				MemberRows: [][]int{{4, 6}},
			},
			problems: []survey.Problem{
				{Path: "第2行", Message: "缺少单位编号"},
				{Path: "第3行", Message: "缺少单位编号"},
				{Path: "第5行", Message: "缺少单位编号"},
			},
		},
		{
			name:     "only member rows",
			csv:      "单位编号,单位名称,单位类型,姓名\n,,,张建国\n",
			want:     Result{Expected: survey.Expected{}},
			problems: []survey.Problem{{Path: "第2行", Message: "缺少单位编号"}},
		},
		{
			// The leaders heading keeps its trailing space in messages.
			name: "expected attendance with bad numbers",
			csv: "单位编号,单位名称,单位类型,姓名,应到人数（一般干部职工）,区领导应到人数 \n" +
				"czj,区财政局,经济管理部门,张建国,四十,3.0\n" +
				"czj,,,李秀英,-1,3\n" +
				"czj,,,王五,40.0,4\n" +
				",,,赵六,3.5,\n" +
				"fgj,区发改局,经济管理部门,,10001, 2 \n" +
				"fgj,,,刘强,40,\n",
			want: Result{
				Units: []survey.Unit{
					{ID: "czj", Name: "区财政局", Type: "经济管理部门", Members: []survey.Member{
						{ID: "czj-1", Name: "张建国"}, {ID: "czj-2", Name: "李秀英"},
						{ID: "czj-3", Name: "王五"}, {ID: "czj-4", Name: "赵六"}}},
					{ID: "fgj", Name: "区发改局", Type: "经济管理部门", Members: []survey.Member{{ID: "fgj-1", Name: "刘强"}}},
				},
				Expected:   survey.Expected{"czj": {"staff": 40, "leaders": 3}, "fgj": {"staff": 40, "leaders": 2}},
				UnitRows:   []int{2, 6},
				MemberRows: [][]int{{2, 3, 4, 5}, {7}},
			},
			problems: []survey.Problem{
				{Path: "第2行", Message: "应到人数（一般干部职工） “四十” 应是不小于 0 的整数"},
				{Path: "第3行", Message: "应到人数（一般干部职工） “-1” 应是不小于 0 的整数"},
				// the row of the last agreeing value, not the first
				{Path: "第4行", Message: "区领导应到人数  4 与第3行的 3 不一致（同一单位只填一次即可）"},
				{Path: "第5行", Message: "应到人数（一般干部职工） “3.5” 应是不小于 0 的整数"},
				{Path: "第6行", Message: "应到人数（一般干部职工） 10001 超过一批的上限 10000"},
			},
		},
		{
			// Empty lines are not records in CSV, so rows are counted
			// without them; rows of empty cells are counted and skipped.
			name: "blank rows",
			csv:  "\n,,,\n单位编号,单位名称,单位类型,姓名\n\n , ,\u3000,\nczj,区财政局,经济管理部门,张建国\n\n,,,李秀英\n,,,\n",
			want: Result{
				Units: []survey.Unit{{ID: "czj", Name: "区财政局", Type: "经济管理部门", Members: []survey.Member{
					{ID: "czj-1", Name: "张建国"}, {ID: "czj-2", Name: "李秀英"}}}},
				Expected:   survey.Expected{},
				UnitRows:   []int{4},
				MemberRows: [][]int{{4, 5}},
			},
		},
		{
			name:     "only blank rows under the headings",
			csv:      "单位编号,单位名称,单位类型,姓名\n,,,\n  ,,,\n",
			want:     Result{Expected: survey.Expected{}},
			problems: []survey.Problem{{Path: "", Message: "表头下面没有单位：请从第2行起每行填写一名班子成员"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, where, p := readSheet([]byte(tc.csv))
			if p != nil {
				t.Fatalf("reading the CSV: %v", *p)
			}
			rp := &rosterParser{roster: &Result{Where: where, Expected: survey.Expected{}}, categories: rosterCategories}
			rp.parse(rows)
			if d := cmp.Diff(tc.want, *rp.roster); d != "" {
				t.Errorf("roster (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.problems, rp.problems, equateProblems); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}

			r, ps := Parse([]byte(tc.csv), rosterCategories)
			if d := cmp.Diff(tc.problems, ps, equateProblems); d != "" {
				t.Errorf("Parse problems (-want +got):\n%s", d)
			}
			switch {
			case len(tc.problems) > 0 && r != nil:
				t.Errorf("Parse gave a roster with problems, want nil")
			case len(tc.problems) == 0 && (r == nil || !cmp.Equal(tc.want, *r)):
				t.Errorf("Parse gave roster %+v, want %+v", r, tc.want)
			}
		})
	}
}

// equateProblems compares problems as values, slot included.
var equateProblems = cmpopts.EquateComparable(survey.Problem{})
