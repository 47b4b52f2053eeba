package survey

import (
	"os"
	"path/filepath"
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
