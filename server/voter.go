package server

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"minping/survey"
)

// The voter's pages: /b (type a code), /b/CODE (the ballot), its review and
// thank-you pages, and the JSON ballot API. None of them puts the code in a
// log line, a redirect or the page itself: the ballot form posts to its own
// URL, so one rendering serves every slip of a unit and category.

// ballotDoc is the JSON form of what a slip is asked (GET /api/v1/ballots).
// A sheet over several units (CONTRACT §5.1) lists them in units, and each
// subject names its unit; unit is then the batch's home unit ("" for an
// all sheet).
type ballotDoc struct {
	Round        string          `json:"round"`
	RoundName    string          `json:"round_name"`
	Unit         string          `json:"unit"`
	UnitName     string          `json:"unit_name"`
	Category     string          `json:"category"`
	CategoryName string          `json:"category_name"`
	Sheet        string          `json:"sheet"`
	Units        []unitDoc       `json:"units"`
	Forms        []ballotFormDoc `json:"forms"`
}

type unitDoc struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// subjectDoc is a subject on a ballot, with its unit.
type subjectDoc struct {
	Unit string `json:"unit"`
	survey.Subject
}

type ballotFormDoc struct {
	ID       string       `json:"id"`
	Title    string       `json:"title"`
	Items    []string     `json:"items"`
	Overall  string       `json:"overall"`
	Options  []string     `json:"options"`
	Abstain  string       `json:"abstain"`
	TopLimit int          `json:"top_limit,omitempty"`
	Subjects []subjectDoc `json:"subjects"`
}

func (s *voter) ballotGet(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	slip, err := s.store.Slip(c.Request.Context(), c.Param("code"))
	if err != nil {
		s.fail(c, err)
		return
	}
	def := slip.Round.Definition
	sh := slip.Sheet()
	doc := ballotDoc{
		Round: slip.Round.ID, RoundName: slip.Round.Name,
		Category: slip.Category.ID, CategoryName: slip.Category.Name, Sheet: slip.Category.SheetKind(),
	}
	if slip.Unit != nil {
		doc.Unit, doc.UnitName = slip.Unit.ID, slip.Unit.Name
	}
	for _, su := range sh.Units {
		doc.Units = append(doc.Units, unitDoc{su.Unit.ID, su.Unit.Name, su.Unit.Type})
	}
	for _, fi := range def.FormsFor(slip.Category.ID) {
		f := &def.Forms[fi]
		sc := def.Scale(f.Scale)
		fd := ballotFormDoc{ID: f.ID, Title: f.Title, Overall: f.Overall, Abstain: sc.Abstain,
			TopLimit: f.TopLimit, Subjects: []subjectDoc{}}
		for _, su := range sh.Units {
			for _, subj := range def.Subjects(f, su.Unit) {
				if slip.Member != nil && subj.ID == slip.Member.ID {
					continue // the holder of a recusal slip does not rate themself
				}
				fd.Subjects = append(fd.Subjects, subjectDoc{su.Unit.ID, subj})
			}
		}
		for _, it := range f.Items {
			fd.Items = append(fd.Items, it.Name)
		}
		for _, o := range sc.Options {
			fd.Options = append(fd.Options, o.Label)
		}
		doc.Forms = append(doc.Forms, fd)
	}
	c.JSON(http.StatusOK, doc)
}

type submitRequest struct {
	Answers []survey.Answer `json:"answers"`
}

