package tally

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"

	"minping/survey"
)

// summaryHeader is the header row of the summary sheet and of SummaryCSV.
func summaryHeader(def *survey.Definition) []string {
	h := []string{"序号", "单位", "类型", "应参加人数", "实参加人数", "参评率", "是否达到法定比例",
		"得分", "最低等次票占比", ComponentsLabel(def)}
	if len(def.Components) > 0 { // each component's value beside their sum
		h[len(h)-1] = "测评计分合计"
		for _, c := range def.Components {
			h = append(h, c.Name+"得分", c.Name+"计分")
		}
	}
	return append(h, "排名", "等次", "提示")
}

// componentScores are a unit's components, score and value each, for a
// definition with components; none for a v1 one.
func componentScores(def *survey.Definition, u *UnitResult) []Score {
	var out []Score
	for _, c := range def.Components {
		var score, value Score
		for _, cr := range u.Components {
			if cr.ID == c.ID {
				score, value = cr.Score, cr.Value
			}
		}
		out = append(out, score, value)
	}
	return out
}

// ComponentsLabel names the survey's components with their full marks:
// "干部群众评价（满分20）", or for several "公众评议（满分200）、内部评估（满分100）";
// a component whose points differ by unit type says so.
func ComponentsLabel(def *survey.Definition) string {
	var parts []string
	for _, c := range def.ComponentList() {
		pts := c.Points.String()
		if c.Points.IsZero() {
			pts = "按单位类型"
		}
		parts = append(parts, c.Name+"（满分"+pts+"）")
	}
	return strings.Join(parts, "、")
}

// summaryRow is one unit's summary: numbers as printed, shares as
// percentages ("87.06%"), nulls as empty.
func summaryRow(def *survey.Definition, n int, u *UnitResult) []string {
	row := []string{strconv.Itoa(n), u.Unit.Name, u.Unit.Type, strconv.Itoa(u.Issued), strconv.Itoa(u.Voted),
		percent(u.Turnout), yesNo(u.QuorumMet), u.Score.String(), lowestShares(u.teamForms()), u.Component.String()}
	for _, sc := range componentScores(def, u) {
		row = append(row, sc.String())
	}
	return append(row, u.rankText(), u.gradeText(), strings.Join(FlagTexts(def, u.Flags, u.teamForms()), "；"))
}

// rankText writes the unit's rank among the units of its type, "2/5", or
// "" when it has none.
func (u *UnitResult) rankText() string {
	if u.Rank == nil {
		return ""
	}
	return fmt.Sprintf("%d/%d", *u.Rank, u.RankOf)
}

// gradeText writes the unit's grade, or "" when it has none.
func (u *UnitResult) gradeText() string {
	if u.Grade == nil {
		return ""
	}
	return *u.Grade
}

// teamForms returns the forms rating the unit's team, or nil.
func (u *UnitResult) teamForms() []FormResult {
	for _, s := range u.Subjects {
		if s.ID == survey.TeamSubject {
			return s.Forms
		}
	}
	return nil
}

// lowestShares writes the share of the lowest option of each form, the
// figure that must stand beside every score: "差 1.85%；不满意 13.33%".
func lowestShares(forms []FormResult) string {
	var parts []string
	for _, f := range forms {
		if len(f.Shares) == 0 {
			continue
		}
		last := f.Shares[len(f.Shares)-1]
		parts = append(parts, last.Label+" "+percent(last.Share))
	}
	return strings.Join(parts, "；")
}

// percent writes a share as a percentage with 2 decimals, from its printed
// 4-decimal value, or "" for null.
func percent(s Share) string {
	if !s.Valid() {
		return ""
	}
	r := s.Rat()
	printed := roundHalfUp(r, sharePlaces) // in units of 0.0001 = 0.01%
	v := fixed(new(big.Rat).SetFrac(printed, big.NewInt(100)), 2)
	return v + "%"
}

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// SummaryCSV writes the summary of the units keep accepts (nil keeps every
// unit) as CSV, UTF-8 with a byte-order mark so that Excel reads it.
func SummaryCSV(def *survey.Definition, r *RoundResult, keep func(unitID string) bool) []byte {
	var b bytes.Buffer
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	_ = w.Write(csvSafe(summaryHeader(def))) // writes to memory cannot fail
	n := 0
	for i := range r.Units {
		u := &r.Units[i]
		if keep != nil && !keep(u.Unit.ID) {
			continue
		}
		n++
		_ = w.Write(csvSafe(summaryRow(def, n, u)))
	}
	w.Flush()
	return b.Bytes()
}

