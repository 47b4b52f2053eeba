package server

import (
	"fmt"
	"strconv"

	"minping/survey"
)

// ballotView is what the ballot template shows: forms, subject cards, rows
// and one radio cell per option, each row named by its slot in the layout.
type ballotView struct {
	Round, Unit, Category string
	HasAbstain            bool
	Abstain               string
	Total                 int
	Forms                 []formView
	Problems              []problemView
}

type formView struct {
	Title    string
	Note     string
	Options  []string
	Subjects []subjectView
	// TopKey names the rows whose top answers count against the form's
	// top_limit in one unit, for the live count (「已评优秀 2/2」).
	TopKey   string
	TopLimit int
	TopLabel string
}

type subjectView struct {
	Name, Post string
	Anchor     string
	Rows       []rowView
}

type rowView struct {
	Label  string
	TL     string // the top-limit key this row counts under, if any
	Slot   int
	Class  string // "o" for the overall row, "m" when it must still be answered
	Cells  []cellView
	Chosen string // the chosen label, for the review page
}

type cellView struct {
	Value   string
	Label   string // the option, for the control's accessible name
	Checked bool
}

type problemView struct {
	Message string
	Anchor  string
}

// newBallotView lays out the slip's ballot. values (may be nil) are answers
// to show checked; problems are listed on top and their rows marked.
func newBallotView(slip *survey.Slip, values []int, problems []survey.Problem) ballotView {
	def := slip.Round.Definition
	sh := slip.Sheet()
	v := ballotView{Round: slip.Round.Name, Unit: sheetName(slip, sh), Category: slip.Category.Name}
	v.Total = sh.Len()
	marked := map[int]bool{}
	for _, p := range problems {
		pv := problemView{Message: p.Message}
		if i, ok := p.Slot(); ok {
			marked[i] = true
			pv.Anchor = "r" + strconv.Itoa(i)
		}
		v.Problems = append(v.Problems, pv)
	}
	formAt, subjAt, unitAt := -1, -1, -1
	for i := range sh.Len() {
		su, sl := sh.At(i)
		f := &def.Forms[sl.Form]
		sc := def.Scale(f.Scale)
		multi := len(sh.Units) > 1
		if su.Start != unitAt {
			unitAt, subjAt = su.Start, -1
		}
		// On a sheet of several units a form's heading is written once
		// while its rows run on, and each unit's subjects are cards named
		// by the unit: one card per unit for a team form.
		if sl.Form != formAt {
			formAt, subjAt = sl.Form, -1
			fv := formView{Title: f.Title}
			for _, o := range sc.Options {
				fv.Options = append(fv.Options, o.Label)
			}
			if sc.Abstain != "" {
				fv.Options = append(fv.Options, sc.Abstain)
				v.HasAbstain, v.Abstain = true, sc.Abstain
			}
			if f.TopLimit > 0 {
				row := f.Overall
				if row == "" {
					row = "每一项"
				}
				fv.Note = fmt.Sprintf("「%s」最多可评 %d 人为「%s」。", row, f.TopLimit, sc.Options[0].Label)
				if f.Overall != "" {
					fv.TopKey, fv.TopLimit, fv.TopLabel = fmt.Sprintf("u%df%d", su.Start, sl.Form), f.TopLimit, sc.Options[0].Label
				}
			}
			v.Forms = append(v.Forms, fv)
		}
		fv := &v.Forms[len(v.Forms)-1]
		if sl.Subject != subjAt {
			subjAt = sl.Subject
			subj := def.Subjects(f, su.Unit)[sl.Subject]
			sv := subjectView{Name: subj.Name, Post: subj.Post, Anchor: fmt.Sprintf("r%d", i)}
			if multi && subj.ID == survey.TeamSubject {
				sv.Name, sv.Post = su.Unit.Name, ""
			} else if multi {
				sv.Name, sv.Post = su.Unit.Name+" · "+subj.Name, subj.Post
			}
			fv.Subjects = append(fv.Subjects, sv)
		}
		sv := &fv.Subjects[len(fv.Subjects)-1]
		row := rowView{Label: f.Rows()[sl.Row], Slot: i}
		if sl.Row == len(f.Items) {
			row.Class = "o"
			if f.TopLimit > 0 {
				row.TL = fmt.Sprintf("u%df%d", su.Start, sl.Form)
			}
		}
		if marked[i] {
			row.Class += " m"
		}
		chosen := survey.NoAnswer
		if values != nil {
			chosen = values[i]
		}
		for k, o := range sc.Options {
			row.Cells = append(row.Cells, cellView{Value: strconv.Itoa(k), Label: o.Label, Checked: chosen == k})
			if chosen == k {
				row.Chosen = o.Label
			}
		}
		if sc.Abstain != "" {
			abst := chosen == int(survey.AbstainAnswer)
			row.Cells = append(row.Cells, cellView{Value: "x", Label: sc.Abstain, Checked: abst})
			if abst {
				row.Chosen = sc.Abstain
			}
		}
		sv.Rows = append(sv.Rows, row)
	}
	return v
}

// sheetName says what a slip rates for the page's header: its unit, 「全部单位」
// for an all sheet, 「同类其他单位」 for an others sheet.
func sheetName(slip *survey.Slip, sh *survey.Sheet) string {
	switch slip.Category.SheetKind() {
	case survey.SheetAll:
		return fmt.Sprintf("全部单位（%d 个）", len(sh.Units))
	case survey.SheetOthers:
		return fmt.Sprintf("%s以外的同类单位（%d 个）", slip.Unit.Name, len(sh.Units))
	}
	return slip.Unit.Name
}

// reviewView shows a complete ballot for confirmation and carries its
// answers on as hidden fields.
type reviewView struct {
	ballotView
	Hidden []hiddenField
}

type hiddenField struct{ Name, Value string }

func newReviewView(slip *survey.Slip, values []int) reviewView {
	r := reviewView{ballotView: newBallotView(slip, values, nil)}
	for i, v := range values {
		val := strconv.Itoa(v)
		if v == int(survey.AbstainAnswer) {
			val = "x"
		}
		r.Hidden = append(r.Hidden, hiddenField{Name: "s" + strconv.Itoa(i), Value: val})
	}
	return r
}
