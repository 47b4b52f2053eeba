package roster

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"minping/survey"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Roster column headings, in the order of the template.
const (
	ColUnitID    = "单位编号"
	ColUnitName  = "单位名称"
	ColUnitType  = "单位类型"
	ColMemberID  = "成员编号"
	ColName      = "姓名"
	ColPost      = "职务"
	ColPrincipal = "党政正职"
	ColExpected  = "应到人数"
)

// Sheet is the sheet a roster workbook is read from when it has one of
// that name; otherwise its first sheet.
const Sheet = "名册"

// MaxRows bounds the rows read from a roster.
const MaxRows = 20000

// Result is what a roster file holds: the units with their members, the
// expected attendance, and where in the file each unit and member came
// from, for reporting problems by row.
type Result struct {
	Units    []survey.Unit
	Expected survey.Expected
	// Where is the label of the file's place: "名册" for a workbook's sheet,
	// "" for CSV.
	Where      string
	UnitRows   []int   // UnitRows[i]: the row where Units[i] starts
	MemberRows [][]int // MemberRows[i][j]: the row of Units[i].Members[j]
	// Notices say what was read differently from how it was written, or
	// left out: a 合计 row skipped, unit ids made from the names, a
	// default unit type. None is a problem.
	Notices []string
}

// DefaultType is the unit type of a roster without a 单位类型 column.
const DefaultType = "未分类"

// RowLabel names a row of the roster's file for a person: "名册 第5行".
func (r *Result) RowLabel(row int) string {
	if r.Where == "" {
		return fmt.Sprintf("第%d行", row)
	}
	return fmt.Sprintf("%s 第%d行", r.Where, row)
}

var unitPath = regexp.MustCompile(`^units\[(\d+)\](?:\.members\[(\d+)\])?`)

// Locate turns a definition path under units[i] (or units[i].members[j])
// into the roster row it came from, so that a problem found when the roster
// is merged into a definition can be reported by row. Other paths are
// returned unchanged.
func (r *Result) Locate(path string) string {
	m := unitPath.FindStringSubmatch(path)
	if m == nil {
		return path
	}
	i, _ := strconv.Atoi(m[1])
	if i >= len(r.UnitRows) {
		return path
	}
	row := r.UnitRows[i]
	if m[2] != "" {
		j, _ := strconv.Atoi(m[2])
		if j < len(r.MemberRows[i]) {
			row = r.MemberRows[i][j]
		}
	}
	return r.RowLabel(row)
}

// Parse reads a roster from an .xlsx workbook or a CSV file (UTF-8 or
// GB18030, as Excel saves it in China). categories are the round's voter
// categories, which name the 应到人数 columns. It returns every problem found,
// each with its row, and no roster if there is any: nothing half-read is
// ever used.
func Parse(data []byte, categories []survey.Category) (*Result, []survey.Problem) {
	rows, where, p := readSheet(data)
	if p != nil {
		return nil, []survey.Problem{*p}
	}
	rp := &rosterParser{roster: &Result{Where: where, Expected: survey.Expected{}}, categories: categories}
	rp.parse(rows)
	if len(rp.problems) > 0 {
		return nil, rp.problems
	}
	return rp.roster, nil
}

// readSheet returns the rows of the file's roster sheet, and where they are.
func readSheet(data []byte) ([][]string, string, *survey.Problem) {
	return readSheetNamed(data, Sheet)
}

// readSheetNamed returns the rows of the file's sheet of that name (or its
// first sheet), or of a CSV file.
func readSheetNamed(data []byte, name string) ([][]string, string, *survey.Problem) {
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return nil, "", &survey.Problem{Message: "文件是空的"}
	case bytes.HasPrefix(data, []byte("\xD0\xCF\x11\xE0")):
		return nil, "", &survey.Problem{Message: "这是旧版 Excel（.xls）文件：请在 Excel 中“另存为” .xlsx 工作簿或 CSV 后再导入"}
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return readWorkbook(data, name)
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	data = bytes.TrimPrefix(data, []byte("\x84\x31\x95\x33")) // GB18030's BOM
	if d, ok := fromUTF16(data); ok {
		data = d
	}
	if !utf8.Valid(data) {
		d, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil {
			return nil, "", &survey.Problem{Message: "无法识别文件的字符编码，请保存为 UTF-8 或 GBK 编码的 CSV，或 .xlsx 工作簿"}
		}
		data = d
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.Comma = delimiter(data)
	var rows [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, "", &survey.Problem{Path: fmt.Sprintf("第%d行", pe.Line), Message: "CSV 格式有误：" + pe.Err.Error()}
			}
			return nil, "", &survey.Problem{Message: "CSV 格式有误：" + err.Error()}
		}
		rows = append(rows, rec)
		if len(rows) > MaxRows+10 {
			break
		}
	}
	return rows, "", nil
}

