package host

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/workloads/registry"
)

// A selftest plants each defect of broker.DefectCatalog and of
// registry.DefectCatalog (the workloads' processing applications) in turn
// and sweeps seeds of the world scenario until a run is not valid: the
// proof, with a replayable seed, that the checkers catch that broken
// broker or application. The same
// seeds without any defect must all be valid (no false alarms), and each
// catching seed must replay to the same trace.

// SelftestCase is one defect to plant: which, with which guest flags
// (none: the default scenario, whose seed chooses the fault mix), and how
// many seeds (1..Seeds) it may take.
type SelftestCase struct {
	Defect string
	Args   []string
	Seeds  int
	// Want, when set, are the checkers a seed must be caught by to catch
	// the defect, instead of any the catalog expects: for a defect whose
	// weaker symptom (a hanging transaction's liveness failure) comes
	// first on some seeds, so that the selftest asks for the anomaly
	// itself. A seed not valid for another reason is counted
	// (SelftestRow.CaughtOtherwise) and kept, and the sweep goes on.
	Want []string
}

// DefectWant is Want of a defect's cases: no-kip890 must be caught by the
// anomaly KIP-890 prevents (a delayed EndTxn or produce landing in the
// producer's next transaction), not only by the hanging transaction a
// late produce leaves, which the liveness phase reports.
func DefectWant(defect string) []string {
	if defect == "no-kip890" {
		return []string{checker.AbortedRead, checker.TornTransaction, checker.PrecommittedRead, checker.LostWrite}
	}
	return nil
}

// expected is what should catch c's defect: its Want, else the catalog's.
func (c SelftestCase) expected() []string {
	if len(c.Want) > 0 {
		return c.Want
	}
	_, expected := defectInfo(c.Defect)
	return expected
}

// catches reports whether a run of c not valid, caught by caughtBy, counts
// as catching c's defect: any verdict does, unless c wants some checkers.
func (c SelftestCase) catches(caughtBy []string) bool {
	return len(c.Want) == 0 || slices.ContainsFunc(caughtBy, func(a string) bool { return slices.Contains(c.Want, a) })
}

// SelftestConfig is one selftest.
type SelftestConfig struct {
	Cases    []SelftestCase
	Parallel int // runs at once; 0 is GOMAXPROCS
	// Full runs every seed of each case's budget, to measure the catch rate,
	// instead of stopping at the first seed that catches the defect.
	Full bool
	// Out is the folder of the kept runs: <defect>/seed-N for the seeds
	// that caught a defect (and their replay), control/seed-N for the runs
	// without a defect that were not valid.
	Out string
	// Progress, if set, gets a line per finished run.
	Progress io.Writer
}

// SelftestRow is one case's outcome.
type SelftestRow struct {
	Case     SelftestCase
	Breaks   string   // what the defect breaks (broker.Defect.Breaks)
	Expected []string // checkers that should catch it
	// CaughtBy is what the first catching run's verdict reports: the
	// anomalies found, or its verdict when no anomaly is named (liveness,
	// harness error).
	CaughtBy []string
	Seed     uint64 // the first seed that caught it; 0: none
	// SeedsRun is how many seeds ran; SeedsUntil is the position of Seed
	// among them (1: the first seed caught it); Caught is how many caught
	// it (all of them in a Full selftest; else at most a few).
	SeedsRun, SeedsUntil, Caught int
	// CaughtOtherwise is how many seeds were not valid but caught by none
	// of the case's Want.
	CaughtOtherwise int
	Replays         bool          // Seed replayed to the same trace and verdict
	Wall            time.Duration // wall time until caught (of all its runs if not caught)
	WallAll         time.Duration // wall time of all its runs
	Dir             string        // the catching run's folder
	Err             string        // why the case failed, if it did
}

