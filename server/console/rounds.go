package console

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"minping/survey"
	"minping/survey/roster"
)

// maxUpload bounds an uploaded roster or definition file.
const maxUpload = 8 << 20

type roundsView struct {
	consolePage
	Rounds       []conRound
	Archived     int  // archived rounds, listed only on request
	ShowArchived bool // ?archived=1
}

type conRound struct {
	ID, Name, StatusName string
	Status               survey.Status
	Units, Members       int
	Created              string
	Archived             bool
}

// sealedAt is when a round was sealed, with the zone, or "".
func (s *Console) sealedAt(r *survey.Round) string {
	if r.SealedAt == nil {
		return ""
	}
	return r.SealedAt.In(s.tz).Format("2006-01-02 15:04:05") + "（" + s.zone + "）"
}

// clock writes a time as the console shows it, in the configured zone.
func (s *Console) clock(t time.Time) string { return t.In(s.tz).Format("2006-01-02 15:04") }

func (s *Console) Rounds(c *gin.Context) {
	rounds, err := s.store.Rounds(c.Request.Context())
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	v := roundsView{consolePage: s.newPage(c, "测评活动", "rounds"), ShowArchived: c.Query("archived") == "1"}
	for _, r := range rounds {
		if !s.host.Account(c).CanManage(r.ID) {
			continue
		}
		if r.Archived {
			v.Archived++
			if !v.ShowArchived {
				continue
			}
		}
		row := conRound{ID: r.ID, Name: r.Name, Status: r.Status, StatusName: statusNames[r.Status], Archived: r.Archived,
			Units: len(r.Definition.Units), Created: s.clock(r.CreatedAt)}
		for _, u := range r.Definition.Units {
			row.Members += len(u.Members)
		}
		v.Rounds = append(v.Rounds, row)
	}
	s.host.HTML(c, http.StatusOK, "console-rounds", v)
}

type newRoundView struct {
	consolePage
	Mode         string // "template" or "upload": the form the problems belong to
	Name, Points string
	Satisfaction bool
	Problems     []survey.Problem
}

// mayCreateRounds answers 403 to an organiser created for one round.
func (s *Console) mayCreateRounds(c *gin.Context) bool {
	if s.host.Account(c).CanCreateRounds() {
		return true
	}
	s.consoleError(c, http.StatusForbidden, "无权新建", "您的账号只能管理指定的测评活动，不能新建测评活动。")
	return false
}

func (s *Console) NewRoundPage(c *gin.Context) {
	if !s.mayCreateRounds(c) {
		return
	}
	v := newRoundView{consolePage: s.newPage(c, "新建测评活动", "rounds"),
		Name: fmt.Sprintf("%d年度领导班子和领导干部民主测评", time.Now().Year()), Points: "20", Satisfaction: true}
	s.host.HTML(c, http.StatusOK, "console-new", v)
}

// readUpload reads an uploaded file of the form, or nil if none was chosen.
func readUpload(c *gin.Context, field string) ([]byte, error) {
	fh, err := c.FormFile(field)
	if errors.Is(err, http.ErrMissingFile) {
		return nil, nil
	}
	if err != nil {
		return nil, &survey.ValidationError{Problems: []survey.Problem{{Message: "无法读取上传的文件：" + err.Error()}}}
	}
	if fh.Size > maxUpload {
		return nil, &survey.ValidationError{Problems: []survey.Problem{{Message: fmt.Sprintf("文件 %s 超过 8 MB", fh.Filename)}}}
	}
	f, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxUpload))
}

// LimitUpload bounds a console request's body (a roster or a definition
// upload at most) before any form is parsed.
func LimitUpload(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 2*maxUpload+1<<20)
}

