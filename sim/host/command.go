package host

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/runfolder"
	"github.com/weir-dev/weir/workloads/registry"
)

const commandUsage = `usage: weir sim [--seed N | --seeds RANGE | --replay DIR] [flags]

Runs the deterministic simulation: the guest (cmd/weir-sim, built for
wasip1) under wazero, once per seed, with a virtual clock and a random
source derived from the seed. A run is a pure function of its seed and the
guest build: the same seed replays the same trace.

  weir sim --seed 42                      one run; prints SEED=42 and its parameters
  weir sim --seeds 1-500 --parallel 2     a sweep; a table of failing seeds at the end
  weir sim --replay runs/seed-42          rerun from the header; does the trace match?
  weir sim --seeds 1-300 --defect NAME    a planted defect (see --list-defects)
  weir sim --seed 3 --workload payments --defect payments/no-transaction
                                          a processing application's defect
  weir sim --seed 7 --workload clickstream,queue   workloads side by side (default: queue)
  weir sim --seeds 1-100000 --shard 3/8   the 3rd of 8 disjoint slices (one CI job each)
  weir sim --seeds 1-50 --check-determinism   each seed twice: the traces must match
  weir sim --seeds 1-20 --controllers dedicated   the metadata quorum on 3 controller-only
                                          nodes (default: the seed chooses, on a third)
  weir sim --seed 7 --rate 5000           the queue's sends per virtual second across its
                                          producers (default: the seed draws 100-2000)
  weir sim --seeds 1-20 --faults crash --acks 1   a configuration documented to lose
                                          writes (also --unclean-election, --no-fsync):
                                          lost writes are allowed, and counted

Each run writes a folder (--out, default runs/seed-N): header.json,
summary.txt, trace.log, history.jsonl, faults.jsonl (each fault applied,
at virtual seconds since the start), verdict.json, stdout.log, stderr.log.
A single run prints the checks it ran (CHECKS=) and the faults that fired
(FAULTS=) before its verdict.
Exit code: 0 every seed valid, else the worst: 1 invalid, 2 liveness,
3 harness error.

weir sim is a developer tool: without --guest it builds the guest from the
Weir source tree it is run in, with the Go toolchain on PATH, caching the
build and wazero's compiled code in $WEIR_CACHE (default: the user cache
folder's weir/).

`

