package console

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"minping/survey"
)

// printPart is the most slips one print page of an issue shows: a bulk
// issue of a whole province's round is printed in parts of this many
// (100 A4 sheets each), each part opened from the print job.
const printPart = 1000

type batchesView struct {
	consolePage
	Round       *survey.Round
	Open        bool // batches may be issued and voided
	HasAllSheet bool // some category's slip rates every unit: it names no unit
	Categories  []survey.Category
	Units       []batchUnitRow
	Batches     []conBatch
	Bulk        []conBulk
	Nonce       string
	Issued      int
	Small       []string   // warnings for groups issued too few slips to be counted
	Base        string     // where the links on the slips will point
	RoundBase   string     // the round\'s own address for its slips, "" for the server\'s
	Prints      []printRow // recent print sheets that can be reopened
	UnitPage    pager      // the units shown of those that match the search
	BatchPage   pager      // the batches shown
	Q           string
	Loopback    bool     // Base is this machine only: no phone can open it
	LAN         []string // the console at this machine's network addresses, to open instead
}

// printRow is a print sheet that can be reopened.
type printRow struct {
	ID, When       string
	Batches, Slips int
}

type batchUnitRow struct {
	ID, Name string
	Cells    []batchCell
}

type batchCell struct {
	Issued   int
	Expected string
}

type conBatch struct {
	ID, Unit, Category, Created string
	Member                      string // the holder of a recusal slip
	Count                       int
	Voided                      bool
}

type conBulk struct {
	ID, Name      string
	Units, Slips  int
	Missing       int // units with no 应到人数 for it
	Already       int // units that already have slips of it
	AlreadySlips  int
	NewUnitsSlips int
}

func (s *Console) BatchesPage(c *gin.Context) {
	ctx := c.Request.Context()
	r, ok := s.round(c)
	if !ok {
		return
	}
	def := r.Definition
	turnout, err := s.store.Turnout(ctx, r.ID)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	exp, err := s.store.Expected(ctx, r.ID)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	batches, err := s.store.Batches(ctx, r.ID)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	v := batchesView{consolePage: s.newPage(c, "发放测评票 · "+r.Name, "rounds"), Round: r,
		Open:       r.Status == survey.StatusDraft || r.Status == survey.StatusOpen,
		Categories: def.Categories, Nonce: survey.NewToken()}
	// Only issued counts are shown here: how many have voted is the turnout
	// page's, in coarse steps.
	issued := map[[2]string]int{}
	for _, ut := range turnout {
		for _, ct := range ut.Categories {
			issued[[2]string{ut.Unit, ct.Category}] = ct.Count.Issued
			v.Issued += ct.Count.Issued
		}
	}
	v.Q = strings.TrimSpace(c.Query("q"))
	var shown []survey.Unit
	for _, u := range def.Units {
		if matches(v.Q, u.Name, u.ID) {
			shown = append(shown, u)
		}
	}
	var lo, hi int
	v.UnitPage, lo, hi = newPager(c, "page", len(shown))
	for _, u := range shown[lo:hi] {
		row := batchUnitRow{ID: u.ID, Name: u.Name}
		for _, ct := range def.Categories {
			cell := batchCell{Issued: issued[[2]string{u.ID, ct.ID}]}
			if n, ok := exp[u.ID][ct.ID]; ok {
				cell.Expected = strconv.Itoa(n)
			}
			row.Cells = append(row.Cells, cell)
		}
		v.Units = append(v.Units, row)
	}
	v.Bulk = bulkChoices(def, exp, issued)
	for _, ct := range def.Categories {
		v.HasAllSheet = v.HasAllSheet || ct.SheetKind() == survey.SheetAll
	}
	for _, si := range survey.SmallIssues(def, turnout) {
		v.Small = append(v.Small, si.Warning(def))
	}
	v.Base, v.RoundBase = s.slipBase(c, r), r.BaseURL
	for _, j := range s.prints.of(r.ID, s.now()) {
		v.Prints = append(v.Prints, printRow{ID: j.ID, When: s.clock(j.Issued), Batches: j.Batches, Slips: j.Slips})
	}
	if v.Loopback = loopback(v.Base); v.Loopback {
		v.LAN = lanConsoles(v.Base, "/console/rounds/"+r.ID+"/batches")
	}
	var listed []survey.Batch
	for _, b := range batches {
		name := b.Unit
		if u := def.Unit(b.Unit); u != nil {
			name = u.Name
		}
		if matches(v.Q, name, b.Unit) {
			listed = append(listed, b)
		}
	}
	v.BatchPage, lo, hi = newPager(c, "bpage", len(listed))
	for _, b := range listed[lo:hi] {
		row := conBatch{ID: b.ID, Count: b.Count, Voided: b.Voided, Created: s.clock(b.CreatedAt),
			Unit: b.Unit, Category: b.Category}
		if u := def.Unit(b.Unit); u != nil {
			row.Unit = u.Name
			if m := u.Member(b.Member); m != nil {
				row.Member = m.Name
			}
		} else if b.Unit == "" {
			row.Unit = "全部单位"
		}
		if ct := def.Category(b.Category); ct != nil {
			row.Category = ct.Name
		}
		v.Batches = append(v.Batches, row)
	}
	s.host.HTML(c, http.StatusOK, "console-batches", v)
}

