// Command minping runs the anonymous democratic evaluation (民主测评)
// service: `minping serve` (the default) serves voters, organisers and
// appraisal groups; verify checks a sealed document's signature offline;
// recount re-derives a sealed round's documents from its ballots; compact
// empties a data directory's write-ahead log; bench load-tests minping on
// loopback; version says what was built. `minping --help` lists them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "minping:", err)
		os.Exit(exitCode(err))
	}
}
