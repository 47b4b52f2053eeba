package tally

import (
	"bytes"
	"encoding/json"
	"fmt"

	"minping/survey"
)

// RoundResult is the round document: the round's fingerprints and every
// unit's result, in definition order.
type RoundResult struct {
	Round         RoundRef     `json:"round"`
	ConfigSHA256  string       `json:"config_sha256"`
	BallotsSHA256 string       `json:"ballots_sha256"`
	SealedAt      string       `json:"sealed_at"`
	Ballots       int          `json:"ballots"`
	Issued        int          `json:"issued"`
	Voted         int          `json:"voted"`
	Turnout       Share        `json:"turnout"`
	Units         []UnitResult `json:"units"`
}

// RoundRef names the round a document belongs to.
type RoundRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// UnitRef names a unit.
type UnitRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// UnitResult is a unit document (CONTRACT §4): turnout, the team's score
// and component, rank and grade within the unit type, flags, every subject's
// figures and the voter categories.
type UnitResult struct {
	Round         RoundRef `json:"round"`
	Unit          UnitRef  `json:"unit"`
	ConfigSHA256  string   `json:"config_sha256"`
	BallotsSHA256 string   `json:"ballots_sha256"`
	SealedAt      string   `json:"sealed_at"`
	Ballots       int      `json:"ballots"`
	Issued        int      `json:"issued"`
	Voted         int      `json:"voted"`
	Turnout       Share    `json:"turnout"`
	QuorumMet     bool     `json:"quorum_met"`
	Score         Score    `json:"score"`
	Component     Score    `json:"component"`
	// Components are the unit's components (CONTRACT §5.2); a v1
	// definition's one component is score and component alone.
	Components []ComponentResult `json:"components,omitempty"`
	Rank       *int              `json:"rank"`
	RankOf     int               `json:"rank_of"`
	Grade      *string           `json:"grade"`
	Flags      []string          `json:"flags"`
	// BreakdownWithheld is set when some category of the unit is small, so
	// that no category's figures are shown.
	BreakdownWithheld bool             `json:"breakdown_withheld"`
	Subjects          []SubjectResult  `json:"subjects"`
	Categories        []CategoryResult `json:"categories"`
}

// SubjectResult is the pooled result of one subject: the team, or a member.
type SubjectResult struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Post       string            `json:"post,omitempty"`
	Score      Score             `json:"score"`
	Component  Score             `json:"component"`
	Components []ComponentResult `json:"components,omitempty"`
	// Rank and Grade are a member's, under member_grading.
	Rank   *int         `json:"rank,omitempty"`
	RankOf int          `json:"rank_of,omitempty"`
	Grade  *string      `json:"grade,omitempty"`
	Flags  []string     `json:"flags"`
	Forms  []FormResult `json:"forms"`
}

// ComponentResult is one component of a subject's score (CONTRACT §5.2):
// its score over its own forms and weights, and the value that score is
// worth of its points.
type ComponentResult struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Points survey.Decimal `json:"points"`
	Score  Score          `json:"score"`
	Value  Score          `json:"value"`
	Flags  []string       `json:"flags"`
}

// ComponentWeight is a category's weight in one component.
type ComponentWeight struct {
	Component string         `json:"component"`
	Weight    survey.Decimal `json:"weight"`
}

// FormResult is one form's result for a subject: its score, the shares of
// each option (over the overall row when the form has one, else over all its
// items) and the share flags they raise.
type FormResult struct {
	ID     string         `json:"id"`
	Title  string         `json:"title"`
	Weight survey.Decimal `json:"weight"`
	// Reference marks a form counted and reported but not scored
	// (scored: false).
	Reference bool  `json:"reference,omitempty"`
	Score     Score `json:"score"`
	// Valid is the number of valid votes the shares are over.
	Valid   int            `json:"valid"`
	Shares  Shares         `json:"shares"`
	Flags   []string       `json:"flags"`
	Items   []ItemResult   `json:"items"`
	Overall *OverallResult `json:"overall,omitempty"`
}

// ItemResult is one scored item of a form, all categories pooled.
type ItemResult struct {
	Name    string         `json:"name"`
	Weight  survey.Decimal `json:"weight"`
	Score   Score          `json:"score"`
	Counts  Counts         `json:"counts"`
	Abstain int            `json:"abstain"`
	Valid   int            `json:"valid"`
}