// SelftestReport is a selftest's outcome. OK is true when every defect was
// caught within its budget by a seed that replays, and every control run
// was valid.
type SelftestReport struct {
	Rows []SelftestRow
	// ControlArgs and ControlSeeds say which runs without a defect were
	// made (each distinct flag set of the cases, over the seeds its cases
	// ran); ControlBad lists those that were not valid.
	Control     []ControlSweep
	OK          bool
	Wall        time.Duration
	GuestSHA256 string
}

// ControlSweep is the runs without a defect for one set of guest flags.
type ControlSweep struct {
	Args  []string
	Seeds int // seeds 1..Seeds
	Valid int
	Bad   []Result
}

// DefaultSelftestSeeds is the seed budget of each defect in a full
// selftest: the goal is that the default fault mix catches every defect
// within 100 seeds.
const DefaultSelftestSeeds = 100

// FullSelftestCases plants every defect with the default scenario (the
// seed chooses the faults), seeds 1..seeds each, with the guest flags the
// defect needs to be observable at all (DefectArgs): the broker's defects
// (broker.DefectCatalog), then the workloads' processing applications'
// (registry.DefectCatalog).
func FullSelftestCases(seeds int) []SelftestCase {
	var cases []SelftestCase
	for _, name := range AllDefectNames() {
		cases = append(cases, SelftestCase{Defect: name, Args: DefectArgs(name), Seeds: seeds, Want: DefectWant(name)})
	}
	return cases
}

// AllDefectNames are the defects a selftest knows: the broker's, then the
// workloads'.
func AllDefectNames() []string {
	var names []string
	for _, d := range broker.DefectCatalog() {
		names = append(names, d.Name)
	}
	return append(names, registry.DefectNames()...)
}

// WorkloadDefectDuration is the safety phase of a workload defect's runs:
// a processing application's defect shows within seconds of traffic, and
// each simulated second of a workload's clients costs wall time. Payments
// gets more: its abort defects need an aborted batch, and its processor
// commits only about a dozen transactions in 15 virtual seconds (5% of
// them aborted on purpose); at 15 s seeds 1-3 missed both, at 20 s seed
// 3 caught each (docs/SIMULATION.md).
func WorkloadDefectDuration(workload string) string {
	if workload == "payments" {
		return "20s"
	}
	return "15s"
}

// DefectArgs are the guest flags without which a defect cannot show: the
// transaction defects need the queue's transactional mode, which the
// seed otherwise chooses on a quarter of the runs only; a workload's
// defect needs its workload, which runs instead of the queue. The runs
// without a defect then use the same flags: a group coordinator's defect
// turns the consumer-group mode on by itself, and the protocol and
// membership it needs (the guest forces them too), so its runs say
// --group on and those for the runs without it to be group runs of the
// same seeds and modes.
func DefectArgs(defect string) []string {
	if d, ok := registry.LookupDefect(defect); ok {
		return []string{"--workload", d.Workload, "--duration", WorkloadDefectDuration(d.Workload)}
	}
	switch defect {
	case broker.GroupStaleEpochCommit, broker.GroupAssignUnreleased: // KIP-848's
		return []string{"--group", "on,consumer"}
	case broker.GroupStaticUnfenced: // with zombies of the classic protocol
		return []string{"--group", "on,classic,static"}
	case broker.GroupForgetParkedSync: // members that leave while they wait
		return []string{"--group", "on,classic,dynamic"}
	case broker.GroupOneAssignment, broker.GroupAcceptStaleCommit: // the classic protocol's code only
		return []string{"--group", "on,classic"}
	}
	if broker.IsGroupDefect(defect) {
		return []string{"--group", "on"}
	}
	if broker.IsCompactionDefect(defect) {
		// The cleaner runs within a run only on the seeds that draw
		// compaction; the defect forces it, and its runs without the
		// defect must be compaction runs of the same seeds.
		return []string{"--compaction", "on"}
	}
	switch defect {
	case "no-kip890", "no-epoch-bump", broker.TxnApplyAbortedOffsets:
		return []string{"--txn", "on"}
	case "elect-outside-isr":
		// The moment it needs (an ISR of the leader alone, the leader
		// down, another replica up) comes only from lone-leader windows,
		// which are crash windows: the seed would leave crashes out of
		// half its runs.
		return []string{"--lone-leader", "--faults", "crash,partition"}
	}
	return nil
}

