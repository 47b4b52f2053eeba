package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserBallotAccessible opens a ballot in chromium at 320, 375 and
// 1280 px and checks what a screen reader and a thumb need: every answer
// control has a name (item and option), the option headers never overflow
// into each other, and every target is at least 24 × 24 px. It then counts
// 优秀名额 live as a voter taps.
func TestBrowserBallotAccessible(t *testing.T) {
	needBrowser(t)
	m := startMinping(t)
	admin := m.admin(t)
	round := admin.createRound()
	_, codes := admin.issue(round, "czj", "staff", 1)
	admin.state(round, "open")
	ctx, exceptions := newBrowser(t)
	pics := screenshots{t: t, dir: t.TempDir()}
	url := m.base + "/b/" + codes[0]
	for _, width := range []int64{320, 375, 1280} {
		browserDo(t, ctx, "open", chromedp.EmulateViewport(width, 800, chromedp.EmulateScale(1)), chromedp.Navigate(url),
			chromedp.WaitVisible(chromedp.CSS(`button[value="review"]`)))
		pics.save(fmt.Sprintf("ballot-%d.png", width), browserRun(t, ctx, "screenshot", chromedp.CaptureScreenshot()))
		unnamed := browserRun(t, ctx, "names", chromedp.Evaluate[int](`Array.from(document.querySelectorAll("input[type=radio]")).filter(i => !(i.getAttribute("aria-label")||"").includes("：")).length`))
		if unnamed > 0 {
			t.Errorf("%d px: %d radio buttons have no accessible name", width, unnamed)
		}
		overflow := browserRun(t, ctx, "headers", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("thead th")).filter(th => th.scrollWidth > th.clientWidth + 1).map(th => th.textContent)`))
		if len(overflow) > 0 {
			t.Errorf("%d px: option headers overflow into their neighbours: %q", width, overflow)
		}
		small := browserRun(t, ctx, "targets", chromedp.Evaluate[int](`Array.from(document.querySelectorAll("td label")).filter(l => {var r=l.getBoundingClientRect(); return r.width < 24 || r.height < 24}).length`))
		if small > 0 {
			t.Errorf("%d px: %d answer targets are smaller than 24 × 24 px", width, small)
		}
		if width > 320 {
			continue
		}
		wide := browserRun(t, ctx, "page width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if wide {
			t.Errorf("%d px: the ballot scrolls sideways", width)
		}
	}

	// 优秀名额: the members form allows 2 on 综合评价; tapping a third shows
	// the count over the limit before anything is posted.
	rows := browserRun(t, ctx, "overall rows", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("tr[data-tl]")).map(r => r.id)`))
	if len(rows) < 3 {
		t.Fatalf("%d rows count against the top limit, want one per member (4)", len(rows))
	}
	for i, id := range rows[:3] {
		browserDo(t, ctx, "tap 优秀", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector("#%s td input").click()`, id)))
		note := browserRun(t, ctx, "count", chromedp.Text(chromedp.CSS(".tl")))
		if want := fmt.Sprintf("已评「优秀」%d/2", i+1); !strings.Contains(note, want) || (i == 2) != strings.Contains(note, "超出名额") {
			t.Errorf("after %d taps the note says %q, want %s%s", i+1, note, want, map[bool]string{true: "，超出名额"}[i == 2])
		}
	}
	if ex := exceptions(); len(ex) > 0 {
		t.Errorf("script errors: %v", ex)
	}
}
