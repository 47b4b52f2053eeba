package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// verifyCommand checks a sealed document against its signature and the
// public key: exit 0 iff valid.
func verifyCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pub := fs.String("pubkey", "", "the public key, standard base64 (GET /api/v1/pubkey)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *pub == "" || fs.NArg() != 2 {
		return usageError{fmt.Errorf("usage: minping verify --pubkey B64 DOCUMENT SIGNATURE")}
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(*pub))
	if err != nil || len(key) != ed25519.PublicKeySize {
		return fmt.Errorf("verify: the public key is not %d bytes of standard base64", ed25519.PublicKeySize)
	}
	doc, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	sigText, err := os.ReadFile(fs.Arg(1))
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigText)))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("verify: %s is not a base64 Ed25519 signature", fs.Arg(1))
	}
	if !ed25519.Verify(ed25519.PublicKey(key), doc, sig) {
		return fmt.Errorf("verify: INVALID: the signature does not match this document and key (altered, or signed by another key)")
	}
	fmt.Fprintf(stdout, "valid: %s is signed by this key\n", fs.Arg(0))
	return nil
}