// ShortSelftestCases is the short form `make test` runs: the defects that
// the first few seeds catch (one of them a workload's), with crashes forced where a crash is what
// exposes them, so that the whole form costs well under a minute of two
// cores. Its budgets have room for a change of the workload or the
// schedules to shift which seed catches each. The queue's load is pinned
// at the default draw's lightest, 100 sends/s: the heavier draws cost a
// run several times more (docs/PERFORMANCE.md, "The simulation at
// volume"), and the full selftest runs them.
func ShortSelftestCases() []SelftestCase {
	short := []string{"--duration", "10s", "--rate", "100"}
	crash := []string{"--faults", "crash", "--duration", "10s", "--rate", "100"}
	return []SelftestCase{
		{Defect: "early-high-watermark", Args: short, Seeds: 3},
		{Defect: "hw-at-leader-end", Args: short, Seeds: 3},
		{Defect: "fetch-skips-batch", Args: short, Seeds: 8},
		{Defect: "ack-before-fsync", Args: crash, Seeds: 8},
		{Defect: "forget-producers", Args: crash, Seeds: 10},
		// A processing application's defect: payments runs instead of the
		// queue; seed 1 catches it (16 s of wall on a loaded machine).
		{Defect: "payments/no-transaction", Args: []string{"--workload", "payments", "--duration", "15s"}, Seeds: 3},
	}
}

// RunSelftest runs a selftest on r.
func RunSelftest(ctx context.Context, r *Runner, cfg SelftestConfig) SelftestReport {
	start := time.Now()
	rep := SelftestReport{OK: true, GuestSHA256: r.Guest().SHA256}
	controlSeeds := map[string]int{}
	var controlArgs [][]string
	for _, c := range cfg.Cases {
		row := runCase(ctx, r, cfg, c)
		row.Breaks, _ = defectInfo(c.Defect)
		row.Expected = c.expected()
		if row.Err != "" {
			rep.OK = false
		}
		rep.Rows = append(rep.Rows, row)
		key := strings.Join(c.Args, "\x00")
		if _, ok := controlSeeds[key]; !ok {
			controlArgs = append(controlArgs, c.Args)
		}
		controlSeeds[key] = max(controlSeeds[key], row.SeedsRun)
	}
	for _, args := range controlArgs {
		cs := runControl(ctx, r, cfg, args, controlSeeds[strings.Join(args, "\x00")])
		if cs.Valid != cs.Seeds {
			rep.OK = false
		}
		rep.Control = append(rep.Control, cs)
	}
	rep.Wall = time.Since(start)
	return rep
}

