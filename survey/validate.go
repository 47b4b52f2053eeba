package survey

import (
	"fmt"
	"strings"
)

// Validate checks the definition against CONTRACT §2 and returns a
// *ValidationError listing every problem, or nil. The problems come part by
// part in the order of the definition, so that an organiser reads them from
// top to bottom.
func (d *Definition) Validate() error {
	var ps problems
	d.checkHeader(&ps)
	scales := d.checkScales(&ps)
	cats := d.checkCategories(&ps)
	d.checkForms(&ps, scales, cats)
	d.checkWeightsByType(&ps, cats)
	d.checkComponents(&ps, cats)
	d.checkRules(&ps)
	d.checkTotal(&ps)
	d.checkGrading(&ps, "grading", d.Grading, false)
	d.checkGrading(&ps, "member_grading", d.MemberGrading, true)
	d.checkUnits(&ps)
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// problems collects the problems of a definition in the order found.
type problems []Problem

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// checkID adds a problem if id is empty or could not stand in a URL path.
func (ps *problems) checkID(path, id string) {
	switch {
	case id == "":
		ps.add(path, "缺少编号")
	case strings.ContainsAny(id, " /\\?#%\t\n"):
		ps.add(path, "编号「%s」不能含空白或 / \\ ? # %% 字符", id)
	}
}

// checkUniqueID checks an id at path like checkID, and that no earlier
// one of its kind (in seen, which it adds to) has it.
func (ps *problems) checkUniqueID(seen map[string]bool, path, id, kind string) {
	ps.checkID(path, id)
	if seen[id] && id != "" {
		ps.add(path, "%s编号「%s」重复", kind, id)
	}
	seen[id] = true
}

// checkHeader checks the round's name and its component.
func (d *Definition) checkHeader(ps *problems) {
	if strings.TrimSpace(d.Name) == "" {
		ps.add("name", "测评活动需要名称")
	}
	if len(d.Components) > 0 {
		if !d.Component.IsZero() {
			ps.add("component", "已用 components 列出各计分项，不再写 component")
		}
		return
	}
	if strings.TrimSpace(d.Component.Name) == "" {
		ps.add("component.name", "计分项需要名称（如 干部群众评价）")
	}
	if d.Component.Points.r.Sign() <= 0 {
		ps.add("component.points", "应为正数：本项在单位总分中的满分（如总分 100 中占 20）")
	}
}

// checkScales checks the scales and returns the set of their ids.
func (d *Definition) checkScales(ps *problems) map[string]bool {
	scales := map[string]bool{}
	if len(d.Scales) == 0 {
		ps.add("scales", "至少需要一套评价等级")
	}
	for i := range d.Scales {
		s := &d.Scales[i]
		p := fmt.Sprintf("scales[%d]", i)
		ps.checkUniqueID(scales, p+".id", s.ID, "评价等级")
		s.check(ps, p)
	}
	return scales
}

// check checks the options and abstain label of the scale at path p.
func (s *Scale) check(ps *problems, p string) {
	if len(s.Options) < 2 {
		ps.add(p+".options", "评价等级至少需要 2 个选项，现有 %d 个", len(s.Options))
	}
	if len(s.Options) > MaxOptions {
		ps.add(p+".options", "评价等级最多 %d 个选项，现有 %d 个", MaxOptions, len(s.Options))
	}
	labels := map[string]bool{}
	for j, o := range s.Options {
		op := fmt.Sprintf("%s.options[%d]", p, j)
		if strings.TrimSpace(o.Label) == "" {
			ps.add(op+".label", "选项需要名称")
		} else if labels[o.Label] {
			ps.add(op+".label", "选项「%s」在本评价等级中重复", o.Label)
		}
		labels[o.Label] = true
		if o.Points.r.Sign() < 0 || o.Points.r.Cmp(bigHundred) > 0 {
			ps.add(op+".points", "分值应在 0 至 100 之间，现为 %s", o.Points)
		}
	}
	if s.Abstain != "" && labels[s.Abstain] {
		ps.add(p+".abstain", "弃权项「%s」与某个选项同名", s.Abstain)
	}
}

// checkCategories checks the voter categories and their weights, and returns
// the set of their ids.
func (d *Definition) checkCategories(ps *problems) map[string]bool {
	cats := map[string]bool{}
	if len(d.Categories) == 0 {
		ps.add("categories", "至少需要一个测评人类别")
	}
	sum := newRat()
	for i, c := range d.Categories {
		p := fmt.Sprintf("categories[%d]", i)
		ps.checkUniqueID(cats, p+".id", c.ID, "测评人类别")
		if strings.TrimSpace(c.Name) == "" {
			ps.add(p+".name", "测评人类别需要名称")
		}
		d.checkSheet(ps, p, &c)
		if len(d.Components) > 0 {
			if c.Weight.set {
				ps.add(p+".weight", "已用 components 时类别不带权重：权重写在各计分项的 weights 中")
			}
			continue
		}
		if c.Weight.r.Sign() < 0 {
			ps.add(p+".weight", "权重不能为负数")
		}
		sum.Add(sum, &c.Weight.r)
	}
	if len(d.Categories) > 0 && len(d.Components) == 0 && sum.Cmp(bigHundred) != 0 {
		ps.add("categories", "各类测评人权重之和应为 100，现为 %s", ratDecimal(sum))
	}
	return cats
}

// checkForms checks the forms against the scale and category ids, then that
// every category fills some form.
func (d *Definition) checkForms(ps *problems, scales, cats map[string]bool) {
	forms := map[string]bool{}
	if len(d.Forms) == 0 {
		ps.add("forms", "至少需要一张测评表")
	}
	for i := range d.Forms {
		f := &d.Forms[i]
		p := fmt.Sprintf("forms[%d]", i)
		ps.checkUniqueID(forms, p+".id", f.ID, "测评表")
		f.check(ps, p, scales, cats)
	}
	for _, c := range d.Categories {
		if c.ID != "" && len(d.FormsFor(c.ID)) == 0 {
			ps.add("categories", "测评人类别「%s」没有可填的测评表", c.ID)
		}
	}
}

// check checks the form at path p but for its id: its title, what it rates,
// its scale, items, weight, top limit and voters.
func (f *Form) check(ps *problems, p string, scales, cats map[string]bool) {
	if strings.TrimSpace(f.Title) == "" {
		ps.add(p+".title", "测评表需要标题")
	}
	if f.Rates != RatesTeam && f.Rates != RatesMembers {
		ps.add(p+".rates", "应为 %s（评价领导班子）或 %s（逐个评价班子成员），现为「%s」", RatesTeam, RatesMembers, f.Rates)
	}
	if !scales[f.Scale] {
		ps.add(p+".scale", "没有编号为「%s」的评价等级", f.Scale)
	}
	f.checkItems(ps, p)
	if f.Weight.r.Sign() <= 0 {
		ps.add(p+".weight", "测评表权重应为正数，现为 %s", f.Weight)
	}
	if f.TopLimit < 0 {
		ps.add(p+".top_limit", "不能为负数")
	}
	if f.TopLimit > 0 && f.Rates != RatesMembers {
		ps.add(p+".top_limit", "优秀名额上限只适用于评价班子成员的测评表")
	}
	switch f.Members {
	case "", MembersAll, MembersPrincipal, MembersDeputies:
		if f.Members != "" && f.Rates != RatesMembers {
			ps.add(p+".members", "只有评价班子成员的测评表可以写 members")
		}
	default:
		ps.add(p+".members", "应为 all（全体班子成员）、principal（正职）或 deputies（副职），现为「%s」", f.Members)
	}
	seen := map[string]bool{}
	for j, v := range f.Voters {
		if !cats[v] {
			ps.add(fmt.Sprintf("%s.voters[%d]", p, j), "没有编号为「%s」的测评人类别", v)
		}
		if seen[v] {
			ps.add(fmt.Sprintf("%s.voters[%d]", p, j), "测评人类别「%s」列了两次", v)
		}
		seen[v] = true
	}
}

// checkItems checks the items and the overall item of the form at path p.
func (f *Form) checkItems(ps *problems, p string) {
	if len(f.Items) == 0 {
		ps.add(p+".items", "测评表至少需要一个测评项目")
	}
	names := map[string]bool{}
	for j, it := range f.Items {
		ip := fmt.Sprintf("%s.items[%d]", p, j)
		if strings.TrimSpace(it.Name) == "" {
			ps.add(ip+".name", "测评项目需要名称")
		} else if names[it.Name] {
			ps.add(ip+".name", "测评项目「%s」在本表中重复", it.Name)
		}
		names[it.Name] = true
		if it.Weight.r.Sign() <= 0 {
			ps.add(ip+".weight", "测评项目权重应为正数，现为 %s", it.Weight)
		}
	}
	if f.Overall != "" && names[f.Overall] {
		ps.add(p+".overall", "综合评价项「%s」与某个测评项目同名", f.Overall)
	}
}

// checkWeightsByType checks each unit type's category weights: the type has
// units, every category has a weight, none is unknown, and they sum to 100.
func (d *Definition) checkWeightsByType(ps *problems, cats map[string]bool) {
	types := map[string]bool{}
	for _, u := range d.Units {
		types[u.Type] = true
	}
	for _, t := range sortedKeys(d.WeightsByType) {
		ws := d.WeightsByType[t]
		p := "weights_by_type." + t
		if !types[t] {
			ps.add(p, "没有类型为「%s」的单位", t)
		}
		sum := newRat()
		for _, c := range d.Categories {
			w, ok := ws[c.ID]
			if !ok {
				ps.add(p, "缺少测评人类别「%s」的权重", c.ID)
				continue
			}
			if w.r.Sign() < 0 {
				ps.add(p+"."+c.ID, "权重不能为负数")
			}
			sum.Add(sum, &w.r)
		}
		for _, id := range sortedKeys(ws) {
			if !cats[id] {
				ps.add(p+"."+id, "没有编号为「%s」的测评人类别", id)
			}
		}
		if sum.Cmp(bigHundred) != 0 {
			ps.add(p, "各类测评人权重之和应为 100，现为 %s", ratDecimal(sum))
		}
	}
}

// checkRules checks that the thresholds are proportions in (0, 1], the
// smallest group is at least 1, and small groups are excluded or counted.
func (d *Definition) checkRules(ps *problems) {
	for _, r := range []struct {
		path string
		q    Ratio
	}{
		{"rules.quorum", d.Rules.Quorum},
		{"rules.flag_lowest_over", d.Rules.FlagLowestOver},
		{"rules.flag_top_two_under", d.Rules.FlagTopTwoUnder},
	} {
		if r.q.r.Sign() <= 0 || r.q.r.Cmp(bigOne) > 0 {
			ps.add(r.path, "应为大于 0、不超过 1 的比例（如 2/3、0.8 或 80%%），现为 %s", r.q)
		}
	}
	if d.Rules.MinGroup < 1 {
		ps.add("rules.min_group", "至少为 1，现为 %d", d.Rules.MinGroup)
	}
	switch d.Rules.Missing {
	case "", MissingReweight, MissingZero, MissingUnrated:
	default:
		ps.add("rules.missing", "应为 reweight（权重转给有票的类别，默认）、zero（按 0 分计）或 unrated（不计分），现为「%s」", d.Rules.Missing)
	}
	if g := d.Rules.SmallGroups; g != SmallGroupsExclude && g != SmallGroupsCount {
		ps.add("rules.small_groups", "应为 exclude（不足 min_group 人的类别不计入任何数字，默认）或 count（照常计入），现为「%s」", g)
	}
}

// checkUnits checks the units and their members; member ids are unique
// across the round, as a ballot names a member by id alone.
func (d *Definition) checkUnits(ps *problems) {
	units := map[string]bool{}
	members := map[string]string{} // member id → path of its unit
	if len(d.Units) == 0 {
		ps.add("units", "至少需要一个单位")
	}
	rated := d.hasMemberForm()
	for i, u := range d.Units {
		p := fmt.Sprintf("units[%d]", i)
		ps.checkUniqueID(units, p+".id", u.ID, "单位")
		if strings.TrimSpace(u.Name) == "" {
			ps.add(p+".name", "单位需要名称")
		}
		if strings.TrimSpace(u.Type) == "" {
			ps.add(p+".type", "单位需要类型（权重和排名按单位类型分组）")
		}
		if rated && len(u.Members) == 0 {
			ps.add(p+".members", "有测评表评价班子成员，但本单位没有班子成员")
		}
		for j, m := range u.Members {
			mp := fmt.Sprintf("%s.members[%d]", p, j)
			ps.checkID(mp+".id", m.ID)
			if m.ID == TeamSubject {
				ps.add(mp+".id", "编号「%s」留给领导班子，班子成员不能使用", TeamSubject)
			} else if prev, dup := members[m.ID]; dup && m.ID != "" {
				ps.add(mp+".id", "班子成员编号「%s」已在 %s 中使用", m.ID, prev)
			}
			members[m.ID] = p
			if strings.TrimSpace(m.Name) == "" {
				ps.add(mp+".name", "班子成员需要姓名")
			}
		}
	}
}

// MaxOptions is the most options a scale may have; the compact ballot
// encoding keeps one byte per answer.
const MaxOptions = 20

func (d *Definition) hasMemberForm() bool {
	for _, f := range d.Forms {
		if f.Rates == RatesMembers {
			return true
		}
	}
	return false
}