// csvSafe keeps spreadsheet programs from reading a cell as a formula: a
// cell that starts with = + - @, a tab or a carriage return, and is not a
// plain number, gets a leading apostrophe. Names come from organisers'
// rosters, and a unit named =HYPERLINK(…) must stay a name.
func csvSafe(cells []string) []string {
	for i, c := range cells {
		if c == "" || !strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			continue
		}
		if _, err := strconv.ParseFloat(c, 64); err == nil {
			continue
		}
		cells[i] = "'" + c
	}
	return cells
}

// Workbook writes the results of the units keep accepts (nil keeps every
// unit) as an Excel workbook: a summary sheet (汇总), then one sheet per
// unit in the layout of the paper 民主测评情况报告表 — turnout, score and
// component, the categories, and per form the count and share of each
// option for the team and every member with the lowest option's share
// beside the score. r may be fresh from Documents or decoded from sealed
// bytes; def is the round's frozen definition.
func Workbook(def *survey.Definition, r *RoundResult, results *ResultsDoc, keep func(unitID string) bool) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	x, err := newSheetWriter(f)
	if err != nil {
		return nil, err
	}
	if err := f.SetSheetName("Sheet1", "汇总"); err != nil {
		return nil, err
	}
	names := map[string]bool{"汇总": true}
	x.sheet("汇总")
	x.title(r.Round.Name+" 民主测评结果汇总", len(summaryHeader(def)))
	x.note(fmt.Sprintf("封存时间：%s　配置指纹：%s　选票摘要：%s", r.SealedAt, short(r.ConfigSHA256), short(r.BallotsSHA256)))
	x.header(toAny(summaryHeader(def))...)
	n := 0
	var kept []*UnitResult
	for i := range r.Units {
		u := &r.Units[i]
		if keep != nil && !keep(u.Unit.ID) {
			continue
		}
		kept = append(kept, u)
		n++
		row := []any{n, u.Unit.Name, u.Unit.Type, u.Issued, u.Voted, shareCell(u.Turnout), yesNo(u.QuorumMet),
			scoreCell(u.Score), lowestShares(u.teamForms()), scoreCell(u.Component)}
		for _, sc := range componentScores(def, u) {
			row = append(row, scoreCell(sc))
		}
		row = append(row, u.rankText(), u.gradeText(), strings.Join(FlagTexts(def, u.Flags, u.teamForms()), "；"))
		x.row(row...)
	}
	last, _ := excelize.ColumnNumberToName(len(summaryHeader(def)))
	x.widths(map[string]float64{"A": 6, "B": 24, "C": 16, "I": 22, "J": 16, last: 60})
	x.printSetup(true, 3, r.Round.Name, r.ConfigSHA256)
	if results != nil {
		names["总分"] = true
		if _, err := f.NewSheet("总分"); err != nil {
			return nil, err
		}
		x.sheet("总分")
		x.totals(results, keep)
		x.printSetup(true, 3, r.Round.Name, results.ConfigSHA256)
	}

	for _, u := range kept {
		name := sheetName(u.Unit.Name, u.Unit.ID, names)
		if _, err := f.NewSheet(name); err != nil {
			return nil, fmt.Errorf("sheet for unit %s: %w", u.Unit.ID, err)
		}
		x.sheet(name)
		x.unit(def, r, u)
		x.printSetup(false, 0, r.Round.Name+" · "+u.Unit.Name, r.ConfigSHA256)
	}
	if x.err != nil {
		return nil, x.err
	}
	f.SetActiveSheet(0)
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("write workbook: %w", err)
	}
	return buf.Bytes(), nil
}

