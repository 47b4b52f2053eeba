// Package console is where organisers run a round in the browser and
// appraisal groups read their units (/console). Pages are rendered on the
// server and work without script; console.js only adds confirmation
// prompts, the turnout refresh and the reload after a print tab opens.
//
// Every console request carries a session cookie (session.go); sign-in
// failures are throttled (throttle.go). Every form that changes something
// is checked twice against cross-site forgery: by the standard library's
// cross-origin check (Sec-Fetch-Site or Origin), and by a token in the form
// derived from the session's secret — the second holds where the first
// cannot, on plain-HTTP intranets with old browsers that send neither
// header. The console's routes are with all the others in server/routes.go.
package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"minping/assets"
	"minping/survey"
	"minping/tally"
)

// Host is what the console needs of the server it runs in: its responses,
// the signed-in account, slips' links, print sheets and sealing, so that
// the console answers and seals exactly as the API does.
type Host interface {
	// HTML renders the named template with data as the response.
	HTML(c *gin.Context, status int, name string, data any)
	// Fail answers err as the JSON API does.
	Fail(c *gin.Context, err error)
	// Describe is the HTTP status of err and the message a person reads.
	Describe(err error) (status int, message string)
	// Account is the request's account, nil if none; SetAccount sets it.
	Account(c *gin.Context) *survey.Account
	SetAccount(c *gin.Context, a *survey.Account)
	// BaseURL is where the links of slips issued in this request point.
	BaseURL(c *gin.Context) string
	// PrintView lays out batches just issued for the "print" template;
	// nav, when not nil, names the part of a larger issue it shows.
	PrintView(r *survey.Round, issued []survey.Issued, base string, nav *PrintNav) (any, error)
	// Seal seals a closed round; PubKey is the key its documents verify with.
	Seal(ctx context.Context, roundID string) (*tally.RoundResult, error)
	PubKey() string
	// SaveResults checks and stores what is entered after the seal, and
	// Finalize signs the results document, as the API does.
	SaveResults(c *gin.Context, r *survey.Round, entries []tally.Entry) (int, error)
	Finalize(c *gin.Context, roundID string) error
}

// Store is what the console needs of the store.
type Store interface {
	Rounds(ctx context.Context) ([]*survey.Round, error)
	Round(ctx context.Context, id string) (*survey.Round, error)
	RoundSource(ctx context.Context, id string) ([]byte, error)
	CreateRound(ctx context.Context, def *survey.Definition, source []byte) (*survey.Round, error)
	UpdateDefinition(ctx context.Context, id string, def *survey.Definition, source []byte) error
	OpenRound(ctx context.Context, id string) error
	CloseRound(ctx context.Context, id string) error
	Expected(ctx context.Context, roundID string) (survey.Expected, error)
	SetExpected(ctx context.Context, roundID string, e survey.Expected) error
	ImportRoster(ctx context.Context, id string, def *survey.Definition, source []byte, e survey.Expected) error

	Batches(ctx context.Context, roundID string) ([]survey.Batch, error)
	IssueBatches(ctx context.Context, roundID string, reqs []survey.BatchRequest) ([]survey.Issued, error)
	VoidBatch(ctx context.Context, roundID, batchID string) error
	Turnout(ctx context.Context, roundID string) ([]survey.UnitTurnout, error)

	Accounts(ctx context.Context) ([]*survey.Account, error)
	CreateAccount(ctx context.Context, n survey.NewAccount) (*survey.Account, string, error)
	SetPassword(ctx context.Context, name string, role survey.Role, password string) error
	Authenticate(ctx context.Context, name, password string) (*survey.Account, error)
	CreateSession(ctx context.Context, accountID string) (string, error)
	SessionAccount(ctx context.Context, token string) (*survey.Account, error)
	EndSession(ctx context.Context, token string) error
	EndSessionsOf(ctx context.Context, name string) error
	Results(ctx context.Context, roundID string) ([]byte, *time.Time, error)
	DeleteRound(ctx context.Context, id string) error
	ArchiveRound(ctx context.Context, id string, archived bool) error
	CopyRound(ctx context.Context, id, name string) (*survey.Round, error)
	SetBaseURL(ctx context.Context, id, base string) error
	Document(ctx context.Context, roundID, unit string) (*survey.SealedDocument, error)
}

