package tally

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"minping/survey"
)

// Entry is what is entered for one unit after the seal (CONTRACT §5.3):
// each outside part's score, adjustments with their reasons, and a veto
// (一票否决) reason, empty for none. Numbers are decimal strings, exact.
type Entry struct {
	Unit        string            `json:"unit"`
	Parts       map[string]string `json:"parts"`
	Adjustments []Adjustment      `json:"adjustments"`
	Veto        string            `json:"veto"`
}

// Adjustment is one 加分 (positive) or 减分 (negative) with its reason.
type Adjustment struct {
	Points string `json:"points"`
	Reason string `json:"reason"`
}

// CheckEntries checks entries for a round with definition def: the round
// has a total, every unit is known and entered once, every part of the
// total is given within 0..its points and no other, adjustments are
// non-zero decimals with a reason. Every problem is listed, paths
// [i].field, in Chinese.
func CheckEntries(def *survey.Definition, entries []Entry) error {
	var ps []survey.Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, survey.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if def.Total == nil {
		add("", "本次测评没有定义总分（total），无需录入其他部分")
		return &survey.ValidationError{Problems: ps}
	}
	seen := map[string]int{}
	for i, e := range entries {
		p := fmt.Sprintf("[%d]", i)
		u := def.Unit(e.Unit)
		switch {
		case u == nil:
			add(p+".unit", "没有单位 %q", e.Unit)
		case seen[e.Unit] > 0:
			add(p+".unit", "单位「%s」录入了两次（另一处在第 %d 条）", u.Name, seen[e.Unit])
		default:
			seen[e.Unit] = i + 1
		}
		for _, part := range def.Total.Parts {
			v, ok := e.Parts[part.ID]
			if !ok {
				add(p+".parts."+part.ID, "缺少「%s」的得分", part.Name)
				continue
			}
			r, err := parseExact(v)
			switch {
			case err != nil:
				add(p+".parts."+part.ID, "「%s」的得分「%s」不是数字", part.Name, v)
			case r.Sign() < 0 || r.Cmp(part.Points.Rat()) > 0:
				add(p+".parts."+part.ID, "「%s」的得分 %s 应在 0 至 %s 之间", part.Name, v, part.Points)
			}
		}
		for id := range e.Parts {
			if !hasPart(def.Total, id) {
				add(p+".parts."+id, "总分没有部分 %q", id)
			}
		}
		for j, a := range e.Adjustments {
			ap := fmt.Sprintf("%s.adjustments[%d]", p, j)
			if r, err := parseExact(a.Points); err != nil || r.Sign() == 0 {
				add(ap+".points", "加减分「%s」应为非零的数字（加分为正，减分为负）", a.Points)
			}
			if strings.TrimSpace(a.Reason) == "" {
				add(ap+".reason", "加减分需要写明理由")
			}
		}
	}
	if len(ps) > 0 {
		return &survey.ValidationError{Problems: ps}
	}
	return nil
}

func hasPart(t *survey.Total, id string) bool {
	for _, p := range t.Parts {
		if p.ID == id {
			return true
		}
	}
	return false
}

// parseExact reads a decimal string ("650.5", "-3") exactly.
func parseExact(s string) (*big.Rat, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "/eE") {
		return nil, fmt.Errorf("%q is not a decimal", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("%q is not a decimal", s)
	}
	return r, nil
}

// ResultsDoc is the results document (CONTRACT §5.3): per unit the parts,
// the survey's components as sealed, the adjustments with their reasons,
// the total, rank, grade and veto; it carries the sealed round document's
// SHA-256.
type ResultsDoc struct {
	Round        RoundRef      `json:"round"`
	ConfigSHA256 string        `json:"config_sha256"`
	TallySHA256  string        `json:"tally_sha256"`
	FinalizedAt  string        `json:"finalized_at"`
	Points       Score         `json:"points"`
	By           string        `json:"by"`
	Units        []UnitResults `json:"units"`
	// Members are the members' grades under member_grading, as the sealed
	// round document gives them (CONTRACT §5.4: unchanged).
	Members []MemberResults `json:"members,omitempty"`
}

// MemberResults is a member's score, rank and grade as sealed.
type MemberResults struct {
	Unit   string  `json:"unit"`
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Score  Score   `json:"score"`
	Rank   *int    `json:"rank"`
	RankOf int     `json:"rank_of"`
	Grade  *string `json:"grade"`
}

// UnitResults is one unit of the results document.
type UnitResults struct {
	Unit        UnitRef            `json:"unit"`
	Parts       []PartResult       `json:"parts"`
	Components  []ComponentResult  `json:"components"`
	Score       Score              `json:"score"`
	Adjustments []AdjustmentResult `json:"adjustments"`
	Bonus       Score              `json:"bonus"`
	Penalty     Score              `json:"penalty"`
	Total       Score              `json:"total"`
	Rank        *int               `json:"rank"`
	RankOf      int                `json:"rank_of"`
	Grade       *string            `json:"grade"`
	Veto        string             `json:"veto"`
	Flags       []string           `json:"flags"`
}

// PartResult is an outside part's score.
type PartResult struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Points Score  `json:"points"`
	Value  Score  `json:"value"`
}

// AdjustmentResult is an adjustment as entered.
type AdjustmentResult struct {
	Points Score  `json:"points"`
	Reason string `json:"reason"`
}