// bulkChoices is, per category, what issuing by the roster's 应到人数 would
// issue: the units and slips still to issue, and the units skipped.
func bulkChoices(def *survey.Definition, exp survey.Expected, issued map[[2]string]int) []conBulk {
	var out []conBulk
	for _, ct := range def.Categories {
		b := conBulk{ID: ct.ID, Name: ct.Name}
		if ct.SheetKind() == survey.SheetAll {
			continue // one batch for the round, issued by hand
		}
		for _, u := range def.Units {
			n, ok := exp[u.ID][ct.ID]
			if ct.Recuse {
				n, ok = len(u.Members), true // one slip per member
			}
			switch {
			case !ok || n == 0:
				b.Missing++
			case issued[[2]string{u.ID, ct.ID}] > 0:
				b.Already++
			default:
				b.Units++
				b.Slips += n
			}
		}
		if b.Units+b.Already > 0 {
			out = append(out, b)
		}
	}
	return out
}

// useNonce reports whether an issue form's nonce is fresh, and spends it:
// reloading a print tab re-posts its form, and must not issue a second
// batch behind the organiser's back.
func (s *Console) useNonce(form, nonce string) bool {
	if len(nonce) < 16 {
		return false
	}
	nonce = form + ":" + nonce
	s.issuedMu.Lock()
	defer s.issuedMu.Unlock()
	now := time.Now()
	if _, used := s.issued[nonce]; used {
		return false
	}
	if len(s.issued) > 10000 {
		for k, t := range s.issued {
			if now.Sub(t) > survey.SessionMax {
				delete(s.issued, k)
			}
		}
	}
	s.issued[nonce] = now
	return true
}

func (s *Console) spentForm(c *gin.Context, id string) {
	v := consoleMessage{consolePage: s.newPage(c, "这张发放表单已经提交过", "rounds"), Back: "/console/rounds/" + id + "/batches",
		Text: "为防止重复发放，同一张发放表单只能提交一次（刷新打印页也会重新提交表单）。测评码只显示一次，无法再次打开：如果上一次的打印页已关闭而没有打印，请回到发放页面，作废那个批次后重新发放。"}
	s.host.HTML(c, http.StatusConflict, "console-message", v)
}

