package server

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSheetBallot votes a sheet over every unit on a phone-sized
// chromium: one card per unit, the progress over all of them, the jump to
// what is left, then review and thanks; and opens a recusal slip, which
// must not show its holder's own rows.
func TestBrowserSheetBallot(t *testing.T) {
	needBrowser(t)
	m := startMinping(t)
	admin := m.admin(t)
	src, err := os.ReadFile("../assets/examples/county-20-of-100.yaml")
	if err != nil {
		t.Fatal(err)
	}
	round := admin.createRound(src)
	var all, rec struct{ Codes []string }
	admin.must(http.StatusCreated, "POST", "/api/v1/rounds/"+round+"/batches", map[string]any{"category": "leaders", "count": 1}).decode(t, &all)
	admin.must(http.StatusCreated, "POST", "/api/v1/rounds/"+round+"/batches", map[string]any{"unit": "smx", "category": "members", "member": "smx-1"}).decode(t, &rec)
	admin.state(round, "open")
	ctx, exceptions := newBrowser(t)
	pics := screenshots{t: t, dir: t.TempDir()}

	url := m.base + "/b/" + all.Codes[0]
	browserDo(t, ctx, "open the sheet", phoneViewport, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`button[value="review"]`)))
	pics.save("sheet.png", browserRun(t, ctx, "screenshot", chromedp.CaptureScreenshot()))
	header := browserRun(t, ctx, "header", chromedp.Text(chromedp.CSS("header p")))
	if !strings.Contains(header, "全部单位（8 个）") {
		t.Errorf("the sheet's header says %q, want it to say 全部单位（8 个）", header)
	}
	// The team form's heading once, and a card per unit named by the unit.
	legends := browserRun(t, ctx, "cards", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("legend")).map(l => l.firstChild.textContent)`))
	for _, unit := range []string{"城关镇", "县发展和改革局"} {
		found := false
		for _, l := range legends {
			found = found || l == unit
		}
		if !found {
			t.Errorf("no card named %s among %d cards", unit, len(legends))
		}
	}
	rows := browserRun(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll("tbody tr").length`))
	// Answer every row but the last two by tapping its second option.
	browserDo(t, ctx, "answer", chromedp.Evaluate[chromedp.Void](`(function(){var r=document.querySelectorAll("tbody tr");for(var i=0;i<r.length-2;i++){r[i].querySelectorAll("input")[1].click()}})()`))
	progress := browserRun(t, ctx, "progress", chromedp.Text(chromedp.ID("p")))
	if !strings.Contains(progress, fmt.Sprintf("已完成 %d/%d", rows-2, rows)) {
		t.Errorf("progress %q, want 已完成 %d/%d", progress, rows-2, rows)
	}
	browserDo(t, ctx, "jump to what is left", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0,0)`), chromedp.Click(chromedp.ID("j")))
	inView := browserRun(t, ctx, "left in view", chromedp.Evaluate[bool](`(function(){var r=document.querySelectorAll("tbody tr");var b=r[r.length-2].getBoundingClientRect();return b.bottom>0&&b.top<window.innerHeight})()`))
	if !inView {
		t.Error("the jump did not bring the first unanswered row into view")
	}
	browserDo(t, ctx, "answer the rest", chromedp.Evaluate[chromedp.Void](`(function(){var r=document.querySelectorAll("tbody tr");for(var i=r.length-2;i<r.length;i++){r[i].querySelectorAll("input")[1].click()}})()`))
	browserDo(t, ctx, "review", chromedp.Click(chromedp.CSS(`button[value="review"]`)), chromedp.WaitVisible(chromedp.ID("cf")))
	browserDo(t, ctx, "confirm", chromedp.Click(chromedp.CSS(`button[value="confirm"]`)), chromedp.WaitVisible(chromedp.CSS(".box h2")))
	if got := browserRun(t, ctx, "thanks", chromedp.Text(chromedp.CSS(".box h2"))); !strings.Contains(got, "提交成功") {
		t.Errorf("after the sheet: %q, want 提交成功", got)
	}
	if u := turnoutOf(t, admin, round, "bsz"); u.Voted != 1 {
		t.Errorf("白沙镇 voted %d, want 1: an all sheet counts in every unit", u.Voted)
	}

	browserDo(t, ctx, "open the recusal slip", chromedp.Navigate(m.base+"/b/"+rec.Codes[0]), chromedp.WaitVisible(chromedp.CSS(`button[value="review"]`)))
	body := browserRun(t, ctx, "recusal page", chromedp.Text(chromedp.CSS("main")))
	if strings.Contains(body, "蒋文涛") || !strings.Contains(body, "沈玉兰") || !strings.Contains(body, "韩明") {
		t.Errorf("a recusal slip of 蒋文涛 must rate 沈玉兰 and 韩明 and not 蒋文涛")
	}
	pics.save("recusal.png", browserRun(t, ctx, "screenshot", chromedp.CaptureScreenshot()))
	if ex := exceptions(); len(ex) > 0 {
		t.Errorf("script errors: %v", ex)
	}
}
