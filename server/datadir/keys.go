package datadir

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The keys live apart from the data directory (Dirs.Keys), so that a copy
// of the data directory — a backup, an audit, a leak — holds neither the
// code key, without which no printed code can be tied to its hash and its
// spent mark, nor the signing key.
const (
	codeKeyFile = "code.key" // keys the hashes under which codes are stored
	sealKeyFile = "seal.key" // the Ed25519 seed that signs sealed documents
)

// SealKey is the signing key of the key directory, made on first use.
func SealKey(d Dirs) (ed25519.PrivateKey, error) {
	seed, err := key(d.WithDefaults(), sealKeyFile, ed25519.SeedSize, true)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// key reads the key file name of n bytes from the key directory. A key an
// older minping kept in the data directory is read from there; with create
// it is made, or moved out of the data directory (see MoveKeys), first.
func key(cfg Dirs, name string, n int, create bool) ([]byte, error) {
	path := filepath.Join(cfg.Keys, name)
	if !create {
		b, err := readKey(path, n)
		if errors.Is(err, os.ErrNotExist) {
			if b, err2 := readKey(filepath.Join(cfg.Data, name), n); err2 == nil {
				return b, nil
			}
			return nil, fmt.Errorf("no %s in %s: %w", name, cfg.Keys, err)
		}
		return b, err
	}
	// Never make a new key while an old one lies in the data directory:
	// every code issued under it would stop working.
	if _, err := MoveKeys(cfg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Keys, 0o700); err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	b, err := readKey(path, n)
	if !errors.Is(err, os.ErrNotExist) {
		return b, err
	}
	b = make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	if err := writeKey(path, b); err != nil {
		return nil, err
	}
	return b, nil
}

func readKey(path string, n int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) != n {
		return nil, fmt.Errorf("key %s: has %d bytes, want %d", path, len(b), n)
	}
	return b, nil
}

// writeKey writes a new key file (mode 0600) and syncs it and its
// directory, so that a key once used survives a crash.
func writeKey(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("key %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// MoveKeys moves the keys an older minping kept in the data directory to
// the key directory, and returns what it moved. A key in both places that
// differs is an error: one of them would be wrong, and minping cannot tell
// which.
func MoveKeys(cfg Dirs) ([]string, error) {
	var moved []string
	for _, name := range []string{codeKeyFile, sealKeyFile} {
		from, to := filepath.Join(cfg.Data, name), filepath.Join(cfg.Keys, name)
		old, err := os.ReadFile(from)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return moved, fmt.Errorf("move keys: %w", err)
		}
		if err := os.MkdirAll(cfg.Keys, 0o700); err != nil {
			return moved, fmt.Errorf("key directory: %w", err)
		}
		switch cur, err := os.ReadFile(to); {
		case errors.Is(err, os.ErrNotExist):
			if err := writeKey(to, old); err != nil {
				return moved, err
			}
		case err != nil:
			return moved, fmt.Errorf("move keys: %w", err)
		case !bytes.Equal(cur, old):
			return moved, fmt.Errorf("%s differs in %s and %s: keep the right one in %s and remove the other", name, cfg.Data, cfg.Keys, cfg.Keys)
		}
		if err := os.Remove(from); err != nil {
			return moved, fmt.Errorf("move keys: %w", err)
		}
		moved = append(moved, fmt.Sprintf("moved %s out of the data directory %s to %s", name, cfg.Data, cfg.Keys))
	}
	return moved, nil
}