// totals writes the results document's sheet: per unit the parts, the
// components as sealed, the adjustments, the total, rank, grade and veto.
func (x *sheetWriter) totals(res *ResultsDoc, keep func(unitID string) bool) {
	if len(res.Units) == 0 {
		return
	}
	head := []any{"序号", "单位", "类型"}
	for _, p := range res.Units[0].Parts {
		head = append(head, fmt.Sprintf("%s（%s）", p.Name, p.Points))
	}
	for _, c := range res.Units[0].Components {
		head = append(head, fmt.Sprintf("%s（%s）", c.Name, c.Points))
	}
	head = append(head, "加分", "减分", "总分", "排名", "等次", "一票否决", "加减分理由")
	x.title(res.Round.Name+" 考核总分（定稿于 "+res.FinalizedAt+"）", len(head))
	x.note("测评结果摘要（tally_sha256）：" + short(res.TallySHA256))
	x.header(head...)
	n := 0
	for _, u := range res.Units {
		if keep != nil && !keep(u.Unit.ID) {
			continue
		}
		n++
		row := []any{n, u.Unit.Name, u.Unit.Type}
		for _, p := range u.Parts {
			row = append(row, scoreCell(p.Value))
		}
		for _, c := range u.Components {
			row = append(row, scoreCell(c.Value))
		}
		var why []string
		for _, a := range u.Adjustments {
			why = append(why, a.Points.String()+"："+a.Reason)
		}
		rank := ""
		if u.Rank != nil {
			rank = fmt.Sprintf("%d/%d", *u.Rank, u.RankOf)
		}
		row = append(row, scoreCell(u.Bonus), scoreCell(u.Penalty), scoreCell(u.Total), rank, deref(u.Grade), u.Veto, strings.Join(why, "；"))
		x.row(row...)
	}
	x.widths(map[string]float64{"A": 6, "B": 24, "C": 16})
}

// reportWidth is the number of columns a unit sheet's title and section
// headings span.
const reportWidth = 12

// unit writes one unit's 民主测评情况报告表: the heading figures, the
// categories, two tables per form, the subjects' totals and the seal.
func (x *sheetWriter) unit(def *survey.Definition, r *RoundResult, u *UnitResult) {
	x.unitHeading(def, r, u)
	x.categories(u)
	for fi := range def.Forms {
		form := &def.Forms[fi]
		x.formVotes(def, form, u)
		x.formItems(def, form, u)
	}
	x.subjectTotals(def, u)
	x.note(fmt.Sprintf("封存时间：%s　选票摘要（SHA-256）：%s", u.SealedAt, u.BallotsSHA256))
	x.note("说明：得分按有效票计算（不含「不了解」及弃权），保留两位小数，四舍五入；占比保留四位小数。")
	x.widths(map[string]float64{"A": 16, "B": 16, "C": 11, "D": 11, "E": 11, "F": 11, "G": 11,
		"H": 11, "I": 11, "J": 11, "K": 11, "L": 11, "M": 11, "N": 40})
}

// unitHeading writes the title and the unit's own figures: turnout and
// quorum, score beside the lowest option's share, component, rank, grade
// and, if any, the flags.
func (x *sheetWriter) unitHeading(def *survey.Definition, r *RoundResult, u *UnitResult) {
	x.title(u.Unit.Name+" 民主测评情况报告表", reportWidth)
	x.note("测评活动：" + r.Round.Name + "　单位类型：" + u.Unit.Type)
	x.pairs("应参加人数", u.Issued, "实参加人数", u.Voted, "参评率", shareCell(u.Turnout), "是否达到法定比例", yesNo(u.QuorumMet))
	x.pairs("得分", scoreCell(u.Score), "最低等次票占比", lowestShares(u.teamForms()),
		def.Component.Name+"（满分"+def.Component.Points.String()+"）", scoreCell(u.Component),
		"排名", u.rankText(), "等次", u.gradeText())
	if texts := FlagTexts(def, u.Flags, u.teamForms()); len(texts) > 0 {
		x.pairs("提示", strings.Join(texts, "；"))
	}
	x.blank()
}

// categories writes each category's weight, turnout and own team score, or
// why that score is not shown.
func (x *sheetWriter) categories(u *UnitResult) {
	x.section("各类别参加情况", reportWidth)
	x.header("测评人类别", "权重", "应参加人数", "实参加人数", "参评率", "班子得分", "说明")
	for i := range u.Categories {
		c := &u.Categories[i]
		score, note := categoryTeamScore(u, c)
		x.row(c.Name, c.Weight.String(), c.Issued, c.Voted, shareCell(c.Turnout), score, note)
	}
	x.blank()
}