// Command is `weir sim`. The weir binary's dispatch table calls it.
func Command(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("weir sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		seed        = fs.String("seed", "", "run this one seed (default: a random seed, printed)")
		seedsFlag   = fs.String("seeds", "", "run these seeds, e.g. 1-500 or 3,7,10-20")
		parallel    = fs.Int("parallel", 0, "runs at once in a sweep (default GOMAXPROCS)")
		replay      = fs.String("replay", "", "rerun the run in this folder from its header.json and compare traces")
		out         = fs.String("out", "", "run folder (one seed; default runs/seed-N), or parent of the seed-N folders (sweep; default runs), or the replay's folder (default DIR/replay)")
		listDefects = fs.Bool("list-defects", false, "list the planted defects and exit")
		guestFile   = fs.String("guest", "", "run this prebuilt guest .wasm instead of building one from the source tree")
		budget      = fs.Duration("budget", DefaultBudget, "virtual-time budget of a run; past it the run is a harness error")
		wallCap     = fs.Duration("wall-cap", DefaultWallCap, "wall-clock time after which a run is stopped as a harness error")
		keep        = fs.Bool("keep-passing", false, "in a sweep, keep the folders of valid runs too (default: only failing runs' folders are kept)")
		shard       = fs.String("shard", "", "K/N: run only the K-th of N disjoint slices of the seeds (1 <= K <= N), to split a sweep across machines")
		twice       = fs.Bool("check-determinism", false, "run each seed twice and fail (exit 3) where the two traces differ")
		spinCheck   = fs.Bool("spin-check", false, "compile the guest with wazero's termination checks (about twice the CPU): a guest that spins without reading its clock is then a harness error at the wall cap; without them weir sim exits when one does (header.json of its run folder names the seed)")
	)
	// The guest's flags: passed on only when given, so that the guest's
	// defaults and the seed decide the rest.
	fs.String("faults", "", "comma-separated fault kinds: "+faults.All.String()+"; or all, or none (default: the seed chooses)")
	fs.Duration("duration", 0, "virtual length of the safety phase (default: the guest's, 60s)")
	fs.String("workload", "", "workloads to run side by side, comma-separated: "+strings.Join(registry.Names(), ", ")+" (default: the guest's, queue)")
	fs.String("defect", "", "switch on a planted defect: the broker's, or a workload's as <workload>/<defect> (see --list-defects)")
	fs.String("scenario", "", "guest scenario (selftest tests the harness itself)")
	fs.String("txn", "", "the queue workload's transactional mode: seed, on or off (default: the guest's, seed: a quarter of the seeds)")
	fs.String("group", "", "the consumer groups: the queue workload's group, seed, on or off, then optionally ,classic or ,consumer (KIP-848) and ,static or ,dynamic (group.instance.id), which every group of the run takes, the queue's and the clickstream, payments and vitals processing groups (default: the guest's, seed: the queue's group on a third of the seeds, and always with a group coordinator's defect; protocol and membership drawn by the seed, per group)")
	fs.Float64("rate", 0, "the queue workload's sends per virtual second across its producer clients (default: the guest's, 0: the seed draws 100, 500, 1000 or 2000)")
	fs.String("controllers", "", "the metadata quorum: seed, combined (every broker a voter) or dedicated (3 controller-only nodes) (default: the guest's, seed: dedicated on a third of the seeds)")
	fs.String("brokers", "", "the broker count: seed (the seed draws 1 to 5, 3 most often), N, or N-M (a seed whose own draw is outside the range draws again within it) (default: the guest's, seed)")
	fs.String("compaction", "", "log compaction within the run (the cleaner every few seconds on small segments of the internal topics and of a compacted topic the queue writes): seed, on or off (default: the guest's, seed: a third of the seeds, and always with the cleaner's defect)")
	// Configurations documented to lose acknowledged writes: their runs
	// allow lost-write (see docs/SIMULATION.md, "Documented losses").
	fs.String("acks", "", "the producers' acks: all (the default) or 1; with 1 a leader crash may lose acknowledged writes, which the run allows")
	fs.Bool("lone-leader", false, "at least 3 brokers, topics with two replicas and min.insync.replicas=1 (unclean election off), replica.lag.time.max 10 or 5 s, and the first crash window (then half the others) aimed at a leader whose ISR is itself alone: the partition must wait for its leader and lose nothing")
	fs.Bool("unclean-election", false, "topics with unclean.leader.election.enable=true, two replicas and min.insync.replicas=1, and lone-leader windows as --lone-leader; lost writes allowed")
	fs.Bool("no-fsync", false, "brokers with weir.fsync.acks.all=false (Kafka's page-cache durability) and a whole-cluster power loss before the final read on every seed; lost writes allowed")
	fs.Usage = func() {
		fmt.Fprint(stderr, commandUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprint(stdout, commandUsage)
			fs.PrintDefaults()
			return 0
		}
		return 2
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "weir sim: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	modes := 0
	for _, s := range []string{*seed, *seedsFlag, *replay} {
		if s != "" {
			modes++
		}
	}
	if modes > 1 {
		return usageErr("--seed, --seeds and --replay exclude each other")
	}

	var guestArgs []string
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range []string{"duration", "faults", "workload", "defect", "scenario", "txn", "group", "controllers", "compaction", "rate", "brokers"} {
		if set[name] {
			guestArgs = append(guestArgs, "--"+name, fs.Lookup(name).Value.String())
		}
	}
	if set["workload"] {
		if _, err := registry.ParseNames(fs.Lookup("workload").Value.String()); err != nil {
			return usageErr("--workload: %v", err)
		}
	}
	for _, name := range []string{"acks", "lone-leader", "unclean-election", "no-fsync"} {
		if set[name] {
			guestArgs = append(guestArgs, "--"+name+"="+fs.Lookup(name).Value.String())
		}
	}
	if *replay != "" && len(guestArgs) > 0 {
		return usageErr("--replay takes the guest's flags from the header; drop --duration, --faults, --workload, --defect, --scenario, --txn, --group, --controllers, --compaction, --rate, --brokers, --acks, --lone-leader, --unclean-election and --no-fsync")
	}

	var seeds []uint64
	switch {
	case *seedsFlag != "":
		var err error
		if seeds, err = ParseSeeds(*seedsFlag); err != nil {
			return usageErr("--seeds: %v", err)
		}
	case *seed != "":
		s, err := strconv.ParseUint(*seed, 10, 64)
		if err != nil {
			return usageErr("--seed %q: want a number", *seed)
		}
		seeds = []uint64{s}
	case *replay == "" && !*listDefects:
		seeds = []uint64{rand.Uint64N(1 << 53)}
	}

	if *shard != "" {
		if *replay != "" {
			return usageErr("--shard applies to --seeds, not --replay")
		}
		var err error
		if seeds, err = Shard(seeds, *shard); err != nil {
			return usageErr("--shard: %v", err)
		}
		if len(seeds) == 0 {
			fmt.Fprintf(stdout, "weir sim: shard %s has no seeds\n", *shard)
			return ExitValid
		}
	}

	var g *Guest
	var err error
	if *guestFile != "" {
		g, err = LoadGuest(*guestFile)
	} else {
		g, err = BuildGuest(ctx, BuildOptions{Log: stderr})
	}
	if err != nil {
		fmt.Fprintf(stderr, "weir sim: %v\n", err)
		return ExitHarness
	}
	var opts []RunnerOption
	if *spinCheck {
		opts = append(opts, SpinCheck())
	}
	r, err := NewRunner(ctx, g, "", opts...)
	if err != nil {
		fmt.Fprintf(stderr, "weir sim: %v\n", err)
		return ExitHarness
	}
	defer r.Close(context.Background())

	if *listDefects {
		code, err := r.Exec(ctx, []string{"--list-defects"}, stdout, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "weir sim: %v\n", err)
			return ExitHarness
		}
		return code
	}
	if *replay != "" {
		return commandReplay(ctx, r, *replay, *out, stdout, stderr)
	}

	config := func(s uint64) RunConfig {
		dir := filepath.Join("runs", fmt.Sprintf("seed-%d", s))
		switch {
		case len(seeds) == 1 && *out != "":
			dir = *out
		case *out != "":
			dir = filepath.Join(*out, fmt.Sprintf("seed-%d", s))
		}
		return RunConfig{Seed: s, Args: guestArgs, OutDir: dir, Budget: *budget, WallCap: *wallCap, Twice: *twice}
	}
	if len(seeds) == 1 {
		rc := config(seeds[0])
		rc.Stdout = stdout
		res := r.Run(ctx, rc)
		fmt.Fprintf(stdout, "weir sim: seed %d: %s (exit %d): %s\n", res.Seed, res.Verdict, res.ExitCode, res.Message)
		fmt.Fprintf(stdout, "weir sim: %v virtual in %v (%.0fx), trace sha256 %s, folder %s\n",
			res.Virtual().Round(time.Millisecond), res.Wall().Round(time.Millisecond), speedup(res.VirtualNs, res.WallNs), short(res.TraceSHA256), res.OutDir)
		return res.ExitCode
	}
	return commandSweep(ctx, r, seeds, *parallel, config, *keep, stdout, stderr)
}

