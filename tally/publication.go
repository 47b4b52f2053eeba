package tally

import (
	"encoding/json"
	"fmt"

	"github.com/xuri/excelize/v2"

	"minping/survey"
)

// Publication is the 公示 list (CONTRACT §5.5): each unit with its type and
// grade, and its score and total only when the round publishes scores.
type Publication struct {
	Round  RoundRef          `json:"round"`
	Source string            `json:"source"` // "results" (finalized) or "tally" (no total)
	Units  []PublicationUnit `json:"units"`
}

// PublicationUnit is one line of the 公示 list.
type PublicationUnit struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Type  string  `json:"type"`
	Rank  *int    `json:"rank,omitempty"`
	Grade *string `json:"grade"`
	Score *Score  `json:"score,omitempty"`
	Total *Score  `json:"total,omitempty"`
}

// NewPublication builds the 公示 list from the sealed round document and,
// for a round with a total, its finalized results document (nil for a
// round without one). Ranks and scores appear only with publish_scores.
func NewPublication(def *survey.Definition, round *RoundResult, results *ResultsDoc) *Publication {
	p := &Publication{Round: round.Round, Source: "tally", Units: []PublicationUnit{}}
	if results != nil {
		p.Source = "results"
	}
	for i := range round.Units {
		u := &round.Units[i]
		pu := PublicationUnit{ID: u.Unit.ID, Name: u.Unit.Name, Type: u.Unit.Type, Grade: u.Grade}
		if def.PublishScores {
			s := u.Score
			pu.Score, pu.Rank = &s, u.Rank
		}
		if results != nil {
			r := &results.Units[i]
			pu.Grade = r.Grade
			if def.PublishScores {
				t := r.Total
				pu.Total, pu.Rank = &t, r.Rank
			}
		}
		p.Units = append(p.Units, pu)
	}
	return p
}

// Workbook writes the 公示 list as an .xlsx file.
func (p *Publication) Workbook() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	x, err := newSheetWriter(f)
	if err != nil {
		return nil, err
	}
	if err := f.SetSheetName("Sheet1", "公示"); err != nil {
		return nil, err
	}
	x.sheet("公示")
	header := []any{"序号", "单位", "类型", "等次"}
	scores := len(p.Units) > 0 && (p.Units[0].Score != nil || p.Units[0].Total != nil)
	if scores {
		header = append(header, "得分", "总分", "排名")
	}
	x.title(p.Round.Name+" 考核结果公示", len(header))
	x.header(header...)
	for i, u := range p.Units {
		row := []any{i + 1, u.Name, u.Type, deref(u.Grade)}
		if scores {
			row = append(row, scoreCellPtr(u.Score), scoreCellPtr(u.Total), rankCell(u.Rank))
		}
		x.row(row...)
	}
	x.widths(map[string]float64{"A": 6, "B": 28, "C": 16, "D": 10})
	x.printSetup(false, 2, p.Round.Name, "")
	if x.err != nil {
		return nil, x.err
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("write workbook: %w", err)
	}
	return buf.Bytes(), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func scoreCellPtr(s *Score) any {
	if s == nil {
		return ""
	}
	return scoreCell(*s)
}

func rankCell(r *int) any {
	if r == nil {
		return ""
	}
	return *r
}

// DecodeResults reads a results document, as signed, back.
func DecodeResults(doc []byte) (*ResultsDoc, error) {
	var r ResultsDoc
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, fmt.Errorf("decode results document: %w", err)
	}
	return &r, nil
}
