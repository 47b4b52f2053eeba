package server

import (
	"bytes"
	"html"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"minping/survey"
	"minping/tally"
)

// TestConsoleResults runs the organiser's steps after the seal in the
// console: download the entry sheet, upload a CSV with mistakes (every
// problem listed by row, nothing saved), upload it corrected, finalize,
// and read the 公示 list and a feedback letter.
func TestConsoleResults(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.admin()
	src, err := os.ReadFile("../assets/examples/county-20-of-100.yaml")
	if err != nil {
		t.Fatal(err)
	}
	id := admin.createRound(src)
	// Three leaders vote on every unit: a score for each, so totals exist.
	var out struct{ Codes []string }
	admin.must(http.StatusCreated, "POST", "/api/v1/rounds/"+id+"/batches", map[string]any{"category": "leaders", "count": 3}).decode(t, &out)
	admin.state(id, "open")
	for _, code := range out.Codes {
		submitBallot(t, e.ts.URL, code, answerAll(admin.ballot(code), nil))
	}
	admin.state(id, "close")
	admin.state(id, "seal")

	cc := signIn(t, e.ts.URL, "考核办", organiserPassword)
	page := cc.must(http.StatusOK, cc.get("/console/rounds/"+id+"/results"), "results page")
	if !strings.Contains(string(page.body), "results-template.xlsx") {
		t.Errorf("results page has no link to the entry sheet:\n%s", page.body)
	}
	tpl := cc.must(http.StatusOK, cc.get("/console/rounds/"+id+"/results-template.xlsx"), "entry sheet")
	if !strings.HasPrefix(string(tpl.body), "PK") {
		t.Errorf("entry sheet is not a workbook: %.40q", tpl.body)
	}

	// Row 2: a part over its 80 points; row 4: a unit that does not exist;
	// row 5: a penalty without a reason. Nothing may be saved.
	bad := "单位编号,单位名称,单位类型,工作实绩,加分,加分理由,减分,减分理由,一票否决理由\n" +
		"cgz,城关镇,乡镇,81,,,,,\n" +
		"xqz,新桥镇,乡镇,70,,,,,\n" +
		"nope,,乡镇,70,,,,,\n" +
		"smx,石门乡,乡镇,70,,,2,,\n"
	r := cc.upload("/console/rounds/"+id+"/results", nil, map[string][2]string{"results": {"成绩.csv", bad}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad upload: got %d, want 422", r.status)
	}
	for _, want := range []string{"第2行", "应在 0 至 80 之间", "第4行", "没有单位", "第5行", "需要写明理由"} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("bad upload: the page does not say %q", want)
		}
	}
	if _, _, err := e.store.Results(t.Context(), id); err == nil {
		t.Error("a rejected upload saved entries")
	}

	var good strings.Builder
	good.WriteString("单位编号,单位名称,工作实绩,加分,加分理由,减分,减分理由,一票否决理由\n")
	for _, u := range []string{"cgz", "xqz", "smx", "bsz", "fgj", "czj", "jyj", "zjj"} {
		good.WriteString(u + ",,70.5,,,,,\n")
	}
	r = cc.upload("/console/rounds/"+id+"/results", nil, map[string][2]string{"results": {"成绩.csv", good.String()}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("good upload: got %d, want 303\n%s", r.status, r.body)
	}
	cc.must(http.StatusSeeOther, cc.post("/console/rounds/"+id+"/finalize", map[string][]string{"confirm": {"yes"}}), "finalize")

	doc := cc.must(http.StatusOK, cc.get("/console/rounds/"+id+"/results.json"), "results document")
	res, err := tally.DecodeResults(doc.body)
	if err != nil {
		t.Fatal(err)
	}
	// Every leader answers the second option (较好 80, 称职 80): each unit's
	// public score is 80 (leaders alone, reweighted), worth 80 × 20 ÷ 100 =
	// 16.00, so every total is 70.5 + 16.00 = 86.50.
	for _, u := range res.Units {
		if u.Total.String() != "86.50" {
			t.Errorf("%s: total %s, want 86.50", u.Unit.ID, u.Total)
		}
	}
	// Members keep their sealed grades in the results document (§5.4):
	// all rated 80 by the leaders alone, so all tie and share 优秀.
	if len(res.Members) == 0 {
		t.Error("the results document lists no member grades")
	}
	for _, m := range res.Members {
		if m.Grade == nil || *m.Grade != "优秀" || m.Score.String() != "80.00" {
			t.Errorf("member %s: score %s grade %v, want 80.00 优秀", m.ID, m.Score, m.Grade)
			break
		}
	}
	// The workbook gains the totals as a sheet of their own.
	wb := admin.must(http.StatusOK, "GET", "/api/v1/rounds/"+id+"/tally.xlsx", nil)
	f, err := excelize.OpenReader(bytes.NewReader(wb.body))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("总分")
	if err != nil {
		t.Fatalf("workbook: %v (sheets %v)", err, f.GetSheetList())
	}
	if len(rows) < 4 || !slices.Contains(rows[3], "86.50") || !slices.Contains(rows[2], "工作实绩（80.00）") {
		t.Errorf("总分 sheet: %q", rows[:min(len(rows), 4)])
	}
	// The report shows the totals once finalized.
	rep := admin.must(http.StatusOK, "GET", "/api/v1/rounds/"+id+"/report", nil, "Accept", "text/html")
	if !strings.Contains(string(rep.body), "考核总分") || !strings.Contains(string(rep.body), "86.50") {
		t.Errorf("the report does not show the totals")
	}
	pub := cc.must(http.StatusOK, cc.get("/console/rounds/"+id+"/publication"), "publication page")
	if !strings.Contains(string(pub.body), "考核结果公示") || !strings.Contains(string(pub.body), "城关镇") {
		t.Errorf("publication page:\n%.400s", pub.body)
	}
	letter := cc.must(http.StatusOK, cc.get("/console/rounds/"+id+"/letters/cgz"), "letter")
	if !strings.Contains(string(letter.body), "城关镇") || strings.Contains(string(letter.body), "新桥镇") {
		t.Errorf("the letter to 城关镇 must name it and no other unit:\n%.600s", letter.body)
	}
}

