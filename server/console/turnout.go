package console

import (
	"context"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"minping/qr"
	"minping/survey"
)

// Live turnout. While voting is open a voted count (per unit and category,
// per unit, and overall) below min_group is shown as 「不足 N 人」, never as
// a number: someone watching the screen as the first colleagues walk out
// cannot tell whose slip came in. From min_group on the count is exact, so
// that an organiser sees a group that has all voted as done (3 of 3
// 区领导 used to show 0 / 3, rounded down to a step of 5). A round's
// figures are recomputed at most every turnoutEvery, so that a count does
// not move with each ballot. Once voting has ended every count is exact.

// TurnoutView is a round's turnout as the console shows it (turnout.json).
type TurnoutView struct {
	Round      string        `json:"round"`
	Status     survey.Status `json:"status"`
	StatusName string        `json:"status_name"`
	Coarse     bool          `json:"coarse"`    // small counts hidden (voting open)
	MinGroup   int           `json:"min_group"` // counts below it are 「不足 N 人」 while open
	Shown      string        `json:"shown"`     // Voted as shown: a number or 「不足 N 人」
	Updated    string        `json:"updated"`
	Issued     int           `json:"issued"`
	Voted      int           `json:"voted"`
	Percent    string        `json:"percent"`
	Width      float64       `json:"width"`
	Met        bool          `json:"met"`
	Quorum     string        `json:"quorum"`
	QuorumPct  float64       `json:"quorum_pct"`
	Units      []unitFig     `json:"units"`

	categories []string
}

type unitFig struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Issued  int       `json:"issued"`
	Voted   int       `json:"voted"` // 0 when hidden
	Shown   string    `json:"shown"`
	Percent string    `json:"percent"`
	Width   float64   `json:"width"`
	Met     bool      `json:"met"`
	Cells   []cellFig `json:"cells"`
}

type cellFig struct {
	Issued int    `json:"issued"`
	Voted  int    `json:"voted"` // 0 when hidden
	Shown  string `json:"shown"`
}

// votedSnapshot is the exact voted counts of a round at one moment, from
// which the console's coarse figures are drawn until it is turnoutEvery old.
type votedSnapshot struct {
	status survey.Status
	at     time.Time
	voted  map[[2]string]int // unit, category → voted
}

