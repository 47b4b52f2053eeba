package tally

import (
	"bytes"
	"encoding/csv"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

func TestFlagText(t *testing.T) {
	def := loadExample(t)
	members := formByID(def, "members")
	service := formByID(def, "service")
	tests := []struct {
		name string
		text string
		want string
	}{
		{"lowest_over on members", FlagText(def, members, FlagLowestOver), "不称职票超过三分之一"},
		{"top_two_under on members", FlagText(def, members, FlagTopTwoUnder), "优秀和称职票合计低于三分之二"},
		{"lowest_over on service", FlagText(def, service, FlagLowestOver), "不满意票超过三分之一"},
		{"lowest_over in general", FlagText(def, nil, FlagLowestOver), "最低等次票超过三分之一"},
		{"quorum_not_met", FlagText(def, nil, FlagQuorumNotMet), "参评率未达到法定比例（三分之二）"},
		{"reweighted", FlagText(def, nil, FlagReweighted), "部分类别无有效票，权重已重新分配"},
		{"small_group", FlagText(def, nil, FlagSmallGroup), "部分类别人数过少，分项结果不予显示"},
		{"unknown", FlagText(def, nil, "other"), "other"},
	}
	for _, tt := range tests {
		if tt.text != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.text, tt.want)
		}
	}
	forms := []FormResult{
		{ID: "team", Title: "领导班子团结协作测评", Flags: []string{}},
		{ID: "service", Title: "服务对象满意度测评", Flags: []string{FlagLowestOver, FlagTopTwoUnder}},
	}
	got := FlagTexts(def, []string{FlagLowestOver, FlagTopTwoUnder, FlagQuorumNotMet}, forms)
	want := []string{"服务对象满意度测评：不满意票超过三分之一", "服务对象满意度测评：满意和基本满意票合计低于三分之二",
		"参评率未达到法定比例（三分之二）"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FlagTexts (-want +got):\n%s", diff)
	}
}

func TestFraction(t *testing.T) {
	tests := []struct {
		r    *big.Rat
		want string
	}{
		{big.NewRat(1, 3), "三分之一"},
		{big.NewRat(2, 3), "三分之二"},
		{big.NewRat(4, 5), "80%"},
		{big.NewRat(1, 2), "50%"},
		{big.NewRat(7, 8), "87.5%"},
		{big.NewRat(3, 7), "七分之三"},
		{big.NewRat(5, 11), "45.45%"},
		{big.NewRat(1, 1), "100%"},
	}
	for _, tt := range tests {
		if got := fraction(tt.r); got != tt.want {
			t.Errorf("fraction(%s): got %q, want %q", tt.r.RatString(), got, tt.want)
		}
	}
}

