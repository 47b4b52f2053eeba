package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"minping/survey"
)

// The scheme page (测评方案) edits what CONTRACT §5 adds to a draft round
// without YAML: what each category's slip rates and whether its members
// recuse themselves, which forms are scored and whom they rate, the
// components with their forms, points and weights, the missing rule, the
// total with its outside parts, and the grading of units and members. It
// shows, for the definition as it stands, who gets which slips and how
// many answers each asks. The YAML on the settings page stays for experts.

// schemeView is the scheme page.
type schemeView struct {
	consolePage
	Round      *survey.Round
	Draft      bool
	Def        *survey.Definition
	Scheme     survey.Scheme
	Multi      bool // components rather than v1's one component
	Components []survey.ComponentScheme
	Parts      []survey.PartScheme
	Grades     []survey.GradeScheme
	MGrades    []survey.GradeScheme
	Preview    []previewRow
	Warnings   []survey.Problem
	Problems   []survey.Problem
	Sheets     []choice
	Members    []choice
	Missing    []choice
	Bars       []string
}

type choice struct{ Value, Label string }

type previewRow struct {
	Category, Who, Rates, Answers string
}

// blankRows are the empty rows offered to add a component, part or grade.
const blankRows = 2

// SchemePage shows the scheme form of a round and its preview.
func (s *Console) SchemePage(c *gin.Context) {
	r, ok := s.round(c)
	if !ok {
		return
	}
	s.host.HTML(c, http.StatusOK, "console-scheme", s.newSchemeView(c, r, survey.SchemeOf(r.Definition), nil))
}

func (s *Console) newSchemeView(c *gin.Context, r *survey.Round, sc survey.Scheme, ps []survey.Problem) schemeView {
	def := r.Definition
	v := schemeView{consolePage: s.newPage(c, "测评方案 · "+r.Name, "rounds"), Round: r, Draft: r.Status == survey.StatusDraft,
		Def: def, Scheme: sc, Multi: sc.Components != nil, Problems: ps, Warnings: def.Warnings(),
		Sheets:  []choice{{survey.SheetUnit, "评本单位（按单位发放）"}, {survey.SheetAll, "一张票评全部单位"}, {survey.SheetOthers, "评同类其他单位（同级互评）"}},
		Members: []choice{{survey.MembersAll, "全体班子成员"}, {survey.MembersPrincipal, "只评正职"}, {survey.MembersDeputies, "只评副职"}},
		Missing: []choice{{survey.MissingReweight, "权重转给有票的类别（默认）"}, {survey.MissingZero, "按 0 分计"}, {survey.MissingUnrated, "该项不计分"}},
		Bars:    []string{"lowest_over", "top_two_under", "quorum_not_met", "reweighted", "missing_zero", "unrated", "small_group"}}
	v.Components = sc.Components
	if !v.Multi { // offer the v1 component as the first of several
		for _, comp := range def.ComponentList() {
			cs := survey.ComponentScheme{ID: "public", Name: comp.Name, Points: comp.Points.String(), Forms: comp.Forms, Weights: map[string]string{}}
			for id, w := range comp.Weights {
				cs.Weights[id] = w.String()
			}
			v.Components = append(v.Components, cs)
		}
	}
	v.Components = append(v.Components, make([]survey.ComponentScheme, blankRows)...)
	if sc.Total != nil {
		v.Parts = sc.Total.Parts
	}
	v.Parts = append(v.Parts, make([]survey.PartScheme, blankRows)...)
	if sc.Grading != nil {
		v.Grades = sc.Grading.Grades
	}
	v.Grades = append(v.Grades, make([]survey.GradeScheme, blankRows)...)
	if sc.MemberGrading != nil {
		v.MGrades = sc.MemberGrading.Grades
	}
	v.MGrades = append(v.MGrades, make([]survey.GradeScheme, blankRows)...)
	for _, sum := range def.SheetSummaries() {
		v.Preview = append(v.Preview, previewOf(def, sum))
	}
	return v
}

// previewOf says in Chinese who gets a category's slips and what one asks.
func previewOf(def *survey.Definition, s survey.SheetSummary) previewRow {
	c := s.Category
	row := previewRow{Category: c.Name}
	switch {
	case c.SheetKind() == survey.SheetAll:
		row.Who, row.Rates = "一批，发放时不指定单位", fmt.Sprintf("全部 %d 个单位", s.Units)
	case c.SheetKind() == survey.SheetOthers:
		row.Who, row.Rates = "按本人所在单位发放", fmt.Sprintf("同类其他单位，至多 %d 个", s.Units)
	case c.Recuse:
		row.Who, row.Rates = "每名班子成员一张（存根写姓名）", "本单位，不含本人"
	default:
		row.Who, row.Rates = "按单位发放", "本单位"
	}
	row.Answers = strconv.Itoa(s.MaxAnswers)
	if s.MinAnswers != s.MaxAnswers {
		row.Answers = fmt.Sprintf("%d 至 %d", s.MinAnswers, s.MaxAnswers)
	}
	return row
}

