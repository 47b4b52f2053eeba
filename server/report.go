package server

import (
	"errors"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"minping/survey"
	"minping/tally"
)

// The printable report for the appraisal group: the sealed figures of the
// units an account may read, read back from the signed bytes (so the report
// cannot say anything the documents do not), with bar charts of the option
// shares drawn as inline SVG, flags explained in words, the fingerprints and
// how to verify them.

type reportView struct {
	Round        string
	RoundID      string
	ConfigSHA256 string
	SealedAt     string // as people read it, with its zone
	PubKey       string
	Component    string
	Graded       bool // the round has grading: a unit without a grade shows —
	Units        []reportUnit
	// Totals are the finalized results of the units shown (CONTRACT §5.3),
	// none before finalize.
	Totals      []tally.UnitResults
	FinalizedAt string
}

type reportUnit struct {
	R        *tally.UnitResult
	Doc      string // sealed document path, for verification
	Flags    []string
	Subjects []reportSubject
	Lowest   string // the lowest option's share of the team's first form
}

type reportSubject struct {
	S     *tally.SubjectResult
	Flags []string
	Forms []reportForm
}

type reportForm struct {
	F      *tally.FormResult
	Title  string
	Bars   template.HTML
	Legend []legendEntry
	Lowest string
}

type legendEntry struct {
	Label, Share, Color string
	Count               int
}

// Colours from best to worst option: calm, printable, distinguishable in
// grey.
var barColours = []string{"#1f5f8b", "#5d9cc4", "#c9a44a", "#b33a3a", "#7a1f1f", "#444", "#777", "#999"}

// report renders the sealed units the account may read.
func (s *api) report(c *gin.Context) {
	ctx := c.Request.Context()
	a := account(c)
	r, err := s.readableRound(c)
	if errors.Is(err, errNotSealed) && wantsHTML(c) {
		c.Header("Cache-Control", "no-store")
		s.html(c, http.StatusConflict, "message", messagePage{Title: "结果尚未封存",
			Text: "测评结束并封存后，才能查看测评结果：封存前任何人都看不到结果。", Link: "/console", LinkText: "返回管理台"})
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	def := r.Definition
	v := reportView{Round: r.Name, RoundID: r.ID, ConfigSHA256: r.ConfigSHA256,
		PubKey: s.sealer.pubKeyB64(), Graded: def.Grading != nil && def.Grading.By != survey.GradeByTotal,
		Component: tally.ComponentsLabel(def)}
	for _, u := range def.Units {
		if !a.CanRead(r.ID, u.ID) {
			continue
		}
		d, err := s.store.Document(ctx, r.ID, u.ID)
		if err != nil {
			s.fail(c, err)
			return
		}
		res, err := tally.DecodeUnit(d.Body)
		if err != nil {
			s.fail(c, fmt.Errorf("report of %s: %w", u.ID, err))
			return
		}
		v.SealedAt = s.localSealTime(res.SealedAt)
		v.Units = append(v.Units, newReportUnit(def, res))
	}
	if rd, err := s.store.Document(ctx, r.ID, survey.ResultsDocument); err == nil {
		res, err := tally.DecodeResults(rd.Body)
		if err != nil {
			s.fail(c, fmt.Errorf("report: %w", err))
			return
		}
		v.FinalizedAt = s.localSealTime(res.FinalizedAt)
		for _, u := range res.Units {
			if a.CanRead(r.ID, u.Unit.ID) {
				v.Totals = append(v.Totals, u)
			}
		}
	}
	c.Header("Cache-Control", "private, no-store")
	s.html(c, http.StatusOK, "report", v)
}

func newReportUnit(def *survey.Definition, res *tally.UnitResult) reportUnit {
	ru := reportUnit{R: res, Doc: fmt.Sprintf("/api/v1/rounds/%s/units/%s/tally", res.Round.ID, res.Unit.ID)}
	var teamForms []tally.FormResult
	for i := range res.Subjects {
		sr := &res.Subjects[i]
		rs := reportSubject{S: sr, Flags: tally.FlagTexts(def, sr.Flags, sr.Forms)}
		for j := range sr.Forms {
			rs.Forms = append(rs.Forms, newReportForm(&sr.Forms[j]))
		}
		if sr.ID == survey.TeamSubject {
			teamForms = sr.Forms
			if len(rs.Forms) > 0 {
				ru.Lowest = rs.Forms[0].Lowest
			}
		}
		ru.Subjects = append(ru.Subjects, rs)
	}
	ru.Flags = tally.FlagTexts(def, res.Flags, teamForms)
	return ru
}

func newReportForm(f *tally.FormResult) reportForm {
	rf := reportForm{F: f, Title: f.Title}
	var b strings.Builder
	b.WriteString(`<svg class="bar" viewBox="0 0 1000 24" preserveAspectRatio="none" role="img" aria-label="各等次票数占比">`)
	x := 0.0
	for i, sh := range f.Shares {
		colour := barColours[min(i, len(barColours)-1)]
		frac, _ := sh.Share.Float64()
		w := frac * 1000
		if w > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="0" width="%.1f" height="24" fill="%s"/>`, x, w, colour)
		}
		x += w
		count := 0
		if f.Overall != nil && i < len(f.Overall.Counts) {
			count = f.Overall.Counts[i].Count
		} else {
			for _, it := range f.Items {
				if i < len(it.Counts) {
					count += it.Counts[i].Count
				}
			}
		}
		rf.Legend = append(rf.Legend, legendEntry{Label: sh.Label, Share: percent(sh.Share), Color: colour, Count: count})
	}
	if len(f.Shares) == 0 {
		b.WriteString(`<rect x="0" y="0" width="1000" height="24" fill="#eee"/>`)
		// No valid vote: the table keeps one column per option all the same.
		var labels tally.Counts
		if f.Overall != nil {
			labels = f.Overall.Counts
		} else if len(f.Items) > 0 {
			labels = f.Items[0].Counts
		}
		for i, c := range labels {
			rf.Legend = append(rf.Legend, legendEntry{Label: c.Label, Share: "—", Color: barColours[min(i, len(barColours)-1)]})
		}
		rf.Lowest = "无有效票"
	}
	b.WriteString(`</svg>`)
	rf.Bars = template.HTML(b.String()) // numbers and fixed colours only
	if n := len(f.Shares); n > 0 {
		last := f.Shares[n-1]
		rf.Lowest = last.Label + " " + percent(last.Share)
	}
	return rf
}

// percent writes a share (4 decimals) as a percentage with 2 decimals, the
// same digits the document holds.
func percent(s tally.Share) string {
	if !s.Valid() {
		return "—"
	}
	r := new(big.Rat).Mul(s.Rat(), big.NewRat(100, 1))
	return r.FloatString(2) + "%"
}
