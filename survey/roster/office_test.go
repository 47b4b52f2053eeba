package roster

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"minping/survey"
)

// officeRoster is a roster as an office keeps it: 序号 / 单位 / 姓名 / 职务,
// no 单位编号 or 单位类型, the unit written on its first row only (or its
// cell merged down), a full-width space inside a name, runs of spaces, a
// 合计 row with a count formula, and a note under the table.
var officeRows = [][]any{
	{"2026年度区直单位领导班子成员名册"},
	{"序号", "单位", "姓名", "职务"},
	{1, "区财政局", "张建国", "局长"},
	{2, "", "王\u3000伟", "副局长"},
	{3, "区民政局", " 李  娜 ", "局长\u00a0"},
	{4, "区民政局", "赵六", "副局长"},
	{"合计", "", "", ""},
	{"填表说明：本表由各单位人事科填写"},
}

func officeWant() []survey.Unit {
	czj, mzj := UnitID("区财政局"), UnitID("区民政局")
	return []survey.Unit{
		{ID: czj, Name: "区财政局", Type: DefaultType, Members: []survey.Member{
			{ID: czj + "-1", Name: "张建国", Post: "局长"}, {ID: czj + "-2", Name: "王伟", Post: "副局长"}}},
		{ID: mzj, Name: "区民政局", Type: DefaultType, Members: []survey.Member{
			{ID: mzj + "-1", Name: "李娜", Post: "局长"}, {ID: mzj + "-2", Name: "赵六", Post: "副局长"}}},
	}
}

// TestParseRosterOffice reads the office's roster in every form it comes
// in — a workbook with a 合计 formula and a merged unit cell, a GB18030 CSV
// with its byte-order mark, a tab-separated GBK text, 「Unicode 文本」
// (UTF-16) — with the same units and members, and notices for what was
// made up or skipped.
func TestParseRosterOffice(t *testing.T) {
	var lines []string
	for _, r := range officeRows {
		var cells []string
		for _, c := range r {
			cells = append(cells, fmt.Sprint(c))
		}
		lines = append(lines, strings.Join(cells, ","))
	}
	csvText := strings.Join(lines, "\r\n") + "\r\n"
	tsvText := strings.ReplaceAll(csvText, ",", "\t")
	gb18030, err := simplifiedchinese.GB18030.NewEncoder().String(csvText)
	if err != nil {
		t.Fatal(err)
	}
	// GBK has no NBSP: that cell's trailing space is a plain one there.
	gbkTSV, err := simplifiedchinese.GBK.NewEncoder().String(strings.ReplaceAll(tsvText, "\u00a0", " "))
	if err != nil {
		t.Fatal(err)
	}

	book := excelize.NewFile()
	for i, r := range officeRows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		row := r
		book.SetSheetRow("Sheet1", cell, &row)
	}
	book.SetCellFormula("Sheet1", "C7", "COUNTA(C3:C6)") // the 合计 row's count
	book.MergeCell("Sheet1", "B3", "B4")
	var xlsx bytes.Buffer
	book.Write(&xlsx)

	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"workbook with a 合计 formula and a merged cell", xlsx.Bytes()},
		{"GB18030 CSV with its BOM", append([]byte("\x84\x31\x95\x33"), gb18030...)},
		{"tab-separated GBK text", []byte(gbkTSV)},
		{"Unicode text (UTF-16LE, tabs)", utf16LE(tsvText)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ps := Parse(tc.data, nil)
			if len(ps) > 0 {
				t.Fatalf("problems: %v", ps)
			}
			if d := cmp.Diff(officeWant(), r.Units); d != "" {
				t.Errorf("units (-want +got):\n%s", d)
			}
			notices := strings.Join(r.Notices, "\n")
			for _, want := range []string{"按单位名称生成了单位编号", "归入“未分类”", "第7行：“合计”行，已跳过", "第8行：“填表说明”行，已跳过"} {
				if !strings.Contains(notices, want) {
					t.Errorf("notices lack %q:\n%s", want, notices)
				}
			}
		})
	}
	// The same names give the same ids in every import.
	if UnitID("区财政局") != UnitID(" 区财政局\u3000") || UnitID("区财政局") == UnitID("区民政局") {
		t.Error("unit ids are not stable per name")
	}
}

// utf16LE is text as Excel saves 「Unicode 文本」: UTF-16LE with its BOM.
func utf16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2+2*len(u))
	b[0], b[1] = 0xFF, 0xFE
	for i, v := range u {
		binary.LittleEndian.PutUint16(b[2+2*i:], v)
	}
	return b
}

// TestParseRosterUncomputedFormula: a workbook written by a program keeps
// formulas without their values (here the 合计 row's count and a member
// whose name is =CONCAT(…)); read as blanks they would be lost, so the
// roster is refused, naming each cell and its row.
func TestParseRosterUncomputedFormula(t *testing.T) {
	book := excelize.NewFile()
	for i, r := range officeRows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		row := r
		book.SetSheetRow("Sheet1", cell, &row)
	}
	book.SetCellValue("Sheet1", "C7", nil)
	book.SetCellFormula("Sheet1", "C7", "COUNTA(C3:C6)")
	book.SetCellValue("Sheet1", "C5", nil)
	book.SetCellFormula("Sheet1", "C5", `CONCAT("王","芳")`)
	var xlsx bytes.Buffer
	book.Write(&xlsx)
	_, ps := Parse(xlsx.Bytes(), nil)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "C5（第5行）") || !strings.Contains(ps[0].Message, "C7（第7行）") || !strings.Contains(ps[0].Message, "保存") {
		t.Fatalf("a workbook with uncomputed formulas: got %v, want one problem naming C5 and C7 and saying to save the file", ps)
	}
}