// Bounds on reading a workbook, so that no upload (at most 8 MB, but a zip
// of whitespace unpacks a thousandfold) holds much memory or time: the
// parts unpacked in all, each worksheet or string table held in memory
// (larger ones go to a temporary file), and the cells read.
const (
	maxUnzipped    = 32 << 20
	maxUnzippedXML = 16 << 20
	maxColumns     = 64
	maxCell        = 1000 // characters
)

// readWorkbook returns the rows of a workbook's roster sheet (the sheet
// named Sheet, else the first), read row by row within the bounds
// above.
func readWorkbook(data []byte, name string) ([][]string, string, *survey.Problem) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzipped, UnzipXMLSizeLimit: maxUnzippedXML})
	if err != nil {
		if strings.Contains(err.Error(), "unzip size") {
			return nil, "", &survey.Problem{Message: fmt.Sprintf("这个 Excel 文件解压后超过 %d MB，不像是名册：请只保留名册工作表，或另存为 CSV 后再导入", maxUnzipped>>20)}
		}
		return nil, "", &survey.Problem{Message: "无法读取这个 Excel 文件：" + err.Error()}
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, "", &survey.Problem{Message: "工作簿中没有工作表"}
	}
	sheet := sheets[0]
	if slices.Contains(sheets, name) {
		sheet = name
	}
	it, err := f.Rows(sheet)
	if err != nil {
		return nil, "", &survey.Problem{Path: sheet, Message: "无法读取工作表：" + err.Error()}
	}
	defer it.Close()
	var rows [][]string
	for it.Next() && len(rows) <= MaxRows+10 {
		cols, err := it.Columns()
		if err != nil {
			return nil, "", &survey.Problem{Path: sheet, Message: "无法读取工作表：" + err.Error()}
		}
		if len(cols) > maxColumns {
			return nil, "", &survey.Problem{Path: fmt.Sprintf("%s 第%d行", sheet, len(rows)+1), Message: fmt.Sprintf("有 %d 列，超过 %d 列：名册不需要这么多列", len(cols), maxColumns)}
		}
		for i, c := range cols {
			if utf8.RuneCountInString(c) > maxCell {
				return nil, "", &survey.Problem{Path: fmt.Sprintf("%s 第%d行", sheet, len(rows)+1), Message: fmt.Sprintf("第 %d 列的内容超过 %d 个字", i+1, maxCell)}
			}
		}
		rows = append(rows, cols)
	}
	if err := it.Error(); err != nil {
		return nil, "", &survey.Problem{Path: sheet, Message: "无法读取工作表：" + err.Error()}
	}
	if p := uncomputed(f, sheet, rows); p != nil {
		return nil, "", p
	}
	return rows, sheet, nil
}

// uncomputed finds the formula cells a workbook keeps without their value
// — files written by programs rather than saved by Excel or WPS, which
// store what each formula gave. Read as blank, a =SUM of 应到人数 or a name
// built by =CONCAT would silently be lost; the roster is refused instead,
// naming the cells.
func uncomputed(f *excelize.File, sheet string, rows [][]string) *survey.Problem {
	width := 0
	for _, row := range rows {
		width = max(width, len(row))
	}
	var cells []string
	more := 0
	for r, row := range rows {
		for c := range width {
			if c < len(row) && row[c] != "" {
				continue
			}
			name, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if formula, err := f.GetCellFormula(sheet, name); err != nil || formula == "" {
				continue
			}
			if len(cells) == 10 {
				more++
				continue
			}
			cells = append(cells, fmt.Sprintf("%s（第%d行）", name, r+1))
		}
	}
	if len(cells) == 0 {
		return nil
	}
	msg := "这些单元格是公式，但文件中没有保存计算结果：" + strings.Join(cells, "、")
	if more > 0 {
		msg += fmt.Sprintf(" 等 %d 处", len(cells)+more)
	}
	return &survey.Problem{Path: sheet, Message: msg + "。请用 Excel 或 WPS 打开这个文件、保存后再导入，或把公式换成数值"}
}

