package host

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

const selftestUsage = `usage: weir selftest [--short | --seeds N] [--defect NAME,...] [flags]

Proves that the simulator's checkers catch a broken broker or processing
application: plants each defect of the broker, then each of the workloads'
processing applications (payments/no-transaction, ...: their workload runs
instead of the queue, 15 virtual seconds, payments 20) in turn (weir sim --list-defects)
and runs seeds of the simulated cluster, 1, 2, ..., until a run is not
valid; replays that seed
to the same trace; then runs the same seeds without a defect, which must
all be valid. Prints a table: the defect, what it breaks, the checker that
should catch it and the one that did, the first seed that caught it, how
many seeds that took, wall time, and whether it replays.

  weir selftest                       every defect, the default fault mix, up to 100 seeds each
  weir selftest --full --markdown     every seed of the budget: catch rates, as a Markdown table
  weir selftest --short               the short form make test runs (five defects, a few seeds each)
  weir selftest --defect ack-before-fsync --faults crash
  weir selftest --defect payments/no-transaction,vitals/hold-alerts --parallel 1

Runs that caught a defect are kept in --out/<defect>/seed-N (with the
replay in replay/). Exit code: 0 when every defect was caught within its
budget by a seed that replays and no run without a defect failed, else 1;
2 for bad flags, 3 when the guest cannot be built.

`

// SelftestCommand is `weir selftest`. The weir binary's dispatch table
// calls it.
func SelftestCommand(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("weir selftest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		shortForm = fs.Bool("short", false, "the short form: a few defects, a few seeds each (what make test runs)")
		seeds     = fs.Int("seeds", DefaultSelftestSeeds, "seed budget per defect: seeds 1..N")
		defects   = fs.String("defect", "", "comma-separated defects to plant (default: all; see weir sim --list-defects)")
		faults    = fs.String("faults", "", "the guest's --faults for every run (default: the seed chooses, as in weir sim)")
		duration  = fs.Duration("duration", 0, "the guest's --duration for every run (default: the guest's, 60s)")
		full      = fs.Bool("full", false, "run every seed of the budget, to measure catch rates")
		parallel  = fs.Int("parallel", 0, "runs at once (default: up to 2)")
		out       = fs.String("out", "runs/selftest", "folder for the runs that caught a defect")
		markdown  = fs.Bool("markdown", false, "print the table as Markdown")
		guestFile = fs.String("guest", "", "run this prebuilt guest .wasm instead of building one from the source tree")
		quiet     = fs.Bool("quiet", false, "no line per run on stderr")
	)
	fs.Usage = func() {
		fmt.Fprint(stderr, selftestUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprint(stdout, selftestUsage)
			fs.PrintDefaults()
			return 0
		}
		return 2
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "weir selftest: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if *seeds < 1 {
		return usageErr("--seeds must be at least 1")
	}
	var guestArgs []string
	if *faults != "" {
		guestArgs = append(guestArgs, "--faults", *faults)
	}
	if *duration > 0 {
		guestArgs = append(guestArgs, "--duration", duration.String())
	}
	var cases []SelftestCase
	if *shortForm {
		if *faults != "" || *duration > 0 || *full {
			return usageErr("--short has its own faults, durations and budgets")
		}
		cases = ShortSelftestCases()
	} else {
		cases = FullSelftestCases(*seeds)
		for i := range cases {
			cases[i].Args = overrideFlags(cases[i].Args, guestArgs)
		}
	}
	if *defects != "" {
		want := strings.Split(*defects, ",")
		for _, d := range want {
			if !slices.Contains(AllDefectNames(), strings.TrimSpace(d)) {
				return usageErr("unknown defect %q (known: %s)", strings.TrimSpace(d), strings.Join(AllDefectNames(), ", "))
			}
		}
		var kept []SelftestCase
		for _, c := range cases {
			for _, d := range want {
				if strings.TrimSpace(d) == c.Defect {
					kept = append(kept, c)
				}
			}
		}
		if len(kept) == 0 {
			return usageErr("--defect %s: not in the %s form", *defects, map[bool]string{true: "short", false: "full"}[*shortForm])
		}
		cases = kept
	}

	var g *Guest
	var err error
	if *guestFile != "" {
		g, err = LoadGuest(*guestFile)
	} else {
		g, err = BuildGuest(ctx, BuildOptions{Log: stderr})
	}
	if err != nil {
		fmt.Fprintf(stderr, "weir selftest: %v\n", err)
		return ExitHarness
	}
	r, err := NewRunner(ctx, g, "")
	if err != nil {
		fmt.Fprintf(stderr, "weir selftest: %v\n", err)
		return ExitHarness
	}
	defer r.Close(context.Background())
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "weir selftest: %v\n", err)
		return ExitHarness
	}
	cfg := SelftestConfig{Cases: cases, Parallel: *parallel, Full: *full, Out: *out}
	if !*quiet {
		cfg.Progress = stderr
	}
	rep := RunSelftest(ctx, r, cfg)
	WriteSelftestTable(stdout, rep, *markdown, *full)
	if !rep.OK {
		return 1
	}
	return 0
}

// overrideFlags is args with over's flags in place of the same flags in
// args: --duration 20s given to the selftest replaces a workload defect's
// own --duration 15s, rather than following it. A flag is followed by its
// value, or stands alone (a boolean, --lone-leader, or --name=value): it
// stands alone when the next word is a flag too, or there is none.
func overrideFlags(args, over []string) []string {
	replaced := map[string]bool{}
	for _, f := range splitFlags(over) {
		replaced[flagName(f[0])] = true
	}
	var out []string
	for _, f := range splitFlags(args) {
		if !replaced[flagName(f[0])] {
			out = append(out, f...)
		}
	}
	return append(out, over...)
}

// splitFlags groups args into flags, each with its value if it has one
// (see overrideFlags).
func splitFlags(args []string) [][]string {
	var out [][]string
	for i := 0; i < len(args); i++ {
		if strings.Contains(args[i], "=") || i+1 == len(args) || isFlag(args[i+1]) {
			out = append(out, args[i:i+1])
			continue
		}
		out = append(out, args[i:i+2])
		i++
	}
	return out
}

// isFlag reports whether arg is a flag rather than a value: it starts
// with a dash, and is not a negative number or duration (--rate -1 is a
// flag with its value).
func isFlag(arg string) bool {
	return len(arg) > 1 && arg[0] == '-' && !strings.ContainsRune("0123456789.", rune(arg[1]))
}

// flagName is a flag's name without an =value.
func flagName(arg string) string {
	name, _, _ := strings.Cut(arg, "=")
	return name
}
