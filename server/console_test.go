package server

import (
	"bytes"
	"context"
	"html"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"minping/assets"
	"minping/server/console"
	"minping/survey"
)

// consoleClient is a browser-like client of the console: a cookie jar, no
// redirects followed, and the form token of the last page it read.
type consoleClient struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func newConsoleClient(t *testing.T, base string) *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{t: t, base: base, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       60 * time.Second,
	}}
}

// send sends a request; hdr holds header name, value pairs.
func (cc *consoleClient) send(method, path, ctype string, body io.Reader, hdr ...string) testResponse {
	cc.t.Helper()
	req, err := http.NewRequest(method, cc.base+path, body)
	if err != nil {
		cc.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := cc.hc.Do(req)
	if err != nil {
		cc.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := csrfRE.FindSubmatch(b); m != nil {
		cc.csrf = string(m[1])
	}
	return testResponse{status: res.StatusCode, header: res.Header, body: b}
}

func (cc *consoleClient) get(path string) testResponse {
	cc.t.Helper()
	return cc.send("GET", path, "", nil)
}

// post posts a form; the page's token is added unless the form has one.
func (cc *consoleClient) post(path string, form url.Values, hdr ...string) testResponse {
	cc.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", cc.csrf)
	}
	return cc.send("POST", path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), hdr...)
}

