package server

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
)

// TestConsolePasswordChange: an appraiser replaces the password an admin
// handed over. Bad forms are refused with every problem named and nothing
// changed; a wrong current password is refused; after the change the old
// password no longer signs in, the new one does, another browser's session
// has ended and this one carries on.
func TestConsolePasswordChange(t *testing.T) {
	e := newConsoleEnv(t)
	other := signIn(t, e.ts.URL, "第一考核组", appraiserPassword)
	cc := signIn(t, e.ts.URL, "第一考核组", appraiserPassword)
	page := cc.must(http.StatusOK, cc.get("/console/password"), "password page")
	if !bytes.Contains(page.body, []byte(`autocomplete="new-password"`)) {
		t.Errorf("the form does not mark the new password for password managers")
	}

	r := cc.post("/console/password", url.Values{"current": {""}, "new": {"short"}, "again": {"shorter"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad form: got %d, want 422", r.status)
	}
	for _, want := range []string{"请输入当前密码", "至少需要 10 个字符", "两次输入的新密码不一致"} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Errorf("bad form: the page does not say %q", want)
		}
	}
	const next = "换一个新的密码-2026"
	r = cc.post("/console/password", url.Values{"current": {"not-the-password"}, "new": {next}, "again": {next}})
	if r.status != http.StatusUnprocessableEntity || !bytes.Contains(r.body, []byte("当前密码不正确")) {
		t.Fatalf("wrong current password: got %d, want 422 saying so", r.status)
	}
	signIn(t, e.ts.URL, "第一考核组", appraiserPassword) // nothing changed yet

	r = cc.post("/console/password", url.Values{"current": {appraiserPassword}, "new": {next}, "again": {next}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console?ok=password" {
		t.Fatalf("change: got %d to %q, want 303 to /console?ok=password\n%s", r.status, r.header.Get("Location"), r.body)
	}
	home := cc.get("/console?ok=password")
	if home.status != http.StatusSeeOther {
		t.Fatalf("console home: %d", home.status)
	}
	if page := cc.get(home.header.Get("Location")); page.status != http.StatusOK || !bytes.Contains(page.body, []byte("密码已修改")) {
		t.Errorf("after the change, this browser's next page (%d) does not confirm it", page.status)
	}
	if r := other.get("/console/sealed"); r.status != http.StatusSeeOther {
		t.Errorf("another browser's session survived the change: got %d, want a redirect to sign in", r.status)
	}
	old := newConsoleClient(t, e.ts.URL)
	old.get("/console/login")
	if r := old.post("/console/login", url.Values{"name": {"第一考核组"}, "password": {appraiserPassword}}); r.status != http.StatusUnauthorized {
		t.Errorf("the old password still signs in: %d", r.status)
	}
	signIn(t, e.ts.URL, "第一考核组", next)
	if logs := e.logs.String(); bytes.Contains([]byte(logs), []byte(next)) || bytes.Contains([]byte(logs), []byte(appraiserPassword)) {
		t.Errorf("a password reached the log")
	}
}
