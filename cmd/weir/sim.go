package main

import (
	"context"
	"io"

	"github.com/weir-dev/weir/sim/host"
)

// sim is `weir sim`. Its logic lives in sim/host (Command), next to the
// runner it drives, so that its tests run there in-process.
func sim(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return host.Command(ctx, args, stdin, stdout, stderr)
}

// selftest is `weir selftest`, in sim/host (SelftestCommand) with the
// runner it drives.
func selftest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return host.SelftestCommand(ctx, args, stdin, stdout, stderr)
}
