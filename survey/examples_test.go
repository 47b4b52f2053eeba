package survey

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplesValidate parses every shipped example: each must be a
// complete definition that validates, with no warning.
func TestExamplesValidate(t *testing.T) {
	files, err := filepath.Glob("../assets/examples/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("examples: %v, %v (want the v1 example and the three §5 ones)", files, err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ParseDefinition(src)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if w := d.Warnings(); len(w) > 0 {
			t.Errorf("%s: warnings %v", filepath.Base(f), w)
		}
	}
}

// TestLongMemberSheetWarns: a category whose one slip rates many units'
// members on a phone is allowed, with a warning naming it, and no error.
func TestLongMemberSheetWarns(t *testing.T) {
	var b strings.Builder
	b.WriteString(`name: 长表
component: {name: 干部群众评价, points: 20}
scales: [{id: g, options: [{label: 好, points: 100}, {label: 差, points: 0}]}]
forms:
  - {id: m, title: 班子成员, rates: members, scale: g, items: [德, 能, 勤, 绩, 廉]}
categories:
  - {id: leaders, name: 区领导, weight: 100, sheet: all}
units:
`)
	for i := range 10 {
		fmt.Fprintf(&b, "  - {id: u%d, name: 单位%d, type: T, members: [{id: u%d-1, name: 甲}, {id: u%d-2, name: 乙}, {id: u%d-3, name: 丙}, {id: u%d-4, name: 丁}, {id: u%d-5, name: 戊}]}\n", i, i, i, i, i, i, i)
	}
	d, err := ParseDefinition([]byte(b.String()))
	if err != nil {
		t.Fatalf("a long member sheet must not be an error: %v", err)
	}
	w := d.Warnings()
	// 10 units × 5 members × 5 rows = 250 answers > 200.
	if len(w) != 1 || w[0].Path != "categories[0]" || !strings.Contains(w[0].Message, "250") {
		t.Errorf("warnings %v, want one on categories[0] saying 250", w)
	}
}
