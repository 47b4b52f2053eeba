package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"minping/survey"
	"minping/survey/roster"
	"minping/tally"
)

// After the seal (CONTRACT §5.3): the organiser uploads each unit's outside
// parts, adjustments and veto as a workbook or CSV, every problem listed by
// row and nothing saved unless all are valid; then finalizes, which signs
// the results document; the 公示 list and the feedback letters follow.

// resultsView is the results page of a sealed round.
type resultsView struct {
	consolePage
	Round     *survey.Round
	Parts     []survey.TotalPart
	Problems  []survey.Problem
	Entries   []resultsRow
	Entered   int
	Finalized string // when, or ""
	Results   *tally.ResultsDoc
}

// resultsRow is one unit as entered: its parts and adjustments.
type resultsRow struct {
	Unit        survey.Unit
	Parts       []string
	Adjustments []tally.Adjustment
	Veto        string
}

// ResultsPage shows a sealed round's entries and the way to upload them.
func (s *Console) ResultsPage(c *gin.Context) {
	r, ok := s.round(c)
	if !ok {
		return
	}
	v, err := s.newResultsView(c, r, nil)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	s.host.HTML(c, http.StatusOK, "console-results", v)
}

func (s *Console) newResultsView(c *gin.Context, r *survey.Round, ps []survey.Problem) (resultsView, error) {
	ctx := c.Request.Context()
	v := resultsView{consolePage: s.newPage(c, "考核结果 · "+r.Name, "rounds"), Round: r, Problems: ps}
	if r.Definition.Total != nil {
		v.Parts = r.Definition.Total.Parts
	}
	raw, at, err := s.store.Results(ctx, r.ID)
	if err != nil && !errors.Is(err, survey.ErrNotFound) {
		return v, err
	}
	var entries []tally.Entry
	if raw != nil {
		if err := json.Unmarshal(raw, &entries); err != nil {
			return v, err
		}
	}
	byUnit := map[string]tally.Entry{}
	for _, e := range entries {
		byUnit[e.Unit] = e
	}
	v.Entered = len(entries)
	for _, u := range r.Definition.Units {
		row := resultsRow{Unit: u}
		if e, ok := byUnit[u.ID]; ok {
			for _, p := range v.Parts {
				row.Parts = append(row.Parts, e.Parts[p.ID])
			}
			row.Adjustments, row.Veto = e.Adjustments, e.Veto
		}
		v.Entries = append(v.Entries, row)
	}
	if at != nil {
		v.Finalized = s.clock(*at)
		d, err := s.store.Document(ctx, r.ID, survey.ResultsDocument)
		if err != nil {
			return v, err
		}
		if v.Results, err = tally.DecodeResults(d.Body); err != nil {
			return v, err
		}
	}
	return v, nil
}

// UploadResults takes a filled results workbook or CSV: every problem is
// listed by row, and nothing is saved unless all rows are valid.
func (s *Console) UploadResults(c *gin.Context) {
	r, ok := s.round(c)
	if !ok {
		return
	}
	fail := func(ps ...survey.Problem) {
		v, err := s.newResultsView(c, r, ps)
		if err != nil {
			s.consoleFail(c, err)
			return
		}
		s.host.HTML(c, http.StatusUnprocessableEntity, "console-results", v)
	}
	if r.Status != survey.StatusSealed {
		s.consoleFail(c, survey.ErrWrongState)
		return
	}
	file, err := readUpload(c, "results")
	if err != nil {
		s.formProblems(c, err, fail)
		return
	}
	if file == nil {
		fail(survey.Problem{Path: "文件", Message: "请选择填好的成绩表（.xlsx 或 CSV）"})
		return
	}
	entries, ps := roster.ParseResults(file, r.Definition)
	if len(ps) > 0 {
		fail(ps...)
		return
	}
	if _, err := s.host.SaveResults(c, r, entries); err != nil {
		s.formProblems(c, err, fail)
		return
	}
	consoleRedirect(c, "/console/rounds/"+r.ID+"/results", "results")
}

// ResultsTemplate downloads the workbook to fill in: a row per unit.
func (s *Console) ResultsTemplate(c *gin.Context) {
	r, ok := s.round(c)
	if !ok {
		return
	}
	b, err := roster.ResultsTemplate(r.Definition)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="results-template.xlsx"`)
	c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b)
}

// Finalize signs the results document of a sealed round whose units all
// have entries.
func (s *Console) Finalize(c *gin.Context) {
	if c.PostForm("confirm") != "yes" {
		s.consoleError(c, http.StatusUnprocessableEntity, "尚未确认", "请勾选确认框后再定稿。")
		return
	}
	if err := s.host.Finalize(c, c.Param("id")); err != nil {
		status, text := s.host.Describe(err)
		s.consoleError(c, status, "定稿未完成", text)
		return
	}
	s.log.Info("results finalized from the console", "round", c.Param("id"), "by", s.host.Account(c).Name, "at", time.Now().UTC().Format(time.RFC3339))
	consoleRedirect(c, "/console/rounds/"+c.Param("id")+"/results", "finalized")
}
