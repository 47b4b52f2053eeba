package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"minping/survey"
	"minping/survey/sqlite"
)

// TestStrictRequests covers requests that must be refused whole: a
// ballot with something after its JSON object, a batch of a bad size for a
// round that does not exist or has closed (the round's status comes first),
// and an administrator made through the accounts API.
func TestStrictRequests(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	open := admin.createRound()
	_, codes := admin.issue(open, "czj", "staff", 1)
	admin.state(open, "open")
	closed := admin.createRound()
	admin.state(closed, "open")
	admin.state(closed, "close")

	answers := answerAll(admin.ballot(codes[0]), nil)
	empty := submitBallot(t, e.ts.URL, codes[0], nil) // answers nothing: 422, and the code stays fresh
	if empty.status != http.StatusUnprocessableEntity {
		t.Fatalf("empty ballot: got %s, want 422", empty)
	}
	body := []byte(`{"answers":[`)
	for i, a := range answers {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"form":"`+a.Form+`","subject":"`+a.Subject+`","item":"`+a.Item+`","option":"`+a.Option+`"}`...)
	}
	body = append(body, "]}"...)
	for _, tail := range []string{"garbage", "{}", `{"answers":[]}`} {
		r := e.do("POST", "/api/v1/ballots/"+codes[0], "", append(append([]byte{}, body...), tail...), "Content-Type", "application/json")
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("ballot followed by %q: got %s, want 422", tail, r)
		}
	}
	if r := e.do("POST", "/api/v1/ballots/"+codes[0], "", append(body, "\n"...), "Content-Type", "application/json"); r.status != http.StatusCreated {
		t.Errorf("the same ballot with only a newline after it: got %s, want 201", r)
	}

	for _, tc := range []struct {
		round string
		want  int
	}{{"no-such-round", 404}, {closed, 409}} {
		if r := admin.do("POST", "/api/v1/rounds/"+tc.round+"/batches", map[string]any{"unit": "czj", "category": "staff", "count": 0}); r.status != tc.want {
			t.Errorf("count 0 for round %s: got %s, want %d", tc.round, r, tc.want)
		}
	}

	if r := admin.do("POST", "/api/v1/accounts", map[string]any{"name": "second admin", "role": "admin"}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("an admin through the accounts API: got %s, want 422", r)
	}
}

// TestIncompleteCompaction: a seal whose compaction was incomplete is
// answered as done, with the debt in the log; a close so kept answers 503
// with the remedy in Chinese; any other error still fails the request.
func TestIncompleteCompaction(t *testing.T) {
	e := newTestEnv(t)
	incomplete := fmt.Errorf("seal: %w", sqlite.ErrCompactIncomplete)
	if err := e.srv.api.afterSeal(incomplete); err != nil {
		t.Errorf("incomplete compaction after a seal: got %v, want nil", err)
	}
	if !strings.Contains(e.logs.String(), "minping compact") {
		t.Errorf("the log does not name the remedy:\n%s", e.logs.String())
	}
	if err := e.srv.api.afterSeal(survey.ErrWrongState); !errors.Is(err, survey.ErrWrongState) {
		t.Errorf("another error: got %v, want it returned", err)
	}
	if got := statusOf(fmt.Errorf("close round: %w", sqlite.ErrCompactIncomplete)); got != http.StatusServiceUnavailable {
		t.Errorf("an incomplete close: status %d, want 503", got)
	}
	if msg := messageOf(sqlite.ErrCompactIncomplete); !strings.Contains(msg, "再次提交") || !strings.Contains(msg, "minping compact") {
		t.Errorf("an incomplete close says %q, want the remedy", msg)
	}
}
