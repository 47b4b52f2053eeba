package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestConsoleLongListsPaged: a round of 250 units shows 100 units a page
// on the batches and turnout pages, with a search that finds one by name,
// and each page stays small.
func TestConsoleLongListsPaged(t *testing.T) {
	e := newConsoleEnv(t)
	var b strings.Builder
	b.WriteString(`name: 250个单位
component: {name: 干部群众评价, points: 20}
scales: [{id: g, options: [{label: 好, points: 100}, {label: 差, points: 0}]}]
forms: [{id: t, title: 班子, rates: team, scale: g, items: [总体]}]
categories: [{id: staff, name: 干部职工, weight: 100}]
units:
`)
	for i := range 250 {
		fmt.Fprintf(&b, "  - {id: u%03d, name: 第%03d单位, type: T, members: []}\n", i, i)
	}
	id := e.admin().createRound([]byte(b.String()))
	cc := signIn(t, e.ts.URL, "admin", adminPassword)
	for _, page := range []string{"/batches", "/turnout"} {
		first := cc.must(http.StatusOK, cc.get("/console/rounds/"+id+page), page)
		body := string(first.body)
		if !strings.Contains(body, "第 1–100 项，共 250 项") || !strings.Contains(body, "第000单位") || strings.Contains(body, "第100单位") {
			t.Errorf("%s: the first page should show units 1–100 of 250", page)
		}
		if len(first.body) > 200<<10 {
			t.Errorf("%s: %d KB, want ≤ 200 KB a page", page, len(first.body)>>10)
		}
		third := string(cc.must(http.StatusOK, cc.get("/console/rounds/"+id+page+"?page=3"), page+" page 3").body)
		if !strings.Contains(third, "第 201–250 项") || !strings.Contains(third, "第249单位") || strings.Contains(third, "第199单位") {
			t.Errorf("%s?page=3: want units 201–250", page)
		}
		found := string(cc.must(http.StatusOK, cc.get("/console/rounds/"+id+page+"?q=第123"), page+" search").body)
		if !strings.Contains(found, "第123单位") || strings.Contains(found, "第124单位") {
			t.Errorf("%s?q=第123: want that unit alone", page)
		}
	}
}