// upload posts a multipart form with files (field → name, content).
func (cc *consoleClient) upload(path string, form url.Values, files map[string][2]string) testResponse {
	cc.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("csrf", cc.csrf)
	for k, vs := range form {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	for field, f := range files {
		fw, _ := w.CreateFormFile(field, f[0])
		fw.Write([]byte(f[1]))
	}
	w.Close()
	return cc.send("POST", path, w.FormDataContentType(), &b)
}

func (cc *consoleClient) must(want int, r testResponse, what string) testResponse {
	cc.t.Helper()
	if r.status != want {
		cc.t.Fatalf("%s: got status %d, want %d\n%s", what, r.status, want, r.body)
	}
	return r
}

// signIn signs in through the login form and returns the client.
func signIn(t *testing.T, base, name, password string) *consoleClient {
	t.Helper()
	cc := newConsoleClient(t, base)
	cc.must(http.StatusOK, cc.get("/console/login"), "login page")
	r := cc.post("/console/login", url.Values{"name": {name}, "password": {password}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign in as %s: got %d, want 303\n%s", name, r.status, r.body)
	}
	cc.get(r.header.Get("Location"))
	return cc
}

// consoleEnv is a test server with an admin, an organiser and an appraiser
// who sign in with passwords, and the example round.
type consoleEnv struct {
	*testEnv
	round string
}

const (
	adminPassword     = "tall-granite-48"
	organiserPassword = "organiser-password-1"
	appraiserPassword = "appraiser-password-1"
)

func newConsoleEnv(t *testing.T, change ...func(*Config)) *consoleEnv {
	t.Helper()
	e := newTestEnv(t, change...)
	ctx := context.Background()
	round := e.admin().createRound()
	for _, a := range []survey.NewAccount{
		{Name: "admin", Role: survey.RoleAdmin, Password: adminPassword},
		{Name: "考核办", Role: survey.RoleOrganiser, Password: organiserPassword},
		{Name: "第一考核组", Role: survey.RoleAppraiser, Password: appraiserPassword, RoundID: round, Units: []string{"czj"}},
	} {
		if _, _, err := e.store.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	return &consoleEnv{testEnv: e, round: round}
}

func TestConsoleSignIn(t *testing.T) {
	e := newConsoleEnv(t)

	cc := newConsoleClient(t, e.ts.URL)
	r := cc.get("/console/rounds")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/console/login?next=") {
		t.Fatalf("signed out GET /console/rounds: got %d to %q, want 303 to the login page", r.status, r.header.Get("Location"))
	}
	cc.must(http.StatusOK, cc.get("/console/login"), "login page")
	for _, tc := range []struct{ name, password string }{
		{"考核办", "wrong-password"},
		{"nobody", organiserPassword},
		{"考核办", ""},
	} {
		r := cc.post("/console/login", url.Values{"name": {tc.name}, "password": {tc.password}})
		if r.status == http.StatusSeeOther || !bytes.Contains(r.body, []byte("用户名")) {
			t.Errorf("sign in %q/%q: got %d, want a refusal on the login page", tc.name, tc.password, r.status)
		}
		for _, c := range r.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, console.SessionCookie+"=") {
				t.Errorf("sign in %q/%q set a session cookie %q", tc.name, tc.password, c)
			}
		}
	}

	r = cc.post("/console/login", url.Values{"name": {"考核办"}, "password": {organiserPassword}, "next": {"/console/rounds/new"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console/rounds/new" {
		t.Fatalf("sign in: got %d to %q, want 303 to the page asked for", r.status, r.header.Get("Location"))
	}
	checkSessionCookie(t, r.header, false)
	cc.must(http.StatusOK, cc.get("/console/rounds"), "rounds after sign-in")

	// An outside address is never a place to go after signing in.
	c2 := newConsoleClient(t, e.ts.URL)
	c2.get("/console/login")
	r = c2.post("/console/login", url.Values{"name": {"考核办"}, "password": {organiserPassword}, "next": {"//evil.example/console"}})
	if loc := r.header.Get("Location"); loc != "/console" {
		t.Errorf("next=//evil.example: redirected to %q, want /console", loc)
	}

	// Signing out ends the session on the server, not only in the browser.
	var session string
	for _, c := range cc.hc.Jar.Cookies(mustURL(t, e.ts.URL+"/console")) {
		if c.Name == console.SessionCookie {
			session = c.Value
		}
	}
	cc.must(http.StatusSeeOther, cc.post("/console/logout", nil), "sign out")
	if _, err := e.store.SessionAccount(context.Background(), session); err == nil {
		t.Errorf("the session still works after signing out")
	}
	if r := cc.get("/console/rounds"); r.status != http.StatusSeeOther {
		t.Errorf("after sign-out GET /console/rounds: got %d, want 303 to sign in", r.status)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// checkSessionCookie checks the flags of the session cookie set in h.
func checkSessionCookie(t *testing.T, h http.Header, secure bool) {
	t.Helper()
	res := http.Response{Header: h}
	for _, c := range res.Cookies() {
		if c.Name != console.SessionCookie {
			continue
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/console" || c.Secure != secure {
			t.Errorf("session cookie %q: want HttpOnly, SameSite=Strict, Path=/console, Secure=%v", c.Raw, secure)
		}
		if c.MaxAge <= 0 || c.MaxAge > int(survey.SessionMax/time.Second) {
			t.Errorf("session cookie Max-Age %d, want 1..%d", c.MaxAge, int(survey.SessionMax/time.Second))
		}
		if len(c.Value) < 40 {
			t.Errorf("session secret %q is short", c.Value)
		}
		return
	}
	t.Errorf("no session cookie in %q", h.Values("Set-Cookie"))
}

func TestConsoleSessionCookieSecure(t *testing.T) {
	e := newConsoleEnv(t)
	tls := httptest.NewTLSServer(e.srv.Handler())
	t.Cleanup(tls.Close)
	cc := newConsoleClient(t, tls.URL)
	cc.hc.Transport = tls.Client().Transport
	cc.get("/console/login")
	r := cc.post("/console/login", url.Values{"name": {"考核办"}, "password": {organiserPassword}})
	checkSessionCookie(t, r.header, true)

	// Behind a TLS front (--base-url https://HOST), requests for that host
	// get Secure cookies although they arrive over plain HTTP.
	front := newConsoleEnv(t, func(c *Config) { c.BaseURL = "https://minping.example.gov.cn" })
	cc = newConsoleClient(t, front.ts.URL)
	tok := survey.NewToken() // the login form's token, as its page would set it
	r = cc.post("/console/login", url.Values{"name": {"考核办"}, "password": {organiserPassword}, "csrf": {tok}},
		"Host", "minping.example.gov.cn", "Cookie", console.LoginCookie+"="+tok)
	checkSessionCookie(t, r.header, true)
}

func TestConsoleForgery(t *testing.T) {
	e := newConsoleEnv(t)
	cc := signIn(t, e.ts.URL, "admin", adminPassword)
	cc.get("/console/accounts")
	token := cc.csrf
	create := func(name string) url.Values {
		return url.Values{"name": {name}, "role": {"organiser"}}
	}
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"no token", create("a1"), nil},
		{"empty token", url.Values{"name": {"a2"}, "role": {"organiser"}, "csrf": {""}}, nil},
		{"wrong token", url.Values{"name": {"a3"}, "role": {"organiser"}, "csrf": {token + "x"}}, nil},
		{"cross-site fetch", url.Values{"name": {"a4"}, "role": {"organiser"}, "csrf": {token}}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"other origin", url.Values{"name": {"a5"}, "role": {"organiser"}, "csrf": {token}}, []string{"Origin", "http://evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := tc.form
			var r testResponse
			if tc.name == "no token" {
				r = cc.send("POST", "/console/accounts", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), tc.hdr...)
			} else {
				r = cc.post("/console/accounts", form, tc.hdr...)
			}
			if r.status != http.StatusForbidden {
				t.Errorf("got %d, want 403", r.status)
			}
			if ok, _ := e.store.HasAccount(context.Background(), form.Get("name")); ok {
				t.Errorf("the account was created")
			}
		})
	}
	r := cc.post("/console/accounts", url.Values{"name": {"a6"}, "role": {"organiser"}, "csrf": {token}}, "Sec-Fetch-Site", "same-origin")
	cc.must(http.StatusCreated, r, "create with the token, same origin")

	// The sign-in form has its own token: a forged sign-in is refused.
	fresh := newConsoleClient(t, e.ts.URL)
	r = fresh.post("/console/login", url.Values{"name": {"admin"}, "password": {adminPassword}, "csrf": {"guess"}})
	if r.status != http.StatusForbidden {
		t.Errorf("sign-in without the login form's token: got %d, want 403", r.status)
	}
}

func TestConsoleRoles(t *testing.T) {
	e := newConsoleEnv(t)
	org := signIn(t, e.ts.URL, "考核办", organiserPassword)
	appr := signIn(t, e.ts.URL, "第一考核组", appraiserPassword)
	admin := signIn(t, e.ts.URL, "admin", adminPassword)
	rid := "/console/rounds/" + e.round

	for _, tc := range []struct {
		who    *consoleClient
		name   string
		method string
		path   string
		form   url.Values
		want   int
	}{
		{org, "organiser", "GET", "/console/accounts", nil, http.StatusForbidden},
		{org, "organiser", "POST", "/console/accounts", url.Values{"name": {"x"}, "role": {"organiser"}}, http.StatusForbidden},
		{org, "organiser", "GET", "/console/sealed", nil, http.StatusForbidden},
		{org, "organiser", "GET", rid, nil, http.StatusOK},
		{org, "organiser", "GET", rid + "/batches", nil, http.StatusOK},
		{appr, "appraiser", "POST", rid + "/batches", url.Values{"unit": {"czj"}, "category": {"staff"}, "count": {"3"}, "nonce": {survey.NewToken()}}, http.StatusForbidden},
		{appr, "appraiser", "POST", rid + "/batches/bulk", url.Values{"category": {"staff"}, "nonce": {survey.NewToken()}}, http.StatusForbidden},
		{appr, "appraiser", "GET", rid + "/batches", nil, http.StatusForbidden},
		{appr, "appraiser", "GET", "/console/rounds", nil, http.StatusForbidden},
		{appr, "appraiser", "GET", rid + "/turnout.json", nil, http.StatusForbidden},
		{appr, "appraiser", "POST", rid + "/close", url.Values{"confirm": {"yes"}}, http.StatusForbidden},
		{appr, "appraiser", "GET", "/console/accounts", nil, http.StatusForbidden},
		{appr, "appraiser", "GET", "/console/sealed", nil, http.StatusOK},
		{admin, "admin", "GET", "/console/accounts", nil, http.StatusOK},
		{admin, "admin", "GET", "/console/sealed", nil, http.StatusOK},
	} {
		var r testResponse
		if tc.method == "GET" {
			r = tc.who.get(tc.path)
		} else {
			r = tc.who.post(tc.path, tc.form)
		}
		if r.status != tc.want {
			t.Errorf("%s %s %s: got %d, want %d", tc.name, tc.method, tc.path, r.status, tc.want)
		}
	}
	if bs, _ := e.store.Batches(context.Background(), e.round); len(bs) != 0 {
		t.Errorf("the appraiser issued %d batches, want none", len(bs))
	}
	// The appraiser sees its own unit, and no other.
	r := appr.get("/console/sealed")
	if !bytes.Contains(r.body, []byte("区财政局")) || bytes.Contains(r.body, []byte("区民政局")) {
		t.Errorf("the appraiser's list should hold 区财政局 only:\n%s", r.body)
	}
	// Signed out, the turnout figures answer 401, not a page.
	if r := newConsoleClient(t, e.ts.URL).get(rid + "/turnout.json"); r.status != http.StatusUnauthorized {
		t.Errorf("signed-out turnout.json: got %d, want 401", r.status)
	}
}

func TestConsoleLockout(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	e := newConsoleEnv(t, func(c *Config) { c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now } })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	cc := newConsoleClient(t, e.ts.URL)
	cc.get("/console/login")
	try := func(password string) int {
		return cc.post("/console/login", url.Values{"name": {"考核办"}, "password": {password}}).status
	}
	for i := 1; i <= console.FreeNameFailures; i++ {
		if got := try("wrong"); got != http.StatusUnauthorized {
			t.Fatalf("failure %d: got %d, want 401", i, got)
		}
	}
	if got := try("wrong"); got != http.StatusUnauthorized {
		t.Fatalf("failure %d: got %d, want 401 (it starts the wait)", console.FreeNameFailures+1, got)
	}
	if got := try(organiserPassword); got != http.StatusTooManyRequests {
		t.Fatalf("the right password while locked out: got %d, want 429", got)
	}
	// The wait doubles with each failure after it.
	advance(time.Second)
	try("wrong")
	advance(time.Second)
	if got := try(organiserPassword); got != http.StatusTooManyRequests {
		t.Fatalf("1 s into a 2 s wait: got %d, want 429", got)
	}
	advance(time.Second)
	if got := try(organiserPassword); got != http.StatusSeeOther {
		t.Fatalf("after the wait, the right password: got %d, want 303", got)
	}
	// Other names are not held up by one name's failures.
	other := newConsoleClient(t, e.ts.URL)
	other.get("/console/login")
	if r := other.post("/console/login", url.Values{"name": {"admin"}, "password": {adminPassword}}); r.status != http.StatusSeeOther {
		t.Errorf("another account: got %d, want 303", r.status)
	}
}