// CreateRoundForm creates a draft round from the standard template or an
// uploaded definition, with the units of a roster. Nothing is saved unless
// the whole is valid; every problem is listed, roster problems by row.
func (s *Console) CreateRoundForm(c *gin.Context) {
	if !s.mayCreateRounds(c) {
		return
	}
	ctx := c.Request.Context()
	v := newRoundView{consolePage: s.newPage(c, "新建测评活动", "rounds"), Mode: c.PostForm("mode"),
		Name: strings.TrimSpace(c.PostForm("name")), Points: strings.TrimSpace(c.PostForm("points")),
		Satisfaction: c.PostForm("satisfaction") != ""}
	fail := func(ps ...survey.Problem) {
		v.Problems = ps
		s.host.HTML(c, http.StatusUnprocessableEntity, "console-new", v)
	}
	var src []byte
	switch v.Mode {
	case "template":
		if v.Name == "" {
			fail(survey.Problem{Path: "名称", Message: "请填写测评活动的名称"})
			return
		}
		if v.Points == "" {
			v.Points = "20"
		}
		src = survey.TemplateSource(survey.TemplateOptions{Name: v.Name, Points: v.Points, Satisfaction: v.Satisfaction})
	case "upload":
		b, err := readUpload(c, "definition")
		if err != nil {
			s.formProblems(c, err, fail)
			return
		}
		if b == nil {
			fail(survey.Problem{Path: "定义文件", Message: "请选择 YAML 或 JSON 定义文件"})
			return
		}
		src = b
	default:
		s.consoleError(c, http.StatusBadRequest, "表单有误", "请从“新建测评活动”页面提交。")
		return
	}
	rosterFile, err := readUpload(c, "roster")
	if err != nil {
		s.formProblems(c, err, fail)
		return
	}
	if rosterFile == nil && v.Mode == "template" {
		fail(survey.Problem{Path: "名册", Message: "请选择单位和班子成员名册（.xlsx 或 CSV）；可先下载名册模板填写"})
		return
	}
	def, src, parsed, ps := roster.Merge(src, rosterFile)
	if len(ps) > 0 {
		fail(ps...)
		return
	}
	r, err := s.store.CreateRound(ctx, def, src)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	if parsed != nil {
		if err := s.store.SetExpected(ctx, r.ID, parsed.Expected); err != nil {
			s.consoleFail(c, err)
			return
		}
	}
	s.log.Info("round created", "round", r.ID, "by", s.host.Account(c).Name, "mode", v.Mode)
	consoleRedirect(c, "/console/rounds/"+r.ID, "created")
}

// formProblems shows a validation error as the form's problems, and any
// other error as an error page.
func (s *Console) formProblems(c *gin.Context, err error, show func(...survey.Problem)) {
	var ve *survey.ValidationError
	if errors.As(err, &ve) {
		show(ve.Problems...)
		return
	}
	s.consoleFail(c, err)
}

type roundView struct {
	consolePage
	Round      *survey.Round
	StatusName string
	Def        *survey.Definition
	Units      []conUnit
	Categories []conCategory
	Forms      []conForm
	Members    int
	HasExp     bool
	Quorum     string
	SealedAt   string // as people read it, with its zone
}

type conUnit struct {
	ID, Name, Type string
	Members        []survey.Member
	Expected       []string // per category, "" if not given
}

type conCategory struct {
	ID, Name, Weight string
	Forms            []string
}

type conForm struct {
	Title, Rates, Scale string
	Items               []string
	Overall             string
	TopLimit            int
	Voters              []string
}

func (s *Console) RoundPage(c *gin.Context) {
	r, ok := s.round(c)
	if !ok {
		return
	}
	exp, err := s.store.Expected(c.Request.Context(), r.ID)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	v := s.newRoundView(c, r, exp)
	s.host.HTML(c, http.StatusOK, "console-round", v)
}

