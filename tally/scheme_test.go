package tally

// Tests of the v2 schemes (CONTRACT §5) against the contract's text. Every
// expected figure is worked out by hand in the comments beside it.

import (
	"encoding/json"
	"fmt"
	"math/big"
	"testing"

	"github.com/google/go-cmp/cmp"

	"minping/survey"
)

// schRat parses an exact decimal ("84.124") or fraction ("2/3").
func schRat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("bad number " + s)
	}
	return r
}

// schDec makes a survey.Decimal from a literal such as "75.76".
func schDec(s string) *survey.Decimal {
	var d survey.Decimal
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		panic(err)
	}
	return &d
}

func schCount(n int) *int { return &n }

// schVals makes candidates with the values, no keys, no flags.
func schVals(vs ...string) []Candidate {
	out := make([]Candidate, len(vs))
	for i, v := range vs {
		if v != "" {
			out[i].Value = schRat(v)
		}
	}
	return out
}

// schView writes each placement as "rank grade", with "-" for a missing
// rank or grade.
func schView(ps []Placement) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		r, g := "-", "-"
		if p.Rank != nil {
			r = fmt.Sprint(*p.Rank)
		}
		if p.Grade != nil {
			g = *p.Grade
		}
		out[i] = r + " " + g
	}
	return out
}

// schGrades is 一等 / 二等 / 三等 (the rest), each of the first two given by
// count (a *int) or share (a *survey.Decimal).
func schGrades(first, second any) []survey.Grade {
	gr := func(name string, p any) survey.Grade {
		g := survey.Grade{Grade: name}
		switch v := p.(type) {
		case int:
			g.Count = schCount(v)
		case string:
			g.Share = schDec(v)
		}
		return g
	}
	return []survey.Grade{gr("一等", first), gr("二等", second), {Grade: "三等"}}
}