// rosterXLSX builds a roster workbook of the standard template's categories.
func rosterXLSX(t testing.TB, rows ...[]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetName("Sheet1", "名册")
	head := []any{"单位编号", "单位名称", "单位类型", "成员编号", "姓名", "职务", "党政正职", "应到人数（一般干部职工）", "应到人数（区领导）"}
	all := append([][]any{head}, rows...)
	for i, r := range all {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		f.SetSheetRow("名册", cell, &r)
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var goodRoster = [][]any{
	{"czj", "区财政局", "经济管理部门", "", "张建国", "党组书记、局长", "是", 6, 3},
	{"", "", "", "", "李秀英", "副局长", ""},
	{"mzj", "区民政局", "社会管理服务部门", "", "徐卫东", "局长", "是", 4},
	{"", "", "", "", "孙丽", "副局长", ""},
}

func TestConsoleCreateAndImport(t *testing.T) {
	e := newConsoleEnv(t)
	cc := signIn(t, e.ts.URL, "考核办", organiserPassword)
	ctx := context.Background()
	before, _ := e.store.Rounds(ctx)

	cc.must(http.StatusOK, cc.get("/console/rounds/new"), "new round page")
	tmpl := cc.must(http.StatusOK, cc.get("/console/roster-template.xlsx"), "roster template")
	if !bytes.HasPrefix(tmpl.body, []byte("PK")) {
		t.Fatalf("the roster template is not a workbook")
	}

	bad := rosterXLSX(t,
		[]any{"czj", "区财政局", "经济管理部门", "", "张建国", "局长", "是的", 6},
		[]any{"", "", "", "", "李秀英", "副局长", "", "六"},
		[]any{"mzj", "", "社会管理服务部门", "", "徐卫东", "局长"},
	)
	form := url.Values{"mode": {"template"}, "name": {"2026年度测试测评"}, "points": {"20"}, "satisfaction": {"yes"}}
	r := cc.upload("/console/rounds/new", form, map[string][2]string{"roster": {"名册.xlsx", string(bad)}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a roster with problems: got %d, want 422\n%s", r.status, r.body)
	}
	for _, want := range []string{"发现 3 个问题", "名册 第2行", "党政正职 “是的”", "名册 第3行", "应到人数（一般干部职工） “六”", "名册 第4行", "缺少单位名称"} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Errorf("the problems page lacks %q", want)
		}
	}
	if after, _ := e.store.Rounds(ctx); len(after) != len(before) {
		t.Fatalf("a round was saved despite the problems")
	}

	r = cc.upload("/console/rounds/new", form, map[string][2]string{"roster": {"名册.xlsx", string(rosterXLSX(t, goodRoster...))}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create from the template: got %d, want 303\n%s", r.status, r.body)
	}
	id := strings.TrimPrefix(strings.Split(r.header.Get("Location"), "?")[0], "/console/rounds/")
	round, err := e.store.Round(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	def := round.Definition
	if round.Status != survey.StatusDraft || len(def.Units) != 2 || len(def.Forms) != 3 || def.Units[0].Members[1].ID != "czj-2" {
		t.Errorf("created round: status %s, %d units, %d forms, want a draft with 2 units and 3 forms", round.Status, len(def.Units), len(def.Forms))
	}
	exp, _ := e.store.Expected(ctx, id)
	if exp["czj"]["staff"] != 6 || exp["czj"]["leaders"] != 3 || exp["mzj"]["staff"] != 4 {
		t.Errorf("expected attendance %v, want czj staff 6 leaders 3, mzj staff 4", exp)
	}
	page := cc.must(http.StatusOK, cc.get("/console/rounds/"+id), "round page")
	for _, want := range []string{"区财政局", "张建国", "李秀英", "一般干部职工", "班子成员德能勤绩廉测评", "服务对象满意度测评"} {
		if !bytes.Contains(page.body, []byte(want)) {
			t.Errorf("the round page lacks %q", want)
		}
	}

	// Re-importing onto the draft: problems change nothing.
	r = cc.upload("/console/rounds/"+id+"/roster", nil, map[string][2]string{"roster": {"r.csv", "单位编号,单位名称,单位类型,姓名\nczj,区财政局,,张三\n"}})
	if r.status != http.StatusUnprocessableEntity || !bytes.Contains(r.body, []byte("第2行")) {
		t.Errorf("re-import with a problem: got %d, want 422 naming 第2行", r.status)
	}
	if again, _ := e.store.Round(ctx, id); len(again.Definition.Units) != 2 {
		t.Errorf("the failed import changed the units")
	}
	r = cc.upload("/console/rounds/"+id+"/roster", nil, map[string][2]string{"roster": {"r.csv", "单位编号,单位名称,单位类型,姓名\nczj,区财政局,经济管理部门,张三\n"}})
	// First a preview of what it would create, nothing saved yet.
	preview := cc.must(http.StatusOK, r, "preview a good roster")
	if !bytes.Contains(preview.body, []byte("将导入 1 个单位、1 名班子成员")) {
		t.Errorf("the preview does not say what the roster creates")
	}
	if again, _ := e.store.Round(ctx, id); len(again.Definition.Units) != 2 {
		t.Errorf("the preview saved the roster")
	}
	file := regexp.MustCompile(`name="file" value="([^"]+)"`).FindSubmatch(preview.body)
	if file == nil {
		t.Fatal("the preview has no file to confirm")
	}
	cc.must(http.StatusSeeOther, cc.post("/console/rounds/"+id+"/roster", url.Values{"confirm": {"yes"}, "file": {html.UnescapeString(string(file[1]))}}), "confirm the roster")
	if again, _ := e.store.Round(ctx, id); len(again.Definition.Units) != 1 || again.Definition.Units[0].Members[0].Name != "张三" {
		t.Errorf("the import did not replace the units")
	}

	// Settings: weights that do not sum to 100 are refused with the problem.
	cc.get("/console/rounds/" + id + "/settings")
	weights := url.Values{"weight_leaders": {"25"}, "weight_cadres": {"30"}, "weight_staff": {"30"}, "weight_clients": {"20"}, "quorum": {"80%"}}
	r = cc.post("/console/rounds/"+id+"/settings", weights)
	if r.status != http.StatusUnprocessableEntity || !bytes.Contains(r.body, []byte("现为 105")) {
		t.Errorf("weights summing to 105: got %d, want 422 naming the sum", r.status)
	}
	weights.Set("weight_leaders", "20")
	cc.must(http.StatusSeeOther, cc.post("/console/rounds/"+id+"/settings", weights), "save settings")
	again, _ := e.store.Round(ctx, id)
	if got := again.Definition.Rules.Quorum.Rat(); got.Cmp(big.NewRat(4, 5)) != 0 {
		t.Errorf("quorum after saving 80%%: %s, want 4/5", got)
	}
	src, _ := e.store.RoundSource(ctx, id)
	if !bytes.Contains(src, []byte("# 标准模板")) {
		t.Errorf("saving the settings lost the source's comments:\n%s", src)
	}
	// The YAML textarea: a broken definition is refused with its paths.
	r = cc.post("/console/rounds/"+id+"/definition", url.Values{"source": {strings.Replace(string(src), "scale: grade", "scale: nosuch", 1)}})
	if r.status != http.StatusUnprocessableEntity || !bytes.Contains(r.body, []byte("forms[1].scale")) {
		t.Errorf("a definition with an unknown scale: got %d, want 422 naming forms[1].scale", r.status)
	}
	// Once open, nothing of the definition can change, and its fingerprint shows.
	cc.get("/console/rounds/" + id)
	cc.must(http.StatusSeeOther, cc.post("/console/rounds/"+id+"/open", url.Values{"confirm": {"yes"}}), "open")
	again, _ = e.store.Round(ctx, id)
	if page := cc.get("/console/rounds/" + id); !bytes.Contains(page.body, []byte(again.ConfigSHA256)) {
		t.Errorf("the open round's page does not show its fingerprint %s", again.ConfigSHA256)
	}
	if r := cc.post("/console/rounds/"+id+"/settings", weights); r.status != http.StatusConflict {
		t.Errorf("settings after opening: got %d, want 409", r.status)
	}
}

func TestConsoleAccounts(t *testing.T) {
	e := newConsoleEnv(t)
	admin := signIn(t, e.ts.URL, "admin", adminPassword)
	admin.get("/console/accounts")
	r := admin.must(http.StatusCreated, admin.post("/console/accounts", url.Values{"name": {"第二考核组"}, "role": {"appraiser"}, "round": {e.round}, "units": {"mzj", "rsj"}}), "create appraiser")
	m := regexp.MustCompile(`id="new-password">([^<]+)<`).FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("the new password is not shown:\n%s", r.body)
	}
	password := string(m[1])
	if page := admin.get("/console/accounts"); bytes.Contains(page.body, []byte(password)) {
		t.Errorf("the password is shown again on the accounts page")
	}
	appr := signIn(t, e.ts.URL, "第二考核组", password)
	if page := appr.get("/console/sealed"); !bytes.Contains(page.body, []byte("区民政局")) || bytes.Contains(page.body, []byte("区财政局")) {
		t.Errorf("the new appraiser should see 区民政局 and not 区财政局")
	}
	// A duplicate name is a problem on the page, not an error.
	r = admin.post("/console/accounts", url.Values{"name": {"第二考核组"}, "role": {"organiser"}})
	if r.status != http.StatusConflict || !bytes.Contains(r.body, []byte("已被使用")) {
		t.Errorf("duplicate name: got %d, want 409 saying it is taken", r.status)
	}
}

func TestConsoleStatic(t *testing.T) {
	e := newConsoleEnv(t)
	cc := newConsoleClient(t, e.ts.URL)
	page := cc.get("/console/login")
	m := regexp.MustCompile(`href="(/static/[0-9a-f]{12}/console\.css)"`).FindSubmatch(page.body)
	if m == nil {
		t.Fatalf("the login page links no hashed console.css")
	}
	r := cc.get(string(m[1]))
	if r.status != http.StatusOK || !strings.Contains(r.header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("GET %s: %d, Cache-Control %q, Content-Type %q", m[1], r.status, r.header.Get("Cache-Control"), r.header.Get("Content-Type"))
	}
	if r := cc.get("/static/000000000000/console.css"); r.status != http.StatusNotFound {
		t.Errorf("a stale hash: got %d, want 404", r.status)
	}
	if cc := page.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("console page Cache-Control %q, want no-store", cc)
	}
}

var slipCodeRE = regexp.MustCompile(`<div class="code">([2-9A-HJ-NP-Z]{4}(?:-[2-9A-HJ-NP-Z]{4}){3})</div>`)

// turnoutFigures reads the console's turnout JSON.
func turnoutFigures(t *testing.T, cc *consoleClient, round string) console.TurnoutView {
	t.Helper()
	var v console.TurnoutView
	cc.must(http.StatusOK, cc.get("/console/rounds/"+round+"/turnout.json"), "turnout.json").decode(t, &v)
	return v
}

func TestConsoleBatchesTurnoutClose(t *testing.T) {
	// The console's clock moves an hour at every reading, so that each
	// request takes a fresh turnout snapshot, until the test stops it.
	var mu sync.Mutex
	clock, step := time.Now(), time.Hour
	e := newConsoleEnv(t, func(c *Config) {
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(step); return clock }
	})
	ctx := context.Background()
	cc := signIn(t, e.ts.URL, "考核办", organiserPassword)
	rid := "/console/rounds/" + e.round
	if err := e.store.SetExpected(ctx, e.round, survey.Expected{"czj": {"staff": 7}, "fgj": {"staff": 2, "leaders": 1}}); err != nil {
		t.Fatal(err)
	}

	// One batch: the print sheet is the answer, and its form issues once.
	page := cc.must(http.StatusOK, cc.get(rid+"/batches"), "batches page")
	nonce := regexp.MustCompile(`name="nonce" value="([^"]+)"`).FindSubmatch(page.body)
	if nonce == nil {
		t.Fatal("the issue form has no nonce")
	}
	// Opened at 127.0.0.1, the page warns that slips would point at this
	// machine alone, and issuing refuses until the organiser says it is a
	// test, before the form's nonce is spent.
	if body := string(page.body); !strings.Contains(body, "这是本机地址，手机扫码打不开") || !strings.Contains(body, `name="loopback_ok"`) {
		t.Errorf("the batches page at 127.0.0.1 does not warn of loopback links")
	}
	issue := url.Values{"unit": {"czj"}, "category": {"staff"}, "count": {"6"}, "nonce": {string(nonce[1])}}
	if r := cc.post(rid+"/batches", issue); r.status != http.StatusUnprocessableEntity || !bytes.Contains(r.body, []byte("这只是测试")) {
		t.Errorf("issuing loopback links unconfirmed: got %d, want 422 saying how to go on", r.status)
	}
	issue.Set("loopback_ok", "yes")
	sheet := cc.must(http.StatusCreated, cc.post(rid+"/batches", issue), "issue")
	codes := slipCodeRE.FindAllSubmatch(sheet.body, -1)
	if len(codes) != 6 || sheet.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("print sheet: %d codes, Cache-Control %q; want 6 and no-store", len(codes), sheet.header.Get("Cache-Control"))
	}
	if r := cc.post(rid+"/batches", issue); r.status != http.StatusConflict || !bytes.Contains(r.body, []byte("作废")) {
		t.Errorf("the same form again: got %d, want 409 telling to void and re-issue", r.status)
	}
	if bs, _ := e.store.Batches(ctx, e.round); len(bs) != 1 {
		t.Fatalf("%d batches after a re-posted form, want 1", len(bs))
	}

	// Bulk: every unit's 应到人数 of the chosen categories, skipping units
	// that already have slips of it (czj × staff).
	cc.get(rid + "/batches")
	bulk := url.Values{"category": {"staff", "leaders"}, "nonce": {survey.NewToken()}, "loopback_ok": {"yes"}}
	sheet = cc.must(http.StatusCreated, cc.post(rid+"/batches/bulk", bulk), "bulk issue")
	if n := len(slipCodeRE.FindAllSubmatch(sheet.body, -1)); n != 3 {
		t.Errorf("bulk sheet: %d codes, want 3 (fgj: staff 2, leaders 1)", n)
	}
	bs, _ := e.store.Batches(ctx, e.round)
	if len(bs) != 3 {
		t.Fatalf("%d batches after bulk, want 3", len(bs))
	}

	// Void: the batch's codes stop working.
	var leaders survey.Batch
	for _, b := range bs {
		if b.Category == "leaders" {
			leaders = b
		}
	}
	cc.get(rid + "/batches")
	cc.must(http.StatusSeeOther, cc.post(rid+"/batches/"+leaders.ID+"/void", nil), "void")
	if bs, _ := e.store.Batches(ctx, e.round); !slices.ContainsFunc(bs, func(b survey.Batch) bool { return b.ID == leaders.ID && b.Voided }) {
		t.Errorf("the batch is not void")
	}

	// Turnout: while open, a count under min_group (3) says 「不足 3 人」;
	// from 3 on it is exact.
	admin := e.admin()
	admin.state(e.round, "open")
	vote := func(code string) {
		t.Helper()
		doc := admin.ballot(code)
		if r := submitBallot(t, e.ts.URL, code, answerAll(doc, nil)); r.status != http.StatusCreated {
			t.Fatalf("vote: %s", r)
		}
	}
	for i := 0; i < 2; i++ {
		vote(string(codes[i][1]))
	}
	v := turnoutFigures(t, cc, e.round)
	if cell := v.Units[0].Cells[2]; !v.Coarse || v.Shown != "不足 3 人" || v.Voted != 0 || cell.Shown != "不足 3 人" || cell.Issued != 6 || v.Issued != 8 {
		t.Errorf("2 votes while open: shown %q (czj staff %q of %d), issued %d; want 不足 3 人 twice, 6 and 8", v.Shown, cell.Shown, cell.Issued, v.Issued)
	}
	vote(string(codes[2][1]))
	vote(string(codes[3][1]))
	if v := turnoutFigures(t, cc, e.round); v.Voted != 4 || v.Shown != "4" || v.Units[0].Cells[2].Shown != "4" {
		t.Errorf("4 votes while open: shown %q, czj staff %q; want the exact 4", v.Shown, v.Units[0].Cells[2].Shown)
	}
	// Within the refresh interval the figures hold still.
	mu.Lock()
	step = 0
	mu.Unlock()
	turnoutFigures(t, cc, e.round)
	vote(string(codes[4][1]))
	vote(string(codes[5][1]))
	if v := turnoutFigures(t, cc, e.round); v.Voted != 4 {
		t.Errorf("within the interval: voted %d, want still 4", v.Voted)
	}
	cc.must(http.StatusOK, cc.get(rid+"/turnout"), "turnout page")
	cc.must(http.StatusOK, cc.get(rid+"/screen"), "big screen")

	// Closing asks first and says what cannot be undone; then counts are exact.
	closePage := cc.must(http.StatusOK, cc.get(rid+"/close"), "close page")
	if !bytes.Contains(closePage.body, []byte("不能撤销")) {
		t.Errorf("the close page does not say what cannot be undone")
	}
	// It lists, before the organiser confirms, the units under quorum: here
	// those without slips at all, among them 区民政局.
	if body := string(closePage.body); !strings.Contains(body, "参评率尚未达到") || !strings.Contains(body, "区民政局：已提交 0 / 已发放 0（没有发放测评票）") {
		t.Errorf("the close page does not list the units under quorum:\n%s", body)
	}
	if r := cc.post(rid+"/close", nil); r.status != http.StatusUnprocessableEntity {
		t.Errorf("close without confirming: got %d, want 422", r.status)
	}
	cc.must(http.StatusSeeOther, cc.post(rid+"/close", url.Values{"confirm": {"yes"}}), "close")
	if v := turnoutFigures(t, cc, e.round); v.Coarse || v.Voted != 6 || v.Units[0].Cells[2].Voted != 6 {
		t.Errorf("after closing: coarse %v, voted %d; want exact 6", v.Coarse, v.Voted)
	}
	if r := cc.post(rid+"/batches/"+bs[0].ID+"/void", nil); r.status != http.StatusConflict {
		t.Errorf("void after closing: got %d, want 409", r.status)
	}

	// Seal from the console, through the API's seal.
	page = cc.must(http.StatusOK, cc.get(rid), "round page, closed")
	if !bytes.Contains(page.body, []byte("/seal")) {
		t.Fatalf("the closed round's page offers no seal")
	}
	cc.must(http.StatusSeeOther, cc.post(rid+"/seal", url.Values{"confirm": {"yes"}}), "seal")
	if r, _ := e.store.Round(ctx, e.round); r.Status != survey.StatusSealed {
		t.Errorf("after the console's seal the round is %s, want sealed", r.Status)
	}
	if r := cc.post(rid+"/seal", url.Values{"confirm": {"yes"}}); r.status != http.StatusConflict {
		t.Errorf("seal twice: got %d, want 409", r.status)
	}
	// An organiser reads no result, even sealed.
	if r := cc.get(rid + "/report"); r.status != http.StatusForbidden {
		t.Errorf("organiser opens the report: got %d, want 403", r.status)
	}

	// The appraisal group of czj finds its unit's report, workbook, document
	// and signature linked, and nothing of other units.
	ap := signIn(t, e.ts.URL, "第一考核组", appraiserPassword)
	sealed := ap.must(http.StatusOK, ap.get("/console/sealed"), "sealed page")
	for _, link := range []string{rid + "/report", rid + "/tally.xlsx", rid + "/units/czj/tally", rid + "/units/czj/tally.sig"} {
		if !bytes.Contains(sealed.body, []byte(link)) {
			t.Errorf("the sealed page does not link %s", link)
		}
		ap.must(http.StatusOK, ap.get(link), link)
	}
	if !strings.Contains(html.UnescapeString(string(sealed.body)), "minping verify --pubkey "+e.srv.api.sealer.pubKeyB64()) {
		t.Errorf("the sealed page does not say how to verify with the public key")
	}
	report := ap.must(http.StatusOK, ap.get(rid+"/report"), "report")
	if !bytes.Contains(report.body, []byte("区财政局")) || bytes.Contains(report.body, []byte("区发展和改革局")) {
		t.Errorf("the appraiser's report should show 区财政局 only")
	}
	if r := ap.get(rid + "/units/fgj/tally"); r.status != http.StatusNotFound {
		t.Errorf("appraiser reads another unit: got %d, want 404", r.status)
	}
}