// Results derives the results document of a sealed round from its round
// document (as sealed) and the entries (checked by CheckEntries), as
// finalized at finalizedAt. Every unit must have an entry. A unit's total
// is Σ parts + Σ its components' values as sealed (2 decimals, so that a
// reader adding the printed figures gets the total) + its bonus (the
// positive adjustments summed, capped at max_bonus) − its penalty (the
// negative ones, capped at max_penalty). Ranks and grades follow §5.4 on
// the grading's by: the total, or the survey score; a vetoed unit keeps
// its total and takes veto_grade.
func Results(def *survey.Definition, sealedRound []byte, entries []Entry, finalizedAt string) ([]byte, *ResultsDoc, error) {
	if err := CheckEntries(def, entries); err != nil {
		return nil, nil, err
	}
	rr, err := DecodeRound(sealedRound)
	if err != nil {
		return nil, nil, err
	}
	byUnit := map[string]*Entry{}
	for i := range entries {
		byUnit[entries[i].Unit] = &entries[i]
	}
	var missing []survey.Problem
	for _, u := range def.Units {
		if byUnit[u.ID] == nil {
			missing = append(missing, survey.Problem{Path: u.ID, Message: fmt.Sprintf("「%s」尚未录入", u.Name)})
		}
	}
	if len(missing) > 0 {
		return nil, nil, &survey.ValidationError{Problems: missing}
	}
	sum := sha256.Sum256(sealedRound)
	doc := &ResultsDoc{Round: rr.Round, ConfigSHA256: rr.ConfigSHA256, TallySHA256: hex.EncodeToString(sum[:]),
		FinalizedAt: finalizedAt, Points: Score{def.Total.Points.Rat()}, By: survey.GradeByScore}
	if def.Grading != nil && def.Grading.By == survey.GradeByTotal {
		doc.By = survey.GradeByTotal
	}
	for i := range rr.Units {
		doc.Units = append(doc.Units, unitResults(def, &rr.Units[i], byUnit[rr.Units[i].Unit.ID]))
	}
	gradeResults(def, rr, doc)
	if def.MemberGrading != nil {
		for _, u := range rr.Units {
			for _, s := range u.Subjects {
				if s.ID != survey.TeamSubject {
					doc.Members = append(doc.Members, MemberResults{Unit: u.Unit.ID, ID: s.ID, Name: s.Name, Score: s.Score, Rank: s.Rank, RankOf: s.RankOf, Grade: s.Grade})
				}
			}
		}
	}
	b, err := encode(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("encode results: %w", err)
	}
	return b, doc, nil
}

// unitResults computes one unit's total from its sealed figures and entry.
func unitResults(def *survey.Definition, u *UnitResult, e *Entry) UnitResults {
	out := UnitResults{Unit: u.Unit, Score: u.Score, Veto: strings.TrimSpace(e.Veto), Flags: u.Flags,
		Parts: []PartResult{}, Adjustments: []AdjustmentResult{}}
	total := new(big.Rat)
	for _, p := range def.Total.Parts {
		v, _ := parseExact(e.Parts[p.ID]) // checked
		out.Parts = append(out.Parts, PartResult{ID: p.ID, Name: p.Name, Points: Score{p.Points.Rat()}, Value: Score{v}})
		total.Add(total, v)
	}
	out.Components = u.Components
	if len(out.Components) == 0 { // a v1 definition's one component
		c := def.ComponentList()[0]
		out.Components = []ComponentResult{{ID: c.ID, Name: c.Name, Points: c.PointsFor(u.Unit.Type), Score: u.Score, Value: u.Component, Flags: u.Flags}}
	}
	valued := true
	for _, c := range out.Components {
		if c.Value.Valid() {
			total.Add(total, printed(c.Value.r, scorePlaces))
		}
	}
	if !u.Component.Valid() {
		valued = false // no survey value at all: no total
	}
	bonus, penalty := new(big.Rat), new(big.Rat)
	for _, a := range e.Adjustments {
		v, _ := parseExact(a.Points)
		out.Adjustments = append(out.Adjustments, AdjustmentResult{Points: Score{v}, Reason: a.Reason})
		if v.Sign() > 0 {
			bonus.Add(bonus, v)
		} else {
			penalty.Sub(penalty, v)
		}
	}
	if c := def.Total.MaxBonus; c != nil && bonus.Cmp(c.Rat()) > 0 {
		bonus = c.Rat()
	}
	if c := def.Total.MaxPenalty; c != nil && penalty.Cmp(c.Rat()) > 0 {
		penalty = c.Rat()
	}
	out.Bonus, out.Penalty = Score{bonus}, Score{penalty}
	if valued {
		total.Add(total, bonus)
		total.Sub(total, penalty)
		out.Total = Score{total}
	}
	return out
}

// printed is r as printed with places decimals, rounded half up.
func printed(r *big.Rat, places int) *big.Rat {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	return new(big.Rat).SetFrac(roundHalfUp(r, places), scale)
}

// gradeResults ranks and grades the units of the results document by
// §5.4 on the total (by: total) or the survey score, vetoed units apart.
func gradeResults(def *survey.Definition, rr *RoundResult, doc *ResultsDoc) {
	g := def.Grading
	within := survey.WithinType
	if g != nil && g.Within != "" {
		within = g.Within
	}
	for _, idx := range groupsOf(rr.Units, within) {
		cs := make([]Candidate, len(idx))
		for k, i := range idx {
			u := &doc.Units[i]
			v := u.Score.r
			if doc.By == survey.GradeByTotal {
				v = u.Total.r
			}
			cs[k] = Candidate{Value: v, Flags: u.Flags, Vetoed: u.Veto != ""}
			if g != nil {
				cs[k].Keys = unitKeys(g, &rr.Units[i])
			}
		}
		for k, p := range Place(g, cs) {
			u := &doc.Units[idx[k]]
			u.Rank, u.Grade, u.RankOf = p.Rank, p.Grade, len(idx)
		}
	}
}
