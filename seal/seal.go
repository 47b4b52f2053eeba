// Package seal is the seal and recount use case: count a closed round's
// stored ballots in parallel parts, turn the counts into the tally's
// documents, sign each and store them with the round frozen; and, for
// review (复核, 申诉), recount a sealed round from its ballots and compare
// the result with the sealed bytes. The API, the console and the recount
// command all go through here, so a recount redoes exactly what the seal did.
package seal

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"minping/survey"
	"minping/tally"
)

// Ballots is what counting a round reads from a store.
type Ballots interface {
	Turnout(ctx context.Context, roundID string) ([]survey.UnitTurnout, error)
	EachBallotPart(ctx context.Context, roundID string, part, parts int, fn func(unit, category, part string, answers []byte) error) error
}

// Store is what sealing and recounting need of a store. A store that
// can also take the documents one at a time implements EachSealer, and
// a seal then holds none of them once stored.
type Store interface {
	Ballots
	Round(ctx context.Context, id string) (*survey.Round, error)
	Seal(ctx context.Context, roundID string, sealedAt time.Time, docs []survey.SealedDocument, drop []survey.Group) error
	Document(ctx context.Context, roundID, unit string) (*survey.SealedDocument, error)
}

// EachSealer is a store that seals a round with its documents handed over
// one at a time. SealEach does what Seal does, in one transaction; inside
// it, once the round is found closed, it calls write, which calls put
// with each document as it is made, so that neither side holds them all
// (a province's are over 100 MB). An error from write or put rolls the
// seal back and is returned. ErrWrongState unless the round is closed.
type EachSealer interface {
	SealEach(ctx context.Context, roundID string, sealedAt time.Time, drop []survey.Group, write func(put func(survey.SealedDocument) error) error) error
}

// bigDocument is the size of a round document from which the seal returns
// freed memory to the system before storing it.
const bigDocument = 8 << 20

// maxParts bounds the goroutines that read ballots at once, so that the
// console and the API keep readers of the store's pool while a seal runs.
const maxParts = 4

// Compute counts a round's stored ballots and prepares its documents as
// sealed at sealedAt, to be written one at a time. Reading rows is most of
// a seal's work, so the ballots are read in parts, each counted on its own
// goroutine, and merged.
func Compute(ctx context.Context, store Ballots, r *survey.Round, sealedAt time.Time) (*tally.Sealing, error) {
	counter, err := count(ctx, store, r, runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, fmt.Errorf("count ballots: %w", err)
	}
	t, err := turnout(ctx, store, r.ID)
	if err != nil {
		return nil, err
	}
	return counter.Prepare(t, tally.Meta{
		RoundID: r.ID, RoundName: r.Name, ConfigSHA256: r.ConfigSHA256,
		SealedAt: sealedAt.UTC().Format(time.RFC3339),
	})
}

