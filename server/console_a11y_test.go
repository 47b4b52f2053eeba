package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// a11yCheck is run in the page: what a screen reader and a thumb need,
// and what a narrow screen breaks. It returns one line per problem:
// controls without an accessible name, buttons and links without text,
// images without alternative text, text under 4.5:1 contrast with its
// background (large text 3:1), targets under 24 × 24 px, and a page that
// scrolls sideways.
const a11yCheck = `(function(){
var out=[];
function name(e){if(e.getAttribute("aria-label"))return e.getAttribute("aria-label");if(e.getAttribute("aria-labelledby"))return "x";
 if(e.id){var l=document.querySelector('label[for="'+e.id+'"]');if(l&&l.textContent.trim())return l.textContent}
 var p=e.closest("label");if(p&&p.textContent.trim())return p.textContent;if(e.title)return e.title;return ""}
function vis(e){var r=e.getBoundingClientRect();return r.width>0&&r.height>0&&getComputedStyle(e).visibility!=="hidden"}
document.querySelectorAll("input:not([type=hidden]),select,textarea").forEach(function(e){if(vis(e)&&!name(e).trim())out.push("unnamed control "+e.outerHTML.slice(0,80))});
document.querySelectorAll("button,a[href]").forEach(function(e){if(vis(e)&&!(e.textContent.trim()||e.getAttribute("aria-label")||e.title))out.push("empty "+e.tagName+" "+e.outerHTML.slice(0,80))});
document.querySelectorAll("img").forEach(function(e){if(!e.hasAttribute("alt"))out.push("img without alt")});
function rgb(c){var m=c.match(/[\d.]+/g);return m?m.map(Number):[0,0,0,0]}
function lum(c){var a=c.slice(0,3).map(function(v){v/=255;return v<=0.03928?v/12.92:Math.pow((v+0.055)/1.055,2.4)});return 0.2126*a[0]+0.7152*a[1]+0.0722*a[2]}
function bg(e){for(;e;e=e.parentElement){var c=rgb(getComputedStyle(e).backgroundColor);if(c.length<4||c[3]>0.5)return c}return [255,255,255]}
document.querySelectorAll("body *").forEach(function(e){
 if(!vis(e))return;var own=Array.prototype.some.call(e.childNodes,function(n){return n.nodeType===3&&n.textContent.trim()});if(!own)return;
 var s=getComputedStyle(e),fg=rgb(s.color),b=bg(e),l1=lum(fg),l2=lum(b),ratio=(Math.max(l1,l2)+0.05)/(Math.min(l1,l2)+0.05);
 var big=parseFloat(s.fontSize)>=24||(parseFloat(s.fontSize)>=18.66&&parseInt(s.fontWeight)>=700);
 if(ratio<(big?3:4.5))out.push("contrast "+ratio.toFixed(2)+" "+e.tagName+" "+e.textContent.trim().slice(0,20))});
document.querySelectorAll("button,input[type=submit],input[type=checkbox],input[type=radio],select").forEach(function(e){
 if(!vis(e))return;var t=e.closest("label")||e,r=t.getBoundingClientRect();if(r.width<24||r.height<24)out.push("small target "+Math.round(r.width)+"x"+Math.round(r.height)+" "+(e.textContent||e.name).trim().slice(0,20))});
if(document.documentElement.scrollWidth>window.innerWidth+1){var wide=[];document.querySelectorAll("body *").forEach(function(e){if(e.getBoundingClientRect().right>window.innerWidth+1&&!Array.prototype.some.call(e.children,function(c){return c.getBoundingClientRect().right>window.innerWidth+1}))wide.push(e.tagName+"."+e.className+" "+(e.getAttribute("name")||""))});
 out.push("scrolls sideways: "+document.documentElement.scrollWidth+" > "+window.innerWidth+" ("+wide.slice(0,4).join("; ")+")")}
return out})()`

// TestBrowserAccessibility sweeps the organiser's and the appraisal
// group's pages — rounds, a round, its scheme, settings, batches, turnout,
// results, the report — at 320, 375 and 1280 px with a11yCheck, and saves a
// screenshot of each (the ballot has its own, TestBrowserBallotAccessible).
func TestBrowserAccessibility(t *testing.T) {
	e := newConsoleEnv(t)
	admin := e.admin()
	_, codes := admin.issue(e.round, "czj", "staff", 3)
	admin.state(e.round, "open")
	for _, c := range codes {
		submitBallot(t, e.ts.URL, c, answerAll(admin.ballot(c), nil))
	}
	w := newConsoleWalk(t, e.ts.URL)
	ctx := w.ctx
	w.do(ctx, "sign in", chromedp.Navigate(e.ts.URL+"/console/login"), chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "admin"), chromedp.SendKeys(chromedp.CSS(`input[name=password]`), adminPassword),
		chromedp.Click(chromedp.CSS(`form button.primary`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/console/rounds/new"]`)))
	rid := "/console/rounds/" + e.round
	pages := []string{"/console/rounds", rid, rid + "/scheme", rid + "/settings", rid + "/batches", rid + "/turnout"}
	sweep := func(label string, widths ...int64) {
		for _, p := range pages {
			for _, wd := range widths {
				w.do(ctx, "open "+p, chromedp.EmulateViewport(wd, 900), chromedp.Navigate(e.ts.URL+p), chromedp.WaitReady(chromedp.CSS(`body h1`)))
				problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](a11yCheck))
				if err != nil {
					t.Fatal(err)
				}
				if len(problems) > 0 {
					t.Errorf("%s %s at %d px:\n  %s", label, p, wd, strings.Join(problems, "\n  "))
				}
				w.save(ctx, fmt.Sprintf("a11y-%s-%d.png", strings.NewReplacer("/", "_").Replace(strings.TrimPrefix(p, "/console")), wd), chromedp.CaptureScreenshot())
			}
		}
	}
	sweep("open round", 320, 375, 1280)
	admin.state(e.round, "close")
	admin.state(e.round, "seal")
	pages = []string{rid, rid + "/results", rid + "/report"}
	sweep("sealed round", 320, 375, 1280)
	if r := e.do("GET", "/healthz", "", nil); r.status != http.StatusOK {
		t.Fatal(r)
	}
}