// Issue issues one batch and answers with its print sheet, which the
// form opens in a new tab: the only time its codes are shown.
func (s *Console) Issue(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	if !s.linksReachable(c) {
		return
	}
	if !s.useNonce("one", c.PostForm("nonce")) {
		s.spentForm(c, id)
		return
	}
	r, ok := s.round(c)
	if !ok {
		return
	}
	unit, category := c.PostForm("unit"), c.PostForm("category")
	var reqs []survey.BatchRequest
	if ct := r.Definition.Category(category); ct != nil && ct.Recuse {
		// One slip for each member of the unit, named on its stub.
		reqs = recusalBatches(r.Definition, unit, category, nil)
	} else {
		count, err := strconv.Atoi(strings.TrimSpace(c.PostForm("count")))
		if err != nil {
			s.consoleFail(c, &survey.ValidationError{Problems: []survey.Problem{{Path: "张数", Message: "请填写要发放的张数（1 至 10000 的整数）"}}})
			return
		}
		reqs = []survey.BatchRequest{{Unit: unit, Category: category, Count: count}}
	}
	if len(reqs) == 0 {
		s.consoleFail(c, &survey.ValidationError{Problems: []survey.Problem{{Path: "单位", Message: "请选择有班子成员的单位：回避类别给每名班子成员各发一张"}}})
		return
	}
	issued, err := s.store.IssueBatches(ctx, id, reqs)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	s.log.Info("batch issued", "round", id, "batches", len(issued), "unit", unit, "category", category, "by", s.host.Account(c).Name)
	s.printIssued(c, r, issued)
}

// recusalBatches asks for one slip per member of the unit (every unit when
// unit is ""), each for its member, skipping members in skip.
func recusalBatches(def *survey.Definition, unit, category string, skip map[string]bool) []survey.BatchRequest {
	var out []survey.BatchRequest
	for _, u := range def.Units {
		if unit != "" && u.ID != unit {
			continue
		}
		for _, m := range u.Members {
			if !skip[u.ID] {
				out = append(out, survey.BatchRequest{Unit: u.ID, Category: category, Member: m.ID, Count: 1})
			}
		}
	}
	return out
}

// printIssued answers with the print sheet of batches just issued (or
// reopened), keeping their codes sealed in memory to reopen for a while.
// An issue of more than printPart slips is printed in parts: this answer
// is its first, with links to the others.
func (s *Console) printIssued(c *gin.Context, r *survey.Round, issued []survey.Issued) {
	job := c.Param("job")
	if job == "" {
		job = s.prints.keep(r.ID, issued, s.now())
	}
	part, _ := strconv.Atoi(c.Query("part"))
	total := 0
	for _, is := range issued {
		total += len(is.Codes)
	}
	issued, parts := partOf(issued, part, printPart)
	part = min(max(part, 1), parts)
	if parts > 1 {
		c.Header("X-Print-Parts", strconv.Itoa(parts))
	}
	var nav *PrintNav
	if parts > 1 {
		nav = &PrintNav{Part: part, Parts: parts, Total: total}
		for k := 1; k <= parts; k++ {
			nav.Links = append(nav.Links, fmt.Sprintf("/console/rounds/%s/print/%s?part=%d", r.ID, job, k))
		}
	}
	v, err := s.host.PrintView(r, issued, s.slipBase(c, r), nav)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	s.host.HTML(c, http.StatusCreated, "print", v)
}

