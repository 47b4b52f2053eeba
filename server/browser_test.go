package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// needBrowser skips the test when Debian's chromium or the CJK fonts are
// missing, except under CI (CI=true), where it fails.
func needBrowser(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath)
	}
	out, err := exec.Command("fc-list", ":lang=zh", "family").Output()
	if err != nil || !strings.Contains(string(out), "Noto Sans CJK") {
		missing = append(missing, "the Noto Sans CJK fonts")
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("browser test needs %s: apt-get install chromium fonts-noto-cjk", strings.Join(missing, " and "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// newBrowser starts a headless chromium for the test and returns a tab.
// Uncaught page exceptions are collected in *exceptions.
func newBrowser(t *testing.T) (ctx context.Context, exceptions func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	var mu sync.Mutex
	var thrown []string
	tab, cancelTab := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(t.Logf),
		chromedp.WithListener(func(ev any) {
			if e, ok := ev.(*runtime.EventExceptionThrown); ok {
				mu.Lock()
				thrown = append(thrown, e.ExceptionDetails.Text)
				mu.Unlock()
			}
		}))
	tab, cancelTimeout := context.WithTimeout(tab, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return tab, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), thrown...)
	}
}

// screenshots saves screenshots under t.TempDir() and, when MINPING_SHOTS_DIR is
// set, copies them there too.
type screenshots struct {
	t   *testing.T
	dir string
}

func (s screenshots) save(name string, png []byte) {
	s.t.Helper()
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot %s", p)
	if out := os.Getenv("MINPING_SHOTS_DIR"); out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			s.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name), png, 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}

// stepTimeout bounds each browser step once the browser runs.
const stepTimeout = 20 * time.Second

// phoneViewport is an iPhone-12-sized viewport with touch, as most voters see the
// ballot.
var phoneViewport = chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)

func browserRun[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func browserDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// clickRadio clicks the radio of option col (1 = best) in ballot row i,
// first scrolling the row to the middle of the screen, clear of the fixed
// bar at the bottom, as a thumb would.
func clickRadio(t *testing.T, ctx context.Context, row, col int) {
	t.Helper()
	sel := fmt.Sprintf(`#r%d td:nth-of-type(%d) input`, row, col)
	browserDo(t, ctx, fmt.Sprintf("click %s", sel),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById("r%d").scrollIntoView({block: "center"})`, row)),
		chromedp.Click(chromedp.CSS(sel)))
	if checked := browserRun(t, ctx, "checked", chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q).checked`, sel))); !checked {
		t.Fatalf("clicked %s, but it is not checked", sel)
	}
}

