package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"minping/assets"
	"minping/survey"
	"minping/survey/sqlite"
)

const formType = "application/x-www-form-urlencoded"

// TestBallotFormMalformed: bodies no browser sends get the form back with
// 400 and a message, never a 500 or a logged error, and the slip stays
// usable.
func TestBallotFormMalformed(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound()
	_, codes := admin.issue(id, "czj", "staff", 1)
	admin.state(id, "open")
	for name, body := range map[string]string{
		"bad escape":      "s0=%zz",
		"semicolon":       "s0=0;s1=0",
		"10,001 fields":   strings.Repeat("s0=1&", 10_001),
		"over a megabyte": "s0=" + strings.Repeat("1", 1<<20),
		"confirm, bad":    "step=confirm&s1=%",
	} {
		r := e.do(http.MethodPost, "/b/"+codes[0], "", body, "Content-Type", formType)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "提交的内容无法识别") {
			t.Errorf("%s: got %d, want 400 with the form and its message: %.300s", name, r.status, r.body)
		}
	}
	if strings.Contains(e.logs.String(), "level=ERROR") {
		t.Errorf("malformed bodies were logged as errors:\n%s", e.logs)
	}
	def, err := survey.ParseDefinition(assets.Example())
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do(http.MethodPost, "/b/"+codes[0], "", fullForm(def, "czj", "staff"), "Content-Type", formType); r.status != http.StatusSeeOther {
		t.Errorf("a good ballot after the malformed ones: got %s, want 303", r)
	}
}

// fullForm is the ballot form of category in unit with every row's second
// option, confirmed.
func fullForm(def *survey.Definition, unit, category string) string {
	v := url.Values{"step": {"confirm"}}
	for i := range def.Layout(def.Unit(unit), category) {
		v.Set("s"+strconv.Itoa(i), "1")
	}
	return v.Encode()
}

// FuzzBallotForm posts arbitrary bodies to the ballot form of an open round:
// whatever arrives, the answer is never a server error.
func FuzzBallotForm(f *testing.F) {
	for _, seed := range []string{"s0=1&s1=x", "step=edit&s0=9", "s0=%zz", "a=1;b=2", "step=confirm&s0=0&s0=1", "s99999999999=1", "s-1=1&s0=-5&step=review"} {
		f.Add(seed)
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "minping.db"), sqlite.Options{CodeKey: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	_, key, _ := ed25519.GenerateKey(nil)
	srv, err := New(store, key, Config{Data: f.TempDir()}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	def, err := survey.ParseDefinition(assets.Example())
	if err != nil {
		f.Fatal(err)
	}
	r, err := store.CreateRound(ctx, def, assets.Example())
	if err != nil {
		f.Fatal(err)
	}
	_, codes, err := store.IssueBatch(ctx, r.ID, "czj", "staff", 1)
	if err != nil {
		f.Fatal(err)
	}
	if err := store.OpenRound(ctx, r.ID); err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/b/"+codes[0], strings.NewReader(body))
		req.Header.Set("Content-Type", formType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%q: got %d: %.300s", body, w.Code, w.Body)
		}
	})
}
