package tally

import (
	"encoding/json"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"minping/survey"
)

// basicDef: one team form of two items weighted 2 and 1, two categories
// weighted 60 and 40. A ballot is two answers: 甲, 乙.
const basicDef = `
name: 测试
component: {name: 干部群众评价, points: 20}
scales:
  - id: grade
    options: [{label: 优秀, points: 100}, {label: 称职, points: 80}, {label: 基本称职, points: 60}, {label: 不称职, points: 40}]
    abstain: 不了解
forms:
  - id: team
    title: 班子测评
    rates: team
    scale: grade
    items: [{name: 甲, weight: 2}, {name: 乙, weight: 1}]
categories:
  - {id: a, name: 甲类, weight: 60}
  - {id: b, name: 乙类, weight: 40}
units:
  - {id: u1, name: 单位一, type: T}
`

// withheldMarks lists each category of u as "ID withheld" or "ID shown".
func withheldMarks(u *UnitResult) []string {
	var out []string
	for _, c := range u.Categories {
		out = append(out, c.ID+" "+map[bool]string{true: "withheld", false: "shown"}[c.Withheld])
	}
	return out
}

// TestWorkedExample works one unit out by hand.
//
//	category a (weight 60), 3 ballots: 甲 = 优秀, 优秀, 称职 → (100+100+80)/3 = 280/3
//	                                   乙 = 称职, 称职, 基本称职 → (80+80+60)/3 = 220/3
//	category b (weight 40), 3 ballots: 甲 = 称职, 基本称职, 不了解 → (80+60)/2 = 70
//	                                   乙 = 优秀, 优秀, 称职 → 280/3
//	item 甲 = (60·280/3 + 40·70) / 100 = (5600 + 2800) / 100 = 84
//	item 乙 = (60·220/3 + 40·280/3) / 100 = (4400 + 11200/3) / 100 = 244/3 ≈ 81.33
//	form    = (2·84 + 1·244/3) / 3 = (504/3 + 244/3) / 3 = 748/9 ≈ 83.11
//	component = 748/9 × 20 / 100 = 748/45 ≈ 16.62
//	shares over both items (no overall row): 优秀 2+2, 称职 2+3, 基本称职 1+1,
//	不称职 0 of 11 valid → 4/11 ≈ 0.3636, 5/11 ≈ 0.4545, 2/11 ≈ 0.1818, 0
//	per category: a form = (2·280/3 + 220/3)/3 = 780/9 ≈ 86.67,
//	              b form = (2·70 + 280/3)/3 = 700/9 ≈ 77.78
func TestWorkedExample(t *testing.T) {
	def := parseDef(t, basicDef)
	docs := count(t, def, []vote{
		{"u1", "a", "AB"}, {"u1", "a", "AB"}, {"u1", "a", "BC"},
		{"u1", "b", "BA"}, {"u1", "b", "CA"}, {"u1", "b", "-B"},
	}, nil)
	u := unitByID(t, docs, "u1")

	if got, want := u.Score.Rat(), big.NewRat(748, 9); got.Cmp(want) != 0 {
		t.Errorf("exact score: got %s, want %s", got.RatString(), want.RatString())
	}
	if got, want := u.Component.Rat(), big.NewRat(748, 45); got.Cmp(want) != 0 {
		t.Errorf("exact component: got %s, want %s", got.RatString(), want.RatString())
	}
	if diff := cmp.Diff(unitView{Score: "83.11", Component: "16.62", Rank: "1/1", Flags: []string{}}, viewUnit(u)); diff != "" {
		t.Errorf("unit (-want +got):\n%s", diff)
	}
	wantForm := formView{
		Score:  "83.11",
		Valid:  11,
		Shares: `{"优秀":0.3636,"称职":0.4545,"基本称职":0.1818,"不称职":0.0000}`,
		Flags:  []string{},
		Items:  []string{"甲 84.00", "乙 81.33"},
	}
	if diff := cmp.Diff(wantForm, viewForm(u.Subjects[0].Forms[0])); diff != "" {
		t.Errorf("team form (-want +got):\n%s", diff)
	}
	if got := u.Subjects[0].Forms[0].Shares.Of("称职").String(); got != "0.4545" {
		t.Errorf("share of 称职: got %s, want 0.4545", got)
	}
	if got := u.Subjects[0].Forms[0].Shares.Of("没有"); got.Valid() {
		t.Errorf("share of an unknown label: got %s, want null", got)
	}
	item := u.Subjects[0].Forms[0].Items[0]
	if diff := cmp.Diff(Counts{{"优秀", 2}, {"称职", 2}, {"基本称职", 1}, {"不称职", 0}}, item.Counts); diff != "" {
		t.Errorf("item 甲 counts (-want +got):\n%s", diff)
	}
	if item.Abstain != 1 || item.Valid != 5 {
		t.Errorf("item 甲: got abstain %d valid %d, want 1 and 5", item.Abstain, item.Valid)
	}
	var perCategory []string
	for _, c := range u.Categories {
		for _, s := range c.Subjects {
			for _, f := range s.Forms {
				perCategory = append(perCategory, c.ID+" "+s.ID+" "+f.ID+" "+f.Score.String())
				for _, it := range f.Items {
					perCategory = append(perCategory, c.ID+" "+it.Name+" "+it.Score.String())
				}
			}
		}
	}
	want := []string{
		"a team team 86.67", "a 甲 93.33", "a 乙 73.33",
		"b team team 77.78", "b 甲 70.00", "b 乙 93.33",
	}
	if diff := cmp.Diff(want, perCategory); diff != "" {
		t.Errorf("per-category figures (-want +got):\n%s", diff)
	}
}

