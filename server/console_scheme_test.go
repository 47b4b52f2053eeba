package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestConsoleScheme edits the example round's scheme in the console
// without YAML: the leaders rate every unit on one sheet, the cadres
// recuse themselves, the service form becomes a component of its own, a
// total with an outside part, grading by counts. A form with mistakes
// lists them and saves nothing.
func TestConsoleScheme(t *testing.T) {
	e := newConsoleEnv(t)
	cc := signIn(t, e.ts.URL, "考核办", organiserPassword)
	rid := "/console/rounds/" + e.round
	page := cc.must(http.StatusOK, cc.get(rid+"/scheme"), "scheme page")
	for _, want := range []string{"谁拿到哪种测评票", "区领导", "按单位发放", "一张票的题数"} {
		if !strings.Contains(string(page.body), want) {
			t.Errorf("scheme page does not show %q", want)
		}
	}
	form := url.Values{
		"sheet_leaders": {"all"}, "sheet_cadres": {"unit"}, "recuse_cadres": {"1"}, "sheet_staff": {"unit"}, "sheet_clients": {"unit"},
		"scored_team": {"1"}, "members_team": {"all"}, "scored_members": {"1"}, "members_members": {"all"}, "top_limit_members": {"3"}, "scored_service": {"1"}, "members_service": {"all"},
		"mode":       {"multi"},
		"comp_row_0": {"1"}, "comp_id_0": {"internal"}, "comp_name_0": {"干部群众评价"}, "comp_points_0": {"20"}, "comp_forms_0": {"team", "members"},
		"comp_w_leaders_0": {"30"}, "comp_w_cadres_0": {"30"}, "comp_w_staff_0": {"40"},
		"comp_row_1": {"1"}, "comp_id_1": {"public"}, "comp_name_1": {"服务对象满意度"}, "comp_points_1": {"10"}, "comp_forms_1": {"service"},
		"comp_w_clients_1": {"100"},
		"comp_row_2":       {"1"},
		"missing":          {"zero"},
		"total_on":         {"1"}, "total_points": {"100"}, "part_row_0": {"1"}, "part_id_0": {"performance"}, "part_name_0": {"工作实绩"}, "part_points_0": {"70"},
		"part_row_1": {"1"},
		"g_on":       {"1"}, "g_by": {"total"}, "g_within": {"round"}, "g_tie": {"component:internal share:top"},
		"g_row_0": {"1"}, "g_grade_0": {"一等"}, "g_places_0": {"count"}, "g_value_0": {"2"}, "g_bar_0": {"lowest_over"},
		"g_row_1": {"1"}, "g_grade_1": {"二等"}, "g_places_1": {""},
	}
	// Weights of 90, and a total that is not 70 + 20 + 10.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("comp_w_staff_0", "30")
	bad.Set("total_points", "120")
	r := cc.post(rid+"/scheme", bad)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad scheme: got %d, want 422", r.status)
	}
	for _, want := range []string{"components[0].weights", "权重之和应为 100", "total.points"} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("bad scheme: the page does not say %q", want)
		}
	}
	cc.must(http.StatusSeeOther, cc.post(rid+"/scheme", form), "save scheme")
	round, err := e.store.Round(t.Context(), e.round)
	if err != nil {
		t.Fatal(err)
	}
	d := round.Definition
	switch {
	case d.Category("leaders").SheetKind() != "all", !d.Category("cadres").Recuse:
		t.Errorf("categories: leaders %q, cadres recuse %v", d.Category("leaders").SheetKind(), d.Category("cadres").Recuse)
	case len(d.Components) != 2 || d.Components[1].ID != "public" || d.Components[0].Weights["staff"].String() != "40":
		t.Errorf("components: %+v", d.Components)
	case d.Total == nil || d.Total.Points.String() != "100" || len(d.Total.Parts) != 1:
		t.Errorf("total: %+v", d.Total)
	case d.Grading == nil || d.Grading.By != "total" || *d.Grading.Grades[0].Count != 2 || d.Grading.Grades[0].Bar[0] != "lowest_over":
		t.Errorf("grading: %+v", d.Grading)
	case d.Forms[d.FormIndex("members")].TopLimit != 3:
		t.Errorf("top limit of the members form: %d, want 3", d.Forms[d.FormIndex("members")].TopLimit)
	case d.Rules.MissingRule() != "zero" || !d.Component.IsZero():
		t.Errorf("missing %q, v1 component %+v left", d.Rules.MissingRule(), d.Component)
	}
	page = cc.must(http.StatusOK, cc.get(rid+"/scheme"), "scheme page after")
	if !strings.Contains(string(page.body), "一张票评价全部单位") && !strings.Contains(string(page.body), "全部 ") {
		t.Errorf("the preview does not show the all sheet:\n%.2000s", page.body)
	}
}