// rosterParser reads the rows of one roster, once.
type rosterParser struct {
	roster     *Result
	categories []survey.Category
	problems   []survey.Problem

	col      map[string]int // column heading → index
	expected []expectedCol  // the 应到人数 columns, left to right

	makeIDs     bool // no 单位编号 column: ids are made from the names
	defaultType bool // no 单位类型 column: every unit is DefaultType

	units   []*unitAt      // the units read so far, in order
	cur     *unitAt        // the unit the next rows belong to, if any
	seen    map[string]int // unit id → first row
	members map[string]int // member id → row
}

type expectedCol struct {
	col      int
	category string
	heading  string // as written, for messages
}

// unitAt is a unit being read: the row it starts on, and its expected
// attendance by category with the row that last gave each number.
type unitAt struct {
	unit     *survey.Unit
	row      int
	expected map[string]int
	expRow   map[string]int
}

func (rp *rosterParser) add(row int, format string, args ...any) {
	path := ""
	if row > 0 {
		path = rp.roster.RowLabel(row)
	}
	rp.problems = append(rp.problems, survey.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// headingAliases maps other headings organisers use to the template's.
var headingAliases = map[string]string{
	"单位代码": ColUnitID, "单位id": ColUnitID, "单位ID": ColUnitID,
	"单位": ColUnitName, "单位全称": ColUnitName,
	"类型": ColUnitType, "单位类别": ColUnitType,
	"成员代码": ColMemberID, "人员编号": ColMemberID,
	"成员姓名": ColName, "班子成员": ColName,
	"现任职务": ColPost, "职务职级": ColPost,
	"是否党政正职": ColPrincipal,
}

// heading normalises a column heading: no spaces or line breaks, no
// required-field marks, ASCII parentheses.
func heading(s string) string {
	s = strings.NewReplacer(" ", "", "\u3000", "", "\n", "", "\r", "", "\t", "", "*", "", "＊", "",
		"（", "(", "）", ")").Replace(s)
	if a, ok := headingAliases[s]; ok {
		return a
	}
	return s
}

// parse reads the heading row and then every row below it into the roster,
// reporting each problem at its row.
func (rp *rosterParser) parse(rows [][]string) {
	head := headingRow(rows)
	if head < 0 {
		rp.add(0, "没有找到表头行：表头应包含 %s、%s、%s、%s、%s、%s 等列（可下载名册模板对照）",
			ColUnitID, ColUnitName, ColUnitType, ColName, ColPost, ColPrincipal)
		return
	}
	if len(rows)-head-1 > MaxRows {
		rp.add(0, "名册超过 %d 行，请分批导入或联系管理员", MaxRows)
		return
	}
	rp.readHeadings(head+1, rows[head])
	if len(rp.problems) > 0 {
		return
	}
	rp.seen, rp.members = map[string]int{}, map[string]int{}
	for i := head + 1; i < len(rows); i++ {
		rp.readRow(i+1, rows[i])
	}
	rp.finish(head + 2)
}

// headingRow returns the index of the heading row: the first of the first
// ten that names 单位编号 or 单位名称, so a title row above it is allowed.
// It returns -1 if there is none.
func headingRow(rows [][]string) int {
	for i := 0; i < len(rows) && i < 10; i++ {
		for _, c := range rows[i] {
			if h := heading(c); h == ColUnitID || h == ColUnitName {
				return i
			}
		}
	}
	return -1
}

// cell returns the trimmed cell of the named column, or "" if the file has
// no such column or the row stops short of it.
func (rp *rosterParser) cell(cells []string, name string) string {
	k, ok := rp.col[name]
	if !ok || k >= len(cells) {
		return ""
	}
	return normalize(cells[k], name == ColName)
}

// readRow reads one row below the headings: its unit cells, its expected
// attendance, then its member, in that order of problems. Blank rows and
// rows with no unit to belong to contribute nothing more.
func (rp *rosterParser) readRow(row int, cells []string) {
	if blank(cells) {
		return
	}
	if what := summaryRow(cells); what != "" {
		rp.roster.Notices = append(rp.roster.Notices, fmt.Sprintf("%s：“%s”行，已跳过", rp.roster.RowLabel(row), what))
		return
	}
	if !rp.readUnit(row, cells) {
		return
	}
	rp.readExpected(row, cells)
	rp.readMember(row, cells)
}

// readUnit reads a row's unit cells: the same unit id as the row above
// continues that unit, a new id starts a unit, and no id continues the unit
// above unless another unit name is given. It reports false when the row has
// no unit to belong to.
func (rp *rosterParser) readUnit(row int, cells []string) bool {
	id, name, typ := rp.cell(cells, ColUnitID), rp.cell(cells, ColUnitName), rp.cell(cells, ColUnitType)
	if rp.defaultType && (id != "" || name != "") {
		typ = DefaultType
	}
	if rp.makeIDs {
		switch {
		case name != "":
			id = UnitID(name)
		case rp.cur != nil:
			id = rp.cur.unit.ID // a merged or left-out name: the unit above
		}
	}
	switch {
	case id != "" && rp.cur != nil && id == rp.cur.unit.ID:
		rp.checkSameUnit(row, id, name, typ)
	case id != "":
		rp.startUnit(row, id, name, typ)
	case rp.cur == nil || (name != "" && name != rp.cur.unit.Name):
		rp.add(row, "缺少%s", ColUnitID)
		return false
	}
	return true
}

// checkSameUnit reports a repeated unit's name or type that differs from
// the unit's first row.
func (rp *rosterParser) checkSameUnit(row int, id, name, typ string) {
	cur := rp.cur
	if name != "" && name != cur.unit.Name {
		rp.add(row, "%s “%s” 与第%d行的 “%s” 不一致（单位编号 %s）", ColUnitName, name, cur.row, cur.unit.Name, id)
	}
	if typ != "" && typ != cur.unit.Type {
		rp.add(row, "%s “%s” 与第%d行的 “%s” 不一致（单位编号 %s）", ColUnitType, typ, cur.row, cur.unit.Type, id)
	}
}

// startUnit starts a unit at row, reporting an id seen before and missing
// or malformed cells. The unit is kept even with problems, so that the rows
// after it are read against it.
func (rp *rosterParser) startUnit(row int, id, name, typ string) {
	if first, dup := rp.seen[id]; dup {
		rp.add(row, "单位编号 %s 已在第%d行出现：同一单位的成员应写在相邻的行", id, first)
	} else {
		rp.seen[id] = row
	}
	if msg := idProblem(id); msg != "" {
		rp.add(row, "%s “%s” %s", ColUnitID, id, msg)
	}
	if name == "" {
		rp.add(row, "缺少%s", ColUnitName)
	}
	if typ == "" {
		rp.add(row, "缺少%s（它决定权重和排名分组，例如 经济管理部门、镇街道）", ColUnitType)
	}
	rp.cur = &unitAt{unit: &survey.Unit{ID: id, Name: name, Type: typ}, row: row, expected: map[string]int{}, expRow: map[string]int{}}
	rp.units = append(rp.units, rp.cur)
	rp.roster.MemberRows = append(rp.roster.MemberRows, nil)
}

// readExpected reads a row's 应到人数 cells into the current unit.
func (rp *rosterParser) readExpected(row int, cells []string) {
	for _, ec := range rp.expected {
		v := ""
		if ec.col < len(cells) {
			v = strings.TrimSpace(cells[ec.col])
		}
		if v != "" {
			rp.expectedValue(row, ec, v)
		}
	}
}

// expectedValue records the number v given in column ec for the current
// unit, reporting one that is not a whole number, is over a batch, or
// differs from the number an earlier row gave.
func (rp *rosterParser) expectedValue(row int, ec expectedCol, v string) {
	cur, cat := rp.cur, ec.category
	n, err := strconv.Atoi(strings.TrimSuffix(v, ".0"))
	if err != nil || n < 0 {
		rp.add(row, "%s “%s” 应是不小于 0 的整数", ec.heading, v)
		return
	}
	if n > survey.MaxBatch {
		rp.add(row, "%s %d 超过一批的上限 %d", ec.heading, n, survey.MaxBatch)
		return
	}
	if prev, ok := cur.expected[cat]; ok && prev != n {
		rp.add(row, "%s %d 与第%d行的 %d 不一致（同一单位只填一次即可）", ec.heading, n, cur.expRow[cat], prev)
		return
	}
	cur.expected[cat], cur.expRow[cat] = n, row
}

// readMember reads a row's member into the current unit, numbering it when
// it has no id. A row with no name adds no member; it is a problem only if
// other member cells are filled.
func (rp *rosterParser) readMember(row int, cells []string) {
	mid, mname := rp.cell(cells, ColMemberID), rp.cell(cells, ColName)
	post, pr := rp.cell(cells, ColPost), rp.cell(cells, ColPrincipal)
	if mname == "" {
		if mid != "" || post != "" || pr != "" {
			rp.add(row, "缺少%s", ColName)
		}
		return
	}
	principal, ok := principalValue(pr)
	if !ok {
		rp.add(row, "%s “%s” 应填 是 或 否（也可留空，表示否）", ColPrincipal, pr)
	}
	if mid == "" {
		mid = rp.nextMemberID()
	} else if msg := idProblem(mid); msg != "" {
		rp.add(row, "%s “%s” %s", ColMemberID, mid, msg)
	}
	if mid == survey.TeamSubject {
		rp.add(row, "%s 不能是 “%s”（它代表领导班子）", ColMemberID, survey.TeamSubject)
	} else if first, dup := rp.members[mid]; dup {
		rp.add(row, "%s %s 已在第%d行使用", ColMemberID, mid, first)
	}
	rp.members[mid] = row
	cur, last := rp.cur, len(rp.units)-1
	cur.unit.Members = append(cur.unit.Members, survey.Member{ID: mid, Name: mname, Post: post, Principal: principal})
	rp.roster.MemberRows[last] = append(rp.roster.MemberRows[last], row)
}

// nextMemberID numbers a member of the current unit with no id: UNIT-1,
// UNIT-2 …, skipping numbers already taken.
func (rp *rosterParser) nextMemberID() string {
	for n := len(rp.cur.unit.Members) + 1; ; n++ {
		mid := fmt.Sprintf("%s-%d", rp.cur.unit.ID, n)
		if _, taken := rp.members[mid]; !taken {
			return mid
		}
	}
}

// finish puts the units read into the roster, or reports that there were
// none when nothing else went wrong; firstRow is the row they should start on.
func (rp *rosterParser) finish(firstRow int) {
	if len(rp.units) == 0 && len(rp.problems) == 0 {
		rp.add(0, "表头下面没有单位：请从第%d行起每行填写一名班子成员", firstRow)
	}
	for _, u := range rp.units {
		rp.roster.Units = append(rp.roster.Units, *u.unit)
		rp.roster.UnitRows = append(rp.roster.UnitRows, u.row)
		if len(u.expected) > 0 {
			rp.roster.Expected[u.unit.ID] = u.expected
		}
	}
}

// readHeadings maps the heading row's columns, reporting missing and
// unknown ones.
func (rp *rosterParser) readHeadings(row int, cells []string) {
	rp.col = map[string]int{}
	for k, c := range cells {
		h := heading(c)
		switch h {
		case "":
			continue
		case ColUnitID, ColUnitName, ColUnitType, ColMemberID, ColName, ColPost, ColPrincipal:
			if _, dup := rp.col[h]; dup {
				rp.add(row, "列 “%s” 出现了两次", h)
			}
			rp.col[h] = k
			continue
		}
		if !strings.Contains(h, "应到") {
			continue // other columns (序号, 备注 …) are ignored
		}
		cat, msg := rp.categoryOf(h)
		if msg != "" {
			rp.add(row, "列 “%s”：%s", strings.TrimSpace(c), msg)
			continue
		}
		for _, prev := range rp.expected {
			if prev.category == cat {
				rp.add(row, "列 “%s”：这个测评人类别的应到人数已有一列", strings.TrimSpace(c))
			}
		}
		rp.expected = append(rp.expected, expectedCol{col: k, category: cat, heading: c})
	}
	_, hasID := rp.col[ColUnitID]
	_, hasName := rp.col[ColUnitName]
	_, hasType := rp.col[ColUnitType]
	switch {
	case !hasID && !hasName:
		rp.add(row, "缺少 “%s” 列", ColUnitName)
	case !hasID:
		rp.makeIDs = true
		rp.roster.Notices = append(rp.roster.Notices, fmt.Sprintf("名册没有“%s”列：按单位名称生成了单位编号（同名单位得到同一编号，再次导入不变）", ColUnitID))
	}
	if !hasType {
		rp.defaultType = true
		rp.roster.Notices = append(rp.roster.Notices, fmt.Sprintf("名册没有“%s”列：全部单位归入“%s”一类（权重和排名按类型分组，可在测评方案中修改）", ColUnitType, DefaultType))
	}
}

// categoryOf finds the voter category an 应到人数 heading names, by name or
// id: 应到人数(一般干部职工), 一般干部职工应到人数, 应到人数-staff.
func (rp *rosterParser) categoryOf(h string) (string, string) {
	rest := strings.NewReplacer("应到人数", "", "应到", "", "(", "", ")", "", "·", "", "-", "", "_", "", ":", "", "：", "", "/", "").Replace(h)
	if rest == "" {
		return "", "没有写明测评人类别，应写成 “应到人数（类别名称）”"
	}
	for _, c := range rp.categories {
		if rest == c.Name || rest == c.ID {
			return c.ID, ""
		}
	}
	names := make([]string, len(rp.categories))
	for i, c := range rp.categories {
		names[i] = c.Name
	}
	return "", fmt.Sprintf("本次测评没有名为 “%s” 的测评人类别（现有：%s）", rest, strings.Join(names, "、"))
}

// summaryLabels start the rows that are no member: totals and notes.
var summaryLabels = []string{"合计", "小计", "总计", "共计", "备注", "注：", "注:", "说明", "填表说明", "制表"}

// summaryRow returns the label of a totals or notes row ("合计"), or "".
func summaryRow(cells []string) string {
	for _, c := range cells {
		c = normalize(c, true)
		if c == "" {
			continue
		}
		for _, l := range summaryLabels {
			if strings.HasPrefix(c, l) {
				return strings.TrimRight(l, "：:")
			}
		}
		if _, err := strconv.Atoi(c); err == nil {
			continue // a 序号 before the first text cell
		}
		return ""
	}
	return ""
}

// normalize trims a cell and turns every kind of space (U+3000, NBSP,
// tabs, line breaks) into one plain space; inside a name (compact) there
// is none left: 「王　伟」 and 「李  娜」 are 王伟 and 李娜.
func normalize(s string, compact bool) string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\u00A0' || r == '\u3000' || r == '\u200B' || r == '\uFEFF'
	})
	if compact {
		return strings.Join(f, "")
	}
	return strings.Join(f, " ")
}