// runCase sweeps one defect's seeds, parallel at a time, until one is not
// valid (or through all of them when cfg.Full), then replays that seed.
func runCase(ctx context.Context, r *Runner, cfg SelftestConfig, c SelftestCase) SelftestRow {
	row := SelftestRow{Case: c}
	args := append(slices.Clone(c.Args), "--defect", c.Defect)
	dir := filepath.Join(cfg.Out, c.Defect)
	parallel := cfg.Parallel
	if parallel <= 0 {
		parallel = max(1, min(c.Seeds, defaultParallel()))
	}
	start := time.Now()
	var first *Result
	for next := 1; next <= c.Seeds && (first == nil || cfg.Full) && ctx.Err() == nil; next += parallel {
		var seeds []uint64
		for s := next; s < next+parallel && s <= c.Seeds; s++ {
			seeds = append(seeds, uint64(s))
		}
		results := r.Sweep(ctx, seeds, parallel, func(s uint64) RunConfig {
			return RunConfig{Seed: s, Args: args, OutDir: filepath.Join(dir, fmt.Sprintf("seed-%d", s))}
		}, nil)
		for i := range results {
			res := &results[i]
			row.SeedsRun++
			progress(cfg.Progress, c.Defect, res)
			if res.ExitCode == ExitValid {
				removeRun(res.OutDir)
				continue
			}
			if !c.catches(caughtBy(*res)) {
				row.CaughtOtherwise++
				continue
			}
			row.Caught++
			if first == nil {
				first = res
				row.SeedsUntil = row.SeedsRun
				row.Wall = time.Since(start)
			}
		}
	}
	row.WallAll = time.Since(start)
	if first == nil {
		row.Wall = row.WallAll
	}
	if first == nil {
		row.Err = fmt.Sprintf("not caught by seeds 1-%d", c.Seeds)
		if row.CaughtOtherwise > 0 {
			row.Err += fmt.Sprintf(" with %s (%d seeds not valid otherwise)", strings.Join(c.Want, ", "), row.CaughtOtherwise)
		}
		return row
	}
	row.Seed, row.Dir = first.Seed, first.OutDir
	row.CaughtBy = caughtBy(*first)
	row.Expected = c.expected()
	if first.ExitCode == ExitHarness {
		row.Err = fmt.Sprintf("seed %d is a harness error, not a verdict: %s", first.Seed, first.Message)
		return row
	}
	h, err := ReadHeader(first.OutDir)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	replay := r.Run(ctx, ReplayConfig(h, filepath.Join(first.OutDir, "replay")))
	row.Replays = replay.TraceSHA256 != "" && replay.TraceSHA256 == first.TraceSHA256 && replay.ExitCode == first.ExitCode
	switch {
	case !row.Replays:
		row.Err = fmt.Sprintf("seed %d does not replay: exit %d and trace %s, first exit %d and trace %s",
			first.Seed, replay.ExitCode, short(replay.TraceSHA256), first.ExitCode, short(first.TraceSHA256))
	case !slices.ContainsFunc(row.CaughtBy, func(a string) bool { return slices.Contains(row.Expected, a) }):
		row.Err = fmt.Sprintf("seed %d was caught by %s, none of the checkers expected to catch it", first.Seed, strings.Join(row.CaughtBy, ", "))
	}
	return row
}

// runControl runs seeds 1..n with args and no defect: every run must be
// valid. Valid runs' folders are removed.
func runControl(ctx context.Context, r *Runner, cfg SelftestConfig, args []string, n int) ControlSweep {
	cs := ControlSweep{Args: args, Seeds: n}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	dir := filepath.Join(cfg.Out, "control")
	if len(args) > 0 {
		dir = filepath.Join(dir, strings.NewReplacer("--", "", " ", "-", ",", "+").Replace(strings.Join(args, " ")))
	}
	parallel := cfg.Parallel
	if parallel <= 0 {
		parallel = max(1, min(n, defaultParallel()))
	}
	for _, res := range r.Sweep(ctx, seeds, parallel, func(s uint64) RunConfig {
		return RunConfig{Seed: s, Args: args, OutDir: filepath.Join(dir, fmt.Sprintf("seed-%d", s))}
	}, func(res Result) { progress(cfg.Progress, "control", &res) }) {
		if res.ExitCode == ExitValid {
			cs.Valid++
			removeRun(res.OutDir)
		} else {
			cs.Bad = append(cs.Bad, res)
		}
	}
	return cs
}

// defectInfo is what the defect breaks and the anomalies (or verdicts)
// that should catch it, from broker.DefectCatalog or
// registry.DefectCatalog.
func defectInfo(defect string) (breaks string, expected []string) {
	for _, d := range broker.DefectCatalog() {
		if d.Name == defect {
			return d.Breaks, d.CaughtBy
		}
	}
	if d, ok := registry.LookupDefect(defect); ok {
		return d.Breaks, d.CaughtBy
	}
	return "", nil
}

func defaultParallel() int { return max(1, min(2, runtime.NumCPU())) }