func TestUnitRules(t *testing.T) {
	type check func(t *testing.T, u *UnitResult)
	tests := []struct {
		name    string
		def     string
		votes   []vote
		turnout Turnout
		want    unitView
		check   check
	}{
		{
			// 甲 = 100, 乙 = 80 from a alone; form = (2·100 + 80)/3 = 93.33
			name:  "a category whose voters all abstain is left out and reweights",
			def:   basicDef,
			votes: concat(votes(3, "u1", "a", "AB"), votes(3, "u1", "b", "--")),
			want:  unitView{Score: "93.33", Component: "18.67", Rank: "1/1", Flags: []string{"reweighted"}},
		},
		{
			name:    "a category without ballots reweights and is not small",
			def:     basicDef,
			votes:   votes(3, "u1", "a", "AB"),
			turnout: Turnout{"u1": {"a": {3, 3}, "b": {0, 0}}},
			want:    unitView{Score: "93.33", Component: "18.67", Rank: "1/1", Flags: []string{"reweighted"}},
			check: func(t *testing.T, u *UnitResult) {
				if u.BreakdownWithheld || u.Categories[1].Withheld {
					t.Errorf("got withheld, want a category without ballots not to be small")
				}
				if len(u.Categories[0].Subjects) == 0 {
					t.Errorf("got no figures for category a, want them shown")
				}
			},
		},
		{
			name:  "all votes abstain: score null, no rank, shares null",
			def:   basicDef,
			votes: concat(votes(3, "u1", "a", "--"), votes(3, "u1", "b", "--")),
			want:  unitView{Flags: []string{"reweighted"}},
			check: func(t *testing.T, u *UnitResult) {
				f := u.Subjects[0].Forms[0]
				if f.Shares != nil || f.Valid != 0 || f.Score.Valid() {
					t.Errorf("got shares %v valid %d score %q, want null, 0, null", f.Shares, f.Valid, f.Score)
				}
			},
		},
		{
			name: "a category of weight 0 is counted but adds nothing",
			def: replace(basicDef, "weight: 60}", "weight: 100}",
				"weight: 40}", "weight: 0}"),
			// b's 不称职 votes would pull the score down if they weighed;
			// the shares pool every category, so they still raise flags:
			// 不称职 6/12 > 1/3, 优秀 and 称职 6/12 < 2/3.
			votes: concat(votes(3, "u1", "a", "AB"), votes(3, "u1", "b", "DD")),
			want:  unitView{Score: "93.33", Component: "18.67", Rank: "1/1", Flags: []string{"lowest_over", "top_two_under"}},
			check: func(t *testing.T, u *UnitResult) {
				if got := u.Subjects[0].Forms[0].Items[0].Counts[3].Count; got != 3 {
					t.Errorf("不称职 count: got %d, want 3", got)
				}
			},
		},
		{
			name: "only a category of weight 0 voted: no score",
			def: replace(basicDef, "weight: 60}", "weight: 100}",
				"weight: 40}", "weight: 0}"),
			votes:   votes(3, "u1", "b", "AA"),
			turnout: Turnout{"u1": {"a": {3, 0}, "b": {3, 3}}},
			want:    unitView{Flags: []string{"quorum_not_met", "reweighted"}},
		},
		{
			name:    "quorum exactly 2/3 is met",
			def:     basicDef,
			votes:   concat(votes(3, "u1", "a", "AA"), votes(3, "u1", "b", "AA")),
			turnout: Turnout{"u1": {"a": {6, 3}, "b": {3, 3}}},
			want:    unitView{Score: "100.00", Component: "20.00", Rank: "1/1", Flags: []string{}},
			check: func(t *testing.T, u *UnitResult) {
				if got, want := u.Turnout.String(), "0.6667"; got != want || !u.QuorumMet {
					t.Errorf("turnout: got %s met %v, want %s met", got, u.QuorumMet, want)
				}
			},
		},
		{
			name:    "one ballot short of 2/3 misses the quorum",
			def:     basicDef,
			votes:   concat(votes(3, "u1", "a", "AA"), votes(3, "u1", "b", "AA")),
			turnout: Turnout{"u1": {"a": {7, 3}, "b": {3, 3}}},
			want:    unitView{Score: "100.00", Component: "20.00", Rank: "1/1", Flags: []string{"quorum_not_met"}},
			check: func(t *testing.T, u *UnitResult) {
				if got, want := u.Turnout.String(), "0.6000"; got != want || u.QuorumMet {
					t.Errorf("turnout: got %s met %v, want %s not met", got, u.QuorumMet, want)
				}
			},
		},
		{
			name: "nothing issued: turnout null, quorum not met",
			def:  basicDef,
			want: unitView{Flags: []string{"quorum_not_met", "reweighted"}},
			check: func(t *testing.T, u *UnitResult) {
				if u.Turnout.Valid() || u.QuorumMet {
					t.Errorf("got turnout %q met %v, want null and not met", u.Turnout, u.QuorumMet)
				}
			},
		},
		{
			// small_groups: count (v1): a (2 ballots) is small; it still
			// carries its weight: (60·100 + 40·80)/100 = 92 on both items.
			name:  "counted, a small category withholds every category's figures",
			def:   basicDef + "rules: {small_groups: count}\n",
			votes: concat(votes(2, "u1", "a", "AA"), votes(5, "u1", "b", "BB")),
			want:  unitView{Score: "92.00", Component: "18.40", Rank: "1/1", Flags: []string{"small_group"}},
			check: func(t *testing.T, u *UnitResult) {
				if !u.BreakdownWithheld {
					t.Errorf("breakdown_withheld: got false, want true")
				}
				if diff := cmp.Diff([]string{"a withheld", "b shown"}, withheldMarks(u)); diff != "" {
					t.Errorf("withheld marks (-want +got):\n%s", diff)
				}
				// Pooled counts stay.
				if got := u.Subjects[0].Forms[0].Items[0].Counts; got[0].Count != 2 || got[1].Count != 5 {
					t.Errorf("pooled counts: got %v, want 2 优秀 and 5 称职", got)
				}
			},
		},
		{
			// small_groups: exclude (the default): a's 2 ballots enter no
			// figure, as if it had none: b alone, 80 on both items, and
			// reweighted; its turnout stays.
			name:  "excluded, a small category enters no figure",
			def:   basicDef,
			votes: concat(votes(2, "u1", "a", "AA"), votes(5, "u1", "b", "BB")),
			want:  unitView{Score: "80.00", Component: "16.00", Rank: "1/1", Flags: []string{"reweighted", "small_group"}},
			check: func(t *testing.T, u *UnitResult) {
				if diff := cmp.Diff([]string{"a withheld", "b shown"}, withheldMarks(u)); diff != "" {
					t.Errorf("withheld marks (-want +got):\n%s", diff)
				}
				if got := u.Subjects[0].Forms[0].Items[0].Counts; got[0].Count != 0 || got[1].Count != 5 {
					t.Errorf("pooled counts: got %v, want 0 优秀 and 5 称职", got)
				}
				if u.Ballots != 5 || u.Voted != 7 || u.Categories[0].Voted != 2 {
					t.Errorf("ballots %d, voted %d (a: %d): want 5 counted of 7 voted, a's 2 voted kept", u.Ballots, u.Voted, u.Categories[0].Voted)
				}
			},
		},
		{
			name:  "a category of exactly min_group ballots is not small",
			def:   basicDef,
			votes: concat(votes(3, "u1", "a", "AA"), votes(5, "u1", "b", "BB")),
			want:  unitView{Score: "92.00", Component: "18.40", Rank: "1/1", Flags: []string{}},
		},
		{
			// 甲 = 84.125 exactly: half up gives 84.13 where rounding half to
			// even would give 84.12; component 16.825 → 16.83; turnout
			// 1/32 = 0.03125 → 0.0313.
			name: "half up rounding of exact halves",
			def: replace(basicDef,
				"options: [{label: 优秀, points: 100}", "options: [{label: 优秀, points: 84.125}",
				"- {id: b, name: 乙类, weight: 40}", "",
				"weight: 60}", "weight: 100}",
				"units:", "rules: {min_group: 1}\nunits:"),
			votes:   []vote{{"u1", "a", "AA"}},
			turnout: Turnout{"u1": {"a": {32, 1}}},
			want:    unitView{Score: "84.13", Component: "16.83", Rank: "1/1", Flags: []string{"quorum_not_met"}},
			check: func(t *testing.T, u *UnitResult) {
				if got, want := u.Turnout.String(), "0.0313"; got != want {
					t.Errorf("turnout: got %s, want %s", got, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := parseDef(t, tt.def)
			turnout := tt.turnout
			if turnout == nil && len(tt.votes) == 0 {
				turnout = Turnout{}
			}
			u := unitByID(t, count(t, def, tt.votes, turnout), "u1")
			if diff := cmp.Diff(tt.want, viewUnit(u)); diff != "" {
				t.Errorf("unit (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, u)
			}
		})
	}
}

// replace applies old, new pairs to s and fails loudly when one is missing,
// so that a test definition cannot silently stay unchanged.
func replace(s string, pairs ...string) string {
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			panic("test definition has no " + pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

// A small category's figures cannot be had by subtraction: no category's
// own figures appear anywhere in the unit document, only counts and weights.
func TestSmallGroupNotDerivable(t *testing.T) {
	def := parseDef(t, basicDef)
	docs := count(t, def, concat(votes(2, "u1", "a", "AA"), votes(5, "u1", "b", "BB")), nil)
	var doc struct {
		Categories []map[string]json.RawMessage `json:"categories"`
	}
	if err := json.Unmarshal(docs.Units[0].Bytes, &doc); err != nil {
		t.Fatal(err)
	}
	allowed := []string{"id", "name", "weight", "issued", "voted", "turnout", "withheld"}
	for _, c := range doc.Categories {
		for k := range c {
			if !slices.Contains(allowed, k) {
				t.Errorf("category %s carries %q, want only %v while a category is small", c["id"], k, allowed)
			}
		}
	}
}

// twoFormsDef: the team is rated by a team form (weight 2) filled by a and
// b, and by a service form (weight 1) that only c fills.
const twoFormsDef = `
name: 测试
component: {name: 干部群众评价, points: 20}
scales:
  - id: grade
    options: [{label: 优秀, points: 100}, {label: 称职, points: 80}, {label: 基本称职, points: 60}, {label: 不称职, points: 40}]
    abstain: 不了解
  - id: sat
    options: [{label: 满意, points: 100}, {label: 基本满意, points: 70}, {label: 不满意, points: 40}]
forms:
  - {id: team, title: 班子测评, rates: team, scale: grade, weight: 2, items: [甲], voters: [a, b]}
  - {id: service, title: 满意度测评, rates: team, scale: sat, items: [服务], voters: [c]}
categories:
  - {id: a, name: 甲类, weight: 50}
  - {id: b, name: 乙类, weight: 30}
  - {id: c, name: 服务对象, weight: 20}
weights_by_type:
  Y: {a: 10, b: 70, c: 20}
units:
  - {id: u1, name: 单位一, type: X}
  - {id: u2, name: 单位二, type: Y}
`

// A form only c may fill is weighted among c alone; the team form among a
// and b; weights_by_type replaces the weights for type Y.
//
//	u1 (type X): team 甲 = (50·100 + 30·80)/80 = 7400/80 = 92.5
//	             service = (100+100+40)/3 = 80
//	             subject = (2·92.5 + 1·80)/3 = 265/3 ≈ 88.33, component 53/3 ≈ 17.67
//	u2 (type Y): team 甲 = (10·100 + 70·80)/80 = 6600/80 = 82.5
//	             subject = (2·82.5 + 80)/3 = 245/3 ≈ 81.67, component 49/3 ≈ 16.33
func TestFormsByCategoryAndTypeWeights(t *testing.T) {
	def := parseDef(t, twoFormsDef)
	var vs []vote
	for _, u := range []string{"u1", "u2"} {
		vs = concat(vs, votes(3, u, "a", "A"), votes(3, u, "b", "B"),
			votes(2, u, "c", "A"), votes(1, u, "c", "C"))
	}
	docs := count(t, def, vs, nil)
	got := map[string]unitView{}
	for _, id := range []string{"u1", "u2"} {
		got[id] = viewUnit(unitByID(t, docs, id))
	}
	want := map[string]unitView{
		"u1": {Score: "88.33", Component: "17.67", Rank: "1/1", Flags: []string{}},
		"u2": {Score: "81.67", Component: "16.33", Rank: "1/1", Flags: []string{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
	u2 := unitByID(t, docs, "u2")
	var weights []string
	for _, c := range u2.Categories {
		weights = append(weights, c.ID+"="+c.Weight.String())
	}
	if diff := cmp.Diff([]string{"a=10", "b=70", "c=20"}, weights); diff != "" {
		t.Errorf("u2 category weights (-want +got):\n%s", diff)
	}
	// c fills only the service form: its own figures cover that form alone.
	cs := u2.Categories[2].Subjects
	if len(cs) != 1 || len(cs[0].Forms) != 1 || cs[0].Forms[0].ID != "service" || cs[0].Score.String() != "80.00" {
		t.Errorf("c's figures: got %+v, want the team on the service form only, 80.00", cs)
	}
}

// membersDef: a team form of one item and a members form with an overall
// row, one category, min_group 1. A ballot is 甲, then per member 德, 能,
// 综合评价.
const membersDef = `
name: 测试
component: {name: 干部群众评价, points: 20}
scales:
  - id: grade
    options: [{label: 优秀, points: 100}, {label: 称职, points: 80}, {label: 基本称职, points: 60}, {label: 不称职, points: 40}]
    abstain: 不了解
forms:
  - {id: team, title: 班子测评, rates: team, scale: grade, items: [甲]}
  - {id: members, title: 成员测评, rates: members, scale: grade, items: [德, 能], overall: 综合评价}
categories:
  - {id: a, name: 甲类, weight: 100}
rules: {min_group: 1}
units:
  - id: u1
    name: 单位一
    type: T
    members: [{id: m1, name: 张三, post: 局长}, {id: m2, name: 李四, post: 副局长}]
`

// Shares follow the overall row, which is not scored; flags are strict; a
// member's share flags stay on the member.
//
//	m1 overall: 不称职, 优秀, 优秀 → 不称职 1/3 (not > 1/3), top two 2/3 (not < 2/3)
//	m2 overall: 不称职, 不称职, 优秀 → 不称职 2/3 > 1/3, top two 1/3 < 2/3
//	every 德 and 能 is 优秀, so both score 100 whatever the overall row says.
func TestOverallSharesAndFlags(t *testing.T) {
	def := parseDef(t, membersDef)
	docs := count(t, def, []vote{
		{"u1", "a", "A" + "AAD" + "AAD"},
		{"u1", "a", "A" + "AAA" + "AAD"},
		{"u1", "a", "A" + "AAA" + "AAA"},
	}, nil)
	u := unitByID(t, docs, "u1")
	if diff := cmp.Diff(unitView{Score: "100.00", Component: "20.00", Rank: "1/1", Flags: []string{}}, viewUnit(u)); diff != "" {
		t.Errorf("unit (-want +got):\n%s", diff)
	}
	got := map[string]formView{}
	for _, s := range u.Subjects[1:] {
		got[s.ID] = viewForm(s.Forms[0])
		if diff := cmp.Diff(s.Forms[0].Flags, s.Flags); diff != "" {
			t.Errorf("%s: subject flags differ from its one form's (-form +subject):\n%s", s.ID, diff)
		}
	}
	want := map[string]formView{
		"m1": {Score: "100.00", Valid: 3, Shares: `{"优秀":0.6667,"称职":0.0000,"基本称职":0.0000,"不称职":0.3333}`,
			Flags: []string{}, Items: []string{"德 100.00", "能 100.00"}},
		"m2": {Score: "100.00", Valid: 3, Shares: `{"优秀":0.3333,"称职":0.0000,"基本称职":0.0000,"不称职":0.6667}`,
			Flags: []string{"lowest_over", "top_two_under"}, Items: []string{"德 100.00", "能 100.00"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("member forms (-want +got):\n%s", diff)
	}
	ov := u.Subjects[2].Forms[0].Overall
	wantOv := &OverallResult{Name: "综合评价", Counts: Counts{{"优秀", 1}, {"称职", 0}, {"基本称职", 0}, {"不称职", 2}}, Valid: 3}
	if diff := cmp.Diff(wantOv, ov); diff != "" {
		t.Errorf("m2 overall (-want +got):\n%s", diff)
	}
	if s := u.Subjects[0]; s.ID != "team" || s.Name != "领导班子" || s.Forms[0].Overall != nil {
		t.Errorf("team subject: got %s %s overall %v, want team 领导班子 without overall", s.ID, s.Name, s.Forms[0].Overall)
	}
}

// rankDef: one category, one item, a scale whose options are worth 90, 85,
// 84.124, 84.121 and 80, so that each unit's score is the option it got.
const rankDef = `
name: 测试
component: {name: 干部群众评价, points: 20}
scales:
  - id: s
    options: [{label: P90, points: 90}, {label: P85, points: 85}, {label: P84a, points: 84.124}, {label: P84b, points: 84.121}, {label: P80, points: 80}]
forms:
  - {id: team, title: 班子测评, rates: team, scale: s, items: [甲]}
categories:
  - {id: a, name: 甲类, weight: 100}
rules: {min_group: 1}
grading:
  - {grade: 一等, share: 20}
  - {grade: 二等, share: 40}
  - {grade: 三等}
units:
  - {id: u1, name: 单位一, type: T}
  - {id: u2, name: 单位二, type: T}
  - {id: u3, name: 单位三, type: T}
  - {id: u4, name: 单位四, type: T}
  - {id: u5, name: 单位五, type: T}
  - {id: u6, name: 单位六, type: T}
  - {id: u7, name: 单位七, type: O}
`

// Ranks follow the printed score (84.124 and 84.121 both print 84.12 and
// share rank 3); grades take N = 5 scored units of type T:
// 一等 cap floor(5·20/100) = 1 → u1; 二等 cap floor(5·40/100) = 2 → u2,
// then u3 and u4 (tied) need 2 places with 1 left, so both move down to
// 三等, with u5. u6 has no ballots: no score, no rank, no grade, but counts
// in rank_of. u7 alone in type O: N = 1, both caps floor(0.2) = floor(0.4)
// = 0, so 三等.
func TestRanksAndGrades(t *testing.T) {
	def := parseDef(t, rankDef)
	docs := count(t, def, []vote{
		{"u1", "a", "A"}, {"u2", "a", "B"}, {"u3", "a", "C"}, {"u4", "a", "D"}, {"u5", "a", "E"}, {"u7", "a", "A"},
	}, Turnout{
		"u1": {"a": {1, 1}}, "u2": {"a": {1, 1}}, "u3": {"a": {1, 1}}, "u4": {"a": {1, 1}},
		"u5": {"a": {1, 1}}, "u6": {"a": {1, 0}}, "u7": {"a": {1, 1}},
	})
	got := map[string]unitView{}
	for _, u := range docs.Units {
		got[u.ID] = viewUnit(u.Result)
	}
	none := []string{}
	// §5.4 in type T: N = 5 (u6 has no score); 一等 round(5 × 20%) = 1
	// place, P1 = 1; 二等 round(5 × 40%) = 2, P2 = 3. u3 and u4 tie with
	// b = 2 units ahead: P1 = 1 ≤ 2 < P2, both 二等 (the better grade; v1
	// moved them both down to 三等). u5: b = 4 ≥ P2, 三等. Type O: N = 1,
	// P1 = round(0.2) = 0, P2 = round(0.4) = 0, so u7 takes 三等.
	want := map[string]unitView{
		"u1": {Score: "90.00", Component: "18.00", Rank: "1/6", Grade: "一等", Flags: none},
		"u2": {Score: "85.00", Component: "17.00", Rank: "2/6", Grade: "二等", Flags: none},
		"u3": {Score: "84.12", Component: "16.82", Rank: "3/6", Grade: "二等", Flags: []string{"top_two_under"}},
		"u4": {Score: "84.12", Component: "16.82", Rank: "3/6", Grade: "二等", Flags: []string{"top_two_under"}},
		"u5": {Score: "80.00", Component: "16.00", Rank: "5/6", Grade: "三等", Flags: []string{"lowest_over", "top_two_under"}},
		"u6": {Flags: []string{"quorum_not_met", "reweighted"}},
		"u7": {Score: "90.00", Component: "18.00", Rank: "1/1", Grade: "三等", Flags: none},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
	u6 := unitByID(t, docs, "u6")
	if u6.Rank != nil || u6.Grade != nil || u6.RankOf != 6 {
		t.Errorf("u6: got rank %v grade %v rank_of %d, want null, null, 6", u6.Rank, u6.Grade, u6.RankOf)
	}
}

func TestRoundOfOneUnit(t *testing.T) {
	tests := []struct {
		name string
		def  string
		want unitView
	}{
		{"no grading", basicDef, unitView{Score: "100.00", Component: "20.00", Rank: "1/1", Flags: []string{}}},
		// N = 1: 1 × 50% = 0.5 places in 优秀, rounded half up to 1
		// (§5.4; v1 rounded down to 0 and gave 合格).
		{"grading", basicDef + "grading: [{grade: 优秀, share: 50}, {grade: 合格}]\n",
			unitView{Score: "100.00", Component: "20.00", Rank: "1/1", Grade: "优秀", Flags: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := parseDef(t, tt.def)
			docs := count(t, def, concat(votes(3, "u1", "a", "AA"), votes(3, "u1", "b", "AA")), nil)
			if diff := cmp.Diff(tt.want, viewUnit(unitByID(t, docs, "u1"))); diff != "" {
				t.Errorf("unit (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuotaGrades(t *testing.T) {
	d := func(n int64) *survey.Decimal { v := survey.NewDecimal(n); return &v }
	std := []survey.Grade{{Grade: "一", Share: d(20)}, {Grade: "二", Share: d(70)}, {Grade: "三"}}
	tests := []struct {
		name    string
		grading []survey.Grade
		groups  []int // sizes of the groups sharing a rank, best first
		want    []string
	}{
		{"no ties, N=10: caps 2 and 7", std, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
			[]string{"一", "一", "二", "二", "二", "二", "二", "二", "二", "三"}},
		{"a tie across the first boundary moves down", std, []int{1, 2, 1, 1, 1, 1, 1, 1, 1},
			[]string{"一", "二", "二", "二", "二", "二", "二", "三", "三"}},
		{"a tie that fits exactly stays", std, []int{2, 1, 1, 1, 1, 1, 1, 1, 1},
			[]string{"一", "二", "二", "二", "二", "二", "二", "二", "三"}},
		{"a moved grade takes no later unit", std, []int{3, 1, 1, 1, 1, 1, 1, 1},
			[]string{"二", "二", "二", "二", "二", "三", "三", "三"}},
		{"a tie may move down twice", std, []int{1, 9},
			[]string{"一", "三"}},
		{"everyone tied takes the last grade", std, []int{10}, []string{"三"}},
		{"cap 0 grades nobody (N=3: floor(0.6)=0, floor(2.1)=2)", std, []int{1, 1, 1},
			[]string{"二", "二", "三"}},
		{"unused places are not carried over", []survey.Grade{{Grade: "一", Share: d(10)}, {Grade: "二", Share: d(10)}, {Grade: "三"}},
			[]int{2, 1, 1, 1, 1, 1, 1, 1, 1}, // N=10, caps 1 and 1
			[]string{"三", "三", "三", "三", "三", "三", "三", "三", "三"}},
		{"no grading", nil, []int{1, 1}, nil},
		{"no units", std, nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := quotaGrades(tt.grading, tt.groups)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("grades (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFixedRounding(t *testing.T) {
	tests := []struct {
		r      *big.Rat
		places int
		want   string
	}{
		{big.NewRat(84125, 1000), 2, "84.13"},
		{big.NewRat(84124999, 1000000), 2, "84.12"},
		{big.NewRat(5, 1000), 2, "0.01"},
		{big.NewRat(4999, 1000000), 2, "0.00"},
		{big.NewRat(100, 1), 2, "100.00"},
		{big.NewRat(0, 1), 2, "0.00"},
		{big.NewRat(873, 10), 2, "87.30"},
		{big.NewRat(1, 32), 4, "0.0313"},
		{big.NewRat(2, 3), 4, "0.6667"},
		{big.NewRat(1, 3), 4, "0.3333"},
		{big.NewRat(1, 1), 4, "1.0000"},
		{big.NewRat(-1005, 1000), 2, "-1.01"},
	}
	for _, tt := range tests {
		if got := fixed(tt.r, tt.places); got != tt.want {
			t.Errorf("fixed(%s, %d): got %s, want %s", tt.r.RatString(), tt.places, got, tt.want)
		}
	}
}
