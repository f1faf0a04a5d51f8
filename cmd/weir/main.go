package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/weir-dev/weir/cli"
	"github.com/weir-dev/weir/runfolder/rejudge"
	"github.com/weir-dev/weir/workloads/realrun"
)

// command is one row of the dispatch table.
type command struct {
	name    string
	summary string
	run     cli.Func
}

// commands is the dispatch table, in the order `weir help` lists them. Add a
// subcommand by adding a row.
func commands() []command {
	return []command{
		{"serve", "run a broker", serve},
		{"topics", "create, list, describe, alter and delete topics", cli.Topics},
		{"cluster", "describe the cluster: brokers and the metadata quorum", cli.Cluster},
		{"leaders", "elect partition leaders: preferred or unclean", cli.Leaders},
		{"produce", "write lines from stdin to a topic", cli.Produce},
		{"consume", "print a topic's records", cli.Consume},
		{"groups", "list, describe, reset offsets of and delete consumer groups", cli.Groups},
		{"transactions", "list and describe transactions and a partition's producers", cli.Transactions},
		{"sim", "run the deterministic simulation for one seed or a sweep", sim},
		{"selftest", "plant each known defect in the simulated broker and show which checker catches it", selftest},
		{"workload", "run a workload against a real cluster, writing a run folder", realrun.Command},
		{"check", "judge a run folder again (simulated or not)", rejudge.Command},
		{"bench", "run a benchmark spec against targets; compare results", bench},
		{"report", "write an HTML report of benchmark results and simulation runs", report},
		{"version", "print the version", cli.Version},
	}
}

// serve adapts runServe (serve.go) to the table's shape.
func serve(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return runServe(ctx, args, stdout, stderr)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a
		// second one kills a command that is slow to stop.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches args (without the program name) and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return cli.ExitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(stdout)
			return cli.ExitOK
		}
		name, rest = rest[0], []string{"--help"}
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, rest, stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "weir: unknown command %q (run \"weir help\" for the list)\n", name)
	return cli.ExitUsage
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("usage: weir <command> [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun \"weir <command> --help\" for a command's flags.\n")
	io.WriteString(w, b.String())
}
