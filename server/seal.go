package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"minping/survey"
	"minping/survey/sqlite"
	"minping/tally"
)

// computeDocuments counts a round's stored ballots and writes its documents,
// as sealed at sealedAt. Seal and recount both call it, so a recount redoes
// exactly what the seal did.
func computeDocuments(ctx context.Context, store *sqlite.Store, r *survey.Round, sealedAt time.Time) (*tally.Documents, error) {
	counter, err := countBallots(ctx, store, r, runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, fmt.Errorf("count ballots: %w", err)
	}
	t, err := turnout(ctx, store, r.ID)
	if err != nil {
		return nil, err
	}
	return counter.Documents(t, tally.Meta{
		RoundID: r.ID, RoundName: r.Name, ConfigSHA256: r.ConfigSHA256,
		SealedAt: sealedAt.UTC().Format(time.RFC3339),
	})
}

// turnout is a round's turnout as the tally takes it.
func turnout(ctx context.Context, store *sqlite.Store, roundID string) (tally.Turnout, error) {
	ts, err := store.Turnout(ctx, roundID)
	if err != nil {
		return nil, err
	}
	t := tally.Turnout{}
	for _, u := range ts {
		t[u.Unit] = map[string]tally.Count{}
		for _, c := range u.Categories {
			t[u.Unit][c.Category] = tally.Count{Issued: c.Count.Issued, Voted: c.Count.Voted}
		}
	}
	return t, nil
}

// countBallots counts a round's stored ballots in parts, each part read and
// counted on its own goroutine, and merges the counts: reading SQLite rows
// is most of a seal's work, and one reader used one core. At most 4 parts,
// so that the console and the API keep readers of the pool while it runs.
func countBallots(ctx context.Context, store *sqlite.Store, r *survey.Round, parts int) (*tally.Counter, error) {
	parts = min(max(parts, 1), 4)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	counters := make([]*tally.Counter, parts)
	var first error // the error that stopped the count; the others follow from it
	var once sync.Once
	var wg sync.WaitGroup
	for i := range parts {
		counters[i] = tally.NewCounter(r.Definition)
		wg.Go(func() {
			if err := store.EachBallotPart(ctx, r.ID, i, parts, counters[i].Add); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	for _, c := range counters[1:] {
		if err := counters[0].Merge(c); err != nil {
			return nil, err
		}
	}
	return counters[0], nil
}

// seal computes, signs and stores every document of a closed round and
// returns the round document's result. The API and the console both call it.
func (s *server) seal(ctx context.Context, roundID string) (*tally.RoundResult, error) {
	r, err := s.store.Round(ctx, roundID)
	if err != nil {
		return nil, err
	}
	if r.Status != survey.StatusClosed {
		return nil, fmt.Errorf("seal: %w", survey.ErrWrongState)
	}
	sealedAt := survey.SealTime(s.cfg.now())
	docs, err := computeDocuments(ctx, s.store, r, sealedAt)
	if err != nil {
		return nil, err
	}
	signed := []survey.SealedDocument{{Unit: "", Body: docs.Round, Signature: tally.Sign(s.sealKey, docs.Round)}}
	for _, u := range docs.Units {
		signed = append(signed, survey.SealedDocument{Unit: u.ID, Body: u.Bytes, Signature: tally.Sign(s.sealKey, u.Bytes)})
	}
	if err := s.afterChange("seal", s.store.Seal(ctx, r.ID, sealedAt, signed)); err != nil {
		return nil, err
	}
	s.log.Info("round sealed", "round", r.ID, "units", len(docs.Units), "ballots", docs.Result.Ballots)
	return docs.Result, nil
}

func (s *server) sealRound(c *gin.Context) {
	res, err := s.seal(c.Request.Context(), c.Param("id"))
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
func (s *server) sealedRound(c *gin.Context, unit string) (*survey.Round, error) {
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
func (s *server) readableRound(c *gin.Context) (*survey.Round, error) {
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
func (s *server) document(unit string, sig bool) func(*gin.Context) {
	return func(c *gin.Context) {
		u := unit
		if u == ":unit" {
			u = c.Param("unit")
		}
		if _, err := s.sealedRound(c, u); err != nil {
			s.fail(c, err)
			return
		}
		d, err := s.store.Document(c.Request.Context(), c.Param("id"), u)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Header("Cache-Control", "private, no-cache")
		if sig {
			c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(d.Signature))
			return
		}
		c.Data(http.StatusOK, "application/json", d.Body)
	}
}

// recountCommand recomputes every document of a sealed round from the
// stored ballots and reports whether each is byte-identical to the sealed
// one: the tool for 复核 and 申诉. Exit 0 iff all are.
func recountCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags(nil, getenv, stderr)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("recount", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data directory (MINPING_DATA)")
	fs.StringVar(&cfg.DB, "db", cfg.DB, "SQLite database file (MINPING_DB); default DATA/minping.db")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("usage: minping recount [--data DIR] ROUND")}
	}
	store, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer store.Close()
	r, err := store.Round(ctx, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("recount: %w", err)
	}
	if r.Status != survey.StatusSealed || r.SealedAt == nil {
		return fmt.Errorf("recount: round %s is %s, not sealed", r.ID, r.Status)
	}
	docs, err := computeDocuments(ctx, store, r, *r.SealedAt)
	if err != nil {
		return fmt.Errorf("recount: %w", err)
	}
	type pair struct {
		unit string
		got  []byte
	}
	pairs := []pair{{"", docs.Round}}
	for _, u := range docs.Units {
		pairs = append(pairs, pair{u.ID, u.Bytes})
	}
	differ := 0
	for _, p := range pairs {
		name := "round document"
		if p.unit != "" {
			name = "unit " + p.unit
		}
		sealed, err := store.Document(ctx, r.ID, p.unit)
		switch {
		case err != nil:
			differ++
			fmt.Fprintf(stdout, "MISSING    %s: %v\n", name, err)
		case bytes.Equal(sealed.Body, p.got):
			fmt.Fprintf(stdout, "identical  %s (%d bytes)\n", name, len(p.got))
		default:
			differ++
			fmt.Fprintf(stdout, "DIFFERENT  %s: the recount does not reproduce the sealed bytes\n", name)
		}
	}
	if differ > 0 {
		return fmt.Errorf("recount: %d of %d documents differ from the sealed ones", differ, len(pairs))
	}
	fmt.Fprintf(stdout, "recount of %q: all %d documents identical to the sealed ones (ballots_sha256 %s)\n", r.Name, len(pairs), docs.Result.BallotsSHA256)
	return nil
}

// export serves the sealed results of the units the account may read as an
// Excel workbook, or (csv) the summary as CSV. Figures come from the signed
// round document, filtered to the account's units.
func (s *server) export(csv bool) func(*gin.Context) {
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
			c.Header("Content-Disposition", `attachment; filename="minping-summary.csv"`)
			c.Data(http.StatusOK, "text/csv; charset=utf-8", tally.SummaryCSV(r.Definition, res, keep))
			return
		}
		b, err := tally.Workbook(r.Definition, res, keep)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Header("Content-Disposition", `attachment; filename="minping-tally.xlsx"`)
		c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b)
	}
}
