package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"minping/tally"
)

// verifyCommand checks a sealed document against its signature and the
// public key, all offline: exit 0 iff valid.
func verifyCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pub := fs.String("pubkey", "", "the public key, standard base64 (GET /api/v1/pubkey)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *pub == "" || fs.NArg() != 2 {
		return usageError{errors.New("usage: minping verify --pubkey B64 DOCUMENT SIGNATURE")}
	}
	doc, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	sig, err := os.ReadFile(fs.Arg(1))
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if err := tally.Verify(*pub, doc, string(sig)); err != nil {
		if errors.Is(err, tally.ErrBadSignature) {
			return fmt.Errorf("verify: INVALID: %s is not signed by this key (altered, or signed by another key)", fs.Arg(0))
		}
		return fmt.Errorf("verify: %w", err)
	}
	fmt.Fprintf(stdout, "valid: %s is signed by this key\n", fs.Arg(0))
	return nil
}