// UnitID is the id made for a unit named name when the roster has no
// 单位编号: "u-" and eight hex digits of the name's SHA-256, the same for
// the same name in every import.
func UnitID(name string) string {
	sum := sha256.Sum256([]byte(normalize(name, true)))
	return "u-" + hex.EncodeToString(sum[:4])
}

// fromUTF16 decodes text saved as 「Unicode 文本」 (UTF-16 with a byte
// order mark, as Excel writes it); ok is false for any other text.
func fromUTF16(data []byte) ([]byte, bool) {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		order = binary.LittleEndian
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		order = binary.BigEndian
	default:
		return nil, false
	}
	data = data[2:]
	u := make([]uint16, len(data)/2)
	for i := range u {
		u[i] = order.Uint16(data[2*i:])
	}
	return []byte(string(utf16.Decode(u))), true
}

// delimiter is a CSV file's field separator: a tab when its first lines
// (a title line may stand above the headings) hold more tabs than commas,
// as Excel's 「文本文件（制表符分隔）」 and 「Unicode 文本」 do; else a comma.
func delimiter(data []byte) rune {
	head := data
	for i, n := 0, 0; i < len(data); i++ {
		if data[i] == '\n' {
			if n++; n == 10 {
				head = data[:i]
				break
			}
		}
	}
	if bytes.Count(head, []byte("\t")) > bytes.Count(head, []byte(",")) {
		return '\t'
	}
	return ','
}