// turnout is a round's turnout as the tally takes it.
func turnout(ctx context.Context, store Ballots, roundID string) (tally.Turnout, error) {
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

// count reads a round's ballots in parts (at most maxParts), each counted on
// its own goroutine, and merges the counts. The first error stops them all.
func count(ctx context.Context, store Ballots, r *survey.Round, parts int) (*tally.Counter, error) {
	parts = min(max(parts, 1), maxParts)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	counters := make([]*tally.Counter, parts)
	var first error // the error that stopped the count; the others follow from it
	var once sync.Once
	var wg sync.WaitGroup
	for i := range parts {
		counters[i] = tally.NewCounter(r.Definition)
		wg.Go(func() {
			if err := store.EachBallotPart(ctx, r.ID, i, parts, counters[i].AddPart); err != nil {
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

// Sealed is what a seal reports once its documents are stored.
type Sealed struct {
	// Result is the round document's own fields (fingerprints, ballots,
	// turnout); its Units are empty, each unit's result being in its
	// document.
	Result *tally.RoundResult
	// Excluded are the small groups whose ballots entered no figure and
	// were deleted.
	Excluded []survey.Group
	// Units is the number of unit documents; RoundBytes the size of the
	// round document.
	Units      int
	RoundBytes int
}

// Seal computes, signs with key and stores every document of a closed
// round, sealed at now (to the second); the ballots of small groups that
// entered no document go (a recount without them gives the same bytes,
// and none is left that is one known person's). Each document goes to the
// store as soon as it is written and signed, the round document last:
// none is held once stored. ErrWrongState unless the round is closed. An
// error from storing them comes with what was sealed, for a store that
// reports a completed seal with a warning (sqlite.ErrCompactIncomplete).
func Seal(ctx context.Context, store Store, key ed25519.PrivateKey, roundID string, now time.Time) (*Sealed, error) {
	r, err := store.Round(ctx, roundID)
	if err != nil {
		return nil, err
	}
	if r.Status != survey.StatusClosed {
		return nil, fmt.Errorf("seal: %w", survey.ErrWrongState)
	}
	sealedAt := survey.SealTime(now)
	docs, err := Compute(ctx, store, r, sealedAt)
	if err != nil {
		return nil, err
	}
	sealed := &Sealed{Result: docs.Result, Excluded: docs.Excluded}
	write := func(put func(survey.SealedDocument) error) error {
		round, err := docs.Write(func(u tally.UnitDoc) error {
			sealed.Units++
			return put(survey.SealedDocument{Unit: u.ID, Body: u.Bytes, Signature: tally.Sign(key, u.Bytes)})
		})
		if err != nil {
			return err
		}
		sealed.RoundBytes = len(round)
		if len(round) > bigDocument {
			// SQLite copies a document twice as it stores it (binding,
			// then the record): for a province's round document, over
			// 100 MB beside it. Give back first the memory that making
			// the unit documents freed, which Go keeps for a while.
			debug.FreeOSMemory()
		}
		return put(survey.SealedDocument{Unit: "", Body: round, Signature: tally.Sign(key, round)})
	}
	if es, ok := store.(EachSealer); ok {
		err = es.SealEach(ctx, r.ID, sealedAt, docs.Excluded, write)
	} else { // every document at once, held until stored
		var all []survey.SealedDocument
		err = write(func(d survey.SealedDocument) error { all = append(all, d); return nil })
		if err == nil {
			err = store.Seal(ctx, r.ID, sealedAt, all, docs.Excluded)
		}
	}
	if err != nil {
		return sealed, fmt.Errorf("seal: %w", err)
	}
	return sealed, nil
}

// Outcome is how one recounted document compares with the sealed one.
type Outcome int

// The outcomes of a recounted document.
const (
	Identical Outcome = iota // the recount reproduces the sealed bytes
	Different                // it does not
	Missing                  // no sealed document to compare with
)

// Check is one document of a recount.
type Check struct {
	Unit    string // "" for the round document
	Outcome Outcome
	Size    int   // bytes of the recounted document
	Err     error // why a document is Missing
}

// Report is the outcome of a recount.
type Report struct {
	Round  *survey.Round
	Checks []Check // the round document first, then each unit's
	// BallotsSHA256 is the digest of the ballot set recounted.
	BallotsSHA256 string
}

// Identical reports whether every document was reproduced byte for byte.
func (r *Report) Identical() bool {
	for _, c := range r.Checks {
		if c.Outcome != Identical {
			return false
		}
	}
	return true
}

// Recount recomputes every document of a sealed round from its stored
// ballots, as sealed at its recorded time, and compares each with the
// sealed bytes. ErrWrongState unless the round is sealed.
func Recount(ctx context.Context, store Store, roundID string) (*Report, error) {
	r, err := store.Round(ctx, roundID)
	if err != nil {
		return nil, err
	}
	if r.Status != survey.StatusSealed || r.SealedAt == nil {
		return nil, fmt.Errorf("round %s is %s, not sealed: %w", r.ID, r.Status, survey.ErrWrongState)
	}
	docs, err := Compute(ctx, store, r, *r.SealedAt)
	if err != nil {
		return nil, err
	}
	rep := &Report{Round: r, BallotsSHA256: docs.Result.BallotsSHA256}
	compare := func(unit string, got []byte) Check {
		c := Check{Unit: unit, Size: len(got)}
		sealed, err := store.Document(ctx, r.ID, unit)
		switch {
		case err != nil:
			c.Outcome, c.Err = Missing, err
		case !bytes.Equal(sealed.Body, got):
			c.Outcome = Different
		}
		return c
	}
	// Each document is compared as it is written, as the seal stored it;
	// the round document, written last, is reported first.
	var units []Check
	round, err := docs.Write(func(u tally.UnitDoc) error {
		units = append(units, compare(u.ID, u.Bytes))
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.Checks = append([]Check{compare("", round)}, units...)
	// A finalized round's results document is derived again, from the
	// sealed round document and the entries, and compared too.
	if rs, ok := store.(Results); ok {
		if _, at, err := rs.Results(ctx, r.ID); err == nil && at != nil {
			doc, err := deriveResults(ctx, rs, r, *at)
			if err != nil {
				return nil, err
			}
			rep.Checks = append(rep.Checks, compare(survey.ResultsDocument, doc))
		}
	}
	return rep, nil
}

// Results is what finalizing a round's results needs of a store.
type Results interface {
	Store
	Results(ctx context.Context, roundID string) (entries []byte, finalizedAt *time.Time, err error)
	Finalize(ctx context.Context, roundID string, at time.Time, doc survey.SealedDocument) error
}

// Finalize derives, signs with key and stores a sealed round's results
// document (CONTRACT §5.3) from its sealed round document and the entries
// made since, finalized at now (to the second). ErrWrongState unless the
// round is sealed with results entered and not yet finalized; a
// *survey.ValidationError lists the units without an entry.
func Finalize(ctx context.Context, store Results, key ed25519.PrivateKey, roundID string, now time.Time) ([]byte, error) {
	r, err := store.Round(ctx, roundID)
	if err != nil {
		return nil, err
	}
	if r.Status != survey.StatusSealed {
		return nil, fmt.Errorf("finalize: %w", survey.ErrWrongState)
	}
	at := survey.SealTime(now)
	doc, err := deriveResults(ctx, store, r, at)
	if err != nil {
		return nil, err
	}
	if err := store.Finalize(ctx, r.ID, at, survey.SealedDocument{Unit: survey.ResultsDocument, Body: doc, Signature: tally.Sign(key, doc)}); err != nil {
		return nil, err
	}
	return doc, nil
}

// deriveResults computes the results document of sealed round r from its
// sealed round document and stored entries, as finalized at at.
func deriveResults(ctx context.Context, store Results, r *survey.Round, at time.Time) ([]byte, error) {
	raw, finalized, err := store.Results(ctx, r.ID)
	if errors.Is(err, survey.ErrNotFound) {
		return nil, fmt.Errorf("finalize: no results entered: %w", survey.ErrWrongState)
	}
	if err != nil {
		return nil, err
	}
	if finalized != nil {
		at = *finalized
	}
	var entries []tally.Entry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("stored results: %w", err)
	}
	sealed, err := store.Document(ctx, r.ID, "")
	if err != nil {
		return nil, err
	}
	doc, _, err := tally.Results(r.Definition, sealed.Body, entries, at.UTC().Format(time.RFC3339))
	return doc, err
}