func TestConsoleUploadDefinition(t *testing.T) {
	e := newConsoleEnv(t)
	cc := signIn(t, e.ts.URL, "考核办", organiserPassword)
	cc.get("/console/rounds/new")
	upload := func(def string, roster []byte) testResponse {
		files := map[string][2]string{"definition": {"round.yaml", def}}
		if roster != nil {
			files["roster"] = [2]string{"名册.xlsx", string(roster)}
		}
		return cc.upload("/console/rounds/new", url.Values{"mode": {"upload"}}, files)
	}
	// A definition with its own units needs no roster.
	cc.must(http.StatusSeeOther, upload(string(assets.Example()), nil), "upload the example")

	// Every problem of a definition is listed with its path.
	bad := `{"name": "", "component": {"name": "干部群众评价", "points": 20},
	  "scales": [{"id": "g", "options": [{"label": "好", "points": 100}, {"label": "差", "points": 140}]}],
	  "forms": [{"id": "team", "title": "班子", "rates": "team", "scale": "g", "items": ["团结协作"]}],
	  "categories": [{"id": "staff", "name": "干部职工", "weight": 90}],
	  "units": [{"id": "czj", "name": "区财政局", "type": "经济管理部门", "members": []}]}`
	r := upload(bad, nil)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a definition with problems: got %d, want 422", r.status)
	}
	for _, path := range []string{"name", "scales[0].options[1].points", "categories"} {
		if !bytes.Contains(r.body, []byte("<b>"+path+"</b>")) {
			t.Errorf("the problems do not name %s", path)
		}
	}
	// With a roster, the roster's units replace the definition's, and the
	// whole is checked: the example's weights for 镇街道 now name no unit.
	r = upload(string(assets.Example()), rosterXLSX(t, goodRoster...))
	if r.status != http.StatusUnprocessableEntity || !bytes.Contains(r.body, []byte("weights_by_type.镇街道")) {
		t.Errorf("the example with a roster lacking its 镇街道: got %d, want 422 naming weights_by_type.镇街道", r.status)
	}
	withoutTown := regexp.MustCompile(`(?m)^weights_by_type:\n.*\n`).ReplaceAllString(string(assets.Example()), "")
	r = cc.must(http.StatusSeeOther, upload(withoutTown, rosterXLSX(t, goodRoster...)), "the example's settings with a roster")
	id := strings.TrimPrefix(strings.Split(r.header.Get("Location"), "?")[0], "/console/rounds/")
	round, err := e.store.Round(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(round.Definition.Units) != 2 || round.Definition.Units[1].ID != "mzj" {
		t.Errorf("units %+v, want the roster's czj and mzj", round.Definition.Units)
	}
}

