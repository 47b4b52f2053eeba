// Command minping runs the anonymous democratic evaluation (民主测评) service:
// `minping serve` (the default) serves voters, organisers and appraisal
// groups; `minping verify` checks a sealed document's signature offline.
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
