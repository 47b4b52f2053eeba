package tally

import (
	"math/big"
	"strings"

	"minping/survey"
)

// FlagText explains a flag in Chinese for a report. The share flags name the
// options of form's scale and the round's threshold ("不称职票超过三分之一",
// "优秀和称职票合计低于三分之二"); with a nil form they speak of the lowest
// and the two best options in general. An unknown flag is returned as is.
func FlagText(def *survey.Definition, form *survey.Form, flag string) string {
	var sc *survey.Scale
	if form != nil {
		sc = def.Scale(form.Scale)
	}
	switch flag {
	case FlagLowestOver:
		lowest := "最低等次"
		if sc != nil {
			lowest = sc.Options[len(sc.Options)-1].Label
		}
		return lowest + "票超过" + fraction(def.Rules.FlagLowestOver.Rat())
	case FlagTopTwoUnder:
		top := "最好两个等次"
		if sc != nil {
			top = sc.Options[0].Label + "和" + sc.Options[1].Label
		}
		return top + "票合计低于" + fraction(def.Rules.FlagTopTwoUnder.Rat())
	case FlagQuorumNotMet:
		return "参评率未达到法定比例（" + fraction(def.Rules.Quorum.Rat()) + "）"
	case FlagReweighted:
		return "部分类别无有效票，权重已重新分配"
	case FlagSmallGroup:
		return "部分类别人数过少，分项结果不予显示"
	}
	return flag
}

// FlagTexts explains the flags of a unit or subject: each share flag once
// per form of forms that raised it (prefixed with the form's title when
// there are several forms), then the other flags. For a unit, pass its flags
// and its team's forms.
func FlagTexts(def *survey.Definition, flags []string, forms []FormResult) []string {
	var out []string
	has := func(f string) bool {
		for _, g := range flags {
			if g == f {
				return true
			}
		}
		return false
	}
	for _, flag := range flagOrder {
		if !has(flag) {
			continue
		}
		if flag != FlagLowestOver && flag != FlagTopTwoUnder {
			out = append(out, FlagText(def, nil, flag))
			continue
		}
		found := false
		for _, fr := range forms {
			for _, g := range fr.Flags {
				if g != flag {
					continue
				}
				found = true
				text := FlagText(def, formByID(def, fr.ID), flag)
				if len(forms) > 1 {
					text = fr.Title + "：" + text
				}
				out = append(out, text)
			}
		}
		if !found {
			out = append(out, FlagText(def, nil, flag))
		}
	}
	return out
}

func formByID(def *survey.Definition, id string) *survey.Form {
	for i := range def.Forms {
		if def.Forms[i].ID == id {
			return &def.Forms[i]
		}
	}
	return nil
}

// fraction writes a proportion as a reader expects it: a percentage when it
// has a finite decimal form (0.8 → 80%), a Chinese fraction when its
// denominator is at most ten (2/3 → 三分之二), else a rounded percentage.
func fraction(r *big.Rat) string {
	pct := new(big.Rat).Mul(r, big.NewRat(100, 1))
	if s, ok := survey.FiniteDecimal(pct); ok {
		return s + "%"
	}
	if r.Denom().IsInt64() && r.Denom().Int64() <= 10 && r.Num().Cmp(r.Denom()) < 0 && r.Sign() > 0 {
		return chineseDigit(r.Denom().Int64()) + "分之" + chineseDigit(r.Num().Int64())
	}
	return strings.TrimRight(strings.TrimRight(fixed(pct, 2), "0"), ".") + "%"
}

func chineseDigit(n int64) string {
	return []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}[n]
}
