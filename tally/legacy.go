package tally

import (
	"math/big"
	"slices"

	"minping/survey"
)

// legacyPlace is v1's rule, kept for rounds frozen under it so that
// their recount gives the sealed bytes: it ranks the units with a score
// within each unit type by the score as printed, best first, equal
// printed scores sharing a rank, and hands out the quota grades in rank
// order. It grades no member.
func legacyPlace(def *survey.Definition, units []standing) []placing {
	out := make([]placing, len(units))
	score := func(i int) *big.Rat { return units[i].unit.Value }
	for _, idx := range groupsBy(len(units), func(i int) string { return units[i].typ }, survey.WithinType) {
		var scored []int
		for _, i := range idx {
			out[i].rankOf = len(idx)
			if score(i) != nil {
				scored = append(scored, i)
			}
		}
		// Stable: units printing the same score keep definition order.
		slices.SortStableFunc(scored, func(a, b int) int {
			return printedCmp(score(b), score(a), scorePlaces)
		})
		// groups of units sharing a rank
		var groups [][]int
		for k, i := range scored {
			if k > 0 && printedCmp(score(i), score(scored[k-1]), scorePlaces) == 0 {
				groups[len(groups)-1] = append(groups[len(groups)-1], i)
			} else {
				groups = append(groups, []int{i})
			}
		}
		rank := 1
		for _, g := range groups {
			for _, i := range g {
				r := rank
				out[i].unit.Rank = &r
			}
			rank += len(g)
		}
		grades := quotaGrades(def.Grading.Grades, groupSizes(groups))
		for gi, g := range groups {
			if grades == nil {
				break
			}
			for _, i := range g {
				name := grades[gi]
				out[i].unit.Grade = &name
			}
		}
	}
	return out
}

func groupSizes(groups [][]int) []int {
	out := make([]int, len(groups))
	for i, g := range groups {
		out[i] = len(g)
	}
	return out
}

// quotaGrades returns the grade of each group of units sharing a rank, in
// rank order, or nil when the round has no grading. N is the number of units
// graded; grade k takes at most floor(N × share_k ÷ 100) units, a cap of its
// own; a group that does not fit in the current grade's remaining places
// moves down to the next grade (and may move down again), and the grade is
// then closed, since a later group cannot be graded above an earlier one.
// The last grade takes the rest.
func quotaGrades(grading []survey.Grade, groups []int) []string {
	if len(grading) == 0 {
		return nil
	}
	n := 0
	for _, g := range groups {
		n += g
	}
	out := make([]string, len(groups))
	k := 0
	left := gradeCap(grading, 0, n)
	for gi, size := range groups {
		for k < len(grading)-1 && size > left {
			k++
			left = gradeCap(grading, k, n)
		}
		out[gi] = grading[k].Grade
		left -= size
	}
	return out
}

// gradeCap returns floor(n × share ÷ 100) for grade k; the last grade has
// no cap.
func gradeCap(grading []survey.Grade, k, n int) int {
	g := grading[k]
	if g.Share == nil {
		return n
	}
	v := new(big.Rat).Mul(g.Share.Rat(), big.NewRat(int64(n), 100))
	return int(new(big.Int).Quo(v.Num(), v.Denom()).Int64())
}