// TestBrowserBallot votes on a phone-sized chromium: the ballot, the script
// that stops a submission with a row left out, the review page and the
// thank-you page; then it renders a print sheet.
func TestBrowserBallot(t *testing.T) {
	needBrowser(t)
	m := startMinping(t)
	admin := m.admin(t)
	round := admin.createRound()
	_, codes := admin.issue(round, "czj", "staff", 2)
	admin.state(round, "open")
	ctx, exceptions := newBrowser(t)
	pics := screenshots{t: t, dir: t.TempDir()}

	ballotURL := m.base + "/b/" + codes[0]
	browserDo(t, ctx, "open the ballot", phoneViewport, chromedp.Navigate(ballotURL), chromedp.WaitVisible(chromedp.CSS(`button[value="review"]`)))
	pics.save("ballot.png", browserRun(t, ctx, "screenshot", chromedp.CaptureScreenshot()))
	rows := browserRun(t, ctx, "count rows", chromedp.Evaluate[int](`document.querySelectorAll("tbody tr").length`))
	if rows != czjStaffSlots {
		t.Fatalf("got %d rows, want %d", rows, czjStaffSlots)
	}

	// Every row but one: the script must stop the submission, mark the row
	// and bring it into view.
	const left = 20
	for i := 0; i < rows; i++ {
		if i == left {
			continue
		}
		clickRadio(t, ctx, i, 2)
	}
	if got := browserRun(t, ctx, "progress", chromedp.Text(chromedp.ID("p"))); !strings.Contains(got, fmt.Sprintf("已完成 %d/%d", rows-1, rows)) {
		t.Errorf("progress: got %q, want it to say 已完成 %d/%d", got, rows-1, rows)
	}
	browserDo(t, ctx, "scroll to top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	browserDo(t, ctx, "submit with a row missing", chromedp.Click(chromedp.CSS(`button[value="review"]`)), chromedp.Sleep(500*time.Millisecond))
	if loc := browserRun(t, ctx, "location", chromedp.Location()); loc != ballotURL {
		t.Errorf("after submitting with a row missing: at %q, want to stay at %q", loc, ballotURL)
	}
	if got := browserRun(t, ctx, "review form", chromedp.Evaluate[bool](`!!document.getElementById("cf")`)); got {
		t.Errorf("submitting with a row missing reached the review page")
	}
	marked := browserRun(t, ctx, "missing row", chromedp.Evaluate[bool](fmt.Sprintf(`/\bm\b/.test(document.getElementById("r%d").className)`, left)))
	if !marked {
		t.Errorf("row %d is not marked as missing", left)
	}
	inView := browserRun(t, ctx, "missing row in view", chromedp.Evaluate[bool](fmt.Sprintf(
		`(function(){var r=document.getElementById("r%d").getBoundingClientRect();return r.bottom>0&&r.top<window.innerHeight})()`, left)))
	if !inView {
		t.Errorf("row %d was not scrolled into view", left)
	}
	pics.save("missing.png", browserRun(t, ctx, "screenshot", chromedp.CaptureScreenshot()))

	// A closed or reloaded tab loses nothing: the answers come back from the
	// phone's draft, which is tagged, not keyed, by the code.
	browserDo(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`button[value="review"]`)))
	if got := browserRun(t, ctx, "restored", chromedp.Evaluate[int](`document.querySelectorAll("input:checked").length`)); got != rows-1 {
		t.Errorf("after a reload %d answers are back, want %d", got, rows-1)
	}
	// The draft is this slip's own (a hash of its path tags it), and never
	// holds the code.
	keys := browserRun(t, ctx, "storage keys", chromedp.Evaluate[string](`Object.keys(localStorage).join(" ")`))
	if strings.Contains(keys, codes[0]) || strings.Contains(keys, strings.ReplaceAll(codes[0], "-", "")) ||
		!regexp.MustCompile(`^mp-draft-[0-9a-f]{1,8}$`).MatchString(keys) {
		t.Errorf("local storage keys %q: want one mp-draft-HASH, never the code", keys)
	}
	// A second slip opened on the same phone keeps its own draft: answers
	// on slip B leave slip A's 29 answers where they were.
	browserDo(t, ctx, "open slip B", chromedp.Navigate(m.base+"/b/"+codes[1]), chromedp.WaitVisible(chromedp.CSS(`button[value="review"]`)))
	if got := browserRun(t, ctx, "B is blank", chromedp.Evaluate[int](`document.querySelectorAll("input:checked").length`)); got != 0 {
		t.Errorf("slip B opens with %d answers of slip A", got)
	}
	clickRadio(t, ctx, 0, 1)
	clickRadio(t, ctx, 1, 1)
	browserDo(t, ctx, "back to slip A", chromedp.Navigate(ballotURL), chromedp.WaitVisible(chromedp.CSS(`button[value="review"]`)))
	if got := browserRun(t, ctx, "A restored", chromedp.Evaluate[int](`document.querySelectorAll("input:checked").length`)); got != rows-1 {
		t.Errorf("back on slip A: %d answers, want its %d", got, rows-1)
	}
	clickRadio(t, ctx, left, 5)
	if marked := browserRun(t, ctx, "row unmarked", chromedp.Evaluate[bool](fmt.Sprintf(`/\bm\b/.test(document.getElementById("r%d").className)`, left))); marked {
		t.Errorf("row %d is still marked after it was answered", left)
	}
	browserDo(t, ctx, "submit", chromedp.Click(chromedp.CSS(`button[value="review"]`)), chromedp.WaitVisible(chromedp.ID("cf")))
	review := browserRun(t, ctx, "review text", chromedp.Text(chromedp.CSS("body")))
	for _, want := range []string{"请确认您的评价", "团结协作：较好", "德：称职", "确认提交"} {
		if !strings.Contains(review, want) {
			t.Errorf("the review page does not show %q", want)
		}
	}
	pics.save("review.png", browserRun(t, ctx, "screenshot", chromedp.CaptureScreenshot()))

	browserDo(t, ctx, "confirm", chromedp.Click(chromedp.CSS(`button[value="confirm"]`)), chromedp.WaitVisible(chromedp.CSS(".box h2")))
	if loc := browserRun(t, ctx, "location", chromedp.Location()); loc != m.base+"/b/done" {
		t.Errorf("after confirming: at %q, want %q", loc, m.base+"/b/done")
	}
	if got := browserRun(t, ctx, "thanks", chromedp.Text(chromedp.CSS(".box h2"))); !strings.Contains(got, "提交成功") {
		t.Errorf("the thank-you page says %q, want 提交成功", got)
	}
	// A's draft is gone once its ballot is stored; B's stays.
	if left := browserRun(t, ctx, "drafts after voting", chromedp.Evaluate[int](`Object.keys(localStorage).filter(k => k.startsWith("mp-draft")).length`)); left != 1 {
		t.Errorf("after voting slip A the phone keeps %d drafts, want slip B's alone", left)
	}
	pics.save("thanks.png", browserRun(t, ctx, "screenshot", chromedp.CaptureScreenshot()))
	if u := turnoutOf(t, admin, round, "czj"); u.Voted != 1 {
		t.Errorf("czj voted: got %d, want 1", u.Voted)
	}
	if got := browserRun(t, ctx, "CJK font", chromedp.Evaluate[bool](`document.fonts.check("16px 'Noto Sans CJK SC'", "民主测评")`)); !got {
		t.Errorf("the browser has no Noto Sans CJK SC: Chinese renders as boxes")
	}

	// The print sheet, as an organiser's browser shows it before printing.
	sheet := admin.must(201, "POST", "/api/v1/rounds/"+round+"/batches",
		map[string]any{"unit": "czj", "category": "leaders", "count": 10}, "Accept", "text/html")
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(sheet.body)
	}))
	defer ts.Close()
	browserDo(t, ctx, "open the print sheet",
		chromedp.EmulateViewport(860, 1200), chromedp.Navigate(ts.URL), chromedp.WaitVisible(chromedp.CSS(".slip svg")))
	qr := browserRun(t, ctx, "QR size", chromedp.Evaluate[float64](`document.querySelector(".slip svg").getBoundingClientRect().width`))
	if qr < 100 {
		t.Errorf("the QR code is %.0f px wide, want about 36 mm (136 px)", qr)
	}
	slips := browserRun(t, ctx, "slips", chromedp.Evaluate[int](`document.querySelectorAll(".page .slip").length`))
	if slips != 10 {
		t.Errorf("got %d slips on the sheet, want 10", slips)
	}
	pics.save("print.png", browserRun(t, ctx, "screenshot", chromedp.FullScreenshot(100)))

	if ex := exceptions(); len(ex) > 0 {
		t.Errorf("uncaught page exceptions: %q", ex)
	}
}