// Console serves the console's pages, with its state that is not in the
// database.
type Console struct {
	host    Host
	store   Store
	log     *slog.Logger
	baseURL string           // the configured public URL, "" if none
	now     func() time.Time // the clock of turnout snapshots
	tz      *time.Location   // the zone of the times it shows
	zone    string           // how they are labelled, e.g. 北京时间

	cop      *http.CrossOriginProtection
	throttle *throttle
	argon    chan struct{} // bounds concurrent password checks (19 MiB each)
	static   map[string]staticFile
	urls     map[string]string // static file name → its hashed URL

	turnoutEvery time.Duration // a live turnout figure changes at most this often
	turnoutMu    sync.Mutex
	turnout      map[string]*votedSnapshot

	issuedMu sync.Mutex
	issued   map[string]time.Time // issue-form nonces already used, to refuse a re-posted form

	prints *printJobs // recent print sheets' codes, sealed in memory, to reopen (reprint.go)
}

// Options tune a Console; zero values take the defaults.
type Options struct {
	BaseURL      string           // the public URL slips point to (--base-url), for Secure cookies behind TLS
	Now          func() time.Time // [time.Now]
	TurnoutEvery time.Duration    // how often a live turnout figure may change [30s]; a negative value: on every request
	TZ           *time.Location   // the zone of the times it shows [UTC]
	Zone         string           // how they are labelled, e.g. 北京时间
}

type staticFile struct {
	body  []byte
	ctype string
}

// New makes the console over store, answering through host.
func New(host Host, store Store, log *slog.Logger, o Options) *Console {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TZ == nil {
		o.TZ, o.Zone = time.UTC, "UTC"
	}
	switch {
	case o.TurnoutEvery == 0:
		o.TurnoutEvery = 30 * time.Second
	case o.TurnoutEvery < 0:
		o.TurnoutEvery = 0
	}
	c := &Console{
		host: host, store: store, log: log, baseURL: o.BaseURL, now: o.Now, tz: o.TZ, zone: o.Zone,
		cop:          http.NewCrossOriginProtection(),
		throttle:     newThrottle(o.Now),
		argon:        make(chan struct{}, 4),
		static:       map[string]staticFile{},
		urls:         map[string]string{},
		turnoutEvery: o.TurnoutEvery,
		turnout:      map[string]*votedSnapshot{},
		issued:       map[string]time.Time{},
		prints:       newPrintJobs(),
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

// StaticFile serves an embedded static file under its content hash, cached
// for a year: a changed file gets a new URL.
func (s *Console) StaticFile(c *gin.Context) {
	f, ok := s.static[c.Param("hash")+c.Param("name")]
	if !ok {
		c.String(http.StatusNotFound, "not found")
		return
	}
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	c.Data(http.StatusOK, f.ctype, f.body)
}

// StaticURL is the hashed URL of an embedded static file (console.css,
// console.js), "" if there is none.
func (s *Console) StaticURL(name string) string { return s.urls[name] }

// NoStore keeps console pages out of every cache: they show counts, codes
// and one-time passwords.
func NoStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
}

// SameOrigin refuses state-changing requests that a browser marks as coming
// from another site.
func (s *Console) SameOrigin(c *gin.Context) {
	if err := s.cop.Check(c.Request); err != nil {
		s.consoleError(c, http.StatusForbidden, "请求被拒绝", "这个请求来自其他网站，已被拒绝。请直接在管理台页面中操作。")
	}
}

// Role lets through only accounts with one of the roles.
func (s *Console) Role(roles ...survey.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		a := s.host.Account(c)
		for _, r := range roles {
			if a != nil && a.Role == r {
				return
			}
		}
		s.consoleError(c, http.StatusForbidden, "无权访问", "您的账号没有访问此页面的权限。")
	}
}

