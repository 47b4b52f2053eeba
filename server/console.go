package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"minping/assets"
	"minping/survey"
)

// The console (/console) is where organisers run a round in the browser and
// appraisal groups read their units. Pages are rendered on the server and
// work without script; console.js only adds confirmation prompts, the
// turnout refresh and the reload after a print tab opens.
//
// Every console request carries a session cookie (server/session.go). Every
// form that changes something is checked twice against cross-site
// forgery: by the standard library's cross-origin check (Sec-Fetch-Site or
// Origin), and by a token in the form derived from the session's secret —
// the second holds where the first cannot, on plain-HTTP intranets with old
// browsers that send neither header.

// console serves the console's pages, with its state that is not in the
// database.
type console struct {
	*base
	store  consoleStore
	sealer *sealer

	cop      *http.CrossOriginProtection
	throttle *throttle
	argon    chan struct{} // bounds concurrent password checks (19 MiB each)
	static   map[string]staticFile
	urls     map[string]string // static file name → its hashed URL

	turnoutEvery time.Duration // a live turnout figure changes at most this often
	turnoutStep  int           // while voting is open, voted counts are rounded down to this
	turnoutMu    sync.Mutex
	turnout      map[string]*votedSnapshot

	issuedMu sync.Mutex
	issued   map[string]time.Time // issue-form nonces already used, to refuse a re-posted form
}

type staticFile struct {
	body  []byte
	ctype string
}

func newConsole() *console {
	c := &console{
		cop:          http.NewCrossOriginProtection(),
		throttle:     newThrottle(),
		argon:        make(chan struct{}, 4),
		static:       map[string]staticFile{},
		urls:         map[string]string{},
		turnoutEvery: 30 * time.Second,
		turnoutStep:  5,
		turnout:      map[string]*votedSnapshot{},
		issued:       map[string]time.Time{},
	}
	fs.WalkDir(assets.Static(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}[path.Ext(p)]
		if ctype == "" {
			return nil
		}
		b, err := fs.ReadFile(assets.Static(), p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		hash := hex.EncodeToString(sum[:6])
		c.static[hash+"/"+p] = staticFile{body: b, ctype: ctype}
		c.urls[p] = "/static/" + hash + "/" + p
		return nil
	})
	return c
}

// staticFile serves an embedded static file under its content hash, cached
// for a year: a changed file gets a new URL.
func (s *console) staticFile(c *gin.Context) {
	f, ok := s.static[c.Param("hash")+c.Param("name")]
	if !ok {
		c.String(http.StatusNotFound, "not found")
		return
	}
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	c.Data(http.StatusOK, f.ctype, f.body)
}

// noStore keeps console pages out of every cache: they show counts, codes
// and one-time passwords.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
}

// sameOrigin refuses state-changing requests that a browser marks as coming
// from another site.
func (s *console) sameOrigin(c *gin.Context) {
	if err := s.cop.Check(c.Request); err != nil {
		s.consoleError(c, http.StatusForbidden, "请求被拒绝", "这个请求来自其他网站，已被拒绝。请直接在管理台页面中操作。")
	}
}

// consoleRole lets through only accounts with one of the roles.
func (s *console) consoleRole(roles ...survey.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		a := account(c)
		for _, r := range roles {
			if a != nil && a.Role == r {
				return
			}
		}
		s.consoleError(c, http.StatusForbidden, "无权访问", "您的账号没有访问此页面的权限。")
	}
}

// consoleHome sends each role to where its work is.
func (s *console) consoleHome(c *gin.Context) {
	home := "/console/rounds"
	if account(c).Role == survey.RoleAppraiser {
		home = "/console/sealed"
	}
	if ok := c.Query("ok"); flashes[ok] != "" { // the confirmation goes along
		home += "?ok=" + ok
	}
	c.Redirect(http.StatusSeeOther, home)
}

// consolePage is the frame of every console page: title, account, menu, token.
type consolePage struct {
	Title   string
	Account *survey.Account
	CSRF    string
	CSS, JS string
	Nav     string // the highlighted menu entry
	Flash   string
	Refresh int // seconds; for a page that refreshes itself without script
}

// newPage returns the frame of a console page for the signed-in account.
func (s *console) newPage(c *gin.Context, title, nav string) consolePage {
	p := consolePage{Title: title, Account: account(c), CSRF: csrfToken(c), Nav: nav,
		CSS: s.urls["console.css"], JS: s.urls["console.js"]}
	p.Flash = flashes[c.Query("ok")]
	return p
}

// flashes are the confirmations a redirect can ask for with ?ok=: fixed
// texts, so that a link cannot put words on the page.
var flashes = map[string]string{
	"created":  "测评活动已创建。请核对单位、成员和权重，然后发放测评票。",
	"roster":   "名册已导入。",
	"settings": "设置已保存。",
	"opened":   "测评已开放：测评票现在可以使用，权重、量表和规则已冻结。",
	"closed":   "测评已结束：不再接受提交。",
	"voided":   "该批次已作废：其中未使用的测评码已失效。",
	"sealed":   "结果已封存：已计算、签名并冻结，考核组现在可以查看各自的单位。",
	"account":  "账号已创建。",
	"password": "密码已修改。您在其他设备上的登录已全部退出。",
}

type consoleMessage struct {
	consolePage
	Text     string
	Problems []survey.Problem
	Back     string
}

// consoleError renders an error page and stops the request.
func (s *console) consoleError(c *gin.Context, status int, title, text string) {
	v := consoleMessage{consolePage: s.newPage(c, title, ""), Text: text}
	var buf strings.Builder
	if err := s.tmpl.ExecuteTemplate(&buf, "console-message", v); err != nil {
		s.log.Error("render", "template", "console-message", "err", err)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	c.Abort()
	c.Data(status, "text/html; charset=utf-8", []byte(buf.String()))
}

// consoleFail shows a domain error on a console page; unexpected errors are
// logged, once, here.
func (s *console) consoleFail(c *gin.Context, err error) {
	status := statusOf(err)
	if status == http.StatusInternalServerError {
		s.log.Error("console", "route", c.FullPath(), "err", err)
	}
	text := messageOf(err)
	if errors.Is(err, survey.ErrWrongState) {
		text = "测评活动当前的状态不允许这个操作（例如测评开放后不能再修改设置，结束后不能再发放或作废测评票）。"
	}
	v := consoleMessage{consolePage: s.newPage(c, "操作未完成", ""), Text: text}
	var ve *survey.ValidationError
	if errors.As(err, &ve) {
		v.Problems = ve.Problems
	}
	c.Abort()
	s.html(c, status, "console-message", v)
}

// redirect sends the browser to a console page, with a confirmation.
func consoleRedirect(c *gin.Context, to, ok string) {
	if ok != "" {
		to += "?ok=" + url.QueryEscape(ok)
	}
	c.Redirect(http.StatusSeeOther, to)
}

// round loads the round of the path's :id.
func (s *console) round(c *gin.Context) (*survey.Round, bool) {
	r, err := s.store.Round(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.consoleFail(c, err)
		return nil, false
	}
	return r, true
}

// statusNames are the round statuses as the console names them.
var statusNames = map[survey.Status]string{
	survey.StatusDraft:  "草稿",
	survey.StatusOpen:   "测评中",
	survey.StatusClosed: "已结束",
	survey.StatusSealed: "已封存",
}
