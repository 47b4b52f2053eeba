package tally

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrBadSignature is returned by Verify when the signature does not match
// the document under the key.
var ErrBadSignature = errors.New("the signature does not match the document")

// Sign returns the standard base64 of the 64-byte Ed25519 signature of doc,
// the exact bytes that are served.
func Sign(priv ed25519.PrivateKey, doc []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(priv, doc))
}

// Verify checks sigB64, the standard base64 of an Ed25519 signature, of doc
// under pubB64, the standard base64 of a 32-byte public key. Surrounding
// white space in either is ignored, so that files written with a final
// newline verify. It returns ErrBadSignature when the signature does not
// match, and another error when the key or signature is malformed.
func Verify(pubB64 string, doc []byte, sigB64 string) error {
	pub, err := base64.StdEncoding.DecodeString(strings.TrimSpace(pubB64))
	if err != nil {
		return fmt.Errorf("public key: %w", err)
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("public key: %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sigB64))
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("signature: %d bytes, want %d", len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(ed25519.PublicKey(pub), doc, sig) {
		return ErrBadSignature
	}
	return nil
}
