package sqlite

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"minping/survey/storetest"
)

// TestStore runs the behaviour every store must have against SQLite.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, o storetest.Options) storetest.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "minping.db"), Options{CodeKey: bytes.Repeat([]byte{7}, 32), Now: o.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
