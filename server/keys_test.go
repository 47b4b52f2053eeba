package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"minping/survey"
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
	cfg := Config{Data: filepath.Join(root, "data")}.withDefaults()
	if cfg.Keys != filepath.Join(root, "data-keys") {
		t.Fatalf("default key directory %q, want data-keys beside the data directory", cfg.Keys)
	}
	store, err := OpenStore(ctx, cfg, true)
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
	old := Config{Data: filepath.Join(root, "old")}.withDefaults()
	os.MkdirAll(old.Data, 0o700)
	code := bytes.Repeat([]byte{5}, 32)
	os.WriteFile(filepath.Join(old.Data, codeKeyFile), code, 0o600)
	moved, err := moveKeys(old)
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
	if _, err := OpenStore(ctx, old, true); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("a key differing in both places: got %v, want a refusal", err)
	}
}

// TestAdminPasswordOnlyAtFirstStart: MINPING_ADMIN_PASSWORD makes the
// admin account if there is none, and must pass the password policy; once
// the account exists the variable is ignored (and the log says so), so it
// never undoes a password changed since.
func TestAdminPasswordOnlyAtFirstStart(t *testing.T) {
	ctx := context.Background()
	store, err := OpenStore(ctx, Config{Data: t.TempDir()}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if err := bootstrap(ctx, store, Config{AdminPassword: "1"}, false, io.Discard, log); err == nil || !strings.Contains(err.Error(), "至少需要 10 个字符") {
		t.Errorf("a weak MINPING_ADMIN_PASSWORD: got %v, want the policy's refusal", err)
	}
	if err := bootstrap(ctx, store, Config{AdminPassword: "tall-granite-48"}, false, io.Discard, log); err != nil {
		t.Fatal(err)
	}
	if err := store.SetPassword(ctx, "admin", survey.RoleAdmin, "changed-in-console-7"); err != nil {
		t.Fatal(err)
	}
	if err := bootstrap(ctx, store, Config{AdminPassword: "tall-granite-48"}, false, io.Discard, log); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Authenticate(ctx, "admin", "changed-in-console-7"); err != nil {
		t.Errorf("a restart with MINPING_ADMIN_PASSWORD undid the changed password: %v", err)
	}
	if !strings.Contains(logs.String(), "MINPING_ADMIN_PASSWORD is ignored") {
		t.Errorf("the log does not say the variable was ignored:\n%s", logs.String())
	}
}
