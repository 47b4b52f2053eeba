package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"minping/survey"
)

// testExcludedGroups votes in groups too small to enter any figure
// (small_groups: exclude, 1 ≤ voted < min_group) beside one that is not,
// and seals as the seal does, dropping the excluded groups: no ballot of
// theirs remains, whether the store never wrote it at close or deleted it
// at the seal; the others are all there, and turnout keeps every vote.
func testExcludedGroups(t *testing.T, open Open) {
	s := open(t, Options{})
	ctx := context.Background()
	def, _ := Example(t, "quzhi-2026.yaml")
	def.Rules.SmallGroups = survey.SmallGroupsExclude // min_group 3
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := s.IssueBatches(ctx, r.ID, []survey.BatchRequest{
		{Unit: "czj", Category: "staff", Count: 3}, {Unit: "fgj", Category: "staff", Count: 1}, {Unit: "czj", Category: "leaders", Count: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	for _, is := range issued {
		for _, c := range is.Codes {
			if err := Vote(ctx, s, c, func(sl *survey.Slip) survey.Ballot { return Ballot(t, sl, 1) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	turnout, err := s.Turnout(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var drop []survey.Group
	voted := map[string]int{}
	for _, u := range turnout {
		for _, c := range u.Categories {
			voted[u.Unit+"/"+c.Category] = c.Count.Voted
			if def.Rules.Excludes(c.Count.Voted) {
				drop = append(drop, survey.Group{Unit: u.Unit, Category: c.Category})
			}
		}
	}
	if want := []survey.Group{{Unit: "czj", Category: "leaders"}, {Unit: "fgj", Category: "staff"}}; !cmp.Equal(sortGroups(drop), want) {
		t.Fatalf("groups excluded by turnout: got %v, want %v", drop, want)
	}
	if err := s.Seal(ctx, r.ID, survey.SealTime(time.Now()), nil, drop); err != nil {
		t.Fatal(err)
	}
	groups := map[string]int{}
	s.EachBallot(ctx, r.ID, func(unit, category, _ string, _ []byte) error { groups[unit+"/"+category]++; return nil })
	if d := cmp.Diff(map[string]int{"czj/staff": 3}, groups); d != "" {
		t.Errorf("ballots after the seal (-want +got):\n%s", d)
	}
	if voted["czj/staff"] != 3 || voted["fgj/staff"] != 1 || voted["czj/leaders"] != 2 {
		t.Errorf("turnout: %v, want every vote counted", voted)
	}
}

// sortGroups sorts groups by unit, then category.
func sortGroups(gs []survey.Group) []survey.Group {
	slices.SortFunc(gs, func(a, b survey.Group) int {
		return strings.Compare(a.Unit+"\x00"+a.Category, b.Unit+"\x00"+b.Category)
	})
	return gs
}

// testSealPurgesCodes seals a closed round: its documents are kept, its
// codes go (turnout keeps the counts), the ballots of the groups dropped
// go, and the round takes no further change of state.
func testSealPurgesCodes(t *testing.T, open Open) {
	s := open(t, Options{})
	ctx := context.Background()
	def, _ := Example(t, "quzhi-2026.yaml")
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := s.IssueBatches(ctx, r.ID, []survey.BatchRequest{
		{Unit: "czj", Category: "staff", Count: 4}, {Unit: "czj", Category: "leaders", Count: 2}, {Unit: "fgj", Category: "staff", Count: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	voted := []int{3, 2, 1}
	var all []string
	for i, is := range issued {
		all = append(all, is.Codes...)
		for _, c := range is.Codes[:voted[i]] {
			if err := Vote(ctx, s, c, func(sl *survey.Slip) survey.Ballot { return Ballot(t, sl, 1) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	seal := func() error { return s.Seal(ctx, r.ID, survey.SealTime(time.Now()), nil, nil) }
	if err := seal(); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("seal an open round: got %v, want ErrWrongState", err)
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	before, err := s.Turnout(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	at := survey.SealTime(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	docs := []survey.SealedDocument{{Unit: "", Body: []byte(`{"round":1}`), Signature: "sig-round"}, {Unit: "czj", Body: []byte(`{"unit":"czj"}`), Signature: "sig-czj"}}
	if err := s.Seal(ctx, r.ID, at, docs, []survey.Group{{Unit: "czj", Category: "leaders"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Round(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != survey.StatusSealed || got.SealedAt == nil || !got.SealedAt.Equal(at) {
		t.Errorf("after the seal: %s at %v, want sealed at %v", got.Status, got.SealedAt, at)
	}
	for _, d := range docs {
		stored, err := s.Document(ctx, r.ID, d.Unit)
		if err != nil || !bytes.Equal(stored.Body, d.Body) || stored.Signature != d.Signature || stored.Unit != d.Unit {
			t.Errorf("document %q: got %+v, %v; want %+v", d.Unit, stored, err, d)
		}
	}
	if _, err := s.Document(ctx, r.ID, "fgj"); !errors.Is(err, survey.ErrNotFound) {
		t.Errorf("a document never stored: got %v, want ErrNotFound", err)
	}
	for _, c := range all {
		if _, err := s.Slip(ctx, c); !errors.Is(err, survey.ErrNotFound) {
			t.Errorf("a code after the seal: got %v, want ErrNotFound (the codes are gone)", err)
		}
	}
	after, err := s.Turnout(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("turnout changed at the seal (-before +after):\n%s", d)
	}
	groups := map[string]int{}
	s.EachBallot(ctx, r.ID, func(unit, category, _ string, _ []byte) error { groups[unit+"/"+category]++; return nil })
	if d := cmp.Diff(map[string]int{"czj/staff": 3, "fgj/staff": 1}, groups); d != "" {
		t.Errorf("ballots after the seal, czj/leaders dropped (-want +got):\n%s", d)
	}
	if err := seal(); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("seal twice: got %v, want ErrWrongState", err)
	}
	if err := s.CloseRound(ctx, r.ID); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("close a sealed round: got %v, want ErrWrongState", err)
	}
	if err := s.Seal(ctx, "no-such-round", at, nil, nil); !errors.Is(err, survey.ErrNotFound) {
		t.Errorf("seal an unknown round: got %v, want ErrNotFound", err)
	}
}

func testResultsAndFinalize(t *testing.T, open Open) {
	s := open(t, Options{})
	ctx := context.Background()
	r, _ := OpenRound(t, s, 1)
	if err := s.SaveResults(ctx, r.ID, []byte(`[]`)); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("results of an open round: got %v, want ErrWrongState", err)
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(ctx, r.ID, survey.SealTime(time.Now()), []survey.SealedDocument{{Body: []byte("round"), Signature: "s"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Results(ctx, r.ID); !errors.Is(err, survey.ErrNotFound) {
		t.Errorf("results before any entry: got %v, want ErrNotFound", err)
	}
	doc := survey.SealedDocument{Unit: survey.ResultsDocument, Body: []byte("results"), Signature: "r"}
	at := survey.SealTime(time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC))
	if err := s.Finalize(ctx, r.ID, at, doc); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("finalize with nothing entered: got %v, want ErrWrongState", err)
	}
	for _, e := range []string{`[{"unit":"czj","score":"1"}]`, `[{"unit":"czj","score":"2"}]`} {
		if err := s.SaveResults(ctx, r.ID, []byte(e)); err != nil {
			t.Fatal(err)
		}
	}
	entries, fin, err := s.Results(ctx, r.ID)
	if err != nil || string(entries) != `[{"unit":"czj","score":"2"}]` || fin != nil {
		t.Errorf("results: got %s, %v, %v; want the second entries, not finalized", entries, fin, err)
	}
	if err := s.SaveExport(ctx, r.ID, "book.xlsx", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveExport(ctx, r.ID, "book.xlsx", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Export(ctx, r.ID, "book.xlsx"); err != nil || string(b) != "two" {
		t.Errorf("export: got %q, %v; want the second", b, err)
	}
	if err := s.Finalize(ctx, r.ID, at, doc); err != nil {
		t.Fatal(err)
	}
	if _, fin, _ := s.Results(ctx, r.ID); fin == nil || !fin.Equal(at) {
		t.Errorf("finalized at %v, want %v", fin, at)
	}
	if d, err := s.Document(ctx, r.ID, survey.ResultsDocument); err != nil || string(d.Body) != "results" {
		t.Errorf("results document: got %v, %v", d, err)
	}
	if _, err := s.Export(ctx, r.ID, "book.xlsx"); !errors.Is(err, survey.ErrNotFound) {
		t.Errorf("the workbook built before finalizing: got %v, want it gone (ErrNotFound)", err)
	}
	if err := s.SaveResults(ctx, r.ID, []byte(`[]`)); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("results after finalizing: got %v, want ErrWrongState", err)
	}
	if err := s.Finalize(ctx, r.ID, at, doc); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("finalize twice: got %v, want ErrWrongState", err)
	}
}

func testAccounts(t *testing.T, open Open) {
	s := open(t, Options{})
	ctx := context.Background()
	r, _ := OpenRound(t, s, 1)
	if has, err := s.HasAccount(ctx, "admin"); err != nil || has {
		t.Fatalf("HasAccount before any: %v, %v", has, err)
	}
	if err := s.SetPassword(ctx, "admin", survey.RoleAdmin, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if has, _ := s.HasAccount(ctx, "admin"); !has {
		t.Fatal("SetPassword did not create the admin")
	}
	if a, err := s.Authenticate(ctx, "admin", "correct horse battery"); err != nil || a.Role != survey.RoleAdmin {
		t.Errorf("authenticate admin: %v, %v", a, err)
	}
	for _, bad := range [][2]string{{"admin", "wrong password!"}, {"nobody", "correct horse battery"}} {
		if _, err := s.Authenticate(ctx, bad[0], bad[1]); !errors.Is(err, survey.ErrUnauthorized) {
			t.Errorf("authenticate %q: got %v, want ErrUnauthorized", bad[0], err)
		}
	}
	if err := s.SetPassword(ctx, "admin", survey.RoleAdmin, "another long secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "admin", "correct horse battery"); !errors.Is(err, survey.ErrUnauthorized) {
		t.Errorf("the old password after a reset: got %v, want ErrUnauthorized", err)
	}
	a, token, err := s.CreateAccount(ctx, survey.NewAccount{Name: "考核一组", Role: survey.RoleAppraiser, RoundID: r.ID, Units: []string{"czj", "fgj"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Role != survey.RoleAppraiser || a.RoundID != r.ID || len(a.Units) != 2 || token == "" {
		t.Errorf("appraiser: %+v, token %q", a, token)
	}
	got, err := s.AccountByToken(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a, got); d != "" {
		t.Errorf("account by token (-created +read):\n%s", d)
	}
	for _, bad := range []string{"", "nope", token + "x"} {
		if _, err := s.AccountByToken(ctx, bad); !errors.Is(err, survey.ErrUnauthorized) {
			t.Errorf("AccountByToken(%q): got %v, want ErrUnauthorized", bad, err)
		}
	}
	if _, _, err := s.CreateAccount(ctx, survey.NewAccount{Name: "考核一组", Role: survey.RoleOrganiser}); !errors.Is(err, survey.ErrDuplicate) {
		t.Errorf("a taken name: got %v, want ErrDuplicate", err)
	}
	var ve *survey.ValidationError
	if _, _, err := s.CreateAccount(ctx, survey.NewAccount{Name: "x", Role: survey.RoleAppraiser, RoundID: r.ID, Units: []string{"nosuch"}}); !errors.As(err, &ve) {
		t.Errorf("an appraiser of an unknown unit: got %v, want a validation error", err)
	}
	if _, _, err := s.CreateAccount(ctx, survey.NewAccount{Name: "组织部", Role: survey.RoleOrganiser}); err != nil {
		t.Fatal(err)
	}
	all, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range all {
		names = append(names, a.Name)
	}
	if d := cmp.Diff([]string{"admin", "组织部", "考核一组"}, names); d != "" {
		t.Errorf("accounts in name order (-want +got):\n%s", d)
	}
}

func testSessions(t *testing.T, open Open) {
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	s := open(t, Options{Now: clock.now})
	a, _, err := s.CreateAccount(ctx, survey.NewAccount{Name: "考核办", Role: survey.RoleOrganiser, Password: "pw-organiser-1"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.CreateSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionAccount(ctx, token)
	if err != nil {
		t.Fatalf("SessionAccount: %v", err)
	}
	if got.ID != a.ID || got.Role != survey.RoleOrganiser {
		t.Errorf("got account %+v, want %+v", got, a)
	}
	for _, bad := range []string{"", "nope", token + "x"} {
		if _, err := s.SessionAccount(ctx, bad); !errors.Is(err, survey.ErrUnauthorized) {
			t.Errorf("SessionAccount(%q): got %v, want ErrUnauthorized", bad, err)
		}
	}
	// Requests keep a session alive past the idle limit, up to the maximum.
	for elapsed := time.Duration(0); elapsed < survey.SessionMax-survey.SessionIdle/2; elapsed += survey.SessionIdle / 2 {
		clock.add(survey.SessionIdle / 2)
		if _, err := s.SessionAccount(ctx, token); err != nil {
			t.Fatalf("after %v with requests: %v, want the session alive", elapsed+survey.SessionIdle/2, err)
		}
	}
	clock.add(survey.SessionIdle / 2)
	if _, err := s.SessionAccount(ctx, token); !errors.Is(err, survey.ErrUnauthorized) {
		t.Errorf("after %v: got %v, want ErrUnauthorized (absolute limit)", survey.SessionMax, err)
	}
	// Idle for longer than the idle limit ends a session.
	idle, _ := s.CreateSession(ctx, a.ID)
	clock.add(survey.SessionIdle)
	if _, err := s.SessionAccount(ctx, idle); !errors.Is(err, survey.ErrUnauthorized) {
		t.Errorf("idle %v: got %v, want ErrUnauthorized", survey.SessionIdle, err)
	}
	// Signing out ends one session; a password reset ends them all.
	one, _ := s.CreateSession(ctx, a.ID)
	two, _ := s.CreateSession(ctx, a.ID)
	if err := s.EndSession(ctx, one); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAccount(ctx, one); !errors.Is(err, survey.ErrUnauthorized) {
		t.Errorf("after EndSession: got %v, want ErrUnauthorized", err)
	}
	if _, err := s.SessionAccount(ctx, two); err != nil {
		t.Errorf("the other session: got %v, want it alive", err)
	}
	if err := s.EndSession(ctx, "never-was"); err != nil {
		t.Errorf("ending an unknown session: %v", err)
	}
	if err := s.EndSessionsOf(ctx, a.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAccount(ctx, two); !errors.Is(err, survey.ErrUnauthorized) {
		t.Errorf("after EndSessionsOf: got %v, want ErrUnauthorized", err)
	}
}

func testExpected(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t, Options{})
	def, _ := Example(t, "quzhi-2026.yaml")
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := s.Expected(ctx, r.ID); err != nil || len(e) != 0 {
		t.Fatalf("before any roster: got %v, %v; want empty", e, err)
	}
	first := survey.Expected{"czj": {"staff": 40, "leaders": 3}, "fgj": {"staff": 0}}
	if err := s.SetExpected(ctx, r.ID, first); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Expected(ctx, r.ID); !cmp.Equal(first, got) {
		t.Errorf("expected attendance: got %v, want %v", got, first)
	}
	second := survey.Expected{"czj": {"cadres": 12}}
	if err := s.SetExpected(ctx, r.ID, second); err != nil {
		t.Fatal(err)
	}
	got, err := s.Expected(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(second, got); d != "" {
		t.Errorf("a second roster replaces the first (-want +got):\n%s", d)
	}
}

// testRoundLifecycle walks rounds through every change of state the
// console offers, and checks each refuses the states it must.
func testRoundLifecycle(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t, Options{})
	def, src := Example(t, "quzhi-2026.yaml")
	r, err := s.CreateRound(ctx, def, src)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != survey.StatusDraft || r.Name != def.Name || r.ConfigSHA256 != "" || r.CreatedAt.IsZero() || r.OpenedAt != nil {
		t.Errorf("a new round: %+v, want a draft named %q", r, def.Name)
	}
	if got, err := s.RoundSource(ctx, r.ID); err != nil || !bytes.Equal(got, src) {
		t.Errorf("round source: got %d bytes, %v; want the source as written", len(got), err)
	}
	if _, err := s.Round(ctx, "no-such-round"); !errors.Is(err, survey.ErrNotFound) {
		t.Errorf("an unknown round: got %v, want ErrNotFound", err)
	}
	renamed, _ := Example(t, "quzhi-2026.yaml")
	renamed.Name = "改过名的测评"
	if err := s.UpdateDefinition(ctx, r.ID, renamed, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Round(ctx, r.ID); got.Name != renamed.Name || got.Definition.Name != renamed.Name {
		t.Errorf("after an update the round is named %q, want %q", got.Name, renamed.Name)
	}
	if got, _ := s.RoundSource(ctx, r.ID); !bytes.Equal(got, renamed.Canonical()) {
		t.Errorf("a definition updated without a source reads back as its canonical form")
	}
	if err := s.SetBaseURL(ctx, r.ID, "https://mp.example.gov.cn"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Round(ctx, r.ID); got.BaseURL != "https://mp.example.gov.cn" {
		t.Errorf("base url %q", got.BaseURL)
	}
	if err := s.ArchiveRound(ctx, r.ID, true); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("archive a draft: got %v, want ErrWrongState", err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	opened, _ := s.Round(ctx, r.ID)
	if opened.Status != survey.StatusOpen || opened.ConfigSHA256 == "" || opened.OpenedAt == nil {
		t.Errorf("an opened round: %+v, want open with a fingerprint and a time", opened)
	}
	for name, err := range map[string]error{
		"open twice":          s.OpenRound(ctx, r.ID),
		"update when open":    s.UpdateDefinition(ctx, r.ID, renamed, nil),
		"delete an open one":  s.DeleteRound(ctx, r.ID),
		"archive an open one": s.ArchiveRound(ctx, r.ID, true),
	} {
		if !errors.Is(err, survey.ErrWrongState) {
			t.Errorf("%s: got %v, want ErrWrongState", name, err)
		}
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Round(ctx, r.ID); got.Status != survey.StatusClosed || got.ClosedAt == nil || got.ConfigSHA256 != opened.ConfigSHA256 {
		t.Errorf("a closed round: %+v", got)
	}
	if err := s.CloseRound(ctx, r.ID); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("close twice: got %v, want ErrWrongState", err)
	}
	if err := s.SetBaseURL(ctx, r.ID, ""); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("base url of a closed round: got %v, want ErrWrongState", err)
	}
	if err := s.Seal(ctx, r.ID, survey.SealTime(time.Now()), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ArchiveRound(ctx, r.ID, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Round(ctx, r.ID); !got.Archived {
		t.Error("the round is not archived")
	}
	if err := s.ArchiveRound(ctx, r.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Round(ctx, r.ID); got.Archived {
		t.Error("the round is still archived")
	}

	// Copied from the source as written (a round whose definition was
	// replaced without one keeps only its canonical form).
	if err := s.UpdateDefinition(ctx, r.ID, def, src); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("update a sealed round: got %v, want ErrWrongState", err)
	}
	orig, err := s.CreateRound(ctx, def, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetExpected(ctx, orig.ID, survey.Expected{"czj": {"staff": 7}}); err != nil {
		t.Fatal(err)
	}
	cp, err := s.CopyRound(ctx, orig.ID, "2027 年度测评")
	if err != nil {
		t.Fatal(err)
	}
	if cp.ID == r.ID || cp.Name != "2027 年度测评" || cp.Status != survey.StatusDraft {
		t.Errorf("copy: %+v, want a new draft named 2027 年度测评", cp)
	}
	if e, _ := s.Expected(ctx, cp.ID); e["czj"]["staff"] != 7 {
		t.Errorf("copy's expected attendance: %v, want the original's", e)
	}
	if bs, _ := s.Batches(ctx, cp.ID); len(bs) != 0 {
		t.Errorf("a copy has %d batches, want none", len(bs))
	}
	if _, _, err := s.IssueBatch(ctx, cp.ID, "czj", "staff", 2); err != nil {
		t.Fatal(err)
	}
	rounds, err := s.Rounds(ctx)
	if err != nil || len(rounds) != 3 {
		t.Fatalf("rounds: %d, %v; want 3", len(rounds), err)
	}
	if err := s.DeleteRound(ctx, cp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Round(ctx, cp.ID); !errors.Is(err, survey.ErrNotFound) {
		t.Errorf("a deleted round: got %v, want ErrNotFound", err)
	}
	if err := s.DeleteRound(ctx, cp.ID); !errors.Is(err, survey.ErrNotFound) {
		t.Errorf("delete twice: got %v, want ErrNotFound", err)
	}
	if rounds, _ := s.Rounds(ctx); len(rounds) != 2 || rounds[0].ID != orig.ID || rounds[1].ID != r.ID {
		t.Errorf("rounds after the delete: %d, want the two left, newest first", len(rounds))
	}
	if err := s.Writable(ctx); err != nil {
		t.Errorf("Writable: %v", err)
	}
}

// testRosterImport replaces a draft's units and expected attendance at
// once; an import that would orphan an issued batch changes nothing.
func testRosterImport(t *testing.T, open Open) {
	ctx := context.Background()
	s := open(t, Options{})
	def, _ := Example(t, "quzhi-2026.yaml")
	r, err := s.CreateRound(ctx, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	next, _ := Example(t, "quzhi-2026.yaml")
	next.Units = next.Units[1:] // czj goes
	if err := s.ImportRoster(ctx, r.ID, next, nil, survey.Expected{"fgj": {"staff": 9}}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Round(ctx, r.ID)
	if got.Definition.Unit("czj") != nil || got.Definition.Unit("fgj") == nil {
		t.Error("the imported roster did not replace the units")
	}
	if e, _ := s.Expected(ctx, r.ID); e["fgj"]["staff"] != 9 {
		t.Errorf("expected attendance after import: %v", e)
	}
	if _, _, err := s.IssueBatch(ctx, r.ID, "fgj", "staff", 2); err != nil {
		t.Fatal(err)
	}
	without, _ := Example(t, "quzhi-2026.yaml")
	var units []survey.Unit
	for _, u := range without.Units {
		if u.ID != "fgj" {
			units = append(units, u)
		}
	}
	without.Units = units
	err = s.ImportRoster(ctx, r.ID, without, nil, survey.Expected{"czj": {"staff": 1}})
	var ve *survey.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("an import dropping a unit with slips: got %v, want a validation error", err)
	}
	if got, _ := s.Round(ctx, r.ID); got.Definition.Unit("fgj") == nil {
		t.Error("a refused import changed the definition")
	}
	if e, _ := s.Expected(ctx, r.ID); e["fgj"]["staff"] != 9 || len(e["czj"]) != 0 {
		t.Errorf("a refused import changed the expected attendance: %v", e)
	}
}
