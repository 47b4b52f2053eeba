package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"minping/survey"
	"minping/survey/roster"
)

// maxDefinition bounds an uploaded definition.
const maxDefinition = 4 << 20

// roundJSON is a round as the API shows it.
type roundJSON struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Status       survey.Status   `json:"status"`
	ConfigSHA256 string          `json:"config_sha256,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	OpenedAt     *time.Time      `json:"opened_at,omitempty"`
	ClosedAt     *time.Time      `json:"closed_at,omitempty"`
	SealedAt     *time.Time      `json:"sealed_at,omitempty"`
	Archived     bool            `json:"archived,omitempty"`
	Definition   json.RawMessage `json:"definition,omitempty"`
}

func toRoundJSON(r *survey.Round, withDefinition bool) roundJSON {
	out := roundJSON{ID: r.ID, Name: r.Name, Status: r.Status, ConfigSHA256: r.ConfigSHA256,
		CreatedAt: r.CreatedAt, OpenedAt: r.OpenedAt, ClosedAt: r.ClosedAt, SealedAt: r.SealedAt, Archived: r.Archived}
	if withDefinition {
		out.Definition = r.Definition.Canonical()
	}
	return out
}

func (s *api) listRounds(c *gin.Context) {
	rounds, err := s.store.Rounds(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	out := []roundJSON{}
	for _, r := range rounds {
		if account(c).CanManage(r.ID) {
			out = append(out, toRoundJSON(r, false))
		}
	}
	c.JSON(http.StatusOK, gin.H{"rounds": out})
}

// readDefinition reads and parses a definition body (YAML or JSON).
// readDefinition reads a round definition from the body, as YAML or JSON by
// its Content-Type (CONTRACT §4); text/plain or none is read as either.
// Any other type is errUnsupportedMedia, before the body is read.
func readDefinition(c *gin.Context) (*survey.Definition, []byte, error) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	var wantJSON bool
	switch mt {
	case "application/json":
		wantJSON = true
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain", "":
	default:
		return nil, nil, errUnsupportedMedia
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxDefinition+1))
	if err != nil {
		return nil, nil, err
	}
	if len(body) > maxDefinition {
		return nil, nil, &survey.ValidationError{Problems: []survey.Problem{{Message: "测评方案文件超过 4 MB"}}}
	}
	if wantJSON && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return nil, nil, &survey.ValidationError{Problems: []survey.Problem{{Message: "Content-Type 是 application/json，但内容不是 JSON 对象"}}}
	}
	def, err := survey.ParseDefinition(body)
	return def, body, err
}

func (s *api) createRound(c *gin.Context) {
	if !account(c).CanCreateRounds() {
		s.fail(c, errForbidden)
		return
	}
	def, src, err := readDefinition(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	r, err := s.store.CreateRound(c.Request.Context(), def, src)
	if err != nil {
		s.fail(c, err)
		return
	}
	body := gin.H{"id": r.ID, "config_sha256": def.Fingerprint()}
	if w := def.Warnings(); len(w) > 0 {
		body["warnings"] = w // allowed, but likely a mistake: a member sheet too long for a phone
	}
	c.JSON(http.StatusCreated, body)
}

func (s *api) updateRound(c *gin.Context) {
	def, src, err := readDefinition(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.store.UpdateDefinition(c.Request.Context(), c.Param("id"), def, src); err != nil {
		s.fail(c, err)
		return
	}
	s.getRound(c)
}

// deleteRound deletes a draft round (204); 409 once it has opened.
func (s *api) deleteRound(c *gin.Context) {
	if err := s.store.DeleteRound(c.Request.Context(), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	s.log.Info("round deleted", "round", c.Param("id"))
	c.Status(http.StatusNoContent)
}

// archiveRound hides a sealed round from lists, or with {"archived":
// false} shows it again; 409 unless it is sealed.
func (s *api) archiveRound(c *gin.Context) {
	req := struct {
		Archived *bool `json:"archived"`
	}{}
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			s.fail(c, err)
			return
		}
	}
	archived := req.Archived == nil || *req.Archived
	if err := s.store.ArchiveRound(c.Request.Context(), c.Param("id"), archived); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"archived": archived})
}

// copyRound makes a new draft from a round's definition (201 {"id"}),
// named {"name"} or 「原名（副本）」.
func (s *api) copyRound(c *gin.Context) {
	if !account(c).CanCreateRounds() {
		s.fail(c, errForbidden)
		return
	}
	req := struct {
		Name string `json:"name"`
	}{}
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			s.fail(c, err)
			return
		}
	}
	ctx := c.Request.Context()
	old, err := s.store.Round(ctx, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if req.Name == "" {
		req.Name = old.Name + "（副本）"
	}
	r, err := s.store.CopyRound(ctx, old.ID, req.Name)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": r.ID, "name": r.Name})
}

func (s *api) getRound(c *gin.Context) {
	r, err := s.store.Round(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toRoundJSON(r, true))
}

func (s *api) openRound(c *gin.Context) {
	s.transition(c, s.store.OpenRound)
}

// closeRound closes voting; a close whose compaction readers kept from
// running answers 503 with the remedy, and posting it again finishes it.
func (s *api) closeRound(c *gin.Context) {
	s.transition(c, s.store.CloseRound)
}

func (s *api) transition(c *gin.Context, change func(ctx context.Context, id string) error) {
	id := c.Param("id")
	if err := change(c.Request.Context(), id); err != nil {
		s.fail(c, err)
		return
	}
	r, err := s.store.Round(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": r.Status})
}

// batchRequest asks for a batch (CONTRACT §4, §5.1): no unit for an all
// sheet; for a recusal category the member who holds its one slip, with
// count 1 when left out.
type batchRequest struct {
	Unit     string `json:"unit"`
	Category string `json:"category"`
	Member   string `json:"member"`
	Count    int    `json:"count"`
}

type batchJSON struct {
	ID        string    `json:"id"`
	Unit      string    `json:"unit"`
	Category  string    `json:"category"`
	Member    string    `json:"member,omitempty"`
	Count     int       `json:"count"`
	Voided    bool      `json:"voided"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *api) listBatches(c *gin.Context) {
	bs, err := s.store.Batches(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]batchJSON, len(bs))
	for i, b := range bs {
		out[i] = batchJSON{ID: b.ID, Unit: b.Unit, Category: b.Category, Member: b.Member, Count: b.Count, Voided: b.Voided, CreatedAt: b.CreatedAt}
	}
	c.JSON(http.StatusOK, gin.H{"batches": out})
}