// SaveScheme writes the scheme form into a draft round's definition, after
// checking the whole definition: any problem, and nothing is saved.
func (s *Console) SaveScheme(c *gin.Context) {
	ctx := c.Request.Context()
	r, ok := s.round(c)
	if !ok {
		return
	}
	src, err := s.store.RoundSource(ctx, r.ID)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	sc := schemeFromForm(c, r.Definition)
	next, err := survey.SourceWithScheme(src, sc)
	if err == nil {
		err = s.updateDefinition(ctx, r, next)
	}
	if err != nil {
		ps := survey.ProblemsOf(err)
		if status, _ := s.host.Describe(err); status != http.StatusUnprocessableEntity && status != http.StatusBadRequest {
			s.consoleFail(c, err)
			return
		}
		s.host.HTML(c, http.StatusUnprocessableEntity, "console-scheme", s.newSchemeView(c, r, sc, ps))
		return
	}
	consoleRedirect(c, "/console/rounds/"+r.ID+"/scheme", "settings")
}

// schemeFromForm reads the scheme form; blank rows are left out.
func schemeFromForm(c *gin.Context, def *survey.Definition) survey.Scheme {
	f := func(k string) string { return strings.TrimSpace(c.PostForm(k)) }
	var sc survey.Scheme
	for _, ct := range def.Categories {
		sc.Categories = append(sc.Categories, survey.CategoryScheme{ID: ct.ID, Sheet: f("sheet_" + ct.ID), Recuse: f("recuse_"+ct.ID) == "1"})
	}
	for _, fm := range def.Forms {
		sc.Forms = append(sc.Forms, survey.FormScheme{ID: fm.ID, Scored: f("scored_"+fm.ID) == "1", Members: f("members_" + fm.ID), TopLimit: f("top_limit_" + fm.ID)})
	}
	sc.Missing = f("missing")
	if f("mode") == "multi" {
		sc.Components = []survey.ComponentScheme{}
		for i := 0; c.PostForm(fmt.Sprintf("comp_row_%d", i)) != ""; i++ {
			p := fmt.Sprintf("comp_%%s_%d", i)
			cs := survey.ComponentScheme{ID: f(fmt.Sprintf(p, "id")), Name: f(fmt.Sprintf(p, "name")), Points: f(fmt.Sprintf(p, "points")),
				Forms: c.PostFormArray(fmt.Sprintf(p, "forms")), Weights: map[string]string{}}
			for _, ct := range def.Categories {
				cs.Weights[ct.ID] = f(fmt.Sprintf(p, "w_"+ct.ID))
			}
			if cs.ID != "" || cs.Name != "" {
				sc.Components = append(sc.Components, cs)
			}
		}
	}
	if f("total_on") == "1" {
		t := &survey.TotalScheme{Points: f("total_points"), MaxBonus: f("max_bonus"), MaxPenalty: f("max_penalty")}
		for i := 0; c.PostForm(fmt.Sprintf("part_row_%d", i)) != ""; i++ {
			p := survey.PartScheme{ID: f(fmt.Sprintf("part_id_%d", i)), Name: f(fmt.Sprintf("part_name_%d", i)), Points: f(fmt.Sprintf("part_points_%d", i))}
			if p.ID != "" || p.Name != "" {
				t.Parts = append(t.Parts, p)
			}
		}
		sc.Total = t
	}
	sc.Grading = gradingFromForm(c, "g_")
	sc.MemberGrading = gradingFromForm(c, "mg_")
	return sc
}

func gradingFromForm(c *gin.Context, prefix string) *survey.GradingScheme {
	f := func(k string) string { return strings.TrimSpace(c.PostForm(prefix + k)) }
	if f("on") != "1" {
		return nil
	}
	g := &survey.GradingScheme{By: f("by"), Within: f("within"), Rounding: f("rounding"), VetoGrade: f("veto")}
	for _, t := range strings.FieldsFunc(f("tie"), func(r rune) bool { return r == ',' || r == '，' || r == ' ' || r == '、' }) {
		g.TieBreak = append(g.TieBreak, t)
	}
	for i := 0; c.PostForm(fmt.Sprintf("%srow_%d", prefix, i)) != ""; i++ {
		gr := survey.GradeScheme{Grade: f(fmt.Sprintf("grade_%d", i)), Places: f(fmt.Sprintf("places_%d", i)), Value: f(fmt.Sprintf("value_%d", i)),
			Min: f(fmt.Sprintf("min_%d", i)), Bar: c.PostFormArray(fmt.Sprintf("%sbar_%d", prefix, i))}
		if gr.Grade != "" {
			g.Grades = append(g.Grades, gr)
		}
	}
	return g
}