// OverallResult is a form's overall row (综合评价): counted, not scored.
type OverallResult struct {
	Name    string `json:"name"`
	Counts  Counts `json:"counts"`
	Abstain int    `json:"abstain"`
	Valid   int    `json:"valid"`
}

// CategoryResult is one voter category of a unit: its weight there, its
// turnout and, unless withheld, its own scores.
type CategoryResult struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Weight survey.Decimal `json:"weight,omitzero"`
	// Weights are the category's weight in each component it counts in,
	// when the definition has components.
	Weights []ComponentWeight `json:"weights,omitempty"`
	Issued  int               `json:"issued"`
	Voted   int               `json:"voted"`
	Turnout Share             `json:"turnout"`
	// Withheld marks a small category (1 ≤ ballots < min_group).
	Withheld bool `json:"withheld"`
	// Subjects holds the category's own scores; it is empty when the
	// unit's breakdown is withheld or the category has no ballots.
	Subjects []CategorySubject `json:"subjects,omitempty"`
}

// CategorySubject is one category's scores for a subject.
type CategorySubject struct {
	ID    string         `json:"id"`
	Score Score          `json:"score"`
	Forms []CategoryForm `json:"forms"`
}

// CategoryForm is one category's scores on a form for a subject.
type CategoryForm struct {
	ID    string         `json:"id"`
	Score Score          `json:"score"`
	Items []CategoryItem `json:"items"`
}

// CategoryItem is one category's mean on an item and its valid votes.
type CategoryItem struct {
	Name  string `json:"name"`
	Score Score  `json:"score"`
	Valid int    `json:"valid"`
}

// Counts is the number of votes for each option of a scale, in scale order.
// It is written as a JSON object whose keys keep that order.
type Counts []LabelCount

// LabelCount is the number of votes for one option.
type LabelCount struct {
	Label string
	Count int
}

// Shares is the share of each option of a scale, in scale order; it is
// written as a JSON object whose keys keep that order, or null when there
// were no valid votes.
type Shares []LabelShare

// LabelShare is the share of one option.
type LabelShare struct {
	Label string
	Share Share
}

// MarshalJSON writes the counts as an object in scale order.
func (cs Counts) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(c.Label))
		fmt.Fprintf(&b, ":%d", c.Count)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an object, keeping its key order.
func (cs *Counts) UnmarshalJSON(b []byte) error {
	out := Counts{}
	err := decodeOrdered(b, func(label string, raw json.RawMessage) error {
		var n int
		if err := json.Unmarshal(raw, &n); err != nil {
			return err
		}
		out = append(out, LabelCount{label, n})
		return nil
	})
	*cs = out
	return err
}

// MarshalJSON writes the shares as an object in scale order, or null.
func (ss Shares) MarshalJSON() ([]byte, error) {
	if ss == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(s.Label))
		b.WriteByte(':')
		v, _ := s.Share.MarshalJSON()
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an object, keeping its key order, or null.
func (ss *Shares) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*ss = nil
		return nil
	}
	out := Shares{}
	err := decodeOrdered(b, func(label string, raw json.RawMessage) error {
		var s Share
		if err := s.UnmarshalJSON(raw); err != nil {
			return err
		}
		out = append(out, LabelShare{label, s})
		return nil
	})
	*ss = out
	return err
}

// Of returns the share of the option with the label.
func (ss Shares) Of(label string) Share {
	for _, s := range ss {
		if s.Label == label {
			return s.Share
		}
	}
	return Share{}
}

func decodeOrdered(b []byte, each func(string, json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("%.40s is not an object", b)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if err := each(t.(string), raw); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// jsonString writes s as a JSON string, without the HTML escaping that
// encoding/json applies by default, like the rest of a document.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// encode writes v as a canonical document: UTF-8 JSON, fields in declaration
// order, maps in scale order, two-space indentation, no HTML escaping and a
// final newline. The same values give the same bytes.
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// DecodeRound reads a round document, as sealed, back into its result.
// Scores and shares then hold their printed values.
func DecodeRound(doc []byte) (*RoundResult, error) {
	var r RoundResult
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, fmt.Errorf("decode round document: %w", err)
	}
	return &r, nil
}

// DecodeUnit reads a unit document, as sealed, back into its result.
func DecodeUnit(doc []byte) (*UnitResult, error) {
	var u UnitResult
	if err := json.Unmarshal(doc, &u); err != nil {
		return nil, fmt.Errorf("decode unit document: %w", err)
	}
	return &u, nil
}
