package server

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestSecondServerRefused: while one minping serves a data directory, a
// second Serve on it stops with a message saying why, and the
// first keeps serving. Once the first has stopped, the directory can be
// served again.
func TestSecondServerRefused(t *testing.T) {
	m := startMinping(t)
	var out, errs bytes.Buffer
	cfg := Config{Addr: "127.0.0.1:0", Data: m.data}
	err := Serve(context.Background(), cfg, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "another minping is already serving") {
		t.Fatalf("second serve: got %v, want a refusal naming the other minping\n%s%s", err, out.String(), errs.String())
	}
	if r := testRequest(t, m.base, "GET", "/healthz", "", nil); r.status != 200 {
		t.Errorf("the first minping stopped answering: %d", r.status)
	}
	m.stop()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var again testOutput
	go func() {
		done <- Serve(ctx, cfg, &again, &testOutput{})
	}()
	deadline := time.After(60 * time.Second)
	for !servingLineRE.MatchString(again.String()) {
		select {
		case err := <-done:
			t.Fatalf("once the first had stopped, serving the directory again failed: %v", err)
		case <-deadline:
			t.Fatal("the directory was not served again within 60 s")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("the second Serve: %v", err)
	}
}
