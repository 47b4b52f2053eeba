package bench

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestBenchFlagsRefused checks that each bad flag is refused with an error
// naming it, before anything starts.
func TestBenchFlagsRefused(t *testing.T) {
	for _, tc := range []struct{ args []string }{
		{[]string{"-clients", "0"}},
		{[]string{"-clients", "64,x"}},
		{[]string{"-duration", "0s"}},
		{[]string{"-rounds", "0"}},
		{[]string{"-duration", "50ms", "-rounds", "10"}},
		{[]string{"-codes", "10"}},
		{[]string{"extra"}},
	} {
		_, err := ParseFlags(tc.args, io.Discard)
		var usage UsageError
		if !errors.As(err, &usage) {
			t.Errorf("%v: got %v, want a usage error", tc.args, err)
			continue
		}
		if name := strings.TrimPrefix(tc.args[0], "-"); !strings.Contains(err.Error(), name) {
			t.Errorf("%v: %q does not name %s", tc.args, err, name)
		}
	}
	if _, err := ParseFlags([]string{"-clients", "8", "-duration", "1s", "-rounds", "4"}, io.Discard); err != nil {
		t.Errorf("good flags refused: %v", err)
	}
}
