package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/weir-dev/weir/cli"
	"github.com/weir-dev/weir/reports/html"
)

const reportUsage = `usage: weir report DIR... --out OUT [flags]

Scans each DIR (recursively) for benchmark results (results.json, from
weir bench) and simulation run folders (header.json + verdict.json, from
weir sim) and writes one self-contained HTML report, OUT/report.html, with
its plots (PNG and SVG) beside it in OUT.

`

func report(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, reportUsage)
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "output folder for report.html and its plots; required")
	title := fs.String("title", "", "the report's title (default \"Weir report\")")
	noPlots := fs.Bool("no-plots", false, "tables only, no plots")
	noRunPlots := fs.Bool("no-run-plots", false, "no plots of each simulation run, only those over all runs (recovery): for a sweep's hundreds of runs")
	// Flags may come before, between or after the folders.
	var dirs []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return cli.ExitOK
			}
			return cli.ExitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		dirs = append(dirs, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *out == "" || len(dirs) == 0 {
		fmt.Fprintln(stderr, "weir report: want at least one DIR and --out OUT")
		return cli.ExitUsage
	}
	path, r, err := html.Write(dirs, *out, html.Options{Title: *title, NoPlots: *noPlots, NoRunPlots: *noRunPlots})
	if err != nil {
		fmt.Fprintf(stderr, "weir report: %v\n", err)
		return cli.ExitError
	}
	for _, e := range r.Errors {
		fmt.Fprintf(stderr, "weir report: skipped: %s\n", e)
	}
	fmt.Fprintf(stdout, "%d benchmark result(s), %d simulation run(s)\nwrote %s\n", len(r.Benches), len(r.Sims), path)
	return cli.ExitOK
}
