package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"minping/server"
	"minping/survey"
	"minping/tally"
)

// mergeCommand merges the sealed round documents of several regional
// servers (CONTRACT §5.4 across them): it verifies each document's
// signature under the public key given for it, ranks and grades every unit
// together by the grading given, and writes the merged document signed
// with this installation's key. With --check it derives the merged
// document again and compares it with the one written before.
func mergeCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var gradingFile, out string
	var check bool
	cfg, rest, err := parseFlags("merge", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&gradingFile, "grading", "", "YAML or JSON file with the grading (a grading: mapping as in a round definition)")
		fs.StringVar(&out, "out", "merged.json", "the merged document to write; its signature goes to OUT.sig")
		fs.BoolVar(&check, "check", false, "derive the merged document again and compare it with OUT, byte for byte")
	})
	if err != nil {
		return err
	}
	if gradingFile == "" || len(rest) == 0 || len(rest)%3 != 0 {
		return usageError{errors.New("usage: minping merge --grading FILE [--out merged.json] [--check] DOCUMENT SIGNATURE PUBKEY [DOCUMENT SIGNATURE PUBKEY ...]")}
	}
	g, err := readGrading(gradingFile)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	var inputs []tally.MergeInput
	for i := 0; i < len(rest); i += 3 {
		doc, err := os.ReadFile(rest[i])
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		sig, err := os.ReadFile(rest[i+1])
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		pub := rest[i+2]
		if b, err := os.ReadFile(pub); err == nil {
			pub = string(b)
		}
		pub = strings.TrimSpace(pub)
		if err := tally.Verify(pub, doc, string(sig)); err != nil {
			return fmt.Errorf("merge: %s does not verify under the key given for it: %w", rest[i], err)
		}
		inputs = append(inputs, tally.MergeInput{Doc: doc, PubKey: pub})
	}
	merged, m, err := tally.Merge(g, inputs)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if check {
		old, err := os.ReadFile(out)
		if err != nil {
			return fmt.Errorf("merge --check: %w", err)
		}
		if !bytes.Equal(old, merged) {
			return fmt.Errorf("merge --check: %s DIFFERS from the merge of its sources", out)
		}
		fmt.Fprintf(stdout, "identical: %s is the merge of its %d sources\n", out, len(inputs))
		return nil
	}
	key, err := server.SealKey(cfg)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if err := os.WriteFile(out, merged, 0o644); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if err := os.WriteFile(out+".sig", []byte(tally.Sign(key, merged)+"\n"), 0o644); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	fmt.Fprintf(stdout, "merged %d units of %d sources into %s (signature %s.sig)\n", len(m.Units), len(inputs), out, out)
	return nil
}

// readGrading reads a grading from a file: a definition-like mapping with
// a grading: key, or the grading itself.
func readGrading(path string) (*survey.Grading, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var wrapped struct {
		Grading *survey.Grading `yaml:"grading"`
	}
	var g *survey.Grading
	if yaml.Unmarshal(src, &wrapped) == nil && wrapped.Grading != nil {
		g = wrapped.Grading
	} else {
		g = new(survey.Grading)
		if err := yaml.Unmarshal(src, g); err != nil {
			return nil, fmt.Errorf("grading %s: %w", path, err)
		}
	}
	if err := survey.ValidateGrading(g); err != nil {
		return nil, fmt.Errorf("grading %s: %w", path, err)
	}
	return g, nil
}
