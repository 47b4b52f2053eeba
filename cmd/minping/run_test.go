package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"minping/assets"
	"minping/seal"
	"minping/server"
	"minping/survey"
	"minping/survey/postgres/pgtest"
)

func noEnv(string) string { return "" }

// TestHelpAndUsage: --help and a command's -h exit 0 with the usage; an
// unknown command or flag exits 2 and says what was wrong.
func TestHelpAndUsage(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"serve", "-h"}, {"recount", "--help"}, {"bench", "-h"}} {
		var out, errs bytes.Buffer
		if err := run(ctx, args, noEnv, &out, &errs); err != nil {
			t.Errorf("%v: got %v, want nil (exit 0)", args, err)
		}
		if out.Len()+errs.Len() == 0 {
			t.Errorf("%v printed nothing", args)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"serve", "--nosuch"}, "nosuch"},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`},
		{[]string{"recount"}, "usage: minping recount"},
		{[]string{"version", "x"}, "unexpected argument"},
	} {
		err := run(ctx, tc.args, noEnv, io.Discard, io.Discard)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v (exit %d), want exit 2 naming %q", tc.args, err, exitCode(err), tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"minping ", "commit ", "go      go1.", "sqlite  3."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSealedDataDirectory seals a round in a data directory the way the
// server does, then runs the commands that read it: verify of each
// document (and of a tampered one), recount and compact.
func TestSealedDataDirectory(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	id, docs := sealedRound(t, data)

	key, err := server.SealKey(server.Config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	pub := base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	dir := t.TempDir()
	for _, d := range docs {
		docPath, sigPath := filepath.Join(dir, "doc.json"), filepath.Join(dir, "doc.sig")
		os.WriteFile(docPath, d.Body, 0o600)
		os.WriteFile(sigPath, []byte(d.Signature), 0o600)
		var out bytes.Buffer
		if err := run(ctx, []string{"verify", "--pubkey", pub, docPath, sigPath}, noEnv, &out, io.Discard); err != nil || !strings.Contains(out.String(), "valid") {
			t.Errorf("verify %q: %v %s", d.Unit, err, out.String())
		}
		os.WriteFile(docPath, append(d.Body, ' '), 0o600)
		err := run(ctx, []string{"verify", "--pubkey", pub, docPath, sigPath}, noEnv, io.Discard, io.Discard)
		if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "INVALID") {
			t.Errorf("verify of a tampered %q: got %v, want exit 1 saying INVALID", d.Unit, err)
		}
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"recount", "--data", data, id}, noEnv, &out, io.Discard); err != nil {
		t.Fatalf("recount: %v\n%s", err, out.String())
	}
	if want := "documents identical to the sealed ones"; !strings.Contains(out.String(), want) || strings.Contains(out.String(), "DIFFERENT") {
		t.Errorf("recount output lacks %q:\n%s", want, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"compact", "--data", data}, noEnv, &out, io.Discard); err != nil {
		t.Errorf("compact: %v", err)
	}
	if err := run(ctx, []string{"recount", "--data", t.TempDir(), id}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "no minping database") {
		t.Errorf("recount of an empty directory: got %v, want a refusal naming the missing database", err)
	}
}

// sealedRound creates the example round in data, issues, votes two
// ballots, closes and seals it, and returns its id and sealed documents.
func sealedRound(t *testing.T, data string) (string, []survey.SealedDocument) {
	t.Helper()
	ctx := context.Background()
	cfg := server.Config{Data: data}
	store, err := server.OpenStore(ctx, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	def, err := survey.ParseDefinition(assets.Example())
	if err != nil {
		t.Fatal(err)
	}
	r, err := store.CreateRound(ctx, def, assets.Example())
	if err != nil {
		t.Fatal(err)
	}
	unit, category := def.Units[0].ID, def.Categories[0].ID
	_, codes, err := store.IssueBatch(ctx, r.ID, unit, category, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	for _, code := range codes {
		slip, err := store.Slip(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		values := make([]int, len(def.Layout(slip.Unit, category)))
		for i := range values {
			values[i] = 1 // every row's second option: never over a top limit
		}
		ballot, err := def.EncodeSlots(slip.Unit, category, values)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Submit(ctx, slip, ballot); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	key, err := server.SealKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seal.Seal(ctx, store, key, r.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	var docs []survey.SealedDocument
	for _, u := range append([]string{""}, unit) {
		d, err := store.Document(ctx, r.ID, u)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, *d)
	}
	return r.ID, docs
}

// TestPasswd: minping passwd sets the password of an existing account,
// generated (printed once) or from a file that passes the policy; a weak
// one and an unknown account are refused.
func TestPasswd(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	store, err := server.OpenStore(ctx, server.Config{Data: data}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SetPassword(ctx, "admin", survey.RoleAdmin, "first-password-9"); err != nil {
		t.Fatal(err)
	}
	store.Close()
	var out bytes.Buffer
	if err := run(ctx, []string{"passwd", "--data", data, "admin"}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	generated := strings.Fields(strings.SplitN(out.String(), " is now ", 2)[1])[0]
	weak := filepath.Join(t.TempDir(), "weak")
	os.WriteFile(weak, []byte("1234567890\n"), 0o600)
	if err := run(ctx, []string{"passwd", "--data", data, "--password-file", weak, "admin"}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "常见密码") {
		t.Errorf("a common password: got %v, want the policy's refusal", err)
	}
	if err := run(ctx, []string{"passwd", "--data", data, "nobody"}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "no account") {
		t.Errorf("an unknown account: got %v", err)
	}
	chosen := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(chosen, []byte("tall-granite-48\n"), 0o600)
	if err := run(ctx, []string{"passwd", "--data", data, "--password-file", chosen, "admin"}, noEnv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	store, err = server.OpenStore(ctx, server.Config{Data: data}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Authenticate(ctx, "admin", "tall-granite-48"); err != nil {
		t.Errorf("the chosen password does not sign in: %v", err)
	}
	for _, old := range []string{"first-password-9", generated} {
		if _, err := store.Authenticate(ctx, "admin", old); err == nil {
			t.Errorf("an earlier password %q still signs in", old)
		}
	}
}

// TestOperatorFlags reads --log-format and --metrics-addr, and their
// environment variables; a bad log format is a usage error.
func TestOperatorFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, _, err := parseFlags("serve", []string{"--log-format", "json", "--metrics-addr", "127.0.0.1:9180"}, env(nil), io.Discard)
	if err != nil || !cfg.LogJSON || cfg.MetricsAddr != "127.0.0.1:9180" {
		t.Errorf("flags: %+v, %v", cfg, err)
	}
	cfg, _, err = parseFlags("serve", nil, env(map[string]string{"MINPING_LOG_FORMAT": "json", "MINPING_METRICS_ADDR": ":9180"}), io.Discard)
	if err != nil || !cfg.LogJSON || cfg.MetricsAddr != ":9180" {
		t.Errorf("environment: %+v, %v", cfg, err)
	}
	if _, _, err := parseFlags("serve", []string{"--log-format", "xml"}, env(nil), io.Discard); err == nil {
		t.Error("--log-format xml was taken")
	}
	cfg, _, err = parseFlags("serve", []string{"--db", "host=db1 dbname=minping"}, env(map[string]string{"MINPING_ALLOW_UNSAFE_DB_SETTINGS": "true"}), io.Discard)
	if err != nil || cfg.DB != "host=db1 dbname=minping" || !cfg.AllowUnsafeDB {
		t.Errorf("a PostgreSQL DSN and the unsafe-settings override: %+v, %v", cfg, err)
	}
}

// TestServePostgres runs `minping serve --db postgres://…` as an operator
// would: it serves, /readyz says ready, its output never shows the
// database's password, and `minping passwd --db …` reaches the same
// accounts.
func TestServePostgres(t *testing.T) {
	dsn := pgtest.FreshDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Skip("the test server's DSN is not a URL")
	}
	password, _ := u.User.Password()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys := t.TempDir()
	env := func(k string) string {
		if k == "MINPING_ADMIN_TOKEN" {
			return strings.Repeat("t", 32)
		}
		return ""
	}
	var stdout, stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		// No data directory: on PostgreSQL minping keeps no file there.
		data := filepath.Join(t.TempDir(), "unused")
		done <- run(ctx, []string{"serve", "--db", dsn, "--data", data, "--keys", keys, "--addr", "127.0.0.1:0"}, env, &stdout, &stderr)
	}()
	re := regexp.MustCompile(`minping serving on (http://\S+)`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
	}
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Errorf("/readyz on PostgreSQL: %d %s", resp.StatusCode, body)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"passwd", "--db", dsn, "--keys", keys, "admin"}, noEnv, &out, io.Discard); err != nil {
		t.Errorf("passwd --db: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve returned %v after its context ended", err)
	}
	if password != "" && strings.Contains(stdout.String()+stderr.String(), password) {
		t.Errorf("the database's password is in minping's output:\n%s%s", stdout.String(), stderr.String())
	}
}

// lockedBuffer is a buffer written by one goroutine and read by another.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