func (s *voter) ballotSubmit(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	ctx := c.Request.Context()
	slip, err := s.store.Slip(ctx, c.Param("code"))
	if err != nil {
		s.fail(c, err)
		return
	}
	req, err := readSubmit(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ballot, err := slip.Sheet().EncodeAnswers(req.Answers)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.store.Submit(ctx, slip, ballot); err != nil {
		s.fail(c, err)
		return
	}
	c.Data(http.StatusCreated, "application/json; charset=utf-8", acceptedBody)
}

// maxBallotBody bounds a ballot's body, posted as JSON or as the form.
const maxBallotBody = 1 << 20

// acceptedBody is the answer to a stored ballot.
var acceptedBody = []byte(`{"message":"提交成功，感谢您的参与","status":"accepted"}`)

// readSubmit reads a ballot's JSON body. Decoding it with encoding/json
// cost more than anything else on the server for a large ballot, so the
// shape every client sends — {"answers":[{"form":"…","subject":"…",
// "item":"…","option":"…"},…]} with plain strings — is read directly, and
// anything else goes to bindJSON, which decides what is valid and words
// the error. Both read the same bytes, at most the same 1 MB.
func readSubmit(c *gin.Context) (submitRequest, error) {
	body, err := readBody(c.Request, maxBallotBody)
	if err == nil {
		if answers, ok := parseAnswers(body); ok {
			return submitRequest{Answers: answers}, nil
		}
	}
	var req submitRequest
	c.Request.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), c.Request.Body))
	return req, bindJSON(c, &req)
}

// readBody reads at most limit bytes of a request's body, into one buffer of
// the right size when the request says a length a ballot may have; a longer
// declared length is read as the bytes arrive, so that a claim alone holds
// no memory.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= 64<<10 {
		body := make([]byte, n)
		_, err := io.ReadFull(r.Body, body)
		return body, err
	}
	return io.ReadAll(io.LimitReader(r.Body, limit))
}

// parseAnswers reads {"answers":[{…},…]} where each object has only the
// keys form, subject, item and option, each a string without escapes, in
// valid UTF-8 and free of control characters; ok is false for anything
// else, and for anything but white space after the object.
func parseAnswers(body []byte) (answers []survey.Answer, ok bool) {
	p := answerScanner{text: string(body)} // one copy; every answer's strings share it
	if !p.lit('{') {
		return nil, false
	}
	if k, ok := p.str(); !ok || k != "answers" || !p.lit(':') || !p.lit('[') {
		return nil, false
	}
	answers = make([]survey.Answer, 0, strings.Count(p.text, "{")-1)
	for more := !p.lit(']'); more; {
		a, ok := p.answer()
		if !ok {
			return nil, false
		}
		answers = append(answers, a)
		if more = !p.lit(']'); more && !p.lit(',') {
			return nil, false
		}
	}
	if !p.lit('}') {
		return nil, false
	}
	p.ws()
	return answers, p.i == len(p.text)
}

// answerScanner reads the JSON of a ballot's answers, see parseAnswers.
type answerScanner struct {
	text string
	i    int
}

func (p *answerScanner) ws() {
	for p.i < len(p.text) && (p.text[p.i] == ' ' || p.text[p.i] == '\t' || p.text[p.i] == '\n' || p.text[p.i] == '\r') {
		p.i++
	}
}

