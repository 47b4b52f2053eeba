package server

import (
	"net/http"
	"strings"
	"testing"

	"minping/survey"
)

// TestRoundsDeleteArchiveCopy: a draft is deleted with its slips (which
// stop working), a round that opened cannot be; a round is copied as a new
// draft with its definition and expected attendance and nothing else; a
// sealed round is archived out of the console's list and back.
func TestRoundsDeleteArchiveCopy(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.admin()
	ctx := t.Context()

	draft := admin.createRound()
	_, codes := admin.issue(draft, "czj", "staff", 3)
	admin.must(http.StatusNoContent, "DELETE", "/api/v1/rounds/"+draft, nil)
	admin.must(http.StatusNotFound, "GET", "/api/v1/rounds/"+draft, nil)
	if r := testRequest(t, e.ts.URL, "GET", "/api/v1/ballots/"+codes[0], "", nil); r.status != http.StatusNotFound {
		t.Errorf("a deleted draft's code: got %d, want 404", r.status)
	}

	if err := e.store.SetExpected(ctx, e.round, survey.Expected{"czj": {"staff": 7}}); err != nil {
		t.Fatal(err)
	}
	admin.issue(e.round, "czj", "staff", 3)
	admin.state(e.round, "open")
	admin.must(http.StatusConflict, "DELETE", "/api/v1/rounds/"+e.round, nil)
	admin.must(http.StatusConflict, "POST", "/api/v1/rounds/"+e.round+"/archive", nil)

	var cp struct{ ID, Name string }
	admin.must(http.StatusCreated, "POST", "/api/v1/rounds/"+e.round+"/copy", nil).decode(t, &cp)
	copied, err := e.store.Round(ctx, cp.ID)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := e.store.Round(ctx, e.round)
	if copied.Status != survey.StatusDraft || !strings.HasSuffix(copied.Name, "（副本）") || len(copied.Definition.Units) != len(orig.Definition.Units) {
		t.Errorf("copy: status %s name %q units %d, want a draft named …（副本） with %d units", copied.Status, copied.Name, len(copied.Definition.Units), len(orig.Definition.Units))
	}
	if exp, _ := e.store.Expected(ctx, cp.ID); exp["czj"]["staff"] != 7 {
		t.Errorf("copy: expected attendance %v, want czj staff 7", exp)
	}
	if bs, _ := e.store.Batches(ctx, cp.ID); len(bs) != 0 {
		t.Errorf("copy: %d batches, want none", len(bs))
	}

	admin.state(e.round, "close")
	admin.state(e.round, "seal")
	cc := signIn(t, e.ts.URL, "考核办", organiserPassword)
	name := orig.Name
	cc.must(http.StatusOK, cc.get("/console/rounds/"+e.round), "round page")
	cc.must(http.StatusSeeOther, cc.post("/console/rounds/"+e.round+"/archive", map[string][]string{"archived": {"1"}}), "archive")
	list := string(cc.must(http.StatusOK, cc.get("/console/rounds"), "rounds").body)
	if strings.Contains(list, `href="/console/rounds/`+e.round+`"`) || !strings.Contains(list, "显示已归档的 1 个") {
		t.Errorf("the archived round %s is still listed, or the list does not offer to show it", name)
	}
	all := string(cc.must(http.StatusOK, cc.get("/console/rounds?archived=1"), "rounds, archived").body)
	if !strings.Contains(all, `href="/console/rounds/`+e.round+`"`) {
		t.Error("?archived=1 does not list the archived round")
	}
	admin.must(http.StatusOK, "GET", "/api/v1/rounds/"+e.round+"/tally", nil) // documents kept
	cc.must(http.StatusSeeOther, cc.post("/console/rounds/"+e.round+"/archive", map[string][]string{"archived": {"0"}}), "unarchive")
	if list := string(cc.get("/console/rounds").body); !strings.Contains(list, `href="/console/rounds/`+e.round+`"`) {
		t.Error("an unarchived round is not listed")
	}
	// The console deletes a draft too: the copy.
	cc.must(http.StatusSeeOther, cc.post("/console/rounds/"+cp.ID+"/delete", nil), "delete the copy")
	if _, err := e.store.Round(ctx, cp.ID); err == nil {
		t.Error("the console's delete left the draft")
	}
}