// issueBatch issues slips. The codes are in this response only: as JSON, or
// with Accept: text/html as the printable A4 sheet.
func (s *api) issueBatch(c *gin.Context) {
	var req batchRequest
	if err := bindJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	if req.Member != "" && req.Count == 0 {
		req.Count = 1
	}
	issued, err := s.store.IssueBatches(ctx, c.Param("id"), []survey.BatchRequest{{Unit: req.Unit, Category: req.Category, Member: req.Member, Count: req.Count}})
	if err != nil {
		s.fail(c, err)
		return
	}
	b, codes := &issued[0].Batch, issued[0].Codes
	r, err := s.store.Round(ctx, b.RoundID)
	if err != nil {
		s.fail(c, err)
		return
	}
	base := s.baseURL(c)
	if r.BaseURL != "" {
		base = r.BaseURL
	}
	c.Header("Cache-Control", "no-store")
	if wantsHTML(c) {
		v, err := newPrintView(r, []survey.Issued{{Batch: *b, Codes: codes}}, base)
		if err != nil {
			s.fail(c, err)
			return
		}
		s.html(c, http.StatusCreated, "print", v)
		return
	}
	links := make([]string, len(codes))
	for i, code := range codes {
		links[i] = base + "/b/" + code
	}
	body := gin.H{"id": b.ID, "codes": codes, "links": links}
	if w := s.smallWarnings(ctx, r, survey.Group{Unit: b.Unit, Category: b.Category}); len(w) > 0 {
		body["warnings"] = w
	}
	c.JSON(http.StatusCreated, body)
}

// smallWarnings says whether group, as issued so far, is too small to be
// counted (CONTRACT §3 small_groups). It only informs: the codes were
// issued and must reach the organiser, so a failure here is logged and no
// warning given.
func (s *api) smallWarnings(ctx context.Context, r *survey.Round, group survey.Group) []string {
	t, err := s.store.Turnout(ctx, r.ID)
	if err != nil {
		s.log.Error("small-group check after issuing", "round", r.ID, "err", err)
		return nil
	}
	for _, si := range survey.SmallIssues(r.Definition, t) {
		if si.Group == group {
			return []string{si.Warning(r.Definition)}
		}
	}
	return nil
}

func (s *api) voidBatch(c *gin.Context) {
	if err := s.store.VoidBatch(c.Request.Context(), c.Param("id"), c.Param("batch")); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": c.Param("batch"), "voided": true})
}

type turnoutJSON struct {
	Units []unitTurnoutJSON `json:"units"`
}

type unitTurnoutJSON struct {
	ID         string                `json:"id"`
	Issued     int                   `json:"issued"`
	Voted      int                   `json:"voted"`
	Categories []categoryTurnoutJSON `json:"categories"`
}

type categoryTurnoutJSON struct {
	ID     string `json:"id"`
	Issued int    `json:"issued"`
	Voted  int    `json:"voted"`
}

