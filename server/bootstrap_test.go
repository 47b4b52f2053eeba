package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"minping/survey"
	"strings"
	"testing"
)

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