// IssueBulk issues, for each chosen category, one batch per unit of
// its 应到人数 from the roster, skipping units that already have slips of
// that category, and answers with one print sheet of them all, each
// batch starting on a new page.
func (s *Console) IssueBulk(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	if !s.linksReachable(c) {
		return
	}
	if !s.useNonce("bulk", c.PostForm("nonce")) {
		s.spentForm(c, id)
		return
	}
	r, ok := s.round(c)
	if !ok {
		return
	}
	def := r.Definition
	exp, err := s.store.Expected(ctx, id)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	turnout, err := s.store.Turnout(ctx, id)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	has := map[[2]string]bool{}
	for _, ut := range turnout {
		for _, ct := range ut.Categories {
			has[[2]string{ut.Unit, ct.Category}] = ct.Count.Issued > 0
		}
	}
	var reqs []survey.BatchRequest
	total := 0
	for _, cat := range c.PostFormArray("category") {
		ct := def.Category(cat)
		if ct == nil || ct.SheetKind() == survey.SheetAll {
			continue
		}
		if ct.Recuse {
			skip := map[string]bool{}
			for _, u := range def.Units {
				skip[u.ID] = has[[2]string{u.ID, cat}]
			}
			rs := recusalBatches(def, "", cat, skip)
			reqs = append(reqs, rs...)
			total += len(rs)
			continue
		}
		for _, u := range def.Units {
			if n := exp[u.ID][cat]; n > 0 && !has[[2]string{u.ID, cat}] {
				reqs = append(reqs, survey.BatchRequest{Unit: u.ID, Category: cat, Count: n})
				total += n
			}
		}
	}
	if len(reqs) == 0 {
		s.consoleFail(c, &survey.ValidationError{Problems: []survey.Problem{{Message: "没有需要发放的测评票：请勾选至少一个测评人类别；已有测评票的单位和类别不会重复发放。"}}})
		return
	}
	issued, err := s.store.IssueBatches(ctx, id, reqs)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	s.log.Info("batches issued in bulk", "round", id, "batches", len(issued), "slips", total, "by", s.host.Account(c).Name)
	s.printIssued(c, r, issued)
}

func (s *Console) Void(c *gin.Context) {
	id := c.Param("id")
	if err := s.store.VoidBatch(c.Request.Context(), id, c.Param("batch")); err != nil {
		s.consoleFail(c, err)
		return
	}
	s.log.Info("batch voided", "round", id, "batch", c.Param("batch"), "by", s.host.Account(c).Name)
	consoleRedirect(c, "/console/rounds/"+id+"/batches", "voided")
}

// linksReachable refuses to issue slips whose links point at this machine
// alone (127.0.0.1, localhost): printed, they would be a hall of dead
// slips. The organiser may confirm that it is a test (loopback_ok).
func (s *Console) linksReachable(c *gin.Context) bool {
	base := s.host.BaseURL(c)
	if r, err := s.store.Round(c.Request.Context(), c.Param("id")); err == nil {
		base = s.slipBase(c, r)
	}
	if !loopback(base) || c.PostForm("loopback_ok") == "yes" {
		return true
	}
	s.consoleError(c, http.StatusUnprocessableEntity, "测评票的链接无法在手机上打开",
		"测评票上的二维码将指向 "+base+"，这是本机地址，手机扫码打不开。请用本机的局域网地址打开管理台后再发放，或设置 --base-url；如果只是测试，请勾选“这只是测试”。")
	return false
}

// slipBase is where a round's slips point: the round's own address when
// it has one, else the server's (--base-url, or the request's).
func (s *Console) slipBase(c *gin.Context, r *survey.Round) string {
	if r.BaseURL != "" {
		return r.BaseURL
	}
	return s.host.BaseURL(c)
}

// SetBaseURL sets or clears (empty) the address a round's slips point to.
func (s *Console) SetBaseURL(c *gin.Context) {
	base := strings.TrimSpace(c.PostForm("base_url"))
	if base != "" {
		var err error
		if base, err = survey.CheckBaseURL(base); err != nil {
			s.consoleFail(c, err)
			return
		}
	}
	if err := s.store.SetBaseURL(c.Request.Context(), c.Param("id"), base); err != nil {
		s.consoleFail(c, err)
		return
	}
	consoleRedirect(c, "/console/rounds/"+c.Param("id")+"/batches", "base")
}

// loopback reports whether base is an address of this machine alone.
func loopback(base string) bool {
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// lanConsoles are the URLs of path at this machine's network addresses
// (IPv4, not loopback), on base's port: where to open the console so that
// slips carry an address phones reach.
func lanConsoles(base, path string) []string {
	u, err := url.Parse(base)
	if err != nil {
		return nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.To4() == nil || n.IP.IsLoopback() || n.IP.IsLinkLocalUnicast() {
			continue
		}
		host := n.IP.String()
		if p := u.Port(); p != "" {
			host = net.JoinHostPort(host, p)
		}
		out = append(out, u.Scheme+"://"+host+path)
	}
	return out
}