// lit consumes c, after white space, if it comes next.
func (p *answerScanner) lit(c byte) bool {
	p.ws()
	if p.i < len(p.text) && p.text[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string without escapes or control characters, in UTF-8.
func (p *answerScanner) str() (string, bool) {
	if !p.lit('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.text) && p.text[p.i] != '"' {
		if c := p.text[p.i]; c == '\\' || c < 0x20 {
			return "", false
		}
		p.i++
	}
	if p.i == len(p.text) {
		return "", false
	}
	v := p.text[start:p.i]
	p.i++
	return v, utf8.ValidString(v)
}

// answer reads one {"unit":…,"form":…,"subject":…,"item":…,"option":…}
// object ("unit" optional).
func (p *answerScanner) answer() (a survey.Answer, ok bool) {
	if !p.lit('{') {
		return a, false
	}
	for first := true; !p.lit('}'); first = false {
		if !first && !p.lit(',') {
			return a, false
		}
		k, ok := p.str()
		if !ok || !p.lit(':') {
			return a, false
		}
		v, ok := p.str()
		if !ok {
			return a, false
		}
		switch k {
		case "unit":
			a.Unit = v
		case "form":
			a.Form = v
		case "subject":
			a.Subject = v
		case "item":
			a.Item = v
		case "option":
			a.Option = v
		default:
			return a, false
		}
	}
	return a, true
}

// enterCode is the page to type a code; with ?code= it sends the voter on
// to that code's ballot.
func (s *voter) enterCode(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	if raw, ok := c.GetQuery("code"); ok {
		if n := survey.NormalizeCode(raw); n != "" {
			c.Redirect(http.StatusSeeOther, "/b/"+survey.FormatCode(n))
			return
		}
		s.html(c, http.StatusUnprocessableEntity, "enter", "测评码应为16位字母和数字，例如 ABCD-EFGH-JKLM-NPQR，请核对后重新输入。")
		return
	}
	s.html(c, http.StatusOK, "enter", "")
}

func (s *voter) thanks(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	s.html(c, http.StatusOK, "message", messagePage{
		Title: "提交成功，感谢您的参与！",
		Text:  "您的评价已匿名保存，任何人都无法将它与您或您的测评码对应。现在可以关闭本页。",
		Done:  true,
	})
}

type messagePage struct {
	Round, Title, Text, Link, LinkText string
	Done                               bool // the ballot is stored: drop the phone's draft
}

// slipError renders a voter-facing page for a code that cannot vote.
func (s *voter) slipError(c *gin.Context, slip *survey.Slip, err error) {
	p := messagePage{Link: "/b", LinkText: "重新输入测评码"}
	if slip != nil {
		p.Round = slip.Round.Name
	}
	switch {
	case errors.Is(err, survey.ErrNotFound):
		p.Title = "测评码无效"
		p.Text = "没有找到这个测评码：可能输入有误、所在批次已作废，或测评已结束并封存。请核对测评票上的测评码后重新输入。"
	case errors.Is(err, survey.ErrCodeUsed):
		p.Title = "此测评码已使用"
		p.Text = "每个测评码只能提交一次，这个测评码已经提交过评价。如有疑问，请联系测评组织人员。"
		p.Link = ""
	case errors.Is(err, survey.ErrNotStarted):
		p.Title = "测评尚未开始"
		p.Text = "本次测评还没有开始，请在会议主持人宣布开始后再扫码。"
		p.Link, p.LinkText = c.Request.URL.Path, "刷新"
	case errors.Is(err, survey.ErrVotingOver):
		p.Title = "测评已结束"
		p.Text = "本次测评已经结束，不再接受提交。"
		p.Link = ""
	default:
		s.log.Error("ballot page", "err", err)
		p.Title = "暂时无法提交"
		p.Text = "服务器出现问题，您的评价尚未保存。请稍后重试；测评码仍然有效。"
		p.Link, p.LinkText = c.Request.URL.Path, "重试"
	}
	c.Header("Cache-Control", "no-store")
	s.html(c, statusOf(err), "message", p)
}

// ballotPage serves the cached ballot of the slip's unit and category.
func (s *voter) ballotPage(c *gin.Context) {
	slip, err := s.store.Slip(c.Request.Context(), c.Param("code"))
	if err != nil {
		s.slipError(c, slip, err)
		return
	}
	p, err := s.page(slip)
	if err != nil {
		s.slipError(c, slip, err)
		return
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-cache, private")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Vary", "Accept-Encoding")
	body := p.gzip
	if strings.Contains(c.GetHeader("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
	} else if body, err = gunzip(p.gzip); err != nil {
		s.slipError(c, slip, err)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.Status(http.StatusOK)
	c.Writer.Write(body)
}

type pageKey struct {
	def                    *survey.Definition
	unit, category, member string
}

// renderedPage is a blank ballot, gzipped (how nearly every browser takes
// it; the plain bytes are unzipped for the rest).
type renderedPage struct {
	gzip []byte
}

// maxPages bounds the rendered ballots kept: an others sheet renders one
// page per home unit, and a round of 2,000 units would otherwise keep
// 2,000 pages of 2,000 rows each.
const maxPages = 256

// page returns the rendered ballot for a slip's unit and category, rendering
// it once and keeping it: every slip of that unit and category sees the
// same bytes.
func (s *voter) page(slip *survey.Slip) (*renderedPage, error) {
	k := pageKey{def: slip.Round.Definition, category: slip.Category.ID}
	if slip.Unit != nil {
		k.unit = slip.Unit.ID
	}
	if slip.Member != nil {
		k.member = slip.Member.ID
	}
	s.pagesMu.Lock()
	p, ok := s.pages[k]
	s.pagesMu.Unlock()
	if ok {
		return p, nil
	}
	p, err := s.renderPage(slip)
	if err != nil {
		return nil, err
	}
	s.pagesMu.Lock()
	if len(s.pages) >= maxPages {
		for old := range s.pages { // drop any one: they render again on demand
			delete(s.pages, old)
			break
		}
	}
	s.pages[k] = p
	s.pagesMu.Unlock()
	return p, nil
}

// gunzip returns the plain bytes of a rendered page.
func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// renderPage renders a slip's blank ballot, plain and gzipped.
func (s *voter) renderPage(slip *survey.Slip) (*renderedPage, error) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, "ballot", newBallotView(slip, nil, nil)); err != nil {
		return nil, fmt.Errorf("render ballot: %w", err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(buf.Bytes())
	zw.Close()
	return &renderedPage{gzip: gz.Bytes()}, nil
}

// ballotPost takes the ballot form: step "review" (the default) checks it and
// shows the answers to confirm, "edit" goes back to the form, "confirm"
// stores it. A form with problems comes back with every answer kept.
func (s *voter) ballotPost(c *gin.Context) {
	ctx := c.Request.Context()
	c.Header("Cache-Control", "no-store")
	slip, err := s.store.Slip(ctx, c.Param("code"))
	if err != nil {
		s.slipError(c, slip, err)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBallotBody)
	if err := c.Request.ParseForm(); err != nil {
		// A body no browser sends (a bad escape, a ';', too many fields, too
		// long): the form again, blank, and the slip still usable. The
		// body's text is not logged.
		v := newBallotView(slip, nil, []survey.Problem{{Message: "提交的内容无法识别，请重新填写后提交。"}})
		s.html(c, http.StatusBadRequest, "ballot", v)
		return
	}
	values := formValues(slip, c.Request.PostForm)
	step := c.PostForm("step")
	if step == "edit" {
		s.html(c, http.StatusOK, "ballot", newBallotView(slip, values, nil))
		return
	}
	ballot, err := slip.Sheet().EncodeSlots(values)
	var ve *survey.ValidationError
	if errors.As(err, &ve) {
		s.html(c, http.StatusUnprocessableEntity, "ballot", newBallotView(slip, values, ve.Problems))
		return
	}
	if err != nil {
		s.slipError(c, slip, err)
		return
	}
	if step != "confirm" {
		s.html(c, http.StatusOK, "review", newReviewView(slip, values))
		return
	}
	if err := s.store.Submit(ctx, slip, ballot); err != nil {
		s.slipError(c, slip, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/b/done")
}

// formValues reads the posted slots s0, s1, …: an option index, "x" for
// the abstain option; anything else, or a slot not posted once, is blank.
// EncodeSlots decides whether an index is one of the row's options.
func formValues(slip *survey.Slip, form map[string][]string) []int {
	out := make([]int, slip.Sheet().Len())
	for i := range out {
		out[i] = survey.NoAnswer
		v := form["s"+strconv.Itoa(i)]
		if len(v) != 1 {
			continue
		}
		if v[0] == "x" {
			out[i] = int(survey.AbstainAnswer)
		} else if k, err := strconv.Atoi(v[0]); err == nil && k >= 0 && k < survey.MaxOptions {
			out[i] = k
		}
	}
	return out
}

// html renders a template, or a plain 500 if it fails.
func (s *base) html(c *gin.Context, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("render", "template", name, "err", err)
		c.String(http.StatusInternalServerError, "服务器内部错误")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}
