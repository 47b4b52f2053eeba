package survey

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// checkSheet checks what one slip of the category at path p rates.
func (d *Definition) checkSheet(ps *problems, p string, c *Category) {
	switch c.Sheet {
	case "", SheetUnit, SheetAll, SheetOthers:
	default:
		ps.add(p+".sheet", "应为 unit（每张票评本单位，默认）、all（一张票评全部单位）或 others（评同类其他单位），现为「%s」", c.Sheet)
	}
	if c.Recuse && c.SheetKind() != SheetUnit {
		ps.add(p+".recuse", "回避只适用于评本单位的类别（sheet: unit）")
	}
	if len(c.UnitTypes) > 0 && c.SheetKind() == SheetUnit {
		ps.add(p+".unit_types", "unit_types 只适用于 sheet: all 或 others")
	}
	types := d.UnitTypes()
	for j, t := range c.UnitTypes {
		if !slices.Contains(types, t) {
			ps.add(fmt.Sprintf("%s.unit_types[%d]", p, j), "没有类型为「%s」的单位", t)
		}
	}
}

// checkComponents checks the components (CONTRACT §5.2): each names forms
// that exist and are scored, has points, and weights that name categories
// and sum to 100; every scored form is in exactly one component.
func (d *Definition) checkComponents(ps *problems, cats map[string]bool) {
	inComponent := map[string]string{}
	types := d.UnitTypes()
	ids := map[string]bool{}
	for i := range d.Components {
		c := &d.Components[i]
		p := fmt.Sprintf("components[%d]", i)
		ps.checkUniqueID(ids, p+".id", c.ID, "计分项")
		if strings.TrimSpace(c.Name) == "" {
			ps.add(p+".name", "计分项需要名称（如 公众评议）")
		}
		d.checkComponentPoints(ps, p, c, types)
		if len(c.Forms) == 0 {
			ps.add(p+".forms", "计分项至少需要一张测评表")
		}
		for j, id := range c.Forms {
			fp := fmt.Sprintf("%s.forms[%d]", p, j)
			fi := d.FormIndex(id)
			switch {
			case fi < 0:
				ps.add(fp, "没有编号为「%s」的测评表", id)
			case !d.Forms[fi].IsScored():
				ps.add(fp, "测评表「%s」标为 scored: false（参考），不能计入计分项", id)
			case inComponent[id] != "":
				ps.add(fp, "测评表「%s」已计入 %s", id, inComponent[id])
			default:
				inComponent[id] = p
			}
		}
		checkWeights(ps, p+".weights", c.Weights, cats)
		for _, t := range sortedKeys(c.WeightsByType) {
			tp := p + ".weights_by_type." + t
			if !slices.Contains(types, t) {
				ps.add(tp, "没有类型为「%s」的单位", t)
			}
			checkWeights(ps, tp, c.WeightsByType[t], cats)
		}
	}
	if len(d.Components) == 0 {
		return
	}
	for i, f := range d.Forms {
		if f.IsScored() && inComponent[f.ID] == "" && f.ID != "" {
			ps.add(fmt.Sprintf("forms[%d]", i), "测评表「%s」不在任何计分项中：请列入某个计分项的 forms，或标为 scored: false（参考）", f.ID)
		}
	}
}

func (d *Definition) checkComponentPoints(ps *problems, p string, c *ComponentDef, types []string) {
	if c.Points.set && c.Points.r.Sign() <= 0 {
		ps.add(p+".points", "满分应为正数，现为 %s", c.Points)
	}
	if !c.Points.set && len(c.PointsByType) == 0 {
		ps.add(p+".points", "计分项需要满分（points，或按单位类型的 points_by_type）")
	}
	for _, t := range sortedKeys(c.PointsByType) {
		if !slices.Contains(types, t) {
			ps.add(p+".points_by_type."+t, "没有类型为「%s」的单位", t)
		}
		if v := c.PointsByType[t]; v.r.Sign() <= 0 {
			ps.add(p+".points_by_type."+t, "满分应为正数，现为 %s", v)
		}
	}
	if !c.Points.set && len(c.PointsByType) > 0 {
		for _, t := range types {
			if _, ok := c.PointsByType[t]; !ok {
				ps.add(p+".points_by_type", "缺少单位类型「%s」的满分（或写 points 作为其余类型的满分）", t)
			}
		}
	}
}

