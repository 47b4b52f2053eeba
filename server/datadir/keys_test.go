package datadir

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeysOutOfTheDataDirectory: a first start makes the keys in the key
// directory and none in the data directory; the keys an older minping kept
// in the data directory are moved out, unchanged, and said to be; a key
// that differs between the two places stops the start.
func TestKeysOutOfTheDataDirectory(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	cfg := Dirs{Data: filepath.Join(root, "data")}.WithDefaults()
	if cfg.Keys != filepath.Join(root, "data-keys") {
		t.Fatalf("default key directory %q, want data-keys beside the data directory", cfg.Keys)
	}
	store, err := OpenStore(ctx, cfg, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	if _, err := SealKey(cfg); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{codeKeyFile, sealKeyFile} {
		if _, err := os.Stat(filepath.Join(cfg.Data, name)); err == nil {
			t.Errorf("%s is in the data directory", name)
		}
		if fi, err := os.Stat(filepath.Join(cfg.Keys, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s in the key directory: %v %v, want mode 0600", name, fi, err)
		}
	}

	// An older layout: the keys in the data directory.
	old := Dirs{Data: filepath.Join(root, "old")}.WithDefaults()
	os.MkdirAll(old.Data, 0o700)
	code := bytes.Repeat([]byte{5}, 32)
	os.WriteFile(filepath.Join(old.Data, codeKeyFile), code, 0o600)
	moved, err := MoveKeys(old)
	if err != nil || len(moved) != 1 || !strings.Contains(moved[0], codeKeyFile) {
		t.Fatalf("move: %q, %v; want code.key moved", moved, err)
	}
	if got, _ := os.ReadFile(filepath.Join(old.Keys, codeKeyFile)); !bytes.Equal(got, code) {
		t.Errorf("the moved key changed")
	}
	if _, err := os.Stat(filepath.Join(old.Data, codeKeyFile)); err == nil {
		t.Errorf("the key stayed in the data directory too")
	}

	// A key in both places, differing: refused, nothing moved or made.
	os.WriteFile(filepath.Join(old.Data, codeKeyFile), bytes.Repeat([]byte{6}, 32), 0o600)
	if _, err := OpenStore(ctx, old, true, nil); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("a key differing in both places: got %v, want a refusal", err)
	}
}

func TestIsPostgres(t *testing.T) {
	for db, want := range map[string]bool{
		"postgres://minping@db1/minping":       true,
		"postgresql://db1:5432/minping":        true,
		"host=db1 dbname=minping user=minping": true,
		"dbname=minping":                       true,
		"minping-data/minping.db":              false,
		"/srv/minping/a=b.db":                  false,
		"":                                     false,
	} {
		if got := IsPostgres(db); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", db, got, want)
		}
	}
}