func commandSweep(ctx context.Context, r *Runner, seeds []uint64, parallel int, config func(uint64) RunConfig, keep bool, stdout, stderr io.Writer) int {
	progress := isTerminal(stderr) && os.Getenv("CI") != "true"
	start := time.Now()
	done, failing := 0, 0
	losses := map[uint64]int{} // seed -> lost writes its configuration allowed
	results := r.Sweep(ctx, seeds, parallel, config, func(res Result) {
		done++
		if n := allowedLostWrites(res); n > 0 {
			losses[res.Seed] = n
		}
		if res.ExitCode != ExitValid {
			failing++
		} else if !keep {
			removeRun(res.OutDir)
		}
		// Not a terminal (a log file, CI): a line at each tenth of a long
		// sweep, so that its log shows how far it is.
		if progress || tenth(done, len(seeds)) {
			el := time.Since(start)
			eta := time.Duration(float64(el) / float64(done) * float64(len(seeds)-done))
			line := fmt.Sprintf("weir sim: %d/%d seeds, %d failing, %.1f seeds/s, eta %v", done, len(seeds), failing,
				float64(done)/el.Seconds(), eta.Round(time.Second))
			if progress {
				fmt.Fprintf(stderr, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(stderr, line)
			}
		}
	})
	if progress {
		fmt.Fprint(stderr, "\r\033[K")
	}
	wall := time.Since(start)
	var counts [4]int
	var virtual time.Duration
	worst := ExitValid
	var bad []Result
	for _, res := range results {
		counts[res.ExitCode]++
		virtual += res.Virtual()
		worst = max(worst, res.ExitCode)
		if res.ExitCode != ExitValid {
			bad = append(bad, res)
		}
	}
	fmt.Fprintf(stdout, "weir sim: %d seeds in %v: %d valid, %d invalid, %d liveness, %d harness error; %v virtual (%.0fx wall)\n",
		len(results), wall.Round(time.Millisecond), counts[0], counts[1], counts[2], counts[3], virtual.Round(time.Second), speedup(int64(virtual), int64(wall)))
	fmt.Fprintf(stdout, "weir sim: %s\n", validByBrokers(results))
	if len(losses) > 0 {
		var list []string
		for _, s := range slices.Sorted(maps.Keys(losses)) {
			list = append(list, fmt.Sprintf("%d (%d)", s, losses[s]))
		}
		fmt.Fprintf(stdout, "weir sim: lost writes allowed by the configuration (documented losses) on %d of %d seeds: %s\n",
			len(losses), len(results), strings.Join(list, ", "))
	}
	if len(bad) > 0 {
		slices.SortStableFunc(bad, func(a, b Result) int { return b.ExitCode - a.ExitCode })
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEED\tEXIT\tVERDICT\tFOLDER\tMESSAGE")
		for _, res := range bad {
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\n", res.Seed, res.ExitCode, res.Verdict, res.OutDir, res.Message)
		}
		tw.Flush()
	}
	return worst
}

func commandReplay(ctx context.Context, r *Runner, dir, out string, stdout, stderr io.Writer) int {
	h, err := ReadHeader(dir)
	if err != nil {
		fmt.Fprintf(stderr, "weir sim: --replay: %v\n", err)
		return ExitHarness
	}
	if !h.Finished {
		fmt.Fprintf(stderr, "weir sim: warning: %s is the header of a run that did not finish; replaying it anyway\n", dir)
	}
	if h.GuestSHA256 != r.Guest().SHA256 {
		fmt.Fprintf(stderr, "weir sim: warning: the guest module differs from the one that made this run (sha256 %s, now %s): the replay may diverge; pass --guest %s to use the same one\n",
			short(h.GuestSHA256), short(r.Guest().SHA256), h.GuestPath)
	}
	if out == "" {
		out = filepath.Join(dir, "replay")
	}
	res := r.Run(ctx, ReplayConfig(h, out))
	fmt.Fprintf(stdout, "weir sim: replay of seed %d: %s (exit %d, recorded %d): %s\n", res.Seed, res.Verdict, res.ExitCode, h.ExitCode, res.Message)
	if res.TraceSHA256 == "" || res.TraceSHA256 != h.TraceSHA256 {
		fmt.Fprintf(stdout, "weir sim: trace DIFFERS: sha256 %s, recorded %s (compare %s and %s)\n",
			orNone(res.TraceSHA256), orNone(h.TraceSHA256), filepath.Join(out, runfolder.TraceFile), filepath.Join(dir, runfolder.TraceFile))
		return ExitHarness
	}
	fmt.Fprintf(stdout, "weir sim: trace matches: sha256 %s (folder %s)\n", res.TraceSHA256, out)
	return res.ExitCode
}

// ParseSeeds parses "1-500", "7" or "3,7,10-20" (ascending or not; a
// repeated seed runs once).
func ParseSeeds(s string) ([]uint64, error) {
	const maxSeeds = 10_000_000 // a limit on everything
	var seeds []uint64
	seen := map[uint64]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: want N, N-M or a comma-separated list", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("%q: want N-M with N <= M", part)
			}
		}
		if b-a >= maxSeeds || len(seeds)+int(b-a) >= maxSeeds {
			return nil, fmt.Errorf("more than %d seeds", maxSeeds)
		}
		for x := a; ; x++ {
			if !seen[x] {
				seen[x] = true
				seeds = append(seeds, x)
			}
			if x == b {
				break
			}
		}
	}
	return seeds, nil
}

