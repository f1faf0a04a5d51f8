package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/weir-dev/weir/bench/driver"
	"github.com/weir-dev/weir/bench/harness"
	"github.com/weir-dev/weir/bench/results"
	"github.com/weir-dev/weir/bench/spec"
	"github.com/weir-dev/weir/cli"
)

const benchUsage = `usage: weir bench --spec FILE --out DIR [flags]
       weir bench compare BASELINE.json NEW.json [--max-regression 5%]

Runs a workload spec (bench/specs/*.yaml) against each target in turn, with
the same client settings, and writes DIR/results.json (schema: package
bench/results) and a summary table. Targets: embedded (an in-process Weir
broker on a temporary data directory; the default), null (the protocol-only
null broker: the client's ceiling; consumers are skipped), external=HOST:PORT
(any Kafka-compatible cluster; --bootstrap alone selects it).

A spec with a workload: section (bench/specs/clickstream.yaml,
payments.yaml, vitals.yaml) runs that workload's producers and processing
application instead, and measures its acknowledged sends/s, processed
records/s and end-to-end latency to the committed output from its history
(embedded and external targets only).

compare exits 1 when a throughput dropped or a latency rose by more than
--max-regression AND more than the baseline's own run-to-run spread
(run with --repeat N to record it), comparing medians over runs.

`

func bench(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "compare" {
		return benchCompare(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	var (
		specFile  = fs.String("spec", "", "workload spec (YAML); required")
		duration  = fs.Duration("duration", 0, "measured duration, overriding the spec's")
		warmup    = fs.Duration("warmup", -1, "warm-up, overriding the spec's")
		targets   = fs.String("targets", "", "comma-separated: embedded, null, external=HOST:PORT (default embedded, or external with --bootstrap)")
		bootstrap = fs.String("bootstrap", "", "HOST:PORT of an external cluster")
		out       = fs.String("out", "", "directory for results.json; required")
		repeat    = fs.Int("repeat", 1, "runs per target (compare uses the median and spread)")
		quiet     = fs.Bool("quiet", false, "no progress line even on a terminal")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cli.ExitOK
		}
		return cli.ExitUsage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "weir bench: "+format+"\n", a...)
		return cli.ExitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *specFile == "":
		return usageErr("--spec is required")
	case *out == "":
		return usageErr("--out is required")
	case *repeat < 1:
		return usageErr("--repeat %d: want at least 1", *repeat)
	case *duration < 0:
		return usageErr("--duration %v: negative", *duration)
	}
	ts, err := harness.ParseTargets(*targets, *bootstrap)
	if err != nil {
		return usageErr("--targets: %v", err)
	}
	s, err := spec.Load(*specFile)
	if err != nil {
		fmt.Fprintf(stderr, "weir bench: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return cli.ExitError
	}
	if *duration > 0 {
		s.Duration = spec.Duration(*duration)
	}
	if *warmup >= 0 {
		s.Warmup = spec.Duration(*warmup)
	}
	if err := s.Validate(); err != nil {
		fmt.Fprintf(stderr, "weir bench: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return cli.ExitError
	}

	opts := harness.Options{
		Spec:    s,
		Targets: ts,
		Repeat:  *repeat,
		Command: "weir bench " + strings.Join(args, " "),
		Logf:    func(format string, a ...any) { fmt.Fprintf(stderr, "weir bench: "+format+"\n", a...) },
	}
	var p *progressLine
	if !*quiet && isTerminal(stderr) && os.Getenv("CI") == "" {
		p = &progressLine{w: stderr}
		opts.Progress = p.update
		opts.Logf = func(format string, a ...any) {
			p.clear()
			fmt.Fprintf(stderr, "weir bench: "+format+"\n", a...)
		}
	}
	f, runErr := harness.Run(ctx, opts)
	if p != nil {
		p.clear()
	}
	if f != nil {
		path, err := f.Write(*out)
		if err != nil {
			fmt.Fprintf(stderr, "weir bench: %v\n", err)
			return cli.ExitError
		}
		f.PrintSummary(stdout)
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "weir bench: %s\n", strings.ReplaceAll(runErr.Error(), "\n", "; "))
		return cli.ExitError
	}
	return cli.ExitOK
}

func benchCompare(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	maxReg := fs.String("max-regression", "5%", "largest tolerated change for the worse, as 5% or 0.05")
	// Flags may come before, between or after the two files.
	var pos []string
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
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 2 {
		fmt.Fprintf(stderr, "weir bench compare: want BASELINE.json NEW.json, got %d argument(s)\n", len(pos))
		return cli.ExitUsage
	}
	threshold, err := parseFraction(*maxReg)
	if err != nil {
		fmt.Fprintf(stderr, "weir bench compare: --max-regression: %v\n", err)
		return cli.ExitUsage
	}
	base, err := results.Read(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "weir bench compare: %v\n", err)
		return cli.ExitError
	}
	cur, err := results.Read(pos[1])
	if err != nil {
		fmt.Fprintf(stderr, "weir bench compare: %v\n", err)
		return cli.ExitError
	}
	if base.Spec.Name != cur.Spec.Name {
		fmt.Fprintf(stdout, "note: different specs: %s vs %s\n", base.Spec.Name, cur.Spec.Name)
	}
	c := results.Compare(base, cur, threshold)
	c.Print(stdout)
	if len(c.Rows) == 0 {
		fmt.Fprintln(stderr, "weir bench compare: no target in common")
		return cli.ExitError
	}
	if c.Regressed() {
		return cli.ExitError
	}
	return cli.ExitOK
}

// parseFraction reads "5%" as 0.05 and "0.05" as 0.05.
func parseFraction(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("%q: want a percentage such as 5%%", s)
	}
	if pct {
		v /= 100
	}
	if v < 0 || v >= 10 {
		return 0, fmt.Errorf("%q: out of range", s)
	}
	return v, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressLine is a one-line status rewritten in place on a terminal.
type progressLine struct {
	w     io.Writer
	shown bool
}

func (p *progressLine) update(target string, run, runs int, s driver.Sample) {
	remaining := max(s.TotalSec-s.Sec, 0)
	line := fmt.Sprintf("%s run %d/%d [%s] %s elapsed, %s left: %.0f rec/s produced (%.1f MB/s), %.0f rec/s consumed",
		target, run, runs, s.Phase,
		(time.Duration(s.Sec) * time.Second).Round(time.Second),
		(time.Duration(remaining * float64(time.Second))).Round(time.Second),
		s.ProducedRecordsPerSec, s.ProducedMBPerSec, s.ConsumedRecordsPerSec)
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.shown = true
}

func (p *progressLine) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
