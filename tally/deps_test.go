package tally

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPure: tally is pure computation, so it links no database, no ORM and
// no cgo — survey's vocabulary, not its store. It asks the go command,
// which the test run itself comes from.
func TestPure(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the go command is not on PATH")
		}
		t.Skip("the go command is not on PATH: install Go to run this check")
	}
	out, err := exec.Command(goCmd, "list", "-deps", "minping/tally").Output()
	if err != nil {
		t.Fatalf("go list -deps minping/tally: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/mattn/go-sqlite3", "gorm.io/", "runtime/cgo", "minping/survey/sqlite", "golang.org/x/crypto/argon2", "github.com/gin-gonic/"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("tally depends on %s", dep)
			}
		}
	}
}