func blank(cells []string) bool {
	for _, c := range cells {
		if normalize(c, true) != "" {
			return false
		}
	}
	return true
}

// idProblem says what is wrong with an id written in a roster, or "".
func idProblem(id string) string {
	if strings.ContainsAny(id, " /\\?#%\t\n\u3000") {
		return "不能包含空格或 / \\ ? # % 等字符"
	}
	return ""
}

func principalValue(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "", "否", "n", "no", "0", "×", "false", "不是":
		return false, true
	case "是", "y", "yes", "1", "√", "✓", "✔", "true", "正职":
		return true, true
	}
	return false, false
}

// Template returns a roster workbook to fill in: the sheet 名册 with
// its headings (one 应到人数 column per category) and two example units, and
// a sheet 说明 explaining each column.
func Template(categories []survey.Category) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", Sheet); err != nil {
		return nil, fmt.Errorf("roster template: %w", err)
	}
	head := []any{ColUnitID, ColUnitName, ColUnitType, ColMemberID, ColName, ColPost, ColPrincipal}
	for _, c := range categories {
		head = append(head, ColExpected+"（"+c.Name+"）")
	}
	example := [][]any{
		{"czj", "区财政局", "经济管理部门", "czj-1", "张建国", "党组书记、局长", "是"},
		{"czj", "区财政局", "经济管理部门", "czj-2", "李秀英", "党组成员、副局长", "否"},
		{"cgjd", "城关街道", "镇街道", "", "高志远", "党工委书记", "是"},
		{"cgjd", "城关街道", "镇街道", "", "林芳", "党工委副书记、办事处主任", "是"},
	}
	for i := range example {
		if i == 0 || i == 2 {
			for k := range categories {
				example[i] = append(example[i], 10*(k+1))
			}
		}
	}
	bold, err := f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E8E6E0"}},
		Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"},
	})
	if err != nil {
		return nil, fmt.Errorf("roster template: %w", err)
	}
	if err := f.SetSheetRow(Sheet, "A1", &head); err != nil {
		return nil, fmt.Errorf("roster template: %w", err)
	}
	last, _ := excelize.CoordinatesToCellName(len(head), 1)
	f.SetCellStyle(Sheet, "A1", last, bold)
	for i, r := range example {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow(Sheet, cell, &r); err != nil {
			return nil, fmt.Errorf("roster template: %w", err)
		}
	}
	lastCol, _ := excelize.ColumnNumberToName(len(head))
	f.SetColWidth(Sheet, "A", "A", 10)
	f.SetColWidth(Sheet, "B", "C", 16)
	f.SetColWidth(Sheet, "D", "E", 10)
	f.SetColWidth(Sheet, "F", "F", 26)
	f.SetColWidth(Sheet, "G", lastCol, 12)
	f.SetPanes(Sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})

	const help = "说明"
	f.NewSheet(help)
	notes := [][]any{
		{"列", "必填", "说明"},
		{ColUnitID, "是", "每个单位一个编号，只用字母、数字和短横线，例如 czj；发放测评票和结果都按编号对应。"},
		{ColUnitName, "是", "例如 区财政局。"},
		{ColUnitType, "是", "例如 经济管理部门、区直党群部门、镇街道；同类单位一起排名，可按类型设置不同权重。"},
		{ColMemberID, "否", "留空时自动编为 单位编号-1、-2 ……"},
		{ColName, "是", "每行一名班子成员；单位只有班子测评、没有成员时可留空。"},
		{ColPost, "否", "例如 党组书记、局长。"},
		{ColPrincipal, "否", "填 是 或 否；留空表示否。"},
		{ColExpected + "（类别）", "否", "该单位这一类测评人的应到人数，用于批量发放测评票；每个单位填一次即可。"},
		{"", "", "同一单位的成员写在相邻的行；单位编号、名称、类型可以只写在第一行，也可以合并单元格或每行重复。"},
		{"", "", "也可以导入 CSV 文件（UTF-8 或 GBK 编码），列名相同。"},
	}
	for i, r := range notes {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		f.SetSheetRow(help, cell, &r)
	}
	f.SetCellStyle(help, "A1", "C1", bold)
	f.SetColWidth(help, "A", "A", 22)
	f.SetColWidth(help, "C", "C", 80)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, fmt.Errorf("roster template: %w", err)
	}
	return buf.Bytes(), nil
}