// categoryTeamScore returns the cell for category c's own team score and
// the note beside it: withheld when the category or the unit's breakdown is
// too small, "无人参加" when nobody in it voted.
func categoryTeamScore(u *UnitResult, c *CategoryResult) (any, string) {
	switch {
	case c.Withheld:
		return "不予显示", "人数过少"
	case u.BreakdownWithheld:
		return "不予显示", "有类别人数过少，分项结果均不显示"
	}
	score, note := any(""), ""
	for _, s := range c.Subjects {
		if s.ID == survey.TeamSubject {
			score = scoreCell(s.Score)
		}
	}
	if c.Voted == 0 {
		note = "无人参加"
	}
	return score, note
}

// formVotes writes, for each subject the form rates, the valid votes, the
// abstentions if the scale has them, the count and share of every option
// over the form's basis, the score and the form's flags. The lowest
// option's share comes last of the options, right beside the score.
func (x *sheetWriter) formVotes(def *survey.Definition, form *survey.Form, u *UnitResult) {
	sc := def.Scale(form.Scale)
	basis := "各项合计"
	if form.Overall != "" {
		basis = "「" + form.Overall + "」"
	}
	x.section(form.Title+"（票数按"+basis+"统计）", reportWidth)
	head := []any{"测评对象", "职务", "有效票"}
	if sc.Abstain != "" {
		head = append(head, sc.Abstain+"票数")
	}
	for _, o := range sc.Options {
		head = append(head, o.Label+"票数", o.Label+"占比")
	}
	head = append(head, "得分", "提示")
	x.header(head...)
	for _, s := range u.Subjects {
		fr := s.form(form.ID)
		if fr == nil {
			continue
		}
		counts, abst := fr.basis()
		row := []any{s.Name, s.Post, fr.Valid}
		if sc.Abstain != "" {
			row = append(row, abst)
		}
		for o := range sc.Options {
			row = append(row, countAt(counts, o), shareCell(fr.Shares.at(o)))
		}
		row = append(row, scoreCell(fr.Score), strings.Join(FlagTexts(def, fr.Flags, []FormResult{*fr}), "；"))
		x.row(row...)
	}
	x.blank()
}

// formItems writes, for each subject the form rates, the score of every
// item, the form's score and the lowest option's share beside it.
func (x *sheetWriter) formItems(def *survey.Definition, form *survey.Form, u *UnitResult) {
	sc := def.Scale(form.Scale)
	lowest := len(sc.Options) - 1
	x.section(form.Title+" 分项得分", reportWidth)
	head := []any{"测评对象", "职务"}
	for _, it := range form.Items {
		head = append(head, it.Name+"（权重"+it.Weight.String()+"）")
	}
	head = append(head, "得分", sc.Options[lowest].Label+"占比")
	x.header(head...)
	for _, s := range u.Subjects {
		fr := s.form(form.ID)
		if fr == nil {
			continue
		}
		row := []any{s.Name, s.Post}
		for _, it := range fr.Items {
			row = append(row, scoreCell(it.Score))
		}
		row = append(row, scoreCell(fr.Score), shareCell(fr.Shares.at(lowest)))
		x.row(row...)
	}
	x.blank()
}

// subjectTotals writes each subject's score over all its forms, the lowest
// option's share of each form, the component and the flags.
func (x *sheetWriter) subjectTotals(def *survey.Definition, u *UnitResult) {
	x.section("测评对象综合得分", reportWidth)
	x.header("测评对象", "职务", "得分", "最低等次票占比", def.Component.Name, "提示")
	for _, s := range u.Subjects {
		x.row(s.Name, s.Post, scoreCell(s.Score), lowestShares(s.Forms), scoreCell(s.Component),
			strings.Join(FlagTexts(def, s.Flags, s.Forms), "；"))
	}
	x.blank()
}

func (s *SubjectResult) form(id string) *FormResult {
	for i := range s.Forms {
		if s.Forms[i].ID == id {
			return &s.Forms[i]
		}
	}
	return nil
}