func TestSummaryCSV(t *testing.T) {
	def := loadExample(t)
	docs := exampleDocuments(t, false)
	golden(t, "summary.csv", SummaryCSV(def, docs.Result, nil))
	only := SummaryCSV(def, docs.Result, func(id string) bool { return id == "fgj" })
	if lines := strings.Split(strings.TrimSpace(string(only)), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "区发展和改革局") {
		t.Errorf("filtered CSV: got %q, want the header and 区发展和改革局", lines)
	}
	// A unit named as a formula comes out as text.
	docs.Result.Units[0].Unit.Name = `=HYPERLINK("http://x","点击")`
	rows, err := csv.NewReader(bytes.NewReader(SummaryCSV(def, docs.Result, nil))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[1][1]; got != `'=HYPERLINK("http://x","点击")` {
		t.Errorf("a unit named as a formula: CSV cell %q, want it led by an apostrophe", got)
	}
}

func TestWorkbook(t *testing.T) {
	def := loadExample(t)
	docs := exampleDocuments(t, false)
	// From sealed bytes, as the server serves it after the seal.
	r, err := DecodeRound(docs.Round)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Workbook(def, r, nil, func(id string) bool { return id == "fgj" || id == "mzj" })
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if diff := cmp.Diff([]string{"汇总", "区发展和改革局", "区民政局"}, f.GetSheetList()); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}

	// Every sheet prints on A4 fitted to the width: the summary landscape
	// with its header row repeated on each page, the round in the header,
	// the fingerprint and page x / y in the footer.
	for _, sheet := range f.GetSheetList() {
		pl, err := f.GetPageLayout(sheet)
		if err != nil {
			t.Fatal(err)
		}
		wantOrient := "portrait"
		if sheet == "汇总" {
			wantOrient = "landscape"
		}
		if pl.Size == nil || *pl.Size != 9 || pl.Orientation == nil || *pl.Orientation != wantOrient || pl.FitToWidth == nil || *pl.FitToWidth != 1 {
			t.Errorf("%s: page layout %+v, want A4 %s fitted to one page wide", sheet, pl, wantOrient)
		}
		props, _ := f.GetSheetProps(sheet)
		if props.FitToPage == nil || !*props.FitToPage {
			t.Errorf("%s: fit to page is off", sheet)
		}
		hf, err := f.GetHeaderFooter(sheet)
		if err != nil || hf == nil || !strings.Contains(hf.OddHeader, def.Name) || !strings.Contains(hf.OddFooter, "第 &P 页 / 共 &N 页") || !strings.Contains(hf.OddFooter, "配置指纹") {
			t.Errorf("%s: header and footer %+v, %v", sheet, hf, err)
		}
	}
	titles := false
	for _, dn := range f.GetDefinedName() {
		titles = titles || dn.Name == "_xlnm.Print_Titles" && dn.Scope == "汇总" && strings.Contains(dn.RefersTo, "$3:$3")
	}
	if !titles {
		t.Errorf("the summary does not repeat its header row on every page: %+v", f.GetDefinedName())
	}

	rows, err := f.GetRows("汇总")
	if err != nil {
		t.Fatal(err)
	}
	header := rows[2]
	if diff := cmp.Diff(summaryHeader(def), header); diff != "" {
		t.Errorf("summary header (-want +got):\n%s", diff)
	}
	if got := len(rows); got != 5 {
		t.Errorf("summary rows: got %d, want title, note, header and 2 units", got)
	}
	col := func(name string) int { return slices.Index(header, name) }
	fgj := rows[3]
	if got, want := fgj[col("单位")], "区发展和改革局"; got != want {
		t.Errorf("summary unit: got %q, want %q", got, want)
	}
	if got, want := fgj[col("得分")], r.Units[1].Score.String(); got != want {
		t.Errorf("summary score: got %q, want %q", got, want)
	}
	if col("最低等次票占比") != col("得分")+1 {
		t.Errorf("the lowest option's share is not beside the score in the summary")
	}

	rows, err = f.GetRows("区发展和改革局")
	if err != nil {
		t.Fatal(err)
	}
	var memberHead []string
	var worst []string
	for _, row := range rows {
		if len(row) > 2 && row[0] == "测评对象" && slices.Contains(row, "不称职占比") && slices.Contains(row, "优秀票数") {
			memberHead = row
		}
		if len(row) > 0 && row[0] == "杨帆" && memberHead != nil && worst == nil {
			worst = row
		}
	}
	if memberHead == nil || worst == nil {
		t.Fatalf("no member table with 杨帆 in the unit sheet:\n%v", rows)
	}
	score := slices.Index(memberHead, "得分")
	if memberHead[score-1] != "不称职占比" {
		t.Errorf("member table: got %q beside 得分, want 不称职占比", memberHead[score-1])
	}
	fgj3 := r.Units[1].Subjects[3].Forms[0]
	if got, want := worst[score], fgj3.Score.String(); got != want {
		t.Errorf("杨帆 score: got %q, want %q", got, want)
	}
	if got := worst[len(worst)-1]; !strings.Contains(got, "不称职票超过三分之一") {
		t.Errorf("杨帆 flags: got %q, want 不称职票超过三分之一", got)
	}
	// Withheld figures are said to be withheld, not shown.
	rows, _ = f.GetRows("区民政局")
	found := false
	for _, row := range rows {
		found = found || (len(row) > 5 && row[0] == "区领导" && row[5] == "不予显示")
	}
	if !found {
		t.Errorf("区民政局: no withheld 区领导 row in the category table")
	}
}

func TestSheetName(t *testing.T) {
	used := map[string]bool{"汇总": true}
	tests := []struct{ name, id, want string }{
		{"区财政局", "czj", "区财政局"},
		{"区财政局", "czj2", "czj2"},
		{"a/b:c", "x", "a_b_c"},
		{strings.Repeat("长", 40), "long", strings.Repeat("长", 31)},
		{"汇总", "hz", "hz"},
	}
	for _, tt := range tests {
		if got := sheetName(tt.name, tt.id, used); got != tt.want {
			t.Errorf("sheetName(%q, %q): got %q, want %q", tt.name, tt.id, got, tt.want)
		}
	}
}

// TestSummaryCSVNeutralisesFormulas: names that a spreadsheet would run as
// formulas come out as text; numbers stay numbers.
func TestSummaryCSVNeutralisesFormulas(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`},
		{"+1+2", "'+1+2"}, {"-cmd", "'-cmd"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"}, {"\rx", "'\rx"},
		{"-5.00", "-5.00"}, {"+3", "+3"}, {"区财政局", "区财政局"}, {"", ""}, {"a=b", "a=b"},
	} {
		if got := csvSafe([]string{tc.in})[0]; got != tc.want {
			t.Errorf("csvSafe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