// Home sends each role to where its work is.
func (s *Console) Home(c *gin.Context) {
	home := "/console/rounds"
	if s.host.Account(c).Role == survey.RoleAppraiser {
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
func (s *Console) newPage(c *gin.Context, title, nav string) consolePage {
	p := consolePage{Title: title, Account: s.host.Account(c), CSRF: csrfToken(c), Nav: nav,
		CSS: s.StaticURL("console.css"), JS: s.StaticURL("console.js")}
	p.Flash = flashes[c.Query("ok")]
	return p
}

// flashes are the confirmations a redirect can ask for with ?ok=: fixed
// texts, so that a link cannot put words on the page.
var flashes = map[string]string{
	"created":    "测评活动已创建。请核对单位、成员和权重，然后发放测评票。",
	"roster":     "名册已导入。",
	"settings":   "设置已保存。",
	"opened":     "测评已开放：测评票现在可以使用，权重、量表和规则已冻结。",
	"closed":     "测评已结束：不再接受提交。",
	"voided":     "该批次已作废：其中未使用的测评码已失效。",
	"sealed":     "结果已封存：已计算、签名并冻结，考核组现在可以查看各自的单位。",
	"results":    "成绩已保存。核对无误后请定稿。",
	"finalized":  "考核结果已定稿并签名：公示名单和结果反馈现在可以下载。",
	"deleted":    "草稿已删除。",
	"archived":   "已归档：测评活动列表中不再显示，结果和签名文件仍然保留。",
	"unarchived": "已取消归档。",
	"copied":     "已复制为新的草稿：定义和名册沿用原活动，测评票、选票和结果不复制。请修改名称和设置。",
	"printed":    "已确认打印：这批测评码已从服务器内存中清除，只存在于打印出的纸上。",
	"base":       "测评票链接地址已保存：此后发放的测评票指向新地址，已发放的不变。",
	"account":    "账号已创建。",
	"password":   "密码已修改。您在其他设备上的登录已全部退出。",
}

type consoleMessage struct {
	consolePage
	Text     string
	Problems []survey.Problem
	Back     string
}

// consoleError renders an error page and stops the request.
func (s *Console) consoleError(c *gin.Context, status int, title, text string) {
	v := consoleMessage{consolePage: s.newPage(c, title, ""), Text: text}
	c.Abort()
	s.host.HTML(c, status, "console-message", v)
}

// consoleFail shows a domain error on a console page; unexpected errors are
// logged, once, here.
func (s *Console) consoleFail(c *gin.Context, err error) {
	status, text := s.host.Describe(err)
	if status == http.StatusInternalServerError {
		s.log.Error("console", "route", c.FullPath(), "err", err)
	}
	if errors.Is(err, survey.ErrWrongState) {
		text = "测评活动当前的状态不允许这个操作（例如测评开放后不能再修改设置，结束后不能再发放或作废测评票）。"
	}
	v := consoleMessage{consolePage: s.newPage(c, "操作未完成", ""), Text: text}
	var ve *survey.ValidationError
	if errors.As(err, &ve) {
		v.Problems = ve.Problems
	}
	c.Abort()
	s.host.HTML(c, status, "console-message", v)
}

// redirect sends the browser to a console page, with a confirmation.
func consoleRedirect(c *gin.Context, to, ok string) {
	if ok != "" {
		to += "?ok=" + url.QueryEscape(ok)
	}
	c.Redirect(http.StatusSeeOther, to)
}

// round loads the round of the path's :id.
// Manages lets through a request about round :id only if the account may
// run that round; others get the page for a round that does not exist.
func (s *Console) Manages(c *gin.Context) {
	if id := c.Param("id"); id != "" && !s.host.Account(c).CanManage(id) {
		s.consoleFail(c, survey.ErrNotFound)
	}
}

func (s *Console) round(c *gin.Context) (*survey.Round, bool) {
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