// TestConsoleLockoutParallel fires many wrong passwords for one name at
// once: no more than the free attempts may reach the password check before
// the lock-out applies, however the requests interleave.
func TestConsoleLockoutParallel(t *testing.T) {
	e := newConsoleEnv(t)
	const tries = 30
	clients := make([]*consoleClient, tries) // one browser each: a client is not for concurrent use
	for i := range clients {
		clients[i] = newConsoleClient(t, e.ts.URL)
		clients[i].get("/console/login")
	}
	statuses := make([]int, tries)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			statuses[i] = clients[i].post("/console/login", url.Values{"name": {"admin"}, "password": {"guess"}}).status
		}(i)
	}
	wg.Wait()
	checked := 0
	for _, st := range statuses {
		switch st {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("a parallel guess got %d, want 401 or 429", st)
		}
	}
	if checked > console.FreeNameFailures+1 {
		t.Errorf("%d of %d parallel guesses had their password checked, want at most %d", checked, tries, console.FreeNameFailures+1)
	}
}

// TestLockoutCannotDenyTheAdmin: behind a trusted reverse proxy, someone
// failing at the admin's name from one address holds back that address,
// and the admin signs in from another at once.
func TestLockoutCannotDenyTheAdmin(t *testing.T) {
	e := newConsoleEnv(t, func(c *Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	from := func(addr string) (*consoleClient, func(password string) int) {
		cc := newConsoleClient(t, e.ts.URL)
		cc.send(http.MethodGet, "/console/login", "", nil, "X-Forwarded-For", addr)
		return cc, func(password string) int {
			return cc.post("/console/login", url.Values{"name": {"admin"}, "password": {password}}, "X-Forwarded-For", addr).status
		}
	}
	_, attacker := from("203.0.113.7")
	for range console.FreeNameFailures + 3 {
		attacker("wrong-guess-123")
	}
	if got := attacker(adminPassword); got != http.StatusTooManyRequests {
		t.Errorf("the guessing address with the right password: got %d, want 429", got)
	}
	_, admin := from("198.51.100.20")
	if got := admin(adminPassword); got != http.StatusSeeOther {
		t.Errorf("the admin from another address: got %d, want 303 (signed in)", got)
	}
	if !strings.Contains(e.logs.String(), "client=203.0.113.7") {
		t.Errorf("the log does not give the forwarded client address:\n%s", e.logs.String())
	}
}
