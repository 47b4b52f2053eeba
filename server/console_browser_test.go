package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"minping/survey"
)

// consoleWalk is a headless chromium driving the console, with screenshots
// kept under t.TempDir() and, if MINPING_SHOTS_DIR is set, copied there.
type consoleWalk struct {
	t     *testing.T
	ctx   context.Context // the organiser's tab
	base  string
	shots screenshots
}

func newConsoleWalk(t *testing.T, base string) *consoleWalk {
	t.Helper()
	needBrowser(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	tab, cancelTime := context.WithTimeout(tab, 4*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	w := &consoleWalk{t: t, ctx: tab, base: base, shots: screenshots{t: t, dir: t.TempDir()}}
	w.do(tab, "start chromium", chromedp.EmulateViewport(1280, 900))
	return w
}

// do runs actions in a tab and fails the test, saying what for, if one fails.
func (w *consoleWalk) do(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		w.shot(ctx, "failed.png")
		w.t.Fatalf("%s: %v", what, err)
	}
}

func (w *consoleWalk) text(ctx context.Context, sel string) string {
	w.t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		w.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// shot saves a full-page screenshot of a tab.
func (w *consoleWalk) shot(ctx context.Context, name string) {
	w.t.Helper()
	w.save(ctx, name, chromedp.FullScreenshot(100))
}

// shotViewport saves what the window shows. The big screen fills the
// viewport (its height is in vh), and a full-page capture of such a page can
// keep chromium resizing it, sometimes for minutes.
func (w *consoleWalk) shotViewport(ctx context.Context, name string) {
	w.t.Helper()
	w.save(ctx, name, chromedp.CaptureScreenshot())
}

func (w *consoleWalk) save(ctx context.Context, name string, capture chromedp.Action[[]byte]) {
	w.t.Helper()
	png, err := chromedp.Run(ctx, capture)
	if err != nil {
		w.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	w.shots.save("console-"+name, png)
}

// waitText waits until the element's text contains want.
func (w *consoleWalk) waitText(ctx context.Context, sel, want string, within time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(within)
	got := ""
	for time.Now().Before(deadline) {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err == nil && strings.Contains(s, want) {
			return
		}
		got = s
		time.Sleep(200 * time.Millisecond)
	}
	w.shot(ctx, "failed.png")
	w.t.Fatalf("%s: got %q, want it to contain %q within %v", sel, got, want, within)
}

// TestConsoleWalk walks a whole round as an organiser does it, in a real
// browser: sign in, create a round from the template with an .xlsx roster
// (first one with problems), open it, issue a batch and take its print
// sheet from the new tab, vote on the phone page, watch the turnout change,
// close and seal.
func TestConsoleWalk(t *testing.T) {
	e := newConsoleEnv(t, func(c *Config) { c.turnoutEvery = time.Second })
	w := newConsoleWalk(t, e.ts.URL)
	ctx := w.ctx
	dir := t.TempDir()
	badPath := filepath.Join(dir, "名册-有误.xlsx")
	goodPath := filepath.Join(dir, "名册.xlsx")
	os.WriteFile(badPath, rosterXLSX(t,
		[]any{"czj", "区财政局", "经济管理部门", "", "张建国", "党组书记、局长", "是的", 6},
		[]any{"", "", "", "", "李秀英", "副局长", "", "六"},
		[]any{"mzj", "", "社会管理服务部门", "", "徐卫东", "局长"},
	), 0o644)
	os.WriteFile(goodPath, rosterXLSX(t, goodRoster...), 0o644)

	// Sign in.
	w.do(ctx, "open the console", chromedp.Navigate(e.ts.URL+"/console"), chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)))
	w.do(ctx, "fill the sign-in form",
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "考核办"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), organiserPassword))
	w.shot(ctx, "01-login.png")
	w.do(ctx, "sign in", chromedp.Click(chromedp.CSS(`form button.primary`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/console/rounds/new"]`)))
	w.shot(ctx, "02-rounds.png")

	// Create from the template: a roster with problems first.
	w.do(ctx, "new round page", chromedp.Click(chromedp.CSS(`a[href="/console/rounds/new"]`)), chromedp.WaitVisible(chromedp.CSS(`#from-template`)))
	w.do(ctx, "name the round",
		chromedp.Clear(chromedp.CSS(`#from-template input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`#from-template input[name=name]`), "2026年度区直单位民主测评（演练）"),
		chromedp.SetUploadFiles(chromedp.CSS(`#from-template input[name=roster]`), []string{badPath}),
		chromedp.Click(chromedp.CSS(`#from-template button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`.problems`)))
	if got := w.text(ctx, ".problems"); !strings.Contains(got, "名册 第2行") || !strings.Contains(got, "名册 第4行") {
		t.Errorf("the problems list does not name the rows:\n%s", got)
	}
	w.shot(ctx, "03-roster-problems.png")
	w.do(ctx, "create with a good roster",
		chromedp.SetUploadFiles(chromedp.CSS(`#from-template input[name=roster]`), []string{goodPath}),
		chromedp.Click(chromedp.CSS(`#from-template button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if got := w.text(ctx, "main"); !strings.Contains(got, "张建国") || !strings.Contains(got, "区民政局") {
		t.Errorf("the new round's page lacks the roster's units")
	}
	w.shot(ctx, "04-round-draft.png")
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	roundURL := strings.Split(loc, "?")[0]
	roundID := roundURL[strings.LastIndex(roundURL, "/")+1:]

	// Open voting.
	w.do(ctx, "open voting",
		chromedp.Click(chromedp.CSS(`form[action$="/open"] input[name=confirm]`)),
		chromedp.Click(chromedp.CSS(`form[action$="/open"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.fingerprint`)))
	w.shot(ctx, "05-round-open.png")

	// Turnout before any vote.
	w.do(ctx, "turnout page", chromedp.Navigate(roundURL+"/turnout"), chromedp.WaitVisible(chromedp.CSS(`[data-t=shown]`)))

	// Issue a batch: its print sheet opens in a new tab.
	w.do(ctx, "batches page", chromedp.Navigate(roundURL+"/batches"), chromedp.WaitVisible(chromedp.CSS(`#issue-one`)))
	// Opened at 127.0.0.1: the page says the slips' links would reach this
	// machine alone, and issuing needs the test box ticked.
	if got := w.text(ctx, ".panel.warn"); !strings.Contains(got, "这是本机地址") {
		t.Errorf("the batches page at 127.0.0.1 says %q, want the loopback warning", got)
	}
	w.do(ctx, "fill the issue form",
		chromedp.SetValue(chromedp.CSS(`#issue-one select[name=unit]`), "czj"),
		chromedp.SetValue(chromedp.CSS(`#issue-one select[name=category]`), "staff"),
		chromedp.SetValue(chromedp.CSS(`#issue-one input[name=count]`), "6"),
		chromedp.Click(chromedp.CSS(`#issue-one input[name=loopback_ok]`)))
	w.shot(ctx, "06-batches.png")
	opened := chromedp.WaitNewTarget(ctx, func(i *target.Info) bool { return i.Type == "page" })
	w.do(ctx, "issue", chromedp.Click(chromedp.CSS(`#issue-one button`)))
	var sheetID target.ID
	select {
	case sheetID = <-opened:
	case <-time.After(30 * time.Second):
		t.Fatal("no print tab opened")
	}
	sheet, cancelSheet := chromedp.NewContext(ctx, chromedp.WithTargetID(sheetID))
	w.do(sheet, "print sheet", chromedp.WaitVisible(chromedp.CSS(`.slip .code`)))
	codes, err := chromedp.Run(sheet, chromedp.Evaluate[[]string](`Array.prototype.map.call(document.querySelectorAll(".slip .code"), function(e){return e.textContent})`))
	if err != nil || len(codes) != 6 {
		t.Fatalf("print sheet: got %d codes (%v), want 6", len(codes), err)
	}
	w.shot(sheet, "07-print-sheet.png")
	// Close the print tab, as an organiser does once it has printed. Left
	// open in front, it kept chromium from drawing the console's tab, and a
	// later screenshot of that tab waited for minutes (seen under -race).
	cancelSheet()
	// The console tab reloads to list the batch.
	w.waitText(ctx, "main", "有效", 10*time.Second)
	w.shot(ctx, "08-batches-issued.png")
	// Bulk issue with no category ticked says so on the page, and opens no
	// print tab on an error page.
	before, _ := chromedp.Targets(ctx)
	w.do(ctx, "bulk issue with nothing ticked",
		chromedp.Click(chromedp.CSS(`#issue-bulk input[name=loopback_ok]`)),
		chromedp.Click(chromedp.CSS(`#issue-bulk button.primary`)),
		chromedp.Sleep(500*time.Millisecond))
	if shown, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.querySelector("#issue-bulk .need-one").hidden`)); !shown {
		t.Error("bulk issue with no category ticked: no message on the page")
	}
	if after, _ := chromedp.Targets(ctx); len(after) != len(before) {
		t.Errorf("bulk issue with no category ticked opened a tab (%d targets, were %d)", len(after), len(before))
	}

	// Vote one ballot on the phone page.
	phone, cancelPhone := chromedp.NewContext(ctx)
	defer cancelPhone()
	w.do(phone, "phone ballot",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(e.ts.URL+"/b/"+codes[0]),
		chromedp.WaitVisible(chromedp.CSS(`form[data-n]`)))
	w.do(phone, "answer every row",
		chromedp.Evaluate[chromedp.Void](`(function(){var r=document.querySelectorAll("tbody tr"),i;for(i=0;i<r.length;i++){var b=r[i].querySelectorAll("input[type=radio]");b[1].click()}})()`))
	w.shot(phone, "09-phone-ballot.png")
	w.do(phone, "review", chromedp.Click(chromedp.CSS(`button[value=review]`)), chromedp.WaitVisible(chromedp.CSS(`button[value=confirm]`)))
	w.do(phone, "confirm", chromedp.Click(chromedp.CSS(`button[value=confirm]`)), chromedp.WaitVisible(chromedp.CSS(`.box h2`)))
	if got := w.text(phone, ".box h2"); !strings.Contains(got, "提交成功") {
		t.Fatalf("after confirming: %q, want 提交成功", got)
	}
	w.shot(phone, "10-phone-done.png")

	// While voting is open a count under min_group (3) is not shown: one
	// vote says 「不足 3 人」, five say 5. Four more ballots come through the
	// API, as other phones would send them.
	w.do(ctx, "turnout page", chromedp.Navigate(roundURL+"/turnout"), chromedp.WaitVisible(chromedp.CSS(`[data-t=shown]`)))
	if got := w.text(ctx, ".summary [data-t=shown]"); got != "不足 3 人" {
		t.Errorf("turnout after one vote: %q, want 不足 3 人", got)
	}
	admin := e.admin()
	for _, code := range codes[1:5] {
		if r := submitBallot(t, e.ts.URL, code, answerAll(admin.ballot(code), nil)); r.status != 201 {
			t.Fatalf("vote: %s", r)
		}
	}
	w.waitText(ctx, ".summary [data-t=shown]", "5", 20*time.Second) // the page polls; no reload
	w.waitText(ctx, `tr[data-unit="0"] [data-cell="total"]`, "5 / 6", 5*time.Second)
	w.shot(ctx, "11-turnout.png")
	w.do(ctx, "big screen", chromedp.Navigate(roundURL+"/screen"), chromedp.WaitVisible(chromedp.CSS(`.screen .qr svg`)))
	if got := w.text(ctx, ".count .num"); !strings.Contains(got, "已提交 5 / 6") {
		t.Errorf("big screen: %q, want 已提交 5 / 6", got)
	}
	w.shotViewport(ctx, "12-screen.png")

	// Close, after a confirmation that says what cannot be undone.
	w.do(ctx, "close page", chromedp.Navigate(roundURL+"/close"), chromedp.WaitVisible(chromedp.CSS(`form[action$="/close"]`)))
	if got := w.text(ctx, ".panel.warn"); !strings.Contains(got, "不能撤销") {
		t.Errorf("the close page does not say what cannot be undone")
	}
	w.shot(ctx, "13-close-confirm.png")
	w.do(ctx, "close",
		chromedp.Click(chromedp.CSS(`form[action$="/close"] input[name=confirm]`)),
		chromedp.Click(chromedp.CSS(`form[action$="/close"] button.danger`)),
		chromedp.WaitVisible(chromedp.CSS(`#seal`)))
	w.shot(ctx, "14-round-closed.png")
	w.do(ctx, "seal",
		chromedp.Click(chromedp.CSS(`#seal input[name=confirm]`)),
		chromedp.Click(chromedp.CSS(`#seal button`)),
		chromedp.WaitVisible(chromedp.CSS(`.status.s-sealed`)))
	w.shot(ctx, "15-round-sealed.png")
	if r, _ := e.store.Round(context.Background(), roundID); r.Status != survey.StatusSealed {
		t.Errorf("round %s is %s after the walk, want sealed", roundID, r.Status)
	}
	w.do(ctx, "exact turnout after closing", chromedp.Navigate(roundURL+"/turnout"), chromedp.WaitVisible(chromedp.CSS(`[data-t=shown]`)))
	if got := w.text(ctx, ".summary [data-t=shown]"); got != "5" {
		t.Errorf("turnout after closing: %q, want the exact 5", got)
	}
	w.shot(ctx, "16-turnout-final.png")

	// The organiser changes the password the admin handed over, from the
	// name in the header.
	const newPassword = "玉兰花开的新密码-2026"
	w.do(ctx, "password page", chromedp.Click(chromedp.CSS(`.who a[href="/console/password"]`)), chromedp.WaitVisible(chromedp.CSS(`input[name=current]`)))
	w.do(ctx, "fill the password form",
		chromedp.SendKeys(chromedp.CSS(`input[name=current]`), organiserPassword),
		chromedp.SendKeys(chromedp.CSS(`input[name=new]`), newPassword),
		chromedp.SendKeys(chromedp.CSS(`input[name=again]`), newPassword))
	w.shot(ctx, "17-password.png")
	w.do(ctx, "change the password", chromedp.Click(chromedp.CSS(`form[action="/console/password"] button.primary`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if got := w.text(ctx, ".flash"); !strings.Contains(got, "密码已修改") {
		t.Errorf("after changing the password the console says %q", got)
	}
	w.shot(ctx, "18-password-changed.png")
}
