package survey

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

// TestCodeHasher pins the keyed hash and the keys derived from the code
// key: a change would strand every code issued, and every ballot box and
// round key file sealed, under the old ones.
func TestCodeHasher(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	h := NewCodeHasher(key)
	for _, s := range []string{"ABCDEFGHJKLMNPQR", "minping ballot box v1", "minping round key file v1"} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		if got := h.Hash(s); !bytes.Equal(got, m.Sum(nil)) {
			t.Errorf("Hash(%q) is not HMAC-SHA256 under the code key", s)
		}
		if !bytes.Equal(h.Hash(s), h.Hash(s)) { // a reused HMAC is reset
			t.Errorf("Hash(%q) differs on reuse", s)
		}
	}
	a, err := h.AEAD("minping ballot box v1")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCodeHasher(bytes.Repeat([]byte{8}, 32)).AEAD("minping ballot box v1")
	nonce := make([]byte, a.NonceSize())
	sealed := a.Seal(nil, nonce, []byte("ballot"), nil)
	if _, err := other.Open(nil, nonce, sealed, nil); err == nil {
		t.Error("a box opens under another code key")
	}
	if got, err := a.Open(nil, nonce, sealed, nil); err != nil || string(got) != "ballot" {
		t.Errorf("a box does not open under its own key: %q, %v", got, err)
	}
}