// TestSchemePlace checks §5.4 one group at a time:
//
//	"N = units with a value, vetoed ones left out. A grade's places p = its
//	count, or N × share ÷ 100 by `rounding`; P_k = p_1 + … + p_k. […]
//	b = units strictly ahead in that order. A unit takes the first grade k
//	with P_k > b whose `min` it reaches and whose `bar` holds none of its
//	flags; if none, the last grade."
func TestSchemePlace(t *testing.T) {
	tests := []struct {
		name string
		g    *survey.Grading
		cs   []Candidate
		want []string
	}{
		{
			// P1 = 1, P2 = 2. The two 90s have b = 0 < P1: both 一等, rank 1.
			// 80 has b = 2: P1 = 1 ≤ 2, P2 = 2 ≤ 2 → 三等, rank 3 (1, 1, 3).
			// 70: b = 3 → 三等, rank 4. 二等 shrinks to nobody.
			name: "two tied at rank 1 are both 一等 and share the rank",
			g:    &survey.Grading{Grades: schGrades(1, 1)},
			cs:   schVals("90", "90", "80", "70"),
			want: []string{"1 一等", "1 一等", "3 三等", "4 三等"},
		},
		{
			// counts 2 / 3: P1 = 2, P2 = 5. b: 95 → 0, the three 90s → 1,
			// 85 → 4, 80 → 5, 75 → 6, 70 → 7.
			// 90s: b = 1 < P1 = 2 → 一等 (the better grade; 4 一等 of 2).
			// 85: P1 = 2 ≤ 4 < P2 = 5 → 二等. 80: b = 5 = P2 → 三等.
			// So 二等 shrinks by the overflow (3 → 1).
			name: "a tie across a boundary shares the better grade; later grades shrink",
			g:    &survey.Grading{Grades: schGrades(2, 3)},
			cs:   schVals("95", "90", "90", "90", "85", "80", "75", "70"),
			want: []string{"1 一等", "2 一等", "2 一等", "2 一等", "5 二等", "6 三等", "7 三等", "8 三等"},
		},
		{
			// 84.124 and 84.121 both print 84.12: tied (b = 1 for both).
			// counts 1 / 1: P1 = 1, P2 = 2. 90 → 一等; both 84.12 have b = 1:
			// P1 = 1 ≤ 1, P2 = 2 > 1 → 二等, rank 2. 80: b = 3 → 三等, rank 4.
			name: "values are compared as printed (2 decimals)",
			g:    &survey.Grading{Grades: schGrades(1, 1)},
			cs:   schVals("90", "84.124", "84.121", "80"),
			want: []string{"1 一等", "2 二等", "2 二等", "4 三等"},
		},
		{
			// N = 2, shares 20 / 70, rounding round (half up):
			// p1 = round(2 × 20 ÷ 100 = 0.4) = 0, P1 = 0;
			// p2 = round(2 × 70 ÷ 100 = 1.4) = 1, P2 = 1.
			// 90: b = 0, P1 = 0 is not > 0; P2 = 1 > 0 → 二等.
			// 80: b = 1, P2 = 1 is not > 1 → 三等. Nobody is 一等.
			name: "two units, share 20%: round(0.4) = 0 places, nobody 一等",
			g:    &survey.Grading{Grades: schGrades("20", "70")},
			cs:   schVals("90", "80"),
			want: []string{"1 二等", "2 三等"},
		},
		{
			// ceil: p1 = ceil(0.4) = 1, p2 = ceil(1.4) = 2: P1 = 1, P2 = 3.
			// 90: b = 0 < 1 → 一等; 80: b = 1, P1 = 1 ≤ 1, P2 = 3 > 1 → 二等.
			name: "two units, share 20%, rounding ceil: ceil(0.4) = 1",
			g:    &survey.Grading{Rounding: survey.RoundingCeil, Grades: schGrades("20", "70")},
			cs:   schVals("90", "80"),
			want: []string{"1 一等", "2 二等"},
		},
		{
			// floor: p1 = 0, p2 = floor(1.4) = 1: as round here.
			name: "two units, share 20%, rounding floor",
			g:    &survey.Grading{Rounding: survey.RoundingFloor, Grades: schGrades("20", "70")},
			cs:   schVals("90", "80"),
			want: []string{"1 二等", "2 三等"},
		},
		{
			// N = 5, shares 10 / 24: 5 × 10 ÷ 100 = 0.5, 5 × 24 ÷ 100 = 1.2.
			// round half up (the default, written as ""): p1 = 1 (half
			// up, not half to even which gives 0), p2 = 1: P1 = 1, P2 = 2.
			// b = 0 → 一等, b = 1 → 二等, b ≥ 2 → 三等.
			name: "rounding default is half up: 0.5 → 1, 1.2 → 1",
			g:    &survey.Grading{Grades: schGrades("10", "24")},
			cs:   schVals("95", "90", "85", "80", "75"),
			want: []string{"1 一等", "2 二等", "3 三等", "4 三等", "5 三等"},
		},
		{
			// floor: p1 = 0, p2 = 1: P1 = 0, P2 = 1. b = 0 → 二等; rest 三等.
			name: "rounding floor: 0.5 → 0, 1.2 → 1",
			g:    &survey.Grading{Rounding: survey.RoundingFloor, Grades: schGrades("10", "24")},
			cs:   schVals("95", "90", "85", "80", "75"),
			want: []string{"1 二等", "2 三等", "3 三等", "4 三等", "5 三等"},
		},
		{
			// ceil: p1 = 1, p2 = 2: P1 = 1, P2 = 3. b = 0 → 一等, b = 1, 2 →
			// 二等, b ≥ 3 → 三等.
			name: "rounding ceil: 0.5 → 1, 1.2 → 2",
			g:    &survey.Grading{Rounding: survey.RoundingCeil, Grades: schGrades("10", "24")},
			cs:   schVals("95", "90", "85", "80", "75"),
			want: []string{"1 一等", "2 二等", "3 二等", "4 三等", "5 三等"},
		},
		{
			// Explicit "round" as the default: 0.5 → 1, 1.2 → 1.
			name: "rounding round written out",
			g:    &survey.Grading{Rounding: survey.RoundingRound, Grades: schGrades("10", "24")},
			cs:   schVals("95", "90", "85", "80", "75"),
			want: []string{"1 一等", "2 二等", "3 三等", "4 三等", "5 三等"},
		},
		{
			// 一等 count 2 min 90; 二等 count 1 min 80: P1 = 2, P2 = 3.
			// 89.996 prints 90.00 ≥ 90 → 一等 (b = 0).
			// 89.994 prints 89.99 < 90: skips 一等 although P1 = 2 > b = 1;
			//   二等: P2 = 3 > 1, 89.99 ≥ 80 → 二等.
			// 85: b = 2, P1 = 2 ≤ 2; P2 = 3 > 2 → 二等.
			// 70: b = 3 → 三等.
			name: "min compares the printed value, ≥",
			g: &survey.Grading{Grades: []survey.Grade{
				{Grade: "一等", Count: schCount(2), Min: schDec("90")},
				{Grade: "二等", Count: schCount(1), Min: schDec("80")},
				{Grade: "三等"},
			}},
			cs:   schVals("89.996", "89.994", "85", "70"),
			want: []string{"1 一等", "2 二等", "3 二等", "4 三等"},
		},
		{
			// 一等 count 1 min 90, 二等 count 1 min 80: P1 = 1, P2 = 2.
			// 95 → 一等. 79.995 prints 80.00 (half up) ≥ 80, b = 1 < P2 → 二等.
			// Reversed: 79.994 prints 79.99 < 80 → no grade whose min it
			// reaches among those with P_k > b → the last grade, 三等.
			name: "min reached exactly as printed; missed → the last grade",
			g: &survey.Grading{Grades: []survey.Grade{
				{Grade: "一等", Count: schCount(1), Min: schDec("90")},
				{Grade: "二等", Count: schCount(1), Min: schDec("80")},
				{Grade: "三等"},
			}},
			cs:   schVals("95", "79.995"),
			want: []string{"1 一等", "2 二等"},
		},
		{
			name: "min missed falls to the last grade",
			g: &survey.Grading{Grades: []survey.Grade{
				{Grade: "一等", Count: schCount(1), Min: schDec("90")},
				{Grade: "二等", Count: schCount(1), Min: schDec("80")},
				{Grade: "三等"},
			}},
			cs:   schVals("95", "79.994"),
			want: []string{"1 一等", "2 三等"},
		},
		{
			// 一等 count 1 bar [lowest_over]; 二等 count 2: P1 = 1, P2 = 3.
			// A (95, lowest_over), b = 0: 一等 barred → 二等 (P2 = 3 > 0).
			// B (90), b = 1: P1 = 1 ≤ 1 → 二等 (the count is a maximum,
			//   the place A could not take is not handed on to B).
			// C (85), b = 2 < 3 → 二等. D (80, top_two_under), b = 3 → 三等.
			// Ranks are unchanged by bar: 1, 2, 3, 4.
			name: "bar excludes a grade: next grade; the place is not passed on",
			g: &survey.Grading{Grades: []survey.Grade{
				{Grade: "一等", Count: schCount(1), Bar: []string{"lowest_over"}},
				{Grade: "二等", Count: schCount(2)},
				{Grade: "三等"},
			}},
			cs: []Candidate{
				{Value: schRat("95"), Flags: []string{"lowest_over"}},
				{Value: schRat("90")},
				{Value: schRat("85")},
				{Value: schRat("80"), Flags: []string{"top_two_under"}},
			},
			want: []string{"1 二等", "2 二等", "3 二等", "4 三等"},
		},
		{
			// 一等 count 1; 二等 count 1 bar [top_two_under]: P1 = 1, P2 = 2.
			// 95 → 一等. 90 (top_two_under), b = 1: P1 ≤ 1; 二等 barred → 三等.
			// 85, b = 2: P2 = 2 ≤ 2 → 三等.
			name: "bar on a middle grade sends the unit to the next",
			g: &survey.Grading{Grades: []survey.Grade{
				{Grade: "一等", Count: schCount(1)},
				{Grade: "二等", Count: schCount(1), Bar: []string{"top_two_under"}},
				{Grade: "三等"},
			}},
			cs: []Candidate{
				{Value: schRat("95")},
				{Value: schRat("90"), Flags: []string{"top_two_under"}},
				{Value: schRat("85")},
			},
			want: []string{"1 一等", "2 三等", "3 三等"},
		},
		{
			// Vetoed A (99) and E (80), D without a value. N = 3 (B, C, F):
			// p1 = round(3 × 50 ÷ 100 = 1.5) = 2, P1 = 2; p2 = 1, P2 = 3.
			// (Counting the vetoed, N = 5 would give round(2.5) = 3 and F
			// 一等.) B: b = 0 (A, vetoed, is not ahead) → 一等, rank 1;
			// C: b = 1 → 一等, rank 2; F: b = 2, P1 = 2 ≤ 2 < P2 → 二等, rank 3.
			// A, E: veto_grade 二等 whatever their place, and share the rank
			// after all others: 4. D: no rank, no grade.
			name: "vetoed: veto_grade, rank after all others, out of N; no value: nothing",
			g: &survey.Grading{VetoGrade: "二等", Grades: []survey.Grade{
				{Grade: "一等", Share: schDec("50")},
				{Grade: "二等", Count: schCount(1)},
				{Grade: "三等"},
			}},
			cs: []Candidate{
				{Value: schRat("99"), Vetoed: true},
				{Value: schRat("90")},
				{Value: schRat("85")},
				{},
				{Value: schRat("80"), Vetoed: true},
				{Value: schRat("70")},
			},
			want: []string{"4 二等", "1 一等", "2 一等", "- -", "4 二等", "3 二等"},
		},
		{
			// All five tied: b = 0 for each, P1 = 1 > 0 → all 一等, rank 1
			// ("units still tied after every tie-breaker share a grade (the
			// better one)"; v1 moved them all down to the last grade).
			name: "everyone tied takes the first grade",
			g:    &survey.Grading{Grades: schGrades(1, 1)},
			cs:   schVals("80", "80", "80", "80", "80"),
			want: []string{"1 一等", "1 一等", "1 一等", "1 一等", "1 一等"},
		},
		{
			// N = 4, shares 10 / 30: p1 = round(0.4) = 0, P1 = 0;
			// p2 = round(1.2) = 1, P2 = 1. All tied, b = 0: P1 = 0 is not
			// > 0, P2 = 1 > 0 → all 二等.
			name: "everyone tied, first grade of no places: all the second",
			g:    &survey.Grading{Grades: schGrades("10", "30")},
			cs:   schVals("80", "80", "80", "80"),
			want: []string{"1 二等", "1 二等", "1 二等", "1 二等"},
		},
		{
			// "A round without grading has no grade": ranks only, 1, 1, 3.
			name: "no grading: ranks, no grade",
			g:    nil,
			cs:   schVals("90", "90", "80", ""),
			want: []string{"1 -", "1 -", "3 -", "- -"},
		},
		{
			// Tie-breakers as printed: keys [component value (2 places,
			// higher first), share:top (4 places, higher first),
			// share:lowest (4 places, lower first)]. Every value but G's
			// prints 85.00.
			//   C: key1 10.01 > 10.00 → first.
			//   D: key1 10.00 (10.004 → 10.00), key2 0.6668 > 0.6667 → second.
			//   E: 10.00, 0.6667, key3 0.0999 < 0.1000 → third.
			//   A: 10.004 → 10.00, 0.66666 → 0.6667, 0.1 → 0.1000;
			//   B: 10.001 → 10.00, 0.66674 → 0.6667, 0.09996 → 0.1000:
			//      A and B equal on every key → share rank 4.
			//   F: 10.00, 0.6667, 0.2 → after A and B: rank 6.
			//   G: 84.99 (84.994) is behind on the value whatever its keys: 7.
			// counts 1 / 3: P1 = 1, P2 = 4. C b = 0 → 一等; D b = 1, E b = 2,
			// A, B b = 3 → 二等; F b = 5, G b = 6 → 三等.
			name: "tie-breakers in order, each as printed; equal on every key share",
			g:    &survey.Grading{Grades: schGrades(1, 3)},
			cs: func() []Candidate {
				mk := func(v, k1, k2, k3 string) Candidate {
					return Candidate{Value: schRat(v), Keys: []Key{
						{Value: schRat(k1), Places: 2},
						{Value: schRat(k2), Places: 4},
						{Value: schRat(k3), Places: 4, Lower: true},
					}}
				}
				return []Candidate{
					mk("85.001", "10.004", "0.66666", "0.1"),     // A
					mk("84.999", "10.001", "0.66674", "0.09996"), // B
					mk("85", "10.01", "0", "1"),                  // C
					mk("85", "10", "0.6668", "1"),                // D
					mk("85", "10", "0.6667", "0.0999"),           // E
					mk("85", "10", "0.6667", "0.2"),              // F
					mk("84.994", "99", "1", "0"),                 // G
				}
			}(),
			want: []string{"4 二等", "4 二等", "1 一等", "2 二等", "3 二等", "6 三等", "7 三等"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := schView(Place(tt.g, tt.cs))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("placements (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSchemePlaceSeed001 checks the seed's figures: "99 units with counts
// 18 / 75 / rest and no ties give 18 / 75 / 6", and the same places written
// as shares under each rounding.
func TestSchemePlaceSeed001(t *testing.T) {
	tests := []struct {
		name string
		g    *survey.Grading
		want map[string]int
	}{
		// counts: P1 = 18, P2 = 93; b runs 0..98: b < 18 → 一等 (18),
		// 18 ≤ b < 93 → 二等 (75), the rest → 三等 (99 − 93 = 6).
		{"counts 18 / 75", &survey.Grading{Grades: schGrades(18, 75)},
			map[string]int{"一等": 18, "二等": 75, "三等": 6}},
		// shares 18.18 / 75.76 of N = 99: 99 × 18.18 ÷ 100 = 17.9982,
		// 99 × 75.76 ÷ 100 = 75.0024.
		// round: 18 and 75 → 18 / 75 / 6.
		{"shares, round", &survey.Grading{Grades: schGrades("18.18", "75.76")},
			map[string]int{"一等": 18, "二等": 75, "三等": 6}},
		// floor: 17 and 75: P1 = 17, P2 = 92 → 17 / 75 / 7.
		{"shares, floor", &survey.Grading{Rounding: survey.RoundingFloor, Grades: schGrades("18.18", "75.76")},
			map[string]int{"一等": 17, "二等": 75, "三等": 7}},
		// ceil: 18 and 76: P1 = 18, P2 = 94 → 18 / 76 / 5.
		{"shares, ceil", &survey.Grading{Rounding: survey.RoundingCeil, Grades: schGrades("18.18", "75.76")},
			map[string]int{"一等": 18, "二等": 76, "三等": 5}},
	}
	// 99 distinct values 99.00, 98.50, …, 50.00: no ties.
	cs := make([]Candidate, 99)
	for i := range cs {
		cs[i].Value = big.NewRat(int64(9900-50*i), 100)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := Place(tt.g, cs)
			got := map[string]int{}
			for i, p := range ps {
				if p.Rank == nil || *p.Rank != i+1 {
					t.Fatalf("candidate %d: rank %v, want %d", i, p.Rank, i+1)
				}
				if p.Grade == nil {
					t.Fatalf("candidate %d: no grade", i)
				}
				got[*p.Grade]++
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("grades (-want +got):\n%s", diff)
			}
		})
	}
}

// compDef: two components of different forms, points and weights (§5.2).
// public (200 points, 150 for type B) over the satisfaction form, weighted
// service 60 / experts 40; internal (100 points) over the team form,
// weighted leaders 50 / peers 50. A ballot of service or experts is 服务,
// 效率; one of leaders or peers is 甲 (weight 3), 乙.
const compDef = `
name: 测试
components:
  - id: public
    name: 公众评议
    points: 200
    points_by_type: {B: 150}
    forms: [satisfaction]
    weights: {service: 60, experts: 40}
  - id: internal
    name: 内部评估
    points: 100
    forms: [team]
    weights: {leaders: 50, peers: 50}
scales:
  - id: sat
    options: [{label: 满意, points: 100}, {label: 基本满意, points: 70}, {label: 不满意, points: 40}]
    abstain: 不了解
  - id: grade
    options: [{label: 优秀, points: 100}, {label: 称职, points: 80}, {label: 基本称职, points: 60}, {label: 不称职, points: 40}]
    abstain: 不了解
forms:
  - {id: satisfaction, title: 满意度测评, rates: team, scale: sat, items: [服务, 效率], voters: [service, experts]}
  - {id: team, title: 班子测评, rates: team, scale: grade, items: [{name: 甲, weight: 3}, 乙], voters: [leaders, peers]}
categories:
  - {id: service, name: 服务对象}
  - {id: experts, name: 专家}
  - {id: leaders, name: 领导}
  - {id: peers, name: 同级}
rules: {min_group: 1}
units:
  - {id: u1, name: 单位一, type: A}
  - {id: u2, name: 单位二, type: B}
`

type compView struct {
	ID, Name, Points, Score, Value string
	Flags                          []string
}

func viewComponents(cs []ComponentResult) []compView {
	var out []compView
	for _, c := range cs {
		out = append(out, compView{c.ID, c.Name, c.Points.String(), c.Score.String(), c.Value.String(), c.Flags})
	}
	return out
}

// TestSchemeComponents works two components out by hand, for both units
// (the same ballots; u2's type B gives public 150 points).
//
//	service (3): 服务 满意, 满意, 基本满意 → (100+100+70)/3 = 90
//	             效率 满意, 基本满意, 不满意 → (100+70+40)/3 = 70
//	experts (2): 服务 满意, 基本满意 → 85; 效率 满意, 基本满意 → 85
//	public 服务 = (60·90 + 40·85)/100 = (5400+3400)/100 = 88
//	       效率 = (60·70 + 40·85)/100 = (4200+3400)/100 = 76
//	       form = (88+76)/2 = 82 → public score 82
//	leaders (2): 甲 优秀, 优秀 → 100;    乙 优秀, 称职 → 90
//	peers (3):   甲 称职, 称职, 基本称职 → 220/3; 乙 称职, 基本称职, 不称职 → 60
//	internal 甲 = (50·100 + 50·220/3)/100 = 260/3 ≈ 86.67
//	         乙 = (50·90 + 50·60)/100 = 75
//	         form = (3·260/3 + 1·75)/4 = 335/4 = 83.75 → internal score 83.75
//	u1 (A): public value 82 × 200/100 = 164; internal 83.75 × 100/100 = 83.75
//	        component = 164 + 83.75 = 247.75
//	        score = 247.75 ÷ 300 × 100 = 82.58333… → 82.58
//	u2 (B): public value 82 × 150/100 = 123; internal 83.75
//	        component = 206.75; score = 206.75 ÷ 250 × 100 = 82.70
//	shares: satisfaction 满意 5, 基本满意 4, 不满意 1 of 10; team 优秀 3,
//	称职 4, 基本称职 2, 不称职 1 of 10: no share flag.
func TestSchemeComponents(t *testing.T) {
	def := parseDef(t, compDef)
	var vs []vote
	for _, u := range []string{"u1", "u2"} {
		vs = concat(vs,
			[]vote{{u, "service", "AA"}, {u, "service", "AB"}, {u, "service", "BC"}},
			[]vote{{u, "experts", "AA"}, {u, "experts", "BB"}},
			[]vote{{u, "leaders", "AA"}, {u, "leaders", "AB"}},
			[]vote{{u, "peers", "BB"}, {u, "peers", "BC"}, {u, "peers", "CD"}},
		)
	}
	docs := count(t, def, vs, nil)
	none := []string{}
	tests := []struct {
		unit  string
		want  unitView
		comps []compView
	}{
		{"u1", unitView{Score: "82.58", Component: "247.75", Rank: "1/1", Flags: none}, []compView{
			{"public", "公众评议", "200", "82.00", "164.00", none},
			{"internal", "内部评估", "100", "83.75", "83.75", none},
		}},
		{"u2", unitView{Score: "82.70", Component: "206.75", Rank: "1/1", Flags: none}, []compView{
			{"public", "公众评议", "150", "82.00", "123.00", none},
			{"internal", "内部评估", "100", "83.75", "83.75", none},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.unit, func(t *testing.T) {
			u := unitByID(t, docs, tt.unit)
			if diff := cmp.Diff(tt.want, viewUnit(u)); diff != "" {
				t.Errorf("unit (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.comps, viewComponents(u.Components)); diff != "" {
				t.Errorf("components (-want +got):\n%s", diff)
			}
			// Exact: u1 score = 247.75/3 = 991/12; u2 = 206.75/2.5 = 827/10.
			want := map[string]*big.Rat{"u1": big.NewRat(991, 12), "u2": big.NewRat(827, 10)}[tt.unit]
			if got := u.Score.Rat(); got == nil || got.Cmp(want) != 0 {
				t.Errorf("exact score: got %v, want %s", got, want.RatString())
			}
			var forms []string
			for _, f := range u.Subjects[0].Forms {
				forms = append(forms, viewForm(f).Score+" "+fmt.Sprint(viewForm(f).Items))
			}
			if diff := cmp.Diff([]string{"82.00 [服务 88.00 效率 76.00]", "83.75 [甲 86.67 乙 75.00]"}, forms); diff != "" {
				t.Errorf("team forms (-want +got):\n%s", diff)
			}
		})
	}
}

// missingDef: public (200 points) is service's alone on the satisfaction
// form; internal (100 points) weighs leaders 50 / peers 50 on the team form
// of items 甲 and 乙. The level scale's 较好 is worth 88.
const missingDef = `
name: 测试
components:
  - {id: public, name: 公众评议, points: 200, forms: [satisfaction], weights: {service: 100}}
  - {id: internal, name: 内部评估, points: 100, forms: [team], weights: {leaders: 50, peers: 50}}
scales:
  - id: sat
    options: [{label: 满意, points: 100}, {label: 基本满意, points: 70}, {label: 不满意, points: 40}]
  - id: level
    options: [{label: 好, points: 100}, {label: 较好, points: 88}, {label: 一般, points: 60}, {label: 差, points: 40}]
    abstain: 不了解
forms:
  - {id: satisfaction, title: 满意度测评, rates: team, scale: sat, items: [服务], voters: [service]}
  - {id: team, title: 班子测评, rates: team, scale: level, items: [甲, 乙], voters: [leaders, peers]}
categories:
  - {id: service, name: 服务对象}
  - {id: leaders, name: 领导}
  - {id: peers, name: 同级}
rules: {min_group: 1, missing: MISSING}
units:
  - {id: u1, name: 单位一, type: A}
`

// TestSchemeMissing checks rules.missing (§5.2, §5.6) with the seed's case:
// leaders (50 %) alone vote on the team form, all 较好 (88) on 甲 and all
// 不了解 on 乙; peers (50 %) have no ballot for the unit (their unit sheet
// reaches it, so they may vote).
//
//	public: service 满意 ×3, 基本满意 ×1 → (300+70)/4 = 92.5, value 92.5 × 2 = 185
//	乙 has no valid vote from anyone: no score, left out under every rule
//	("zero: an item on which no category has a valid vote is still left out").
//	reweight: 甲 = 88; form 88; internal 88, value 88;
//	          component 185 + 88 = 273; score 273 ÷ 300 × 100 = 91.00
//	zero:     甲 = (50·88 + 50·0)/100 = 44 ("gives 44, not 88"); form 44 (乙
//	          left out, not 0: not 22); value 44;
//	          component 185 + 44 = 229; score 229 ÷ 300 × 100 = 76.333… → 76.33
//	unrated:  internal score null (value null), left out of the sums:
//	          component 185; score 185 ÷ 200 × 100 = 92.50
func TestSchemeMissing(t *testing.T) {
	vs := concat(votes(3, "u1", "service", "A"), votes(1, "u1", "service", "B"),
		votes(3, "u1", "leaders", "B-"))
	none := []string{}
	tests := []struct {
		missing  string
		want     unitView
		comps    []compView
		teamForm string // score of the team form
	}{
		{"reweight", unitView{Score: "91.00", Component: "273.00", Rank: "1/1", Flags: []string{"reweighted"}}, []compView{
			{"public", "公众评议", "200", "92.50", "185.00", none},
			{"internal", "内部评估", "100", "88.00", "88.00", []string{"reweighted"}},
		}, "88.00"},
		{"zero", unitView{Score: "76.33", Component: "229.00", Rank: "1/1", Flags: []string{"missing_zero"}}, []compView{
			{"public", "公众评议", "200", "92.50", "185.00", none},
			{"internal", "内部评估", "100", "44.00", "44.00", []string{"missing_zero"}},
		}, "44.00"},
		{"unrated", unitView{Score: "92.50", Component: "185.00", Rank: "1/1", Flags: []string{"unrated"}}, []compView{
			{"public", "公众评议", "200", "92.50", "185.00", none},
			{"internal", "内部评估", "100", "", "", []string{"unrated"}},
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.missing, func(t *testing.T) {
			def := parseDef(t, replace(missingDef, "MISSING", tt.missing))
			u := unitByID(t, count(t, def, vs, nil), "u1")
			if diff := cmp.Diff(tt.want, viewUnit(u)); diff != "" {
				t.Errorf("unit (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.comps, viewComponents(u.Components)); diff != "" {
				t.Errorf("components (-want +got):\n%s", diff)
			}
			team := u.Subjects[0].Forms[1]
			if team.ID != "team" {
				t.Fatalf("second team form: got %s, want team", team.ID)
			}
			// 乙: no valid vote at all → no score under every rule.
			if got := team.Items[1].Score; got.Valid() {
				t.Errorf("乙: got score %s, want null", got)
			}
			if tt.missing != "unrated" {
				if got := team.Score.String(); got != tt.teamForm {
					t.Errorf("team form score: got %q, want %q", got, tt.teamForm)
				}
				// 甲: 88 reweighted, 44 with zero.
				if got, want := team.Items[0].Score.String(), tt.teamForm; got != want {
					t.Errorf("甲: got %q, want %q", got, want)
				}
			}
		})
	}
}

// TestSchemeMissingZeroNoVotes: under zero, a unit where nobody gave a valid
// vote on the team form's items has no score there — the items are left out
// (§5.6), not counted as 0.
//
//	leaders and peers all 不了解 on 甲 and 乙: internal has no score.
//	public 92.5 alone: component 185, score 185 ÷ 200 × 100 = 92.50.
func TestSchemeMissingZeroNoVotes(t *testing.T) {
	def := parseDef(t, replace(missingDef, "MISSING", "zero"))
	vs := concat(votes(3, "u1", "service", "A"), votes(1, "u1", "service", "B"),
		votes(3, "u1", "leaders", "--"), votes(3, "u1", "peers", "--"))
	u := unitByID(t, count(t, def, vs, nil), "u1")
	if u.Score.String() != "92.50" || u.Component.String() != "185.00" {
		t.Errorf("unit: got score %q component %q, want 92.50 and 185.00", u.Score, u.Component)
	}
	team := u.Subjects[0].Forms[1]
	if team.Score.Valid() || team.Items[0].Score.Valid() || team.Items[1].Score.Valid() {
		t.Errorf("team form: got %q (甲 %q, 乙 %q), want every score null", team.Score, team.Items[0].Score, team.Items[1].Score)
	}
	if c := u.Components[1]; c.Score.Valid() || c.Value.Valid() {
		t.Errorf("internal: got score %q value %q, want null", c.Score, c.Value)
	}
}

// TestSchemeMissingZeroWeightlessVoter: under zero, leaders and peers (50 %
// each in internal) have no valid vote on 甲, but guests — who may vote on
// the team form and weigh 0 in internal — do. The item has a valid vote,
// so §5.6's exception ("an item on which no category has a valid vote is
// still left out") does not apply; leaders and peers each "count as mean 0
// on that item":
//
//	甲 = (0·100 + 50·0 + 50·0) ÷ (0 + 50 + 50) = 0; 乙 no valid vote: left out
//	team form 0 → internal score 0.00, value 0.00, flag missing_zero
//	component 185 + 0 = 185; score 185 ÷ 300 × 100 = 61.666… → 61.67
func TestSchemeMissingZeroWeightlessVoter(t *testing.T) {
	def := parseDef(t, replace(missingDef, "MISSING", "zero",
		"voters: [leaders, peers]}", "voters: [leaders, peers, guests]}",
		"  - {id: peers, name: 同级}\n", "  - {id: peers, name: 同级}\n  - {id: guests, name: 列席}\n"))
	vs := concat(votes(3, "u1", "service", "A"), votes(1, "u1", "service", "B"),
		votes(3, "u1", "guests", "A-"))
	u := unitByID(t, count(t, def, vs, nil), "u1")
	if diff := cmp.Diff(unitView{Score: "61.67", Component: "185.00", Rank: "1/1", Flags: []string{"missing_zero"}}, viewUnit(u)); diff != "" {
		t.Errorf("unit (-want +got):\n%s", diff)
	}
	want := []compView{
		{"public", "公众评议", "200", "92.50", "185.00", []string{}},
		{"internal", "内部评估", "100", "0.00", "0.00", []string{"missing_zero"}},
	}
	if diff := cmp.Diff(want, viewComponents(u.Components)); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
}

// TestSchemeByTotal: "With by: total, grades and ranks by total appear only
// in the results document (the sealed round document keeps ranks by score
// and grade: null)".
//
//	u1: every answer 优秀 → 100.00 (component 20.00); u2: every answer 称职 →
//	80.00 (16.00). Ranks by score 1/2, 2/2; no grade.
func TestSchemeByTotal(t *testing.T) {
	def := parseDef(t, replace(basicDef,
		"  - {id: u1, name: 单位一, type: T}\n", "  - {id: u1, name: 单位一, type: T}\n  - {id: u2, name: 单位二, type: T}\n")+
		"total: {points: 100, parts: [{id: perf, name: 绩效指标, points: 80}]}\n"+
		"grading:\n  by: total\n  grades: [{grade: 一等, count: 1}, {grade: 二等}]\n")
	docs := count(t, def, concat(votes(3, "u1", "a", "AA"), votes(3, "u1", "b", "AA"),
		votes(3, "u2", "a", "BB"), votes(3, "u2", "b", "BB")), nil)
	got := []unitView{viewUnit(unitByID(t, docs, "u1")), viewUnit(unitByID(t, docs, "u2"))}
	want := []unitView{
		{Score: "100.00", Component: "20.00", Rank: "1/2", Flags: []string{}},
		{Score: "80.00", Component: "16.00", Rank: "2/2", Flags: []string{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
}

// refDef: a scored team form (component internal, a 50 / b 50) and a
// reference form (scored: false) of two items. A ballot is 甲, 团结, 协作.
const refDef = `
name: 测试
components:
  - {id: internal, name: 内部评估, points: 100, forms: [team], weights: {a: 50, b: 50}}
scales:
  - id: grade
    options: [{label: 优秀, points: 100}, {label: 称职, points: 80}, {label: 基本称职, points: 60}, {label: 不称职, points: 40}]
    abstain: 不了解
forms:
  - {id: team, title: 班子测评, rates: team, scale: grade, items: [甲]}
  - {id: ref, title: 团结协作, rates: team, scale: grade, items: [团结, 协作], scored: false}
categories:
  - {id: a, name: 甲类}
  - {id: b, name: 乙类}
rules: {min_group: 1}
units:
  - {id: u1, name: 单位一, type: A}
`

// TestSchemeReferenceForm: "scored: false — the form is counted and reported
// but enters no score"; "scored: false forms keep their share flags"; and
// "reweighted … arise[s] only from a component's scored forms".
//
//	a (3): 甲 优秀; 团结 不称职; 协作 不称职
//	b (2): 甲 称职; 团结, 协作 不了解 (b has no valid vote on the ref form)
//	甲 = (50·100 + 50·80)/100 = 90 → internal 90, value 90; unit 90.00 / 90.00
//	ref counts: 不称职 3 + 3 = 6 of 6 valid: shares 0, 0, 0, 1.0000
//	  → lowest_over (1 > 1/3), top_two_under (0 < 2/3), kept on the form,
//	  and on the team and unit ("A subject's flags are the share flags of
//	  every form that rates it"). No reweighted: b misses only the ref form.
//	team form: 优秀 3, 称职 2 of 5: top two 1 → no flag.
func TestSchemeReferenceForm(t *testing.T) {
	def := parseDef(t, refDef)
	u := unitByID(t, count(t, def, concat(votes(3, "u1", "a", "ADD"), votes(2, "u1", "b", "B--")), nil), "u1")
	both := []string{"lowest_over", "top_two_under"}
	if diff := cmp.Diff(unitView{Score: "90.00", Component: "90.00", Rank: "1/1", Flags: both}, viewUnit(u)); diff != "" {
		t.Errorf("unit (-want +got):\n%s", diff)
	}
	ref := u.Subjects[0].Forms[1]
	if ref.ID != "ref" || !ref.Reference {
		t.Fatalf("second form: got %s reference %v, want ref marked reference", ref.ID, ref.Reference)
	}
	v := viewForm(ref)
	if diff := cmp.Diff(both, v.Flags); diff != "" {
		t.Errorf("ref flags (-want +got):\n%s", diff)
	}
	if want := `{"优秀":0.0000,"称职":0.0000,"基本称职":0.0000,"不称职":1.0000}`; v.Shares != want || v.Valid != 6 {
		t.Errorf("ref shares: got %s over %d, want %s over 6", v.Shares, v.Valid, want)
	}
	wantCounts := Counts{{"优秀", 0}, {"称职", 0}, {"基本称职", 0}, {"不称职", 3}}
	for _, it := range ref.Items {
		if diff := cmp.Diff(wantCounts, it.Counts); diff != "" || it.Abstain != 2 {
			t.Errorf("ref %s: abstain %d (want 2), counts (-want +got):\n%s", it.Name, it.Abstain, diff)
		}
	}
	if diff := cmp.Diff([]compView{{"internal", "内部评估", "100", "90.00", "90.00", []string{}}}, viewComponents(u.Components)); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
}

// principalDef: the team form; zheng rates 正职 only (members: principal),
// two items; fu rates 副职 only (members: deputies), one item. A ballot is
// 甲, m1 德, m1 能, m2 德, m3 德.
const principalDef = `
name: 测试
component: {name: 干部群众评价, points: 20}
scales:
  - id: grade
    options: [{label: 优秀, points: 100}, {label: 称职, points: 80}, {label: 基本称职, points: 60}, {label: 不称职, points: 40}]
forms:
  - {id: team, title: 班子测评, rates: team, scale: grade, items: [甲]}
  - {id: zheng, title: 正职测评, rates: members, members: principal, scale: grade, items: [德, 能]}
  - {id: fu, title: 副职测评, rates: members, members: deputies, scale: grade, items: [德]}
categories:
  - {id: a, name: 甲类, weight: 100}
rules: {min_group: 1}
units:
  - id: u1
    name: 单位一
    type: T
    members:
      - {id: m1, name: 张三, post: 书记, principal: true}
      - {id: m2, name: 李四, post: 副局长}
      - {id: m3, name: 王五, post: 副局长}
`

// TestSchemePrincipalDeputies: "members: all | principal | deputies … so 正职
// and 副职 can be rated on different forms".
//
//	ballots: A|AB|B|C, A|BB|C|D, B|AA|A|B
//	team 甲 = (100+100+80)/3 = 280/3 → 93.33, component 280/3 × 20/100 = 56/3 → 18.67
//	m1 (zheng): 德 (100+80+100)/3 = 280/3, 能 (80+80+100)/3 = 260/3, form 540/6 = 90
//	m2 (fu): 德 (80+60+100)/3 = 80
//	m3 (fu): 德 (60+40+80)/3 = 60; 优秀 + 称职 = 1/3 < 2/3 → top_two_under (on m3 only)
func TestSchemePrincipalDeputies(t *testing.T) {
	def := parseDef(t, principalDef)
	if n := len(def.Layout(&def.Units[0], "a")); n != 5 {
		t.Fatalf("layout: got %d slots, want 5 (甲, m1 德 能, m2 德, m3 德)", n)
	}
	u := unitByID(t, count(t, def, []vote{
		{"u1", "a", "A" + "AB" + "B" + "C"},
		{"u1", "a", "A" + "BB" + "C" + "D"},
		{"u1", "a", "B" + "AA" + "A" + "B"},
	}, nil), "u1")
	if diff := cmp.Diff(unitView{Score: "93.33", Component: "18.67", Rank: "1/1", Flags: []string{}}, viewUnit(u)); diff != "" {
		t.Errorf("unit (-want +got):\n%s", diff)
	}
	var got []string
	for _, s := range u.Subjects {
		var forms []string
		for _, f := range s.Forms {
			forms = append(forms, f.ID)
		}
		got = append(got, fmt.Sprintf("%s %v %s %v", s.ID, forms, s.Score, s.Flags))
	}
	want := []string{
		"team [team] 93.33 []",
		"m1 [zheng] 90.00 []",
		"m2 [fu] 80.00 []",
		"m3 [fu] 60.00 [top_two_under]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
}

// memberGradingDef: every unit's team and members are rated on one item of
// a scale worth 95, 90, 85, 80, 70, so each member's score is the option it
// got. Members: a1 (正职) and a2 in u1 of type X; b1 (正职) and b2 in u2 of
// type Y. A ballot is 甲, then each member's 德.
const memberGradingDef = `
name: 测试
component: {name: 干部群众评价, points: 20}
scales:
  - id: s
    options: [{label: P95, points: 95}, {label: P90, points: 90}, {label: P85, points: 85}, {label: P80, points: 80}, {label: P70, points: 70}]
forms:
  - {id: team, title: 班子测评, rates: team, scale: s, items: [甲]}
  - {id: members, title: 成员测评, rates: members, scale: s, items: [德]}
categories:
  - {id: a, name: 甲类, weight: 100}
rules: {min_group: 1}
member_grading:
WITHIN  grades:
    - {grade: 优秀, count: 1}
    - {grade: 称职}
units:
  - id: u1
    name: 单位一
    type: X
    members: [{id: a1, name: 甲一, principal: true}, {id: a2, name: 甲二}]
  - id: u2
    name: 单位二
    type: Y
    members: [{id: b1, name: 乙一, principal: true}, {id: b2, name: 乙二}]
`

// TestSchemeMemberGrading: member_grading "within: round (default), type,
// or role (正职 and 副职 apart)", count 1 优秀, the rest 称职.
//
//	a1 85, a2 95, b1 90, b2 80.
//	round: a2 95 (1, 优秀), b1 90 (2), a1 85 (3), b2 80 (4), all of 4.
//	type:  X: a2 (1/2 优秀), a1 (2/2); Y: b1 (1/2 优秀), b2 (2/2).
//	role:  正职: b1 90 (1/2 优秀), a1 85 (2/2); 副职: a2 95 (1/2 优秀), b2 80 (2/2).
func TestSchemeMemberGrading(t *testing.T) {
	vs := []vote{{"u1", "a", "A" + "C" + "A"}, {"u2", "a", "A" + "B" + "D"}}
	tests := []struct {
		within string
		want   map[string]string
	}{
		{"", map[string]string{"a1": "3/4 称职", "a2": "1/4 优秀", "b1": "2/4 称职", "b2": "4/4 称职"}},
		{"round", map[string]string{"a1": "3/4 称职", "a2": "1/4 优秀", "b1": "2/4 称职", "b2": "4/4 称职"}},
		{"type", map[string]string{"a1": "2/2 称职", "a2": "1/2 优秀", "b1": "1/2 优秀", "b2": "2/2 称职"}},
		{"role", map[string]string{"a1": "2/2 称职", "a2": "1/2 优秀", "b1": "1/2 优秀", "b2": "2/2 称职"}},
	}
	for _, tt := range tests {
		name := tt.within
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			within := ""
			if tt.within != "" {
				within = "  within: " + tt.within + "\n"
			}
			def := parseDef(t, replace(memberGradingDef, "WITHIN", within))
			docs := count(t, def, vs, nil)
			got := map[string]string{}
			for _, u := range docs.Result.Units {
				for _, s := range u.Subjects {
					if s.ID == "team" {
						continue
					}
					v := "no rank"
					if s.Rank != nil && s.Grade != nil {
						v = fmt.Sprintf("%d/%d %s", *s.Rank, s.RankOf, *s.Grade)
					}
					got[s.ID] = v
				}
				// Units: no unit grading in this round; each alone in its type.
				if u.Grade != nil {
					t.Errorf("unit %s: got grade %s, want none (no grading)", u.Unit.ID, *u.Grade)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
		})
	}
}

// tieDef: a scored team form and a reference form; grading by counts with
// TIEBREAK to fill in. A ballot is 甲, 团结.
const tieDef = `
name: 测试
component: {name: 干部群众评价, points: 20}
scales:
  - id: grade
    options: [{label: 优秀, points: 100}, {label: 称职, points: 80}, {label: 基本称职, points: 60}, {label: 不称职, points: 40}]
forms:
  - {id: team, title: 班子测评, rates: team, scale: grade, items: [甲]}
  - {id: ref, title: 团结协作, rates: team, scale: grade, items: [团结], scored: false}
categories:
  - {id: a, name: 甲类, weight: 100}
rules: {min_group: 1}
grading:
TIEBREAK  grades:
    - {grade: 一等, count: 1}
    - {grade: 二等}
units:
  - {id: u1, name: 单位一, type: T}
  - {id: u2, name: 单位二, type: T}
`

// TestSchemeTieBreakShares: "share:top the pooled share of the best option
// over the team's overall — or all its items"; "Tie-breaker shares pool the
// team's scored forms".
//
//	u1: 甲 优秀, 优秀, 基本称职, 基本称职 → (200+120)/4 = 80; 团结 不称职 ×4
//	    (the reference form does not enter the score: 80, component 16)
//	    share:top over the team form = 2/4 = 0.5
//	    flags: team 优秀+称职 2/4 < 2/3 → top_two_under; ref 不称职 4/4 →
//	    lowest_over, top_two_under
//	u2: 甲 称职 ×4 → 80; 团结 优秀 ×4. share:top over the team form 0/4 = 0
//	    (pooling the reference form too would give u2 4/8 > u1 2/8)
//	no tie-break: both 80.00, tied: rank 1, 1; count 1 → both 一等
//	share:top:    u1 0.5 > u2 0 → u1 1 一等; u2 b = 1 = P1 → 2 二等
func TestSchemeTieBreakShares(t *testing.T) {
	vs := concat(votes(2, "u1", "a", "AD"), votes(2, "u1", "a", "CD"), votes(4, "u2", "a", "BA"))
	tests := []struct {
		name, tie string
		u1, u2    string
	}{
		{"no tie-break", "", "1/2 一等", "1/2 一等"},
		{"share:top", "  tie_break: [share:top]\n", "1/2 一等", "2/2 二等"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := parseDef(t, replace(tieDef, "TIEBREAK", tt.tie))
			docs := count(t, def, vs, nil)
			u1, u2 := viewUnit(unitByID(t, docs, "u1")), viewUnit(unitByID(t, docs, "u2"))
			want1 := unitView{Score: "80.00", Component: "16.00", Rank: tt.u1[:3], Grade: tt.u1[4:], Flags: []string{"lowest_over", "top_two_under"}}
			want2 := unitView{Score: "80.00", Component: "16.00", Rank: tt.u2[:3], Grade: tt.u2[4:], Flags: []string{}}
			if diff := cmp.Diff(want1, u1); diff != "" {
				t.Errorf("u1 (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want2, u2); diff != "" {
				t.Errorf("u2 (-want +got):\n%s", diff)
			}
		})
	}
}

// sheetDef: leaders rate every unit of type X on one slip (sheet: all,
// unit_types: [X]); staff rate their own unit. A ballot per unit is 甲.
const sheetDef = `
name: 测试
component: {name: 干部群众评价, points: 20}
scales:
  - id: grade
    options: [{label: 优秀, points: 100}, {label: 称职, points: 80}, {label: 基本称职, points: 60}, {label: 不称职, points: 40}]
    abstain: 不了解
forms:
  - {id: team, title: 班子测评, rates: team, scale: grade, items: [甲]}
categories:
  - {id: leaders, name: 区领导, weight: 40, sheet: all, unit_types: [X]}
  - {id: staff, name: 干部职工, weight: 60}
units:
  - {id: u1, name: 单位一, type: X}
  - {id: u2, name: 单位二, type: X}
  - {id: u3, name: 单位三, type: Y}
`

// TestSchemeSheetAll: "sheet: all … each slip rates every unit of the round,
// or of the category's unit_types, on one ballot"; "a unit's figures take
// every ballot that rated it"; "A category may vote on a subject when … its
// sheet can reach the subject's unit".
//
//	3 leaders' slips, each 优秀 for u1 and 称职 for u2 (one record per unit).
//	u1: leaders 100; staff 称职, 称职, 基本称职 → 220/3
//	    甲 = (40·100 + 60·220/3)/100 = (4000 + 4400)/100 = 84 → component 16.80
//	u2: leaders 80; staff 优秀 ×3 → 100
//	    甲 = (40·80 + 60·100)/100 = 92 → 18.40
//	u3 (type Y): leaders' sheet does not reach it: staff alone, 称职 ×3 → 80,
//	    16.00, and no reweighted (leaders may not vote there).
//	ranks in X: u2 1/2, u1 2/2; u3 1/1.
//	Without unit_types the leaders' slip also rates u3; all 不了解 there →
//	u3 still 80 but reweighted (§3: "because all its voters abstained").
func TestSchemeSheetAll(t *testing.T) {
	tests := []struct {
		name     string
		def      string
		slip     []int // the leaders' answers in sheet order
		u3Flags  []string
		u3Leader Count
	}{
		{"unit_types X", sheetDef, []int{0, 1}, []string{}, Count{}},
		{"every unit", replace(sheetDef, ", unit_types: [X]", ""), []int{0, 1, int(survey.AbstainAnswer)}, []string{"reweighted"}, Count{3, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := parseDef(t, tt.def)
			c := NewCounter(def)
			sheet := def.SheetFor(def.Category("leaders"), nil, nil)
			if sheet.Len() != len(tt.slip) {
				t.Fatalf("leaders' sheet: %d slots, want %d", sheet.Len(), len(tt.slip))
			}
			for range 3 {
				b, err := sheet.EncodeSlots(tt.slip)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range b.Records() {
					if err := c.AddRecord("leaders", r); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, v := range []vote{
				{"u1", "staff", "B"}, {"u1", "staff", "B"}, {"u1", "staff", "C"},
				{"u2", "staff", "A"}, {"u2", "staff", "A"}, {"u2", "staff", "A"},
				{"u3", "staff", "B"}, {"u3", "staff", "B"}, {"u3", "staff", "B"},
			} {
				if err := c.Add(v.unit, v.cat, v.bytes()); err != nil {
					t.Fatal(err)
				}
			}
			turnout := Turnout{
				"u1": {"leaders": {3, 3}, "staff": {3, 3}},
				"u2": {"leaders": {3, 3}, "staff": {3, 3}},
				"u3": {"leaders": tt.u3Leader, "staff": {3, 3}},
			}
			docs, err := c.Documents(turnout, Meta{RoundID: "r1", SealedAt: "2026-01-20T09:30:00Z"})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]unitView{}
			for _, u := range docs.Units {
				got[u.ID] = viewUnit(u.Result)
			}
			want := map[string]unitView{
				"u1": {Score: "84.00", Component: "16.80", Rank: "2/2", Flags: []string{}},
				"u2": {Score: "92.00", Component: "18.40", Rank: "1/2", Flags: []string{}},
				"u3": {Score: "80.00", Component: "16.00", Rank: "1/1", Flags: tt.u3Flags},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("units (-want +got):\n%s", diff)
			}
			if u := unitByID(t, docs, "u1"); u.Ballots != 6 || u.Voted != 6 {
				t.Errorf("u1: ballots %d voted %d, want 6 and 6 (3 leaders + 3 staff)", u.Ballots, u.Voted)
			}
		})
	}
}

// recuseDef: bz (班子成员) recuse: each holds one slip without their own
// rows; staff rate everything. A full layout is 甲, m1 德, m2 德, m3 德.
// min_group is the default 3.
const recuseDef = `
name: 测试
component: {name: 干部群众评价, points: 20}
scales:
  - id: grade
    options: [{label: 优秀, points: 100}, {label: 称职, points: 80}, {label: 基本称职, points: 60}, {label: 不称职, points: 40}]
    abstain: 不了解
forms:
  - {id: team, title: 班子测评, rates: team, scale: grade, items: [甲]}
  - {id: members, title: 成员测评, rates: members, scale: grade, items: [德]}
categories:
  - {id: bz, name: 本单位班子成员, weight: 50, recuse: true}
  - {id: staff, name: 干部职工, weight: 50}
units:
  - id: u1
    name: 单位一
    type: T
    members:
      - {id: m1, name: 张三, post: 局长, principal: true}
      - {id: m2, name: 李四, post: 副局长}
      - {id: m3, name: 王五, post: 副局长}
`

// TestSchemeRecusal: "recuse: true … issues one slip for that member …
// the ballot never shows the holder's own rows"; "A small group is counted
// per unit, over the ballots of that category that rated the unit (a
// recusal category counts its ballots, not the rows of one member)".
//
// Three slips of bz (voted 3 = min_group: not small), stored as records:
//
//	m1's slip: team 优秀, m2 优秀, m3 称职
//	m2's slip: team 优秀, m1 优秀, m3 基本称职
//	m3's slip: team 称职, m1 称职, m2 优秀
//	bz means: team (100+100+80)/3 = 280/3; m1 (100+80)/2 = 90; m2 100;
//	          m3 (80+60)/2 = 70
//	staff (3): 称职 ×4, 称职 ×4, 基本称职 ×4 → 220/3 on every row
//	team = (50·280/3 + 50·220/3)/100 = 250/3 → 83.33, component 50/3 → 16.67
//	m1 = (90 + 220/3)/2 = 245/3 → 81.67
//	m2 = (100 + 220/3)/2 = 260/3 → 86.67
//	m3 = (70 + 220/3)/2 = 215/3 → 71.67
//	ballots: 3 (bz) + 3 (staff) = 6, not 3 + 9 records; no small_group
//	(each member's rows have only 2 ballots, but the group is the 3 slips).
func TestSchemeRecusal(t *testing.T) {
	def := parseDef(t, recuseDef)
	u1 := &def.Units[0]
	var parts []string
	for _, p := range def.RecordParts(u1, "bz") {
		parts = append(parts, fmt.Sprintf("%q %v", p.ID, p.Slots))
	}
	if diff := cmp.Diff([]string{`"" [0]`, `"m1" [1]`, `"m2" [2]`, `"m3" [3]`}, parts); diff != "" {
		t.Fatalf("record parts (-want +got):\n%s", diff)
	}
	c := NewCounter(def)
	rec := func(part string, answer byte) {
		t.Helper()
		if err := c.AddRecord("bz", survey.NewRecord("u1", part, []byte{answer})); err != nil {
			t.Fatal(err)
		}
	}
	// m1's slip, m2's slip, m3's slip (0 = 优秀, 1 = 称职, 2 = 基本称职).
	rec("", 0)
	rec("m2", 0)
	rec("m3", 1)
	rec("", 0)
	rec("m1", 0)
	rec("m3", 2)
	rec("", 1)
	rec("m1", 1)
	rec("m2", 0)
	for _, v := range []vote{{"u1", "staff", "BBBB"}, {"u1", "staff", "BBBB"}, {"u1", "staff", "CCCC"}} {
		if err := c.Add(v.unit, v.cat, v.bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Ballots(); n != 6 {
		t.Errorf("counter ballots: got %d, want 6", n)
	}
	docs, err := c.Documents(Turnout{"u1": {"bz": {3, 3}, "staff": {3, 3}}}, Meta{RoundID: "r1", SealedAt: "2026-01-20T09:30:00Z"})
	if err != nil {
		t.Fatalf("documents: %v (a recusal slip must count as one ballot)", err)
	}
	u := unitByID(t, docs, "u1")
	if diff := cmp.Diff(unitView{Score: "83.33", Component: "16.67", Rank: "1/1", Flags: []string{}}, viewUnit(u)); diff != "" {
		t.Errorf("unit (-want +got):\n%s", diff)
	}
	var got []string
	for _, s := range u.Subjects {
		got = append(got, s.ID+" "+s.Score.String())
	}
	if diff := cmp.Diff([]string{"team 83.33", "m1 81.67", "m2 86.67", "m3 71.67"}, got); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	if u.Ballots != 6 || u.BreakdownWithheld || u.Categories[0].Withheld {
		t.Errorf("got ballots %d, breakdown withheld %v, bz withheld %v; want 6, false, false",
			u.Ballots, u.BreakdownWithheld, u.Categories[0].Withheld)
	}
	// The pooled counts of m1's row hold bz's 2 records and staff's 3.
	m1 := u.Subjects[1].Forms[0].Items[0]
	if m1.Valid != 5 {
		t.Errorf("m1 德: got %d valid votes, want 5 (2 bz + 3 staff)", m1.Valid)
	}
}

// TestSchemeDefinitionRejects: "A form in no component and not `scored:
// false` is an error"; "components: … categories then carry no weight".
func TestSchemeDefinitionRejects(t *testing.T) {
	tests := []struct{ name, def string }{
		{"a scored form in no component", replace(compDef,
			"  - {id: team, title: 班子测评,", "  - {id: extra, title: 附加, rates: team, scale: grade, items: [丙]}\n  - {id: team, title: 班子测评,")},
		{"a category weight beside components", replace(compDef, "{id: service, name: 服务对象}", "{id: service, name: 服务对象, weight: 100}")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := survey.ParseDefinition([]byte(tt.def)); err == nil {
				t.Errorf("got no error, want the definition rejected")
			}
		})
	}
	// The same definition with the extra form marked scored: false is valid.
	parseDef(t, replace(compDef,
		"  - {id: team, title: 班子测评,", "  - {id: extra, title: 附加, rates: team, scale: grade, items: [丙], scored: false}\n  - {id: team, title: 班子测评,"))
}