// basis returns the counts the form's shares are over, and the
// abstentions among them: the overall row's, or the sum over the items.
func (f *FormResult) basis() (Counts, int) {
	if f.Overall != nil {
		return f.Overall.Counts, f.Overall.Abstain
	}
	var sum Counts
	abstain := 0
	for _, it := range f.Items {
		if sum == nil {
			sum = make(Counts, len(it.Counts))
			copy(sum, it.Counts)
		} else {
			for o := range sum {
				if o < len(it.Counts) {
					sum[o].Count += it.Counts[o].Count
				}
			}
		}
		abstain += it.Abstain
	}
	return sum, abstain
}

func (ss Shares) at(o int) Share {
	if o < len(ss) {
		return ss[o].Share
	}
	return Share{}
}

func countAt(cs Counts, o int) int {
	if o < len(cs) {
		return cs[o].Count
	}
	return 0
}

// short abbreviates a fingerprint for a heading.
func short(hex string) string {
	if len(hex) > 16 {
		return hex[:16] + "…"
	}
	return hex
}

// sheetName makes a valid, unused sheet name from a unit's name: at most 31
// UTF-16 units, none of : \ / ? * [ ], falling back to the id.
func sheetName(name, id string, used map[string]bool) string {
	clean := strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]'`, r) {
			return '_'
		}
		return r
	}, name)
	for len(utf16.Encode([]rune(clean))) > 31 {
		rs := []rune(clean)
		clean = string(rs[:len(rs)-1])
	}
	candidates := []string{clean, id}
	for i := 2; ; i++ {
		for _, c := range candidates {
			if c != "" && len(utf16.Encode([]rune(c))) <= 31 && !used[strings.ToLower(c)] {
				used[strings.ToLower(c)] = true
				return c
			}
		}
		candidates = []string{fmt.Sprintf("单位%d", i)}
	}
}

// Cells: a number where there is one, "—" for null.
type scoreValue struct{ s Score }
type shareValue struct{ s Share }

func scoreCell(s Score) any { return scoreValue{s} }
func shareCell(s Share) any { return shareValue{s} }

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// sheetWriter writes rows top to bottom, keeping the first error.
type sheetWriter struct {
	f                                   *excelize.File
	name                                string
	r                                   int
	err                                 error
	titleStyle, noteStyle, headStyle    int
	textStyle, scoreStyle, percentStyle int
	labelStyle                          int
}

func newSheetWriter(f *excelize.File) (*sheetWriter, error) {
	x := &sheetWriter{f: f}
	border := []excelize.Border{
		{Type: "left", Color: "000000", Style: 1}, {Type: "top", Color: "000000", Style: 1},
		{Type: "right", Color: "000000", Style: 1}, {Type: "bottom", Color: "000000", Style: 1},
	}
	center := &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}
	styles := []struct {
		dst *int
		s   excelize.Style
	}{
		{&x.titleStyle, excelize.Style{Font: &excelize.Font{Bold: true, Size: 16}, Alignment: &excelize.Alignment{Horizontal: "center"}}},
		{&x.noteStyle, excelize.Style{Font: &excelize.Font{Size: 10, Color: "555555"}}},
		{&x.headStyle, excelize.Style{Font: &excelize.Font{Bold: true}, Border: border, Alignment: center,
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E7EEF7"}}}},
		{&x.labelStyle, excelize.Style{Font: &excelize.Font{Bold: true}, Border: border, Alignment: center,
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"F3F3F3"}}}},
		{&x.textStyle, excelize.Style{Border: border, Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}}},
		{&x.scoreStyle, excelize.Style{Border: border, NumFmt: 2, Alignment: &excelize.Alignment{Horizontal: "right", Vertical: "center"}}},
		{&x.percentStyle, excelize.Style{Border: border, NumFmt: 10, Alignment: &excelize.Alignment{Horizontal: "right", Vertical: "center"}}},
	}
	for _, s := range styles {
		id, err := f.NewStyle(&s.s)
		if err != nil {
			return nil, fmt.Errorf("workbook style: %w", err)
		}
		*s.dst = id
	}
	return x, nil
}

func (x *sheetWriter) sheet(name string) { x.name, x.r = name, 0 }

func (x *sheetWriter) cell(col int) string {
	c, _ := excelize.CoordinatesToCellName(col, x.r) // col and row are positive
	return c
}

func (x *sheetWriter) keep(err error) {
	if x.err == nil && err != nil {
		x.err = fmt.Errorf("workbook sheet %s: %w", x.name, err)
	}
}

