package console

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// perPage is the rows of a long console list shown at once: a province's
// round has 2,000 units, and one page of them all was megabytes.
const perPage = 100

// pager is one page of a long list, filtered by a search text.
type pager struct {
	Param      string // the query parameter of the page number
	Q          string // the search text, "" for all
	Page       int    // from 1
	Pages      int
	Total      int // rows that match
	From, To   int // the rows shown, from 1
	Prev, Next string
}

// newPager reads the page number (param) and the search text (q) of a
// request for a list of total matching rows, and returns the page with the
// range [lo, hi) of the rows to show.
func newPager(c *gin.Context, param string, total int) (p pager, lo, hi int) {
	p = pager{Param: param, Q: strings.TrimSpace(c.Query("q")), Total: total}
	p.Pages = max(1, (total+perPage-1)/perPage)
	p.Page, _ = strconv.Atoi(c.Query(param))
	p.Page = min(max(p.Page, 1), p.Pages)
	lo = (p.Page - 1) * perPage
	hi = min(lo+perPage, total)
	p.From, p.To = min(lo+1, total), hi
	link := func(page int) string {
		q := url.Values{}
		for k, v := range c.Request.URL.Query() {
			q[k] = v
		}
		q.Set(param, strconv.Itoa(page))
		return "?" + q.Encode()
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = link(p.Page + 1)
	}
	return p, lo, hi
}

// matches reports whether a row named by texts matches the search q
// (every word of it found in one of them); an empty q matches all.
func matches(q string, texts ...string) bool {
	for _, w := range strings.Fields(q) {
		found := false
		for _, t := range texts {
			found = found || strings.Contains(t, w)
		}
		if !found {
			return false
		}
	}
	return true
}