// turnoutSnapshot returns the round's turnout as the console may show it:
// issued counts as they are now, voted counts from a snapshot at most
// turnoutEvery old (taken anew when the round's status changes), rounded
// down while voting is open.
func (s *Console) turnoutSnapshot(ctx context.Context, r *survey.Round) (*TurnoutView, error) {
	now := s.now()
	ts, err := s.store.Turnout(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	s.turnoutMu.Lock()
	snap, ok := s.turnout[r.ID]
	if !ok || snap.status != r.Status || now.Sub(snap.at) >= s.turnoutEvery || now.Before(snap.at) {
		snap = &votedSnapshot{status: r.Status, at: now, voted: map[[2]string]int{}}
		for _, ut := range ts {
			for _, ct := range ut.Categories {
				snap.voted[[2]string{ut.Unit, ct.Category}] = ct.Count.Voted
			}
		}
		s.turnout[r.ID] = snap
	}
	s.turnoutMu.Unlock()

	def := r.Definition
	coarse := r.Status == survey.StatusOpen
	few := def.Rules.MinGroup
	// show is a count as it may be shown, and the number that stands for it.
	show := func(n int) (int, string) {
		if coarse && n > 0 && n < few {
			return 0, fmt.Sprintf("不足 %d 人", few)
		}
		return n, fmt.Sprint(n)
	}
	q := def.Rules.Quorum.Rat()
	qf, _ := q.Float64()
	t := &TurnoutView{Round: r.Name, Status: r.Status, StatusName: statusNames[r.Status], Coarse: coarse, MinGroup: few,
		Updated: snap.at.In(s.tz).Format("15:04:05"), Quorum: def.Rules.Quorum.String(), QuorumPct: qf * 100}
	for _, ct := range def.Categories {
		t.categories = append(t.categories, ct.Name)
	}
	exactVoted := 0
	for i, ut := range ts {
		u := unitFig{ID: ut.Unit, Name: def.Units[i].Name, Issued: ut.Count.Issued}
		unitVoted := 0
		for _, ct := range ut.Categories {
			v := snap.voted[[2]string{ut.Unit, ct.Category}]
			unitVoted += v
			cf := cellFig{Issued: ct.Count.Issued}
			cf.Voted, cf.Shown = show(v)
			u.Cells = append(u.Cells, cf)
		}
		u.Voted, u.Shown = show(unitVoted)
		u.Percent, u.Width, u.Met = turnoutShare(u.Voted, u.Issued, q)
		t.Issued += ut.Count.Issued
		exactVoted += unitVoted
		t.Units = append(t.Units, u)
	}
	t.Voted, t.Shown = show(exactVoted)
	t.Percent, t.Width, t.Met = turnoutShare(t.Voted, t.Issued, q)
	return t, nil
}

// share is voted ÷ issued as a percentage to show, a bar width, and whether
// it reaches the quorum (exactly, as the tally decides it).
func turnoutShare(voted, issued int, quorum *big.Rat) (string, float64, bool) {
	if issued == 0 {
		return "—", 0, false
	}
	f := float64(voted) / float64(issued) * 100
	met := new(big.Rat).SetFrac64(int64(voted), int64(issued)).Cmp(quorum) >= 0
	return fmt.Sprintf("%.1f%%", f), min(f, 100), met
}

type turnoutPageView struct {
	consolePage
	Round      *survey.Round
	T          *TurnoutView
	Categories []string
	Every      int
	Page       pager
	Query      string // the page's query, for the figures it polls
}

// pageUnits keeps, of a turnout's units, the page the request asks for
// among those matching its search; the totals stay the round's.
func pageUnits(c *gin.Context, t *TurnoutView) pager {
	q := strings.TrimSpace(c.Query("q"))
	var shown []unitFig
	for _, u := range t.Units {
		if matches(q, u.Name, u.ID) {
			shown = append(shown, u)
		}
	}
	p, lo, hi := newPager(c, "page", len(shown))
	t.Units = shown[lo:hi]
	return p
}

func (s *Console) TurnoutPage(c *gin.Context) {
	r, ok := s.round(c)
	if !ok {
		return
	}
	t, err := s.turnoutSnapshot(c.Request.Context(), r)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	v := turnoutPageView{consolePage: s.newPage(c, "投票进度 · "+r.Name, "rounds"), Round: r, T: t, Categories: t.categories,
		Every: int(s.turnoutEvery / time.Second), Page: pageUnits(c, t), Query: c.Request.URL.RawQuery}
	if r.Status == survey.StatusOpen {
		v.Refresh = max(v.Every, 5)
	}
	s.host.HTML(c, http.StatusOK, "console-turnout", v)
}

// TurnoutJSON is what the turnout and big-screen pages poll.
func (s *Console) TurnoutJSON(c *gin.Context) {
	r, err := s.store.Round(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.host.Fail(c, err)
		return
	}
	t, err := s.turnoutSnapshot(c.Request.Context(), r)
	if err != nil {
		s.host.Fail(c, err)
		return
	}
	pageUnits(c, t) // the units of the page that polls
	c.JSON(http.StatusOK, t)
}

type screenView struct {
	consolePage
	Round *survey.Round
	T     *TurnoutView
	QR    template.HTML
	Entry string
}

// ScreenPage is the big-screen view for the meeting hall: the round, a QR
// code to the page where a code is typed, and the coarse count.
func (s *Console) ScreenPage(c *gin.Context) {
	r, ok := s.round(c)
	if !ok {
		return
	}
	t, err := s.turnoutSnapshot(c.Request.Context(), r)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	entry := s.slipBase(c, r) + "/b"
	svg, err := qr.SVG(entry)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	v := screenView{consolePage: s.newPage(c, r.Name, ""), Round: r, T: t, QR: template.HTML(svg), Entry: entry}
	if r.Status == survey.StatusOpen {
		v.Refresh = max(int(s.turnoutEvery/time.Second), 5)
	}
	s.host.HTML(c, http.StatusOK, "console-screen", v)
}
