package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestPutRoster imports an office's roster through the API: a preview
// says what would be created and saves nothing; the import replaces the
// draft's units; a roster with a bad row is refused with the row named.
func TestPutRoster(t *testing.T) {
	e := newTestEnv(t)
	admin := e.admin()
	id := admin.createRound([]byte(`name: 名册导入
component: {name: 干部群众评价, points: 20}
scales: [{id: g, options: [{label: 好, points: 100}, {label: 差, points: 0}]}]
forms: [{id: m, title: 班子成员, rates: members, scale: g, items: [德]}]
categories: [{id: staff, name: 干部职工, weight: 100}]
units: [{id: x, name: 某单位, type: T, members: [{id: x-1, name: 某人}]}]
`))
	office := "序号,单位,姓名,职务\n1,区财政局,张建国,局长\n2,,王\u3000伟,副局长\n3,区民政局,李娜,局长\n合计,,3,\n"
	var sum rosterSummary
	admin.must(http.StatusOK, "PUT", "/api/v1/rounds/"+id+"/roster?preview=1", office, "Content-Type", "text/csv").decode(t, &sum)
	if sum.Saved || len(sum.Units) != 2 || sum.Members != 3 || !strings.Contains(strings.Join(sum.Notices, " "), "合计") {
		t.Errorf("preview: %+v, want 2 units, 3 members, a notice of the 合计 row, nothing saved", sum)
	}
	if r, _ := e.store.Round(t.Context(), id); len(r.Definition.Units) == 2 {
		t.Error("the preview saved the roster")
	}
	admin.must(http.StatusOK, "PUT", "/api/v1/rounds/"+id+"/roster", office, "Content-Type", "text/csv").decode(t, &sum)
	r, _ := e.store.Round(t.Context(), id)
	if !sum.Saved || len(r.Definition.Units) != 2 || r.Definition.Units[0].Members[1].Name != "王伟" {
		t.Errorf("import: %+v; units %+v", sum, r.Definition.Units)
	}
	bad := "单位编号,单位名称,单位类型,姓名,党政正职\nczj,区财政局,经济管理部门,张建国,也许\n"
	resp := admin.must(http.StatusUnprocessableEntity, "PUT", "/api/v1/rounds/"+id+"/roster", bad, "Content-Type", "text/csv")
	if !strings.Contains(string(resp.body), "第2行") {
		t.Errorf("bad roster: %s, want the row named", resp)
	}
	admin.state(id, "open")
	admin.must(http.StatusConflict, "PUT", "/api/v1/rounds/"+id+"/roster", office, "Content-Type", "text/csv")
}
