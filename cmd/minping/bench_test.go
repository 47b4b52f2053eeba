package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestBenchCommandRuns runs the load command briefly, as a smoke test of
// the command itself (its figures mean nothing at this size): every phase
// runs for both client counts with no failed request, and every ballot it
// saw acknowledged is counted as voted by the server.
func TestBenchCommandRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and loads it for about two seconds")
	}
	var out, errs bytes.Buffer
	err := benchCommand(context.Background(), []string{"-clients", "2,8", "-duration", "250ms", "-rounds", "2", "-codes", "3000"}, &out, &errs)
	if err != nil && !strings.Contains(err.Error(), "target(s) missed") {
		t.Fatalf("bench: %v\n%s%s", err, out.String(), errs.String())
	}
	text := out.String()
	for _, c := range []string{"2", "8"} {
		for _, phase := range []string{"minimal (GET /healthz)", "ballot page (GET /b/…)", "ballots (POST, durable)", "raw group commit (SQL)"} {
			re := regexp.MustCompile(`(?m)^` + c + ` +` + regexp.QuoteMeta(phase) + ` +[1-9][0-9]* .* 0( .*)?$`)
			if !re.MatchString(text) {
				t.Errorf("no line for %s clients, %q with a rate and no failures:\n%s", c, phase, text)
			}
		}
		if !regexp.MustCompile(`(?m)^ok   failed requests at ` + c + ` clients = 0`).MatchString(text) {
			t.Errorf("failures at %s clients:\n%s", c, text)
		}
	}
	if !regexp.MustCompile(`(?m)^ok   acknowledged ballots ([1-9][0-9]*), turnout counts ([0-9]+) voted$`).MatchString(text) {
		t.Errorf("acknowledged ballots and turnout differ, or none were acknowledged:\n%s", text)
	}
	if !strings.Contains(text, "the ballot writer") {
		t.Errorf("no line on the ballot writer:\n%s", text)
	}
	// A fast machine may spend every code before the second round; the
	// spread is then over fewer rounds, and not given for one.
	ranOut := regexp.MustCompile(`(?m)^8 +ballots \(POST, durable\).*codes ran out`).MatchString(text)
	if !ranOut && !regexp.MustCompile(`(?m)^8 +ballots ÷ raw group commit [0-9.]+ \([0-9.]+–[0-9.]+ in its 2 rounds\)`).MatchString(text) {
		t.Errorf("no ballot ratio with its spread over the 2 rounds at 8 clients:\n%s", text)
	}
}
