package roster

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"minping/survey"
	"minping/tally"
)

// Results sheet headings (CONTRACT §5.3 entered after the seal): one row
// per unit, a column per outside part of the total, one bonus and one
// penalty with their reasons, and a veto reason.
const (
	ResultsSheet     = "成绩录入"
	ColBonus         = "加分"
	ColBonusReason   = "加分理由"
	ColPenalty       = "减分"
	ColPenaltyReason = "减分理由"
	ColVeto          = "一票否决理由"
)

// ParseResults reads the entries of a round's units from an .xlsx workbook
// or a CSV file laid out as ResultsTemplate gives it: a heading row with
// 单位编号 (or 单位名称) and a column per part, then a row per unit.
// Every problem is reported at its row ("第3行") or column; the entries
// are returned only when there is none, and have been checked as the API
// checks them.
func ParseResults(data []byte, def *survey.Definition) ([]tally.Entry, []survey.Problem) {
	rows, _, p := readSheetNamed(data, ResultsSheet)
	if p != nil {
		return nil, []survey.Problem{*p}
	}
	if def.Total == nil {
		return nil, []survey.Problem{{Message: "本次测评没有定义总分（total），无需录入其他部分"}}
	}
	head := -1
	for i, r := range rows {
		for _, c := range r {
			if h := heading(c); h == ColUnitID || h == ColUnitName {
				head = i
			}
		}
		if head >= 0 {
			break
		}
	}
	if head < 0 {
		return nil, []survey.Problem{{Message: "没有找到标题行：第一行应有「单位编号」或「单位名称」列，请用下载的成绩录入模板填写"}}
	}
	cols := map[string]int{}
	for j, c := range rows[head] {
		cols[heading(c)] = j
	}
	var ps []survey.Problem
	for _, part := range def.Total.Parts {
		if _, ok := cols[heading(part.Name)]; !ok {
			ps = append(ps, survey.Problem{Path: "标题行", Message: fmt.Sprintf("缺少「%s」列", part.Name)})
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}
	cell := func(r []string, name string) string {
		if j, ok := cols[heading(name)]; ok && j < len(r) {
			return strings.TrimSpace(r[j])
		}
		return ""
	}
	byName := map[string]string{}
	for _, u := range def.Units {
		byName[u.Name] = u.ID
	}
	var entries []tally.Entry
	var rowOf []int
	for i := head + 1; i < len(rows); i++ {
		r := rows[i]
		row := fmt.Sprintf("第%d行", i+1)
		if strings.TrimSpace(strings.Join(r, "")) == "" {
			continue
		}
		id := cell(r, ColUnitID)
		if id == "" {
			id = byName[cell(r, ColUnitName)]
		}
		if id == "" {
			ps = append(ps, survey.Problem{Path: row, Message: fmt.Sprintf("没有单位「%s」", cell(r, ColUnitName))})
			continue
		}
		e := tally.Entry{Unit: id, Parts: map[string]string{}, Adjustments: []tally.Adjustment{}, Veto: cell(r, ColVeto)}
		for _, part := range def.Total.Parts {
			e.Parts[part.ID] = number(cell(r, part.Name))
		}
		if v := number(cell(r, ColBonus)); v != "" && v != "0" {
			e.Adjustments = append(e.Adjustments, tally.Adjustment{Points: v, Reason: cell(r, ColBonusReason)})
		}
		if v := number(cell(r, ColPenalty)); v != "" && v != "0" {
			v = "-" + strings.TrimPrefix(v, "-") // 减分 is written as a positive number
			e.Adjustments = append(e.Adjustments, tally.Adjustment{Points: v, Reason: cell(r, ColPenaltyReason)})
		}
		entries = append(entries, e)
		rowOf = append(rowOf, i+1)
	}
	if len(entries) == 0 && len(ps) == 0 {
		ps = append(ps, survey.Problem{Message: "表中没有单位的成绩"})
	}
	if err := tally.CheckEntries(def, entries); err != nil {
		if ve, ok := err.(*survey.ValidationError); ok {
			for _, p := range ve.Problems {
				ps = append(ps, survey.Problem{Path: rowPath(p.Path, rowOf), Message: p.Message})
			}
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return entries, nil
}

var entryPath = regexp.MustCompile(`^\[(\d+)\]`)

// rowPath turns an entry's path "[2].parts.x" into its row "第5行".
func rowPath(path string, rowOf []int) string {
	if m := entryPath.FindStringSubmatch(path); m != nil {
		if i, err := strconv.Atoi(m[1]); err == nil && i < len(rowOf) {
			return fmt.Sprintf("第%d行", rowOf[i])
		}
	}
	return path
}

// number normalises a number as a cell gives it: no thousands separators
// or spaces; a fraction Excel wrote as a float keeps what it shows.
func number(s string) string {
	return strings.NewReplacer(",", "", "，", "", " ", "").Replace(strings.TrimSpace(s))
}

// ResultsTemplate is the workbook to fill in a round's entries: a row per
// unit with its id and name, a column per part (with its full marks), the
// bonus and penalty with reasons, and the veto reason.
func ResultsTemplate(def *survey.Definition) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", ResultsSheet); err != nil {
		return nil, err
	}
	head := []any{ColUnitID, ColUnitName, ColUnitType}
	if def.Total != nil {
		for _, p := range def.Total.Parts {
			head = append(head, p.Name)
		}
	}
	head = append(head, ColBonus, ColBonusReason, ColPenalty, ColPenaltyReason, ColVeto)
	if err := f.SetSheetRow(ResultsSheet, "A1", &head); err != nil {
		return nil, err
	}
	for i, u := range def.Units {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		row := []any{u.ID, u.Name, u.Type}
		if err := f.SetSheetRow(ResultsSheet, cell, &row); err != nil {
			return nil, err
		}
	}
	f.SetColWidth(ResultsSheet, "B", "B", 24)
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