// checkWeights checks one component's weights: known categories, none
// negative, summing to 100.
func checkWeights(ps *problems, p string, ws map[string]Decimal, cats map[string]bool) {
	if len(ws) == 0 {
		ps.add(p, "需要各类测评人的权重（如 {leaders: 50, peers: 50}）")
		return
	}
	sum := newRat()
	for _, id := range sortedKeys(ws) {
		w := ws[id]
		if !cats[id] {
			ps.add(p+"."+id, "没有编号为「%s」的测评人类别", id)
		}
		if w.r.Sign() < 0 {
			ps.add(p+"."+id, "权重不能为负数")
		}
		sum.Add(sum, &w.r)
	}
	if sum.Cmp(bigHundred) != 0 {
		ps.add(p, "各类测评人权重之和应为 100，现为 %s", ratDecimal(sum))
	}
}

// checkTotal checks the total (CONTRACT §5.3): its points are the parts'
// and the components' together, for every unit type.
func (d *Definition) checkTotal(ps *problems) {
	t := d.Total
	if t == nil {
		return
	}
	parts := newRat()
	ids := map[string]bool{}
	for _, c := range d.Components {
		ids[c.ID] = true
	}
	for i, pt := range t.Parts {
		p := fmt.Sprintf("total.parts[%d]", i)
		ps.checkID(p+".id", pt.ID)
		if ids[pt.ID] && pt.ID != "" {
			ps.add(p+".id", "编号「%s」已被计分项或其他部分使用", pt.ID)
		}
		ids[pt.ID] = true
		if strings.TrimSpace(pt.Name) == "" {
			ps.add(p+".name", "需要名称（如 工作实绩）")
		}
		if pt.Points.r.Sign() <= 0 {
			ps.add(p+".points", "满分应为正数，现为 %s", pt.Points)
		}
		parts.Add(parts, &pt.Points.r)
	}
	for _, typ := range d.UnitTypes() {
		sum := new(big.Rat).Add(parts, d.PointsFor(typ))
		if sum.Cmp(&t.Points.r) != 0 {
			ps.add("total.points", "总分 %s 应等于各部分与各计分项满分之和（单位类型「%s」为 %s）", t.Points, typ, ratDecimal(sum))
		}
	}
	for _, b := range []struct {
		path string
		v    *Decimal
	}{{"total.max_bonus", t.MaxBonus}, {"total.max_penalty", t.MaxPenalty}} {
		if b.v != nil && b.v.r.Sign() < 0 {
			ps.add(b.path, "不能为负数")
		}
	}
}

// checkGrading checks a grading (CONTRACT §5.4) at path p; members is set
// for member_grading.
func (d *Definition) checkGrading(ps *problems, p string, g *Grading, members bool) {
	if g == nil {
		return
	}
	switch {
	case g.By == "" || g.By == GradeByScore:
	case g.By == GradeByTotal && !members:
		if d.Total == nil && d.Name != "" {
			ps.add(p+".by", "按总分评定等次需要先定义 total")
		}
	default:
		ps.add(p+".by", "应为 score（测评得分）或 total（总分），现为「%s」", g.By)
	}
	withins := []string{"", WithinType, WithinRound}
	if members {
		withins = append(withins, WithinRole)
	}
	if !slices.Contains(withins, g.Within) {
		ps.add(p+".within", "应为 %s 之一，现为「%s」", strings.Join(withins[1:], "、"), g.Within)
	}
	if !slices.Contains([]string{"", RoundingRound, RoundingFloor, RoundingCeil}, g.Rounding) {
		ps.add(p+".rounding", "应为 round（四舍五入，默认）、floor（舍去）或 ceil（进一），现为「%s」", g.Rounding)
	}
	for i, tb := range g.TieBreak {
		tp := fmt.Sprintf("%s.tie_break[%d]", p, i)
		if id, ok := strings.CutPrefix(tb, TieComponent); ok {
			if !slices.ContainsFunc(d.ComponentList(), func(c ComponentDef) bool { return c.ID == id }) {
				ps.add(tp, "没有编号为「%s」的计分项", id)
			}
		} else if tb != TieShareTop && tb != TieShareLowest {
			ps.add(tp, "应为 component:计分项编号、share:top 或 share:lowest，现为「%s」", tb)
		}
	}
	d.checkGrades(ps, p, g)
}