// Shard returns the K-th of N disjoint slices of seeds ("K/N", 1 <= K <=
// N): every N-th seed from the K-th, so that slow and fast seeds spread
// evenly. The N shards of a list cover it exactly once.
func Shard(seeds []uint64, spec string) ([]uint64, error) {
	ks, ns, ok := strings.Cut(spec, "/")
	k, err1 := strconv.Atoi(strings.TrimSpace(ks))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n {
		return nil, fmt.Errorf("%q: want K/N with 1 <= K <= N, e.g. 3/8", spec)
	}
	var out []uint64
	for i := k - 1; i < len(seeds); i += n {
		out = append(out, seeds[i])
	}
	return out, nil
}

// removeRun deletes the artifacts of a run, and its folder if that leaves
// it empty; it never deletes anything else.
func removeRun(dir string) {
	removeArtifacts(dir)
	os.Remove(dir)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func short(sha string) string {
	if len(sha) > 16 {
		return sha[:16]
	}
	return orNone(sha)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// allowedLostWrites is how many lost writes the run found that its
// configuration allows (--acks 1, --unclean-election, --no-fsync: the
// documented losses), from its verdict.json; 0 if none or unreadable.
func allowedLostWrites(res Result) int {
	var v struct {
		Details struct {
			Counts  map[string]int `json:"counts"`
			Allowed []string       `json:"allowed"`
		} `json:"details"`
	}
	b, err := os.ReadFile(filepath.Join(res.OutDir, "verdict.json"))
	if err != nil || json.Unmarshal(b, &v) != nil || !slices.Contains(v.Details.Allowed, checker.LostWrite) {
		return 0
	}
	return v.Details.Counts[checker.LostWrite]
}

// validByBrokers counts a sweep's seeds, and its valid ones, by the
// number of brokers each drew (world.nodes in its PARAMS): the issues ask
// for sweeps on 3-5 brokers, and the default mix draws 1-5. Seeds whose
// parameters the host did not get count as "?".
func validByBrokers(results []Result) string {
	type tally struct{ seeds, valid int }
	by := map[string]*tally{}
	for _, res := range results {
		var p struct {
			World *struct {
				Nodes int `json:"nodes"`
			} `json:"world"`
		}
		key := "?"
		if json.Unmarshal(res.Params, &p) == nil && p.World != nil && p.World.Nodes > 0 {
			key = strconv.Itoa(p.World.Nodes)
		}
		if by[key] == nil {
			by[key] = &tally{}
		}
		by[key].seeds++
		if res.ExitCode == ExitValid {
			by[key].valid++
		}
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(by)) {
		parts = append(parts, fmt.Sprintf("%s: %d of %d", k, by[k].valid, by[k].seeds))
	}
	return "valid seeds by brokers drawn: " + strings.Join(parts, ", ")
}

// tenth reports whether done seeds of total just reached a tenth of a
// sweep of at least 50 seeds (the last tenth is the summary's).
func tenth(done, total int) bool {
	if total < 50 || done == total {
		return false
	}
	return done*10/total != (done-1)*10/total
}