func (x *sheetWriter) title(text string, width int) {
	x.r++
	x.keep(x.f.SetCellValue(x.name, x.cell(1), text))
	x.keep(x.f.MergeCell(x.name, x.cell(1), x.cell(width)))
	x.keep(x.f.SetCellStyle(x.name, x.cell(1), x.cell(width), x.titleStyle))
	x.keep(x.f.SetRowHeight(x.name, x.r, 28))
}

func (x *sheetWriter) note(text string) {
	x.r++
	x.keep(x.f.SetCellValue(x.name, x.cell(1), text))
	x.keep(x.f.SetCellStyle(x.name, x.cell(1), x.cell(1), x.noteStyle))
}

func (x *sheetWriter) section(text string, width int) {
	x.r++
	x.keep(x.f.SetCellValue(x.name, x.cell(1), text))
	x.keep(x.f.SetCellStyle(x.name, x.cell(1), x.cell(1), x.labelStyle))
	x.keep(x.f.MergeCell(x.name, x.cell(1), x.cell(width)))
}

func (x *sheetWriter) blank() { x.r++ }

func (x *sheetWriter) header(values ...any) {
	x.r++
	for i, v := range values {
		x.keep(x.f.SetCellValue(x.name, x.cell(i+1), v))
		x.keep(x.f.SetCellStyle(x.name, x.cell(i+1), x.cell(i+1), x.headStyle))
	}
}

// pairs writes label, value, label, value … on one row.
func (x *sheetWriter) pairs(values ...any) {
	x.r++
	for i, v := range values {
		if i%2 == 0 {
			x.keep(x.f.SetCellValue(x.name, x.cell(i+1), v))
			x.keep(x.f.SetCellStyle(x.name, x.cell(i+1), x.cell(i+1), x.labelStyle))
		} else {
			x.value(i+1, v)
		}
	}
}

func (x *sheetWriter) row(values ...any) {
	x.r++
	for i, v := range values {
		x.value(i+1, v)
	}
}

func (x *sheetWriter) value(col int, v any) {
	style := x.textStyle
	switch t := v.(type) {
	case scoreValue:
		if f, ok := t.s.Float64(); ok {
			v, style = f, x.scoreStyle
		} else {
			v = "—"
		}
	case shareValue:
		if f, ok := t.s.Float64(); ok {
			v, style = f, x.percentStyle
		} else {
			v = "—"
		}
	}
	x.keep(x.f.SetCellValue(x.name, x.cell(col), v))
	x.keep(x.f.SetCellStyle(x.name, x.cell(col), x.cell(col), style))
}

func (x *sheetWriter) widths(w map[string]float64) {
	for col, width := range w {
		x.keep(x.f.SetColWidth(x.name, col, col, width))
	}
}

// printSetup makes the current sheet print on A4: landscape where wide,
// fitted to the page's width, the rows from 1 to repeat repeated at the top
// of every page (0: none), the round in the header, and the fingerprint
// and page x / y in the footer.
func (x *sheetWriter) printSetup(landscape bool, repeat int, round, fingerprint string) {
	a4, one, any := 9, 1, 0
	orient := "portrait"
	if landscape {
		orient = "landscape"
	}
	yes := true
	x.keep(x.f.SetSheetProps(x.name, &excelize.SheetPropsOptions{FitToPage: &yes}))
	x.keep(x.f.SetPageLayout(x.name, &excelize.PageLayoutOptions{Size: &a4, Orientation: &orient, FitToWidth: &one, FitToHeight: &any}))
	margin := 0.5
	x.keep(x.f.SetPageMargins(x.name, &excelize.PageLayoutMarginsOptions{Left: &margin, Right: &margin, Top: &margin, Bottom: &margin}))
	esc := func(s string) string { return strings.ReplaceAll(s, "&", "&&") }
	footer := "&R第 &P 页 / 共 &N 页"
	if fingerprint != "" {
		footer = "&L配置指纹 " + esc(short(fingerprint)) + footer
	}
	x.keep(x.f.SetHeaderFooter(x.name, &excelize.HeaderFooterOptions{OddHeader: "&C" + esc(round), OddFooter: footer}))
	if repeat > 0 {
		x.keep(x.f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles",
			RefersTo: fmt.Sprintf("'%s'!$%d:$%d", x.name, repeat, repeat), Scope: x.name}))
	}
}