func progress(w io.Writer, what string, res *Result) {
	if w != nil {
		fmt.Fprintf(w, "weir selftest: %s seed %d: %s (%v wall)\n", what, res.Seed, res.Verdict, res.Wall().Round(time.Millisecond))
	}
}

// caughtBy names what made a run not valid: the anomalies of verdict.json
// that count (neither allowed by the configuration nor informational, as
// unseen is), and the verdict itself when it is not "invalid" (liveness: a
// cluster that did not converge, or a final read that could not finish;
// harness-error).
func caughtBy(res Result) []string {
	var v struct {
		Details struct {
			Counts  map[string]int `json:"counts"`
			Allowed []string       `json:"allowed"`
		} `json:"details"`
	}
	var names []string
	if b, err := os.ReadFile(filepath.Join(res.OutDir, "verdict.json")); err == nil && json.Unmarshal(b, &v) == nil {
		for name, n := range v.Details.Counts {
			if n > 0 && name != checker.Unseen && !slices.Contains(v.Details.Allowed, name) {
				names = append(names, name)
			}
		}
		slices.Sort(names)
	}
	if res.ExitCode != ExitInvalid {
		names = append(names, res.Verdict)
	}
	return names
}

// WriteSelftestTable prints the report as a table: Markdown (for
// docs/SIMULATION.md) or aligned text.
func WriteSelftestTable(w io.Writer, rep SelftestReport, markdown, full bool) {
	header := []string{"defect", "breaks", "should be caught by", "caught by", "first seed", "seeds until caught", "wall until caught"}
	if full {
		header = append(header, "catch rate", "wall, all seeds")
	}
	header = append(header, "replays")
	var rows [][]string
	for _, row := range rep.Rows {
		seed, until := "-", "-"
		if row.Seed != 0 {
			seed = fmt.Sprint(row.Seed)
			until = fmt.Sprintf("%d of %d", row.SeedsUntil, row.Case.Seeds)
		}
		caught := strings.Join(row.CaughtBy, ", ")
		if row.Err != "" {
			caught = "NOT CAUGHT: " + row.Err
			if row.Seed != 0 {
				caught = strings.Join(row.CaughtBy, ", ") + "; FAILED: " + row.Err
			}
		} else if row.CaughtOtherwise > 0 {
			caught += fmt.Sprintf(" (%d seeds not valid otherwise)", row.CaughtOtherwise)
		}
		cells := []string{row.Case.Defect + argsNote(row.Case.Args), row.Breaks, strings.Join(row.Expected, ", "), caught, seed, until, row.Wall.Round(100 * time.Millisecond).String()}
		if full {
			cells = append(cells, fmt.Sprintf("%d/%d", row.Caught, row.SeedsRun), row.WallAll.Round(time.Second).String())
		}
		replays := "-"
		if row.Seed != 0 {
			replays = map[bool]string{true: "yes", false: "NO"}[row.Replays]
		}
		cells = append(cells, replays)
		rows = append(rows, cells)
	}
	if markdown {
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
		for _, cells := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(slices.Delete(slices.Clone(header), 1, 2), "\t")))
		for _, cells := range rows {
			fmt.Fprintln(tw, strings.Join(slices.Delete(cells, 1, 2), "\t"))
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	for _, cs := range rep.Control {
		fmt.Fprintf(w, "without a defect%s: seeds 1-%d, %d of %d valid", argsNote(cs.Args), cs.Seeds, cs.Valid, cs.Seeds)
		for _, res := range cs.Bad {
			fmt.Fprintf(w, "; seed %d %s (%s): %s", res.Seed, res.Verdict, res.OutDir, firstLine(res.Message))
		}
		fmt.Fprintln(w)
	}
	verdict := "every defect caught by a seed that replays; no false alarm"
	if !rep.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "selftest: %s (%v wall, guest %s)\n", verdict, rep.Wall.Round(time.Second), short(rep.GuestSHA256))
}

func argsNote(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return " (" + strings.Join(args, " ") + ")"
}
