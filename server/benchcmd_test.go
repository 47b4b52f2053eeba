package main

import (
	"bytes"
	"context"
	"errors"
	"io"
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

// TestBenchFlagsRefused checks that each bad flag is refused with an error
// naming it, before anything starts.
func TestBenchFlagsRefused(t *testing.T) {
	for _, tc := range []struct{ args []string }{
		{[]string{"-clients", "0"}},
		{[]string{"-clients", "64,x"}},
		{[]string{"-duration", "0s"}},
		{[]string{"-rounds", "0"}},
		{[]string{"-duration", "50ms", "-rounds", "10"}},
		{[]string{"-codes", "10"}},
		{[]string{"extra"}},
	} {
		_, err := parseBenchFlags(tc.args, io.Discard)
		var usage usageError
		if !errors.As(err, &usage) {
			t.Errorf("%v: got %v, want a usage error", tc.args, err)
			continue
		}
		if name := strings.TrimPrefix(tc.args[0], "-"); !strings.Contains(err.Error(), name) {
			t.Errorf("%v: %q does not name %s", tc.args, err, name)
		}
	}
	if _, err := parseBenchFlags([]string{"-clients", "8", "-duration", "1s", "-rounds", "4"}, io.Discard); err != nil {
		t.Errorf("good flags refused: %v", err)
	}
}