func (s *Console) newRoundView(c *gin.Context, r *survey.Round, exp survey.Expected) roundView {
	def := r.Definition
	v := roundView{consolePage: s.newPage(c, r.Name, "rounds"), Round: r, StatusName: statusNames[r.Status], Def: def, SealedAt: s.sealedAt(r),
		Quorum: def.Rules.Quorum.String()}
	catName := map[string]string{}
	for _, ct := range def.Categories {
		catName[ct.ID] = ct.Name
	}
	for _, u := range def.Units {
		row := conUnit{ID: u.ID, Name: u.Name, Type: u.Type, Members: u.Members}
		for _, ct := range def.Categories {
			if n, ok := exp[u.ID][ct.ID]; ok {
				row.Expected = append(row.Expected, fmt.Sprint(n))
				v.HasExp = true
			} else {
				row.Expected = append(row.Expected, "")
			}
		}
		v.Members += len(u.Members)
		v.Units = append(v.Units, row)
	}
	for _, ct := range def.Categories {
		row := conCategory{ID: ct.ID, Name: ct.Name, Weight: ct.Weight.String()}
		for _, fi := range def.FormsFor(ct.ID) {
			row.Forms = append(row.Forms, def.Forms[fi].Title)
		}
		v.Categories = append(v.Categories, row)
	}
	for _, f := range def.Forms {
		row := conForm{Title: f.Title, Rates: map[string]string{survey.RatesTeam: "领导班子", survey.RatesMembers: "每名班子成员"}[f.Rates],
			Overall: f.Overall, TopLimit: f.TopLimit}
		if sc := def.Scale(f.Scale); sc != nil {
			var labels []string
			for _, o := range sc.Options {
				labels = append(labels, fmt.Sprintf("%s %s", o.Label, o.Points))
			}
			if sc.Abstain != "" {
				labels = append(labels, sc.Abstain+"（不计票）")
			}
			row.Scale = strings.Join(labels, " / ")
		}
		for _, it := range f.Items {
			if it.Weight.String() == "1" {
				row.Items = append(row.Items, it.Name)
			} else {
				row.Items = append(row.Items, fmt.Sprintf("%s ×%s", it.Name, it.Weight))
			}
		}
		for _, id := range f.Voters {
			row.Voters = append(row.Voters, catName[id])
		}
		v.Forms = append(v.Forms, row)
	}
	return v
}

type rosterView struct {
	consolePage
	Round    *survey.Round
	Problems []survey.Problem
	Columns  []string
	Preview  *rosterPreview // what a roster would create, to confirm
}

// rosterPreview is a checked roster not yet saved: the definition it would
// give, the notices of how it was read, and the file to post back.
type rosterPreview struct {
	Def     *survey.Definition
	Members int
	Notices []string
	File    string // base64
}

func (s *Console) RosterPage(c *gin.Context) {
	r, ok := s.round(c)
	if !ok {
		return
	}
	s.host.HTML(c, http.StatusOK, "console-roster", s.newRosterView(c, r, nil))
}

func (s *Console) newRosterView(c *gin.Context, r *survey.Round, ps []survey.Problem) rosterView {
	v := rosterView{consolePage: s.newPage(c, "导入名册 · "+r.Name, "rounds"), Round: r, Problems: ps,
		Columns: []string{roster.ColUnitID, roster.ColUnitName, roster.ColUnitType, roster.ColMemberID, roster.ColName, roster.ColPost, roster.ColPrincipal}}
	for _, ct := range r.Definition.Categories {
		v.Columns = append(v.Columns, roster.ColExpected+"（"+ct.Name+"）")
	}
	return v
}

// ImportRoster replaces the units and members of a draft round with a
// roster's, after checking all of it: any problem, and nothing is saved.
func (s *Console) ImportRoster(c *gin.Context) {
	ctx := c.Request.Context()
	r, ok := s.round(c)
	if !ok {
		return
	}
	if r.Status != survey.StatusDraft {
		s.consoleFail(c, survey.ErrWrongState)
		return
	}
	fail := func(ps ...survey.Problem) {
		s.host.HTML(c, http.StatusUnprocessableEntity, "console-roster", s.newRosterView(c, r, ps))
	}
	// The first post shows what the roster would create; the second,
	// confirming, carries the same file back and saves it.
	confirm := c.PostForm("confirm") == "yes"
	var file []byte
	var err error
	if confirm {
		file, err = base64.StdEncoding.DecodeString(c.PostForm("file"))
		if err != nil {
			fail(survey.Problem{Path: "名册", Message: "确认的名册已损坏，请重新选择文件"})
			return
		}
	} else if file, err = readUpload(c, "roster"); err != nil {
		s.formProblems(c, err, fail)
		return
	}
	if len(file) == 0 {
		fail(survey.Problem{Path: "名册", Message: "请选择名册文件（.xlsx 或 CSV）"})
		return
	}
	src, err := s.store.RoundSource(ctx, r.ID)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	def, merged, parsed, ps := roster.Merge(src, file)
	if len(ps) > 0 {
		fail(ps...)
		return
	}
	if !confirm {
		v := s.newRosterView(c, r, nil)
		v.Preview = &rosterPreview{Def: def, Notices: parsed.Notices, File: base64.StdEncoding.EncodeToString(file)}
		for _, u := range def.Units {
			v.Preview.Members += len(u.Members)
		}
		s.host.HTML(c, http.StatusOK, "console-roster", v)
		return
	}
	if err := s.store.ImportRoster(ctx, r.ID, def, merged, parsed.Expected); err != nil {
		s.formProblems(c, err, fail)
		return
	}
	consoleRedirect(c, "/console/rounds/"+r.ID, "roster")
}

