package postgres

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"minping/survey"
)

// A ballot box is a ballot sealed to its round's box key, an X25519 key
// pair made when the round opens: the public half is in the rounds row,
// where every instance reads it; the private half is a file in the key
// directory, and nowhere in the database. Each Store draws, per round, an
// ephemeral X25519 key and derives from it and the round's public key an
// AES-256-GCM key (HKDF-SHA256); a box is
//
//	version (1) | ephemeral public key (32) | nonce (12) | sealed plaintext
//
// with the round id as additional data, and the plaintext the ballot's
// category and records, length-prefixed, padded with zeros to a power of
// two of at least 256 bytes, so that a box's size tells only its size
// class: a sheet over many units or a recusal ballot's parts may fall in a
// larger one, which says what kind of slip it came from, never its
// answers (the spend mark beside it names the batch anyway). Opening needs the round's private key: one ECDH per
// ephemeral key, not per box.
const (
	boxVersion  = 1
	boxHeader   = 1 + 32 + 12
	boxMinBytes = 256
)

// boxSealer seals this Store's ballots for one round.
type boxSealer struct {
	roundPub []byte
	aead     cipher.AEAD
	header   [1 + 32]byte
}

// boxKey derives the AES-GCM key of a box from the ECDH secret and both
// public keys.
func boxKey(secret, ephPub, roundPub []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, secret, append(append([]byte{}, ephPub...), roundPub...), "minping ballot box v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// newBoxSealer draws an ephemeral key for sealing to a round's public key.
func newBoxSealer(roundPub []byte) (*boxSealer, error) {
	pub, err := ecdh.X25519().NewPublicKey(roundPub)
	if err != nil {
		return nil, fmt.Errorf("round box key: %w", err)
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	secret, err := eph.ECDH(pub)
	if err != nil {
		return nil, err
	}
	aead, err := boxKey(secret, eph.PublicKey().Bytes(), roundPub)
	if err != nil {
		return nil, err
	}
	b := &boxSealer{roundPub: roundPub, aead: aead}
	b.header[0] = boxVersion
	copy(b.header[1:], eph.PublicKey().Bytes())
	return b, nil
}

// seal boxes a ballot of category for round roundID.
func (b *boxSealer) seal(roundID, category string, records []survey.Record) []byte {
	inner := binary.AppendUvarint(nil, uint64(len(category)))
	inner = append(inner, category...)
	for _, r := range records {
		for _, f := range [][]byte{[]byte(r.Unit), []byte(r.Part), r.Answers()} {
			inner = binary.AppendUvarint(inner, uint64(len(f)))
			inner = append(inner, f...)
		}
	}
	plain := binary.AppendUvarint(make([]byte, 0, boxMinBytes), uint64(len(inner)))
	plain = append(plain, inner...)
	size := boxMinBytes
	for size < len(plain) {
		size *= 2
	}
	plain = append(plain, make([]byte, size-len(plain))...)
	out := make([]byte, boxHeader, boxHeader+size+b.aead.Overhead())
	copy(out, b.header[:])
	rand.Read(out[len(b.header):boxHeader])
	return b.aead.Seal(out, out[len(b.header):boxHeader], plain, []byte(roundID))
}

// boxOpener opens the boxes of one round with its private key, keeping the
// key derived for each ephemeral key it meets.
type boxOpener struct {
	roundID string
	priv    *ecdh.PrivateKey
	mu      sync.Mutex
	aeads   map[[32]byte]cipher.AEAD
}

func (o *boxOpener) aead(eph []byte) (cipher.AEAD, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if a := o.aeads[[32]byte(eph)]; a != nil {
		return a, nil
	}
	pub, err := ecdh.X25519().NewPublicKey(eph)
	if err != nil {
		return nil, err
	}
	secret, err := o.priv.ECDH(pub)
	if err != nil {
		return nil, err
	}
	a, err := boxKey(secret, eph, o.priv.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	o.aeads[[32]byte(eph)] = a
	return a, nil
}

// open returns a box's category and records.
func (o *boxOpener) open(box []byte) (string, []survey.Record, error) {
	if len(box) < boxHeader || box[0] != boxVersion {
		return "", nil, errors.New("ballot box: not a box of this version")
	}
	a, err := o.aead(box[1:33])
	if err != nil {
		return "", nil, err
	}
	plain, err := a.Open(nil, box[33:boxHeader], box[boxHeader:], []byte(o.roundID))
	if err != nil {
		return "", nil, fmt.Errorf("open ballot box (is this the round's key?): %w", err)
	}
	n, k := binary.Uvarint(plain)
	if k <= 0 || uint64(len(plain)-k) < n {
		return "", nil, errors.New("ballot box: malformed")
	}
	plain = plain[k : k+int(n)]
	var fields [][]byte
	for len(plain) > 0 {
		l, k := binary.Uvarint(plain)
		if k <= 0 || uint64(len(plain)-k) < l {
			return "", nil, errors.New("ballot box: malformed")
		}
		fields, plain = append(fields, plain[k:k+int(l)]), plain[k+int(l):]
	}
	if len(fields) < 4 || (len(fields)-1)%3 != 0 {
		return "", nil, errors.New("ballot box: malformed")
	}
	records := make([]survey.Record, 0, (len(fields)-1)/3)
	for i := 1; i < len(fields); i += 3 {
		records = append(records, survey.NewRecord(string(fields[i]), string(fields[i+1]), fields[i+2]))
	}
	return string(fields[0]), records, nil
}

// The private half of a round's box key is a file in the key directory:
// round-<id>.key, holding the public key and the private key sealed
// (AES-256-GCM) under a key derived from the code key, so that the file
// alone, without the code key, opens nothing. It is written, and synced,
// before the round opens, and removed once the round's boxes are opened at
// close.

func keyFileName(roundID string) string { return "round-" + roundID + ".key" }

// roundIDOfKeyFile is the round id of a key file's name, "" if it is none.
func roundIDOfKeyFile(name string) string {
	if !strings.HasPrefix(name, "round-") || !strings.HasSuffix(name, ".key") {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(name, "round-"), ".key")
}

// writeRoundKey makes a round's box key, writes its private half to the key
// directory (synced, with the directory) and returns its public half.
func (s *Store) writeRoundKey(roundID string) ([]byte, error) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	pub := priv.PublicKey().Bytes()
	nonce := make([]byte, s.wrap.NonceSize())
	rand.Read(nonce)
	body := append(append(append([]byte{}, pub...), nonce...), s.wrap.Seal(nil, nonce, priv.Bytes(), []byte(roundID))...)
	path := filepath.Join(s.keyDir, keyFileName(roundID))
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(s.keyDir)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("write the round's ballot key to the key directory: %w", err)
	}
	return pub, nil
}

// ErrNoRoundKey is returned, wrapped, by CloseRound when the key directory
// does not hold the private key of the round's ballot boxes.
var ErrNoRoundKey = fmt.Errorf("the round's ballot key is not in the key directory: %w", survey.ErrKeyUnavailable)

// readRoundKey reads the private half of a round's box key, checking that
// it belongs to the public key the round was opened with.
func (s *Store) readRoundKey(roundID string, pub []byte) (*ecdh.PrivateKey, error) {
	body, err := os.ReadFile(filepath.Join(s.keyDir, keyFileName(roundID)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (本实例的密钥目录中没有该测评活动的选票密钥：请在与开启测评时共用同一密钥目录的实例上结束测评 / "+
			"close the round on an instance that shares the key directory of the one that opened it)", ErrNoRoundKey)
	}
	if err != nil {
		return nil, err
	}
	n := s.wrap.NonceSize()
	if len(body) < 32+n {
		return nil, fmt.Errorf("round key file of %s: too short", roundID)
	}
	if !hmac.Equal(body[:32], pub) {
		return nil, fmt.Errorf("%w: the key file of round %s is not the key it was opened with", ErrNoRoundKey, roundID)
	}
	raw, err := s.wrap.Open(nil, body[32:32+n], body[32+n:], []byte(roundID))
	if err != nil {
		return nil, fmt.Errorf("round key file of %s (is this the code key it was written under?): %w", roundID, err)
	}
	return ecdh.X25519().NewPrivateKey(raw)
}

// removeRoundKey deletes a round's private key file, synced; no file is
// not an error.
func (s *Store) removeRoundKey(roundID string) (bool, error) {
	err := os.Remove(filepath.Join(s.keyDir, keyFileName(roundID)))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, syncDir(s.keyDir)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be synced there; renames are durable once done
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}