// turnout shows counts only: issued and voted per unit and category.
func (s *api) turnout(c *gin.Context) {
	ts, err := s.store.Turnout(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := turnoutJSON{Units: make([]unitTurnoutJSON, len(ts))}
	for i, u := range ts {
		out.Units[i] = unitTurnoutJSON{ID: u.Unit, Issued: u.Count.Issued, Voted: u.Count.Voted}
		for _, ct := range u.Categories {
			out.Units[i].Categories = append(out.Units[i].Categories, categoryTurnoutJSON{ID: ct.Category, Issued: ct.Count.Issued, Voted: ct.Count.Voted})
		}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

type accountRequest struct {
	Name     string      `json:"name"`
	Role     survey.Role `json:"role"`
	Round    string      `json:"round"`
	Units    []string    `json:"units"`
	Password string      `json:"password"`
}

func (s *api) createAccount(c *gin.Context) {
	var req accountRequest
	if err := bindJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if req.Role == survey.RoleAdmin {
		// The contract's roles here are organiser and appraiser; the one
		// administrator is the console's admin (and MINPING_ADMIN_TOKEN).
		s.fail(c, &survey.ValidationError{Problems: []survey.Problem{{Path: "role", Message: "角色应为 organiser（组织人员）或 appraiser（考核组）"}}})
		return
	}
	a, token, err := s.store.CreateAccount(c.Request.Context(), survey.NewAccount{
		Name: req.Name, Role: req.Role, RoundID: req.Round, Units: req.Units, Password: req.Password,
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, gin.H{"id": a.ID, "name": a.Name, "role": a.Role, "token": token})
}

func (s *sealer) pubkey(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"ed25519": s.pubKeyB64()})
}

// pubKeyB64 is the standard base64 of the 32-byte public signing key.
func (s *sealer) pubKeyB64() string {
	return base64.StdEncoding.EncodeToString(s.key.Public().(ed25519.PublicKey))
}

// bindJSON decodes a JSON body strictly into a request type local to server.
func bindJSON(c *gin.Context, v any) error {
	dec := json.NewDecoder(io.LimitReader(c.Request.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &survey.ValidationError{Problems: []survey.Problem{{Message: "请求不是有效的 JSON: " + err.Error()}}}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &survey.ValidationError{Problems: []survey.Problem{{Message: "请求不是有效的 JSON: 对象之后还有内容"}}}
	}
	return nil
}

func wantsHTML(c *gin.Context) bool {
	return strings.Contains(c.GetHeader("Accept"), "text/html")
}

// baseURL is where the links of slips issued in this request point:
// --base-url if given, else the request's scheme and host, taking
// X-Forwarded-Proto and X-Forwarded-Host only from a trusted proxy.
func (s *base) baseURL(c *gin.Context) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	scheme, host := "http", c.Request.Host
	if c.Request.TLS != nil {
		scheme = "https"
	}
	if s.fromProxy(c) {
		if p := c.GetHeader("X-Forwarded-Proto"); p == "http" || p == "https" {
			scheme = p
		}
		if h := c.GetHeader("X-Forwarded-Host"); h != "" && !strings.ContainsAny(h, "/?#@ ,") {
			host = h
		}
	}
	return scheme + "://" + host
}

// fromProxy reports whether the request came from a trusted proxy.
func (s *base) fromProxy(c *gin.Context) bool {
	ip := net.ParseIP(c.RemoteIP())
	for _, n := range s.proxies {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// rosterSummary is what a roster import creates, or would.
type rosterSummary struct {
	Saved   bool         `json:"saved"`
	Units   []rosterUnit `json:"units"`
	Members int          `json:"members"`
	Notices []string     `json:"notices"`
}

type rosterUnit struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Members int    `json:"members"`
}

// putRoster imports a roster file (the body: .xlsx, or CSV/text in UTF-8,
// GB18030 or UTF-16) into a draft round, replacing its units and members
// and its expected attendance; ?preview=1 says what it would create and
// saves nothing. Every problem is listed, by row; nothing is saved unless
// the roster and the definition with it are valid.
func (s *api) putRoster(c *gin.Context) {
	ctx := c.Request.Context()
	r, err := s.store.Round(ctx, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if r.Status != survey.StatusDraft {
		s.fail(c, survey.ErrWrongState)
		return
	}
	file, err := readBody(c.Request, maxRosterBody)
	if err != nil {
		s.fail(c, err)
		return
	}
	src, err := s.store.RoundSource(ctx, r.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	def, merged, parsed, ps := roster.Merge(src, file)
	if len(ps) > 0 {
		s.fail(c, &survey.ValidationError{Problems: ps})
		return
	}
	sum := rosterSummary{Units: []rosterUnit{}, Notices: parsed.Notices}
	if sum.Notices == nil {
		sum.Notices = []string{}
	}
	for _, u := range def.Units {
		sum.Units = append(sum.Units, rosterUnit{u.ID, u.Name, u.Type, len(u.Members)})
		sum.Members += len(u.Members)
	}
	if c.Query("preview") == "" || c.Query("preview") == "0" {
		if err := s.store.ImportRoster(ctx, r.ID, def, merged, parsed.Expected); err != nil {
			s.fail(c, err)
			return
		}
		sum.Saved = true
	}
	c.JSON(http.StatusOK, sum)
}

// maxRosterBody bounds a roster upload, as the console's.
const maxRosterBody = 8 << 20