// RosterTemplate downloads a roster workbook to fill in, with an 应到人数
// column for each category of the round (or of the standard template).
func (s *Console) RosterTemplate(c *gin.Context) {
	var cats []survey.Category
	if id := c.Param("id"); id != "" {
		r, ok := s.round(c)
		if !ok {
			return
		}
		cats = r.Definition.Categories
	} else {
		cats, _ = survey.SourceCategories(survey.TemplateSource(survey.TemplateOptions{Name: "x", Points: "20", Satisfaction: true}))
	}
	b, err := roster.Template(cats)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="roster.xlsx"; filename*=UTF-8''%E5%90%8D%E5%86%8C%E6%A8%A1%E6%9D%BF.xlsx`)
	c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b)
}

type settingsView struct {
	consolePage
	Round      *survey.Round
	Draft      bool
	Name       string
	Points     string
	Categories []conCategory
	Quorum     string
	MinGroup   string
	Lowest     string
	TopTwo     string
	Source     string
	Multi      bool // several components: points and weights are the scheme page's
	Problems   []survey.Problem
	Which      string // the form the problems belong to: "settings" or "definition"
}

func (s *Console) SettingsPage(c *gin.Context) {
	r, ok := s.round(c)
	if !ok {
		return
	}
	src, err := s.store.RoundSource(c.Request.Context(), r.ID)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	s.host.HTML(c, http.StatusOK, "console-settings", s.newSettingsView(c, r, src))
}

func (s *Console) newSettingsView(c *gin.Context, r *survey.Round, src []byte) settingsView {
	def := r.Definition
	if len(src) == 0 {
		src = def.Canonical()
	}
	v := settingsView{consolePage: s.newPage(c, "设置 · "+r.Name, "rounds"), Round: r, Draft: r.Status == survey.StatusDraft,
		Name: def.Name, Points: def.Component.Points.String(),
		Quorum: def.Rules.Quorum.String(), MinGroup: fmt.Sprint(def.Rules.MinGroup),
		Lowest: def.Rules.FlagLowestOver.String(), TopTwo: def.Rules.FlagTopTwoUnder.String(),
		Source: string(src), Multi: len(def.Components) > 0}
	for _, ct := range def.Categories {
		v.Categories = append(v.Categories, conCategory{ID: ct.ID, Name: ct.Name, Weight: ct.Weight.String()})
	}
	return v
}

// SaveSettings changes the plain fields of a draft round's definition.
func (s *Console) SaveSettings(c *gin.Context) {
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
	set := survey.Settings{
		Name: strings.TrimSpace(c.PostForm("name")), Points: strings.TrimSpace(c.PostForm("points")),
		Weights: map[string]string{}, Quorum: strings.TrimSpace(c.PostForm("quorum")),
		MinGroup: strings.TrimSpace(c.PostForm("min_group")),
		Lowest:   strings.TrimSpace(c.PostForm("flag_lowest_over")), TopTwo: strings.TrimSpace(c.PostForm("flag_top_two_under")),
	}
	for _, ct := range r.Definition.Categories {
		set.Weights[ct.ID] = strings.TrimSpace(c.PostForm("weight_" + ct.ID))
	}
	next, err := survey.SourceWithSettings(src, set)
	if err == nil {
		err = s.updateDefinition(ctx, r, next)
	}
	if err != nil {
		v := s.newSettingsView(c, r, src)
		v.Which = "settings"
		v.Name, v.Points, v.Quorum, v.MinGroup, v.Lowest, v.TopTwo = set.Name, set.Points, set.Quorum, set.MinGroup, set.Lowest, set.TopTwo
		for i := range v.Categories {
			v.Categories[i].Weight = set.Weights[v.Categories[i].ID]
		}
		s.settingsProblems(c, v, err)
		return
	}
	consoleRedirect(c, "/console/rounds/"+r.ID, "settings")
}

// SaveDefinition replaces a draft round's whole definition with the
// textarea's.
func (s *Console) SaveDefinition(c *gin.Context) {
	ctx := c.Request.Context()
	r, ok := s.round(c)
	if !ok {
		return
	}
	src := []byte(strings.ReplaceAll(c.PostForm("source"), "\r\n", "\n"))
	if err := s.updateDefinition(ctx, r, src); err != nil {
		v := s.newSettingsView(c, r, src)
		v.Which = "definition"
		s.settingsProblems(c, v, err)
		return
	}
	consoleRedirect(c, "/console/rounds/"+r.ID, "settings")
}

func (s *Console) settingsProblems(c *gin.Context, v settingsView, err error) {
	var ve *survey.ValidationError
	if !errors.As(err, &ve) {
		s.consoleFail(c, err)
		return
	}
	v.Problems = ve.Problems
	s.host.HTML(c, http.StatusUnprocessableEntity, "console-settings", v)
}

func (s *Console) updateDefinition(ctx context.Context, r *survey.Round, src []byte) error {
	if r.Status != survey.StatusDraft {
		return survey.ErrWrongState
	}
	def, err := survey.ParseDefinition(src)
	if err != nil {
		return err
	}
	return s.store.UpdateDefinition(ctx, r.ID, def, src)
}

func (s *Console) DownloadDefinition(c *gin.Context) {
	r, ok := s.round(c)
	if !ok {
		return
	}
	src, err := s.store.RoundSource(c.Request.Context(), r.ID)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="round-`+r.ID+`.yaml"`)
	c.Data(http.StatusOK, "application/yaml; charset=utf-8", src)
}

