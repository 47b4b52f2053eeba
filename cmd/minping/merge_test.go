package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"minping/server"
	"minping/survey"
	"minping/tally"
)

// TestMergeCommand merges two regional servers' signed documents: each
// verifies under its own key, the merged document is signed with this
// installation's key, --check derives it again byte for byte, and a
// document altered after its seal is refused.
func TestMergeCommand(t *testing.T) {
	dir := t.TempDir()
	var args []string
	for r, units := range [][]string{{"a1", "a2"}, {"b1", "b2", "b3"}} {
		var src strings.Builder
		src.WriteString("name: 地区" + fmt.Sprint(r) + `
component: {name: 干部群众评价, points: 100}
scales: [{id: s, options: [{label: 好, points: 100}, {label: 差, points: 0}]}]
forms: [{id: t, title: 班子, rates: team, scale: s, items: [总体]}]
categories: [{id: staff, name: 干部职工, weight: 100}]
units:
`)
		for _, u := range units {
			fmt.Fprintf(&src, "  - {id: %s, name: 单位%s, type: T, members: []}\n", u, u)
		}
		def, err := survey.ParseDefinition([]byte(src.String()))
		if err != nil {
			t.Fatal(err)
		}
		c := tally.NewCounter(def)
		turnout := tally.Turnout{}
		for i, u := range units {
			for k := range 3 {
				answer := byte(0)
				if k < i%3 {
					answer = 1
				}
				if err := c.Add(u, "staff", []byte{answer}); err != nil {
					t.Fatal(err)
				}
			}
			turnout[u] = map[string]tally.Count{"staff": {Issued: 3, Voted: 3}}
		}
		docs, err := c.Documents(turnout, tally.Meta{RoundID: fmt.Sprint("r", r), SealedAt: "2026-12-01T08:00:00Z"})
		if err != nil {
			t.Fatal(err)
		}
		pub, priv, _ := ed25519.GenerateKey(nil)
		doc, sig, key := filepath.Join(dir, fmt.Sprint("r", r, ".json")), filepath.Join(dir, fmt.Sprint("r", r, ".sig")), base64.StdEncoding.EncodeToString(pub)
		os.WriteFile(doc, docs.Round, 0o644)
		os.WriteFile(sig, []byte(tally.Sign(priv, docs.Round)), 0o644)
		args = append(args, doc, sig, key)
	}
	grading := filepath.Join(dir, "grading.yaml")
	os.WriteFile(grading, []byte("grading:\n  within: round\n  grades: [{grade: 一等, count: 2}, {grade: 二等}]\n"), 0o644)
	out := filepath.Join(dir, "merged.json")
	data := filepath.Join(dir, "data")
	flags := []string{"merge", "--data", data, "--grading", grading, "--out", out}
	var stdout bytes.Buffer
	if err := run(context.Background(), append(flags, args...), noEnv, &stdout, io.Discard); err != nil {
		t.Fatalf("merge: %v", err)
	}
	merged, _ := os.ReadFile(out)
	sig, _ := os.ReadFile(out + ".sig")
	key, err := server.SealKey(server.Config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	pub := base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	if err := tally.Verify(pub, merged, string(sig)); err != nil {
		t.Errorf("the merged document does not verify under this installation's key: %v", err)
	}
	// a1 and b1 have every vote 好 (100), the others fewer: 2 一等 places.
	for _, want := range []string{`"id": "a1"`, `"grade": "一等"`, `"rank_of": 5`} {
		if !strings.Contains(string(merged), want) {
			t.Errorf("merged document lacks %s:\n%.600s", want, merged)
		}
	}
	stdout.Reset()
	if err := run(context.Background(), append(append(flags, "--check"), args...), noEnv, &stdout, io.Discard); err != nil || !strings.Contains(stdout.String(), "identical") {
		t.Errorf("merge --check: %v, %q", err, stdout.String())
	}
	doc0, _ := os.ReadFile(args[0])
	os.WriteFile(args[0], bytes.Replace(doc0, []byte(`"score": 100.00`), []byte(`"score": 99.00`), 1), 0o644)
	if err := run(context.Background(), append(flags, args...), noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("an altered source: %v, want refused", err)
	}
}
