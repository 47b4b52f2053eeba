package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"minping/seal"
	"minping/survey"
	"minping/tally"
)

// seal computes, signs and stores every document of a closed round and
// returns the round document's own fields (its Units empty). The API and
// the console both call it.
func (s *sealer) seal(ctx context.Context, roundID string) (*tally.RoundResult, error) {
	sealed, err := seal.Seal(ctx, s.store, s.key, roundID, s.cfg.Now())
	if err := s.afterSeal(err); err != nil {
		return nil, err
	}
	s.log.Info("round sealed", "round", roundID, "units", sealed.Units, "ballots", sealed.Result.Ballots)
	return sealed.Result, nil
}

func (s *api) sealRound(c *gin.Context) {
	res, err := s.sealer.seal(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": survey.StatusSealed, "config_sha256": res.ConfigSHA256, "ballots_sha256": res.BallotsSHA256})
}

// sealedRound returns the round if it is sealed and the account may read
// unit ("" for the round document, admins only). Someone who may not read a
// unit gets 404, the same as for a unit that does not exist: no hint of
// other units.
func (s *api) sealedRound(c *gin.Context, unit string) (*survey.Round, error) {
	a := account(c)
	id := c.Param("id")
	allowed := a.Role == survey.RoleAdmin || (unit != "" && a.CanRead(id, unit))
	if !allowed {
		return nil, survey.ErrNotFound
	}
	r, err := s.store.Round(c.Request.Context(), id)
	if err != nil {
		return nil, err
	}
	if unit != "" && r.Definition.Unit(unit) == nil {
		return nil, survey.ErrNotFound
	}
	if r.Status != survey.StatusSealed {
		return nil, errNotSealed
	}
	return r, nil
}

// readableRound returns the request's round if it is sealed and the account
// may read some of its units: an administrator, or an appraisal group of
// that round. Others get 404, as for a round that does not exist.
func (s *api) readableRound(c *gin.Context) (*survey.Round, error) {
	a := account(c)
	r, err := s.store.Round(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	if a.Role != survey.RoleAdmin && a.RoundID != r.ID {
		return nil, survey.ErrNotFound
	}
	if r.Status != survey.StatusSealed {
		return nil, errNotSealed
	}
	return r, nil
}

var errNotSealed = fmt.Errorf("the round is not sealed yet: %w", survey.ErrWrongState)

// document serves a sealed document as the exact signed bytes, or with
// sig its signature.
func (s *api) document(unit string, sig bool) func(*gin.Context) {
	return func(c *gin.Context) {
		u := unit
		if u == ":unit" {
			u = c.Param("unit")
		}
		r, err := s.sealedRound(c, u)
		if err != nil {
			s.fail(c, err)
			return
		}
		d, err := s.store.Document(c.Request.Context(), c.Param("id"), u)
		if err != nil {
			s.fail(c, err)
			return
		}
		name := r.Name
		if ru := r.Definition.Unit(u); ru != nil {
			name = ru.Name
		}
		c.Header("Cache-Control", "private, no-store")
		if sig {
			attachment(c, name+"-测评结果.sig", "minping-tally.sig")
			c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(d.Signature))
			return
		}
		attachment(c, name+"-测评结果.json", "minping-tally.json")
		c.Data(http.StatusOK, "application/json", d.Body)
	}
}

// export serves the sealed results of the units the account may read as an
// Excel workbook, or (csv) the summary as CSV. Figures come from the signed
// round document, filtered to the account's units.
func (s *api) export(csv bool) func(*gin.Context) {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		a := account(c)
		r, err := s.readableRound(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		d, err := s.store.Document(ctx, r.ID, "")
		if err != nil {
			s.fail(c, err)
			return
		}
		res, err := tally.DecodeRound(d.Body)
		if err != nil {
			s.fail(c, fmt.Errorf("export: %w", err))
			return
		}
		keep := func(unit string) bool { return a.CanRead(r.ID, unit) }
		c.Header("Cache-Control", "private, no-store")
		if csv {
			attachment(c, r.Name+"-测评结果汇总.csv", "minping-summary.csv")
			c.Data(http.StatusOK, "text/csv; charset=utf-8", tally.SummaryCSV(r.Definition, s.forPeople(res), keep))
			return
		}
		// The whole workbook is built once and kept: a download is a read.
		// (A province's, 2,001 sheets, took 18 s and 1 GB to build.) A
		// reader of some units gets theirs built, small, each time.
		all := true
		for _, u := range r.Definition.Units {
			all = all && keep(u.ID)
		}
		if all {
			if b, err := s.store.Export(ctx, r.ID, "tally.xlsx"); err == nil {
				attachment(c, r.Name+"-测评结果.xlsx", "minping-tally.xlsx")
				c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b)
				return
			}
		}
		// The totals, once finalized, are a sheet of their own.
		var results *tally.ResultsDoc
		if rd, err := s.store.Document(ctx, r.ID, survey.ResultsDocument); err == nil {
			if results, err = tally.DecodeResults(rd.Body); err != nil {
				s.fail(c, fmt.Errorf("export: %w", err))
				return
			}
		}
		b, err := tally.Workbook(r.Definition, s.forPeople(res), results, keep)
		if err != nil {
			s.fail(c, err)
			return
		}
		if all {
			if err := s.store.SaveExport(ctx, r.ID, "tally.xlsx", b); err != nil {
				s.log.Error("keep the workbook", "round", r.ID, "err", err) // it is served all the same
			}
		}
		attachment(c, r.Name+"-测评结果.xlsx", "minping-tally.xlsx")
		c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b)
	}
}

// attachment names a download: name as the browser should save it (RFC
// 6266, UTF-8), with an ASCII name for clients that take no other.
func attachment(c *gin.Context, name, ascii string) {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, name)
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(name)))
}