// Open opens voting once the organiser has ticked that the settings
// are final: the definition is frozen and its fingerprint fixed.
func (s *Console) Open(c *gin.Context) {
	if c.PostForm("confirm") != "yes" {
		s.consoleError(c, http.StatusUnprocessableEntity, "尚未确认", "请勾选“已核对单位、成员、权重和规则”后再开放测评。")
		return
	}
	if err := s.store.OpenRound(c.Request.Context(), c.Param("id")); err != nil {
		s.consoleFail(c, err)
		return
	}
	s.log.Info("round opened", "round", c.Param("id"), "by", s.host.Account(c).Name)
	consoleRedirect(c, "/console/rounds/"+c.Param("id"), "opened")
}

type closeView struct {
	consolePage
	Round    *survey.Round
	Issued   int
	Voted    int
	Shown    string // Voted as shown: a number or 「不足 N 人」
	Quorum   string
	CanSeal  bool
	Below    []unitFig // units whose turnout, as far as the shown figures go, is under quorum
	MinGroup int       // counts below it are not shown while voting is open
}

// ClosePage asks for confirmation and says what closing cannot undo.
func (s *Console) ClosePage(c *gin.Context) {
	r, ok := s.round(c)
	if !ok {
		return
	}
	if r.Status != survey.StatusOpen {
		s.consoleFail(c, survey.ErrWrongState)
		return
	}
	t, err := s.turnoutSnapshot(c.Request.Context(), r)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	v := closeView{consolePage: s.newPage(c, "结束测评 · "+r.Name, "rounds"), Round: r,
		Issued: t.Issued, Voted: t.Voted, Shown: t.Shown, Quorum: r.Definition.Rules.Quorum.String(), MinGroup: t.MinGroup}
	for _, u := range t.Units {
		if !u.Met {
			v.Below = append(v.Below, u)
		}
	}
	s.host.HTML(c, http.StatusOK, "console-close", v)
}

func (s *Console) Close(c *gin.Context) {
	if c.PostForm("confirm") != "yes" {
		s.consoleError(c, http.StatusUnprocessableEntity, "尚未确认", "请勾选确认框后再结束测评。")
		return
	}
	if err := s.store.CloseRound(c.Request.Context(), c.Param("id")); err != nil {
		s.consoleFail(c, err)
		return
	}
	s.log.Info("round closed", "round", c.Param("id"), "by", s.host.Account(c).Name)
	consoleRedirect(c, "/console/rounds/"+c.Param("id"), "closed")
}