func (d *Definition) checkGrades(ps *problems, p string, g *Grading) {
	names := map[string]bool{}
	shares := newRat()
	list := p + ".grades"
	if g.list {
		list = p
	}
	if len(g.Grades) < 2 {
		ps.add(list, "分等次至少需要两个等次")
	}
	for i, gr := range g.Grades {
		gp := fmt.Sprintf("%s[%d]", list, i)
		if strings.TrimSpace(gr.Grade) == "" {
			ps.add(gp+".grade", "等次需要名称")
		} else if names[gr.Grade] {
			ps.add(gp+".grade", "等次「%s」重复", gr.Grade)
		}
		names[gr.Grade] = true
		last := i == len(g.Grades)-1
		switch {
		case gr.Share != nil && gr.Count != nil:
			ps.add(gp, "名额写 count（个数）或 share（比例）之一，不能都写")
		case gr.Share == nil && gr.Count == nil && !last:
			ps.add(gp+".share", "只有最后一个等次可以不写名额（count 个数或 share 比例）")
		case gr.Share != nil && last:
			ps.add(gp+".share", "最后一个等次取其余的单位，不写名额")
		case gr.Count != nil && last:
			ps.add(gp+".count", "最后一个等次取其余的单位，不写名额")
		case gr.Share != nil:
			if gr.Share.r.Sign() <= 0 || gr.Share.r.Cmp(bigHundred) > 0 {
				ps.add(gp+".share", "比例是百分数，应大于 0、不超过 100，现为 %s", gr.Share)
			}
			shares.Add(shares, &gr.Share.r)
		case gr.Count != nil && *gr.Count < 0:
			ps.add(gp+".count", "名额不能为负数")
		}
		for j, f := range gr.Bar {
			if !slices.Contains(barFlags, f) {
				ps.add(fmt.Sprintf("%s.bar[%d]", gp, j), "不认识的标记「%s」（可用：%s）", f, strings.Join(barFlags, "、"))
			}
		}
	}
	if shares.Cmp(bigHundred) > 0 {
		ps.add(list, "各等次比例之和为 %s，超过了 100", ratDecimal(shares))
	}
	if g.VetoGrade != "" && !names[g.VetoGrade] {
		ps.add(p+".veto_grade", "没有等次「%s」", g.VetoGrade)
	}
}

// barFlags are the flags a grade may bar (CONTRACT §3 and §5.2).
var barFlags = []string{"lowest_over", "top_two_under", "quorum_not_met", "reweighted", "small_group", "missing_zero", "unrated"}

// MaxSheetAnswers is the most answers a sheet category's member forms may
// ask of one slip before the definition is warned about.
const MaxSheetAnswers = 200

// Warnings lists what is allowed but likely a mistake: a category whose
// slip rates several units and answers more than MaxSheetAnswers rows of
// member forms on one ballot.
func (d *Definition) Warnings() []Problem {
	var out []Problem
	for i := range d.Categories {
		c := &d.Categories[i]
		if c.SheetKind() == SheetUnit {
			continue
		}
		most := 0
		for _, home := range d.sheetHomes(c) {
			n := 0
			for _, u := range d.SheetUnits(c, home) {
				for _, fi := range d.FormsFor(c.ID) {
					if f := &d.Forms[fi]; f.Rates == RatesMembers {
						n += len(d.Subjects(f, u)) * len(f.Rows())
					}
				}
			}
			most = max(most, n)
		}
		if most > MaxSheetAnswers {
			out = append(out, Problem{Path: fmt.Sprintf("categories[%d]", i),
				Message: fmt.Sprintf("「%s」一张票要逐个评价班子成员 %d 项（超过 %d 项），手机上难以填完：可考虑只评领导班子，或只评正职（members: principal）", c.Name, most, MaxSheetAnswers)})
		}
	}
	return out
}

// sheetHomes returns the home units a category's batches may name: nil
// (no home) for an all sheet, else one unit of each type (every unit of a
// type gives a sheet of the same size but for one).
func (d *Definition) sheetHomes(c *Category) []*Unit {
	if c.SheetKind() == SheetAll {
		return []*Unit{nil}
	}
	var out []*Unit
	seen := map[string]bool{}
	for i := range d.Units {
		if !seen[d.Units[i].Type] {
			seen[d.Units[i].Type] = true
			out = append(out, &d.Units[i])
		}
	}
	return out
}

// ValidateGrading checks a grading given on its own (as minping merge
// takes it): its keys and grades as in a definition, with no component to
// break ties by.
func ValidateGrading(g *Grading) error {
	var ps problems
	(&Definition{}).checkGrading(&ps, "grading", g, false)
	if g != nil && g.By == GradeByTotal {
		ps.add("grading.by", "合并各地结果时按测评得分评定（by: score）")
	}
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}