// TestConsoleIssueSheets issues a §5.1 round's slips in the console: an all
// sheet names no unit and says 全部单位; a recusal category issues one slip
// per member of the chosen unit, each member named on the stub only; bulk
// issue gives every member of every unit one.
func TestConsoleIssueSheets(t *testing.T) {
	e := newConsoleEnv(t)
	src, err := os.ReadFile("../assets/examples/county-20-of-100.yaml")
	if err != nil {
		t.Fatal(err)
	}
	id := e.admin().createRound(src)
	cc := signIn(t, e.ts.URL, "考核办", organiserPassword)
	rid := "/console/rounds/" + id
	nonce := func() string {
		page := cc.must(http.StatusOK, cc.get(rid+"/batches"), "batches page")
		m := regexp.MustCompile(`name="nonce" value="([^"]+)"`).FindSubmatch(page.body)
		if m == nil {
			t.Fatal("the issue form has no nonce")
		}
		return string(m[1])
	}
	all := cc.must(http.StatusCreated, cc.post(rid+"/batches", url.Values{"unit": {""}, "category": {"leaders"}, "count": {"3"},
		"nonce": {nonce()}, "loopback_ok": {"yes"}}), "all sheet")
	if n := len(slipCodeRE.FindAllSubmatch(all.body, -1)); n != 3 || !strings.Contains(string(all.body), "全部单位") {
		t.Errorf("all sheet: %d codes, want 3 slips saying 全部单位", n)
	}
	rec := cc.must(http.StatusCreated, cc.post(rid+"/batches", url.Values{"unit": {"smx"}, "category": {"members"},
		"nonce": {nonce()}, "loopback_ok": {"yes"}}), "recusal")
	body := string(rec.body)
	if n := len(slipCodeRE.FindAllSubmatch(rec.body, -1)); n != 3 {
		t.Errorf("recusal slips of 石门乡: %d codes, want one per member (3)", n)
	}
	for _, name := range []string{"蒋文涛", "沈玉兰", "韩明"} {
		if strings.Count(body, name) != 1 {
			t.Errorf("the stub must name %s once", name)
		}
	}
	bulk := cc.must(http.StatusCreated, cc.post(rid+"/batches/bulk", url.Values{"category": {"members"}, "nonce": {nonce()}, "loopback_ok": {"yes"}}), "bulk recusal")
	bs, err := e.store.Batches(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	members, withMember := 0, 0
	def := mustDefinition(t, src)
	for _, u := range def.Units {
		members += len(u.Members)
	}
	for _, b := range bs {
		if b.Member != "" {
			withMember++
		}
	}
	// smx's 3 were issued by hand; bulk skips it and issues the rest.
	if withMember != members {
		t.Errorf("%d recusal batches after bulk, want one per member (%d)", withMember, members)
	}
	if n := len(slipCodeRE.FindAllSubmatch(bulk.body, -1)); n != members-3 {
		t.Errorf("bulk recusal print sheet: %d slips, want %d", n, members-3)
	}
}

func mustDefinition(t *testing.T, src []byte) *survey.Definition {
	t.Helper()
	d, err := survey.ParseDefinition(src)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestConsoleReprint: a print sheet can be reopened with the same codes
// until the organiser says it printed; then it cannot, and the codes are
// gone from the server.
func TestConsoleReprint(t *testing.T) {
	e := newConsoleEnv(t)
	cc := signIn(t, e.ts.URL, "考核办", organiserPassword)
	rid := "/console/rounds/" + e.round
	page := cc.must(http.StatusOK, cc.get(rid+"/batches"), "batches page")
	nonce := regexp.MustCompile(`name="nonce" value="([^"]+)"`).FindSubmatch(page.body)
	sheet := cc.must(http.StatusCreated, cc.post(rid+"/batches", url.Values{"unit": {"czj"}, "category": {"staff"}, "count": {"4"},
		"nonce": {string(nonce[1])}, "loopback_ok": {"yes"}}), "issue")
	codes := slipCodeRE.FindAllSubmatch(sheet.body, -1)
	page = cc.must(http.StatusOK, cc.get(rid+"/batches"), "batches page after")
	job := regexp.MustCompile(`/print/([^"/]+)"`).FindSubmatch(page.body)
	if job == nil {
		t.Fatal("the batches page offers no print sheet to reopen")
	}
	again := cc.must(http.StatusCreated, cc.get(rid+"/print/"+string(job[1])), "reopen")
	reopened := slipCodeRE.FindAllSubmatch(again.body, -1)
	if len(reopened) != len(codes) || len(codes) != 4 {
		t.Fatalf("reopened %d codes, issued %d; want the same 4", len(reopened), len(codes))
	}
	same := map[string]bool{}
	for _, c := range codes {
		same[string(c[1])] = true
	}
	for _, c := range reopened {
		if !same[string(c[1])] {
			t.Errorf("the reopened sheet has a code %s not on the first", c[1])
		}
	}
	cc.must(http.StatusSeeOther, cc.post(rid+"/print/"+string(job[1])+"/done", nil), "printed")
	if r := cc.get(rid + "/print/" + string(job[1])); r.status != http.StatusNotFound {
		t.Errorf("after 已打印 the sheet reopens: %d", r.status)
	}
	if page := cc.get(rid + "/batches"); bytes.Contains(page.body, job[1]) {
		t.Error("after 已打印 the batches page still offers the sheet")
	}
}

// TestRoundBaseURL: a round's own address for its slips is checked, shown
// on the batches page, carried by the slips the console and the API issue
// after it is set, and taken back by clearing it.
func TestRoundBaseURL(t *testing.T) {
	e := newConsoleEnv(t)
	cc := signIn(t, e.ts.URL, "考核办", organiserPassword)
	rid := "/console/rounds/" + e.round
	cc.must(http.StatusOK, cc.get(rid+"/batches"), "batches page")
	if r := cc.post(rid+"/base-url", url.Values{"base_url": {"mp.example.gov.cn"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("an address without http(s): got %d, want 422", r.status)
	}
	cc.must(http.StatusSeeOther, cc.post(rid+"/base-url", url.Values{"base_url": {"https://mp.example.gov.cn/"}}), "set the address")
	page := cc.must(http.StatusOK, cc.get(rid+"/batches"), "batches page")
	if !bytes.Contains(page.body, []byte("https://mp.example.gov.cn/b</b>（本测评活动单独设置）")) {
		t.Errorf("the batches page does not show the round's address")
	}
	nonce := regexp.MustCompile(`name="nonce" value="([^"]+)"`).FindSubmatch(page.body)
	// Not a loopback address: no test box to tick.
	sheet := cc.must(http.StatusCreated, cc.post(rid+"/batches", url.Values{"unit": {"czj"}, "category": {"staff"}, "count": {"1"}, "nonce": {string(nonce[1])}}), "issue")
	if !bytes.Contains(sheet.body, []byte("https://mp.example.gov.cn/b")) {
		t.Errorf("the print sheet does not carry the round's address")
	}
	var out struct{ Links []string }
	e.admin().must(http.StatusCreated, "POST", "/api/v1/rounds/"+e.round+"/batches", map[string]any{"unit": "czj", "category": "staff", "count": 1}).decode(t, &out)
	if len(out.Links) != 1 || !strings.HasPrefix(out.Links[0], "https://mp.example.gov.cn/b/") {
		t.Errorf("API links %v, want the round's address", out.Links)
	}
	cc.must(http.StatusSeeOther, cc.post(rid+"/base-url", url.Values{"base_url": {""}}), "clear the address")
	e.admin().must(http.StatusCreated, "POST", "/api/v1/rounds/"+e.round+"/batches", map[string]any{"unit": "czj", "category": "staff", "count": 1}).decode(t, &out)
	if !strings.HasPrefix(out.Links[0], e.ts.URL) {
		t.Errorf("after clearing: %v, want the server's address", out.Links)
	}
}

// TestConsoleBulkInParts: a bulk issue of 1,200 slips is printed in two
// parts of at most 1,000, each opened from its link, every code on
// exactly one of them.
func TestConsoleBulkInParts(t *testing.T) {
	e := newConsoleEnv(t)
	if err := e.store.SetExpected(t.Context(), e.round, survey.Expected{"czj": {"staff": 600}, "fgj": {"staff": 600}}); err != nil {
		t.Fatal(err)
	}
	cc := signIn(t, e.ts.URL, "考核办", organiserPassword)
	rid := "/console/rounds/" + e.round
	page := cc.must(http.StatusOK, cc.get(rid+"/batches"), "batches page")
	nonce := regexp.MustCompile(`name="nonce" value="([^"]+)"`).FindSubmatch(page.body)
	first := cc.must(http.StatusCreated, cc.post(rid+"/batches/bulk", url.Values{"category": {"staff"}, "nonce": {string(nonce[1])}, "loopback_ok": {"yes"}}), "bulk issue")
	if !bytes.Contains(first.body, []byte("这次共发放 1200 张，分 2 部分打印")) {
		t.Fatalf("the first part does not say it is one of 2")
	}
	links := regexp.MustCompile(`href="(/console/rounds/[^"]+/print/[^"?]+\?part=\d)"`).FindAllSubmatch(first.body, -1)
	if len(links) != 2 {
		t.Fatalf("%d part links, want 2", len(links))
	}
	seen := map[string]int{}
	for _, l := range links {
		part := cc.must(http.StatusCreated, cc.get(html.UnescapeString(string(l[1]))), "open "+string(l[1]))
		for _, c := range slipCodeRE.FindAllSubmatch(part.body, -1) {
			seen[string(c[1])]++
		}
	}
	if len(seen) != 1200 {
		t.Errorf("the parts hold %d distinct codes, want 1200", len(seen))
	}
	for code, n := range seen {
		if n != 1 {
			t.Errorf("code %s is on %d parts", code, n)
			break
		}
	}
}
