package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"minping/seal"
	"minping/survey"
	"minping/tally"
)

// Totals after the seal (CONTRACT §5.3): the organiser enters each unit's
// outside parts, adjustments and veto, then finalizes, which signs the
// results document; until then no grade by total is published.

// putResults replaces a sealed round's entries: every problem is listed and
// nothing is saved unless all are valid.
func (s *api) putResults(c *gin.Context) {
	ctx := c.Request.Context()
	r, err := s.store.Round(ctx, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if r.Status != survey.StatusSealed {
		s.fail(c, errNotSealed)
		return
	}
	var entries []tally.Entry
	if err := bindJSON(c, &entries); err != nil {
		s.fail(c, err)
		return
	}
	n, err := s.sealer.saveResults(c, r, entries)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"units": n, "of": len(r.Definition.Units)})
}

// saveResults checks and stores a round's entries, and returns how many
// units they cover.
func (s *sealer) saveResults(c *gin.Context, r *survey.Round, entries []tally.Entry) (int, error) {
	if err := tally.CheckEntries(r.Definition, entries); err != nil {
		return 0, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(entries); err != nil {
		return 0, err
	}
	if err := s.store.SaveResults(c.Request.Context(), r.ID, b.Bytes()); err != nil {
		return 0, err
	}
	s.log.Info("results entered", "round", r.ID, "units", len(entries))
	return len(entries), nil
}

// finalize signs the results document of a sealed round.
func (s *api) finalize(c *gin.Context) {
	doc, err := s.sealer.finalize(c, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "finalized", "bytes": len(doc)})
}

func (s *sealer) finalize(c *gin.Context, id string) ([]byte, error) {
	doc, err := seal.Finalize(c.Request.Context(), s.store, s.key, id, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	s.log.Info("results finalized", "round", id)
	return doc, nil
}

// results serves the finalized results document as signed, or with sig
// its signature; 409 before finalize.
func (s *api) results(sig bool) func(*gin.Context) {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		r, err := s.store.Round(ctx, c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		d, err := s.store.Document(ctx, r.ID, survey.ResultsDocument)
		if errors.Is(err, survey.ErrNotFound) {
			s.fail(c, errNotFinalized)
			return
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Header("Cache-Control", "private, no-store")
		if sig {
			attachment(c, r.Name+"-考核结果.sig", "minping-results.sig")
			c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(d.Signature))
			return
		}
		attachment(c, r.Name+"-考核结果.json", "minping-results.json")
		c.Data(http.StatusOK, "application/json", d.Body)
	}
}

var errNotFinalized = &stateError{"考核结果尚未定稿（请先录入各单位得分并定稿）"}

// stateError is a 409 with its own message.
type stateError struct{ msg string }

func (e *stateError) Error() string { return e.msg }
func (e *stateError) Unwrap() error { return survey.ErrWrongState }

// publicationView is the printable 公示 page.
type publicationView struct {
	*tally.Publication
	Scores bool
}

// publication serves the 公示 list (CONTRACT §5.5) once results may be
// published: after finalize, or after the seal for a round without a
// total. As JSON, as a printable page (Accept: text/html), or as .xlsx.
func (s *api) publication(format string) func(*gin.Context) {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		r, err := s.store.Round(ctx, c.Param("id"))
		if err != nil {
			s.fail(c, err)
			return
		}
		if r.Status != survey.StatusSealed {
			s.fail(c, errNotSealed)
			return
		}
		p, err := s.sealer.publication(c, r)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Header("Cache-Control", "private, no-store")
		switch {
		case format == "xlsx":
			b, err := p.Workbook()
			if err != nil {
				s.fail(c, err)
				return
			}
			attachment(c, r.Name+"-公示名单.xlsx", "minping-publication.xlsx")
			c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b)
		case format == "html" || wantsHTML(c):
			s.html(c, http.StatusOK, "publication", publicationView{p, r.Definition.PublishScores})
		default:
			c.JSON(http.StatusOK, p)
		}
	}
}

// publication builds a sealed round's 公示 list: from its finalized results
// when it has a total (409 before), else from the sealed round document.
func (s *sealer) publication(c *gin.Context, r *survey.Round) (*tally.Publication, error) {
	ctx := c.Request.Context()
	d, err := s.store.Document(ctx, r.ID, "")
	if err != nil {
		return nil, err
	}
	round, err := tally.DecodeRound(d.Body)
	if err != nil {
		return nil, err
	}
	var results *tally.ResultsDoc
	if r.Definition.Total != nil {
		rd, err := s.store.Document(ctx, r.ID, survey.ResultsDocument)
		if errors.Is(err, survey.ErrNotFound) {
			return nil, errNotFinalized
		}
		if err != nil {
			return nil, err
		}
		if results, err = tally.DecodeResults(rd.Body); err != nil {
			return nil, err
		}
	}
	return tally.NewPublication(r.Definition, round, results), nil
}

// letterView is a unit's feedback letter: its own sealed document, and
// nothing about any other unit.
type letterView struct {
	Round string
	Unit  *tally.UnitResult
	Team  []tally.FormResult
	Flags []string
}

// letter serves a unit's feedback letter (结果反馈, CONTRACT §5.5) to an
// administrator, the unit's appraisal group, or the round's organiser, who
// sends it.
func (s *api) letter(c *gin.Context) {
	unit := c.Param("unit")
	var r *survey.Round
	var err error
	if a := account(c); a.Role == survey.RoleOrganiser && a.CanManage(c.Param("id")) {
		r, err = s.store.Round(c.Request.Context(), c.Param("id"))
		if err == nil && (r.Definition.Unit(unit) == nil) {
			err = survey.ErrNotFound
		} else if err == nil && r.Status != survey.StatusSealed {
			err = errNotSealed
		}
	} else {
		r, err = s.sealedRound(c, unit)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	d, err := s.store.Document(c.Request.Context(), r.ID, unit)
	if err != nil {
		s.fail(c, err)
		return
	}
	u, err := tally.DecodeUnit(d.Body)
	if err != nil {
		s.fail(c, err)
		return
	}
	v := letterView{Round: r.Name, Unit: u}
	for _, sr := range u.Subjects {
		if sr.ID == survey.TeamSubject {
			v.Team = sr.Forms
		}
	}
	v.Flags = tally.FlagTexts(r.Definition, u.Flags, v.Team)
	c.Header("Cache-Control", "private, no-store")
	s.html(c, http.StatusOK, "letter", v)
}
