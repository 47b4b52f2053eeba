package tally

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"minping/survey"
)

// Merged is a merged document (CONTRACT §5.4 across servers): the units of
// several regional servers' sealed round documents, ranked and graded
// together by one grading, naming each source by its fingerprints and key.
type Merged struct {
	Grading *survey.Grading `json:"grading"`
	Sources []MergeSource   `json:"sources"`
	Units   []MergedUnit    `json:"units"`
}

// MergeSource is one source round document.
type MergeSource struct {
	Round        RoundRef `json:"round"`
	ConfigSHA256 string   `json:"config_sha256"`
	TallySHA256  string   `json:"tally_sha256"` // of the signed document's bytes
	PubKey       string   `json:"pubkey"`       // the key its signature verified under
}

// MergedUnit is a unit of a source, with its place across all sources.
type MergedUnit struct {
	Source    int      `json:"source"` // index into sources
	Unit      UnitRef  `json:"unit"`
	Score     Score    `json:"score"`
	Component Score    `json:"component"`
	Flags     []string `json:"flags"`
	Rank      *int     `json:"rank"`
	RankOf    int      `json:"rank_of"`
	Grade     *string  `json:"grade"`
}

// MergeInput is a source's signed document with the key it verified under.
type MergeInput struct {
	Doc    []byte
	PubKey string
}

// Merge ranks and grades the units of several sealed round documents as
// one group (or by unit type, as g says), by §5.4 on their scores as
// sealed, tie-breakers included; unit ids must not repeat across sources.
// The signatures are the caller's to verify first. The same inputs give
// the same bytes.
func Merge(g *survey.Grading, inputs []MergeInput) ([]byte, *Merged, error) {
	m := &Merged{Grading: g, Sources: []MergeSource{}, Units: []MergedUnit{}}
	var all []UnitResult
	seen := map[string]int{}
	for i, in := range inputs {
		rr, err := DecodeRound(in.Doc)
		if err != nil {
			return nil, nil, fmt.Errorf("source %d: %w", i+1, err)
		}
		sum := sha256.Sum256(in.Doc)
		m.Sources = append(m.Sources, MergeSource{Round: rr.Round, ConfigSHA256: rr.ConfigSHA256,
			TallySHA256: hex.EncodeToString(sum[:]), PubKey: in.PubKey})
		for _, u := range rr.Units {
			if prev, dup := seen[u.Unit.ID]; dup {
				return nil, nil, fmt.Errorf("unit %q is in source %d and source %d: unit ids must differ across the merged rounds", u.Unit.ID, prev+1, i+1)
			}
			seen[u.Unit.ID] = i
			all = append(all, u)
			m.Units = append(m.Units, MergedUnit{Source: i, Unit: u.Unit, Score: u.Score, Component: u.Component, Flags: u.Flags})
		}
	}
	within := survey.WithinRound
	if g != nil && g.Within != "" {
		within = g.Within
	}
	for _, idx := range groupsOf(all, within) {
		cs := make([]Candidate, len(idx))
		for k, i := range idx {
			cs[k] = Candidate{Value: all[i].Score.r, Flags: all[i].Flags}
			if g != nil {
				cs[k].Keys = unitKeys(g, &all[i])
			}
		}
		for k, p := range Place(g, cs) {
			u := &m.Units[idx[k]]
			u.Rank, u.Grade, u.RankOf = p.Rank, p.Grade, len(idx)
		}
	}
	b, err := encode(m)
	if err != nil {
		return nil, nil, err
	}
	return b, m, nil
}
