package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/runfolder"
	"github.com/weir-dev/weir/workloads/registry"
)

// Exit codes. They are the verdict codes of `weir sim`.
const (
	exitValid    = runfolder.ExitValid
	exitInvalid  = runfolder.ExitInvalid
	exitLiveness = runfolder.ExitLiveness
	exitHarness  = runfolder.ExitHarness
)

// seedStream separates the parameter stream from any other stream a
// scenario derives from the same seed.
const seedStreamParams = 0x7765_6972_7061_7261 // "weirpara"

// flags are the command line, before the seed decides the rest.
type flags struct {
	seed        uint64
	duration    time.Duration
	budget      time.Duration
	faults      string
	workload    string
	defect      string
	scenario    string
	out         string
	listDefects bool
	cpuProfile  string
	txn         string  // the queue's transactional mode: seed, on, off (txn.go)
	group       string  // the queue's consumer-group mode: seed, on, off
	controllers string  // the metadata quorum's mode: seed, combined, dedicated (controllers.go)
	compaction  string  // the cleaner within the run: seed, on, off (compaction.go)
	rate        float64 // the queue's sends per second across its producers; 0: the seed's (load.go)
	brokers     string  // the broker counts a world may have: seed, N or N-M (brokers.go)
	// The configurations whose losses Kafka documents (worldLosses).
	acks            string
	uncleanElection bool
	loneLeader      bool
	noFsync         bool
}

// params is every parameter of a run. The seed decides all that the flags
// leave open; main prints it as PARAMS=<json>, and the host stores that line
// in header.json, so a run can be understood and replayed from its header.
// Add the real world's parameters as a field next to Selftest.
type params struct {
	Seed       uint64   `json:"seed"`
	Scenario   string   `json:"scenario"`
	DurationNs int64    `json:"duration_ns"` // virtual length of the safety phase
	BudgetNs   int64    `json:"budget_ns"`   // virtual-time budget of the whole run
	Faults     []string `json:"faults"`
	Workload   string   `json:"workload"` // comma-separated, in the registry's order
	Defect     string   `json:"defect,omitempty"`
	// Acks, UncleanElection and NoFsync choose a configuration that is
	// documented to lose acknowledged writes (world.go: lossAllowances).
	Acks            string `json:"acks,omitempty"`
	UncleanElection bool   `json:"unclean_election,omitempty"`
	// LoneLeader aims the first crash window, and half the later ones, at
	// a leader whose ISR is itself alone (faults.Config.LoneLeader), on
	// topics of two replicas and min.insync.replicas=1 with unclean
	// election off, on at least 3 brokers: Kafka then keeps the partition
	// offline until that leader returns, and loses nothing (world.go).
	LoneLeader bool `json:"lone_leader,omitempty"`
	NoFsync    bool `json:"no_fsync,omitempty"`
	// Group forces the queue's consumer-group mode on or off (--group);
	// empty: the seed decides (world.go).
	Group string `json:"group,omitempty"`
	// Rate forces the queue's sends per second (--rate); 0: drawn
	// (load.go). The load the run had is World.Rate.
	Rate float64 `json:"rate,omitempty"`
	// Brokers restricts the world's broker count (--brokers, N or N-M);
	// empty: the seed's draw (brokers.go).
	Brokers   string `json:"brokers,omitempty"`
	GoVersion string `json:"go_version"`

	// WorkloadParams are the parameters of each workload but the queue
	// (whose are World's), as its registry entry drew them (workloads.go).
	WorkloadParams map[string]json.RawMessage `json:"workload_params,omitempty"`

	World    *worldParams    `json:"world,omitempty"`
	Selftest *selftestParams `json:"selftest,omitempty"`
}

func main() {
	// The guest has memory to spare and one thread: collecting less often
	// buys simulated seconds. Still deterministic: the heap grows the same
	// way in every run of a seed.
	debug.SetGCPercent(400)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args)
	if err != nil {
		fmt.Fprintf(stderr, "weir-sim: %v\n", err)
		return exitHarness
	}
	if f.listDefects {
		for _, d := range defects {
			fmt.Fprintf(stdout, "%-28s %s\n", d.name, d.about)
		}
		return exitValid
	}
	sc, ok := scenarios[f.scenario]
	if !ok {
		fmt.Fprintf(stderr, "weir-sim: unknown scenario %q (known: %s)\n", f.scenario, strings.Join(scenarioNames(), ", "))
		return exitHarness
	}
	if registry.IsWorkloadDefect(f.defect) {
		if err := checkWorkloadDefect(f.defect, f.workload, f.scenario); err != nil {
			fmt.Fprintf(stderr, "weir-sim: %v\n", err)
			return exitHarness
		}
	} else if f.defect != "" && !slices.ContainsFunc(defects, func(d defect) bool { return d.name == f.defect }) {
		fmt.Fprintf(stderr, "weir-sim: unknown defect %q (see --list-defects)\n", f.defect)
		return exitHarness
	}

	if _, err := faults.Parse(f.faults); err != nil {
		fmt.Fprintf(stderr, "weir-sim: %v\n", err)
		return exitHarness
	}
	p := deriveParams(f, sc)
	pj, err := json.Marshal(p)
	if err != nil {
		fmt.Fprintf(stderr, "weir-sim: %v\n", err)
		return exitHarness
	}
	fmt.Fprintf(stdout, "SEED=%d\nPARAMS=%s\n", p.Seed, pj)
	if p.World != nil {
		fmt.Fprintf(stdout, "CLUSTER=%s\n", clusterLine(p.World))
		if g := groupLine(p.World); g != "" && runsQueue(p) {
			fmt.Fprintf(stdout, "GROUP=%s\n", g)
		}
		for _, g := range pipelineGroupLines(p) {
			fmt.Fprintf(stdout, "GROUP=%s\n", g)
		}
	}

	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "weir-sim: %v\n", err)
			return exitHarness
		}
		defer stop()
	}
	out := newOutput(f.out)
	// The budget is virtual time: context deadlines are timers, and timers
	// run on the host's virtual clock.
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(p.BudgetNs))
	defer cancel()
	// A scenario still running well past its budget is stuck where its
	// context does not reach: say where, before the host stops the guest
	// (at the budget plus its own margin) with nothing in the run folder.
	watchdog := time.AfterFunc(time.Duration(p.BudgetNs)+watchdogMargin, func() { dumpStuck(stderr, out) })
	defer watchdog.Stop()
	code := runScenario(ctx, p, out)
	if ctx.Err() != nil && code != exitInvalid {
		// Whatever the scenario concluded, it ran out of budget: a stuck
		// system burns virtual time, and that is the harness's call.
		out.Verdict(exitHarness, fmt.Sprintf("virtual-time budget of %v exceeded", time.Duration(p.BudgetNs)), nil)
		code = exitHarness
	}
	if out.verdict.Code != code {
		out.Verdict(code, "scenario returned without a verdict", nil)
	}
	elapsed := out.elapsed()
	if err := out.write(p.Seed, elapsed); err != nil {
		fmt.Fprintf(stderr, "weir-sim: writing results: %v\n", err)
		return exitHarness
	}
	if len(out.checks) > 0 {
		fmt.Fprintf(stdout, "CHECKS=%s\n", strings.Join(out.checks, ","))
	}
	if out.faultRecords != nil {
		fmt.Fprintf(stdout, "FAULTS=%s\n", faultSummary(out.faultRecords))
	}
	fmt.Fprintf(stdout, "VERDICT=%s code=%d virtual=%v: %s\n", runfolder.VerdictName(code), code, elapsed, out.verdict.Summary)
	return code
}

func parseFlags(args []string) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("weir-sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Uint64Var(&f.seed, "seed", 0, "the seed: it decides every parameter the flags leave open")
	fs.DurationVar(&f.duration, "duration", 60*time.Second, "virtual length of the safety phase")
	fs.DurationVar(&f.budget, "budget", 10*time.Minute, "virtual-time budget of the whole run; past it the run is a harness error")
	fs.StringVar(&f.faults, "faults", "", "comma-separated fault kinds: "+strings.Join(faultKinds, ", ")+", or all, or none (empty: the seed chooses)")
	fs.StringVar(&f.workload, "workload", "queue", workloadFlagHelp())
	fs.StringVar(&f.defect, "defect", "", "planted defect to switch on: the broker's, or a workload's as <workload>/<defect> (see --list-defects)")
	fs.StringVar(&f.scenario, "scenario", "world", "what to run: "+strings.Join(scenarioNames(), ", "))
	fs.StringVar(&f.out, "out", "/out", "folder for trace.log, history.jsonl and verdict.json")
	fs.BoolVar(&f.listDefects, "list-defects", false, "list the planted defects and exit")
	fs.StringVar(&f.group, "group", "seed", "the consumer groups in the world scenario: the queue workload's group, seed (the seed chooses, on a third of the seeds, and always with a group coordinator's defect), on or off, then optionally ,classic or ,consumer (KIP-848) and ,static or ,dynamic (group.instance.id), which every group of the run takes (the queue's and the clickstream, payments and vitals processing groups) and the seed draws otherwise (on half the seeds each, per group)")
	fs.StringVar(&f.txn, "txn", "seed", "the queue workload's transactional mode in the world scenario: seed (the seed chooses, on a quarter of the seeds), on, off")
	fs.StringVar(&f.compaction, "compaction", "seed", "log compaction within the world scenario's run (a cleaner interval of seconds, small segments of the internal topics, and a compacted topic in the queue): seed (the seed chooses, on a third of the seeds, and always with the cleaner's defect), on, off")
	fs.StringVar(&f.controllers, "controllers", modeSeed, "the metadata quorum in the world scenario: seed (the seed chooses: dedicated on a third of the seeds), combined (every broker a voter), dedicated (3 controller-only nodes)")
	fs.Float64Var(&f.rate, "rate", 0, "the queue workload's sends per virtual second across its producer clients in the world scenario (0: the seed draws 100, 500, 1000 or 2000)")
	fs.StringVar(&f.brokers, "brokers", modeSeed, "the world scenario's broker count: seed (the seed draws 1 to 5, 3 most often), N, or N-M (a seed whose own draw is outside the range draws again within it)")
	fs.StringVar(&f.acks, "acks", "all", "the producers' acks: all, or 1 (the leader's append; a leader crash may lose acknowledged writes, which the run then allows)")
	fs.BoolVar(&f.loneLeader, "lone-leader", false, "at least 3 brokers, topics with two replicas and min.insync.replicas=1 (unclean election off), replica.lag.time.max 10 or 5 s, and the first crash window (then half the others) aimed at a leader whose ISR is itself alone: nothing may be lost")
	fs.BoolVar(&f.uncleanElection, "unclean-election", false, "topics with unclean.leader.election.enable=true, two replicas and min.insync.replicas=1 (lost writes allowed)")
	fs.BoolVar(&f.noFsync, "no-fsync", false, "brokers with weir.fsync.acks.all=false and a whole-cluster power loss on every seed (lost writes allowed)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile here (native runs only: to see where the guest's time goes)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	names, err := registry.ParseNames(f.workload)
	if err != nil {
		return f, fmt.Errorf("--workload: %w", err)
	}
	f.workload = strings.Join(names, ",")
	if err := checkTxnMode(f.txn); err != nil {
		return f, err
	}
	gm, err := parseGroupMode(f.group)
	if err != nil {
		return f, err
	}
	if gm.mode == "off" && broker.IsGroupDefect(f.defect) {
		return f, fmt.Errorf("--group off: the defect %s needs the consumer-group mode", f.defect)
	}
	if _, err := gm.withDefect(f.defect); err != nil {
		return f, err
	}
	if err := checkControllersMode(f.controllers); err != nil {
		return f, err
	}
	if err := checkCompactionMode(f.compaction); err != nil {
		return f, err
	}
	if f.compaction == "off" && broker.IsCompactionDefect(f.defect) {
		return f, fmt.Errorf("--compaction off: the defect %s needs compaction within the run", f.defect)
	}
	if err := checkRate(f.rate); err != nil {
		return f, err
	}
	if _, err := parseBrokers(f.brokers); err != nil {
		return f, err
	}
	if f.acks != "all" && f.acks != "1" {
		return f, fmt.Errorf("--acks %q: want all or 1", f.acks)
	}
	if f.duration <= 0 || f.budget <= 0 {
		return f, errors.New("--duration and --budget must be positive")
	}
	return f, nil
}

// deriveParams fixes every parameter: the flags where given, the seed
// otherwise. It must read randomness only from rng, in a fixed order, so that
// the same flags give the same parameters.
func deriveParams(f flags, sc scenario) params {
	rng := rand.New(rand.NewPCG(f.seed, seedStreamParams))
	p := params{
		Seed:       f.seed,
		Scenario:   f.scenario,
		DurationNs: int64(f.duration),
		BudgetNs:   int64(f.budget),
		Workload:   f.workload,
		Defect:     f.defect,
		GoVersion:  runtime.Version(),

		UncleanElection: f.uncleanElection,
		LoneLeader:      f.loneLeader,
		NoFsync:         f.noFsync,
		Rate:            f.rate,
	}
	if f.group != "seed" {
		p.Group = f.group
	}
	if f.acks != "all" {
		p.Acks = f.acks
	}
	if f.brokers != modeSeed {
		p.Brokers = f.brokers
	}
	if f.faults != "" {
		set, _ := faults.Parse(f.faults) // run checked it
		for _, k := range set.Kinds() {
			p.Faults = append(p.Faults, k.String())
		}
	} else {
		// The seed chooses a subset of the fault kinds.
		for _, k := range faultKinds {
			if rng.IntN(2) == 0 {
				p.Faults = append(p.Faults, k)
			}
		}
	}
	if p.Faults == nil {
		p.Faults = []string{}
	}
	if sc.params != nil {
		sc.params(&p, rng)
	}
	plantWorkloadDefect(&p)
	if p.World != nil {
		p.World.Txn = drawTxn(f.txn, p.Seed)
		p.World.ReplicaLagMs = drawReplicaLag(p.Seed, p.LoneLeader || p.UncleanElection).Milliseconds()
		drawControllers(f.controllers, p.Seed, p.World)
		p.World.Compaction = drawCompaction(f.compaction, p.Defect, p.Seed)
		gm, _ := parseGroupMode(f.group) // parseFlags checked it
		gm, _ = gm.withDefect(p.Defect)
		drawGroupMode(gm, p.Seed, p.World)
		drawPipelineGroupModes(gm, &p)
	}
	return p
}

// faultKinds are the kinds --faults accepts: the kinds of faults/.
var faultKinds = []string{"partition", "crash", "pause", "disk", "clock", "flaky"}

// output collects what a scenario reports. Everything stays in memory until
// the end (DESIGN.md rule 5: trace the same way in every run), then write
// puts trace.log, history.jsonl and verdict.json in the run folder.
type output struct {
	mu      sync.Mutex // for native runs; the guest is single-threaded
	dir     string
	start   time.Time
	trace   strings.Builder
	history []byte
	verdict verdict
	// checks are the checkers the run's verdict comes from, and
	// faultRecords the faults applied (faults.jsonl), for scenarios that
	// have them.
	checks       []string
	faultRecords []runfolder.Fault
}

// verdict is what becomes verdict.json (runfolder.Verdict) at the end.
type verdict struct {
	Code    int
	Verdict string
	Summary string
	Details any
}

func newOutput(dir string) *output {
	return &output{dir: dir, start: time.Now(), verdict: verdict{Code: -1}}
}

func (o *output) elapsed() time.Duration { return time.Since(o.start) }

// Tracef appends one line to trace.log, prefixed with the virtual time
// since the start of the run and the node (or component) name.
func (o *output) Tracef(node, format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(&o.trace, "%14d %-8s ", o.elapsed().Nanoseconds(), node)
	fmt.Fprintf(&o.trace, format, args...)
	o.trace.WriteByte('\n')
}

// History appends one operation (any JSON-encodable value) to history.jsonl.
func (o *output) History(op any) {
	b, err := json.Marshal(op)
	if err != nil {
		panic(fmt.Sprintf("history entry %#v: %v", op, err))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.history = append(append(o.history, b...), '\n')
}

// Verdict records the run's verdict; the last call wins.
func (o *output) Verdict(code int, summary string, details any) {
	o.verdict = verdict{Code: code, Verdict: runfolder.VerdictName(code), Summary: summary, Details: details}
}

func (o *output) write(seed uint64, elapsed time.Duration) error {
	rv := runfolder.Verdict{Seed: seed, Code: o.verdict.Code, Summary: o.verdict.Summary, VirtualNs: elapsed.Nanoseconds()}
	if o.verdict.Details != nil {
		d, err := json.Marshal(o.verdict.Details)
		if err != nil {
			return err
		}
		rv.Details = d
	}
	vj, err := runfolder.MarshalVerdict(rv)
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{runfolder.TraceFile, []byte(o.trace.String())},
		{runfolder.HistoryFile, o.history},
		{runfolder.FaultsFile, faultsJSONL(o.faultRecords)},
		// verdict.json last: its presence says the others are complete.
		{runfolder.VerdictFile, vj},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(o.dir, f.name), f.data, runfolder.FileMode); err != nil {
			return err
		}
	}
	return nil
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// watchdogMargin is how long past its budget a scenario may take to wind
// down before the watchdog dumps it; below the host's own margin (the
// host stops a guest 70 virtual seconds past its budget).
const watchdogMargin = 30 * time.Second

// dumpStuck writes every goroutine's stack and the trace so far to w.
func dumpStuck(w io.Writer, out *output) {
	buf := make([]byte, 64<<20)
	n := runtime.Stack(buf, true)
	fmt.Fprintf(w, "weir-sim: still running %v past the virtual-time budget; goroutines:\n%s\n", watchdogMargin, buf[:n])
	out.mu.Lock()
	trace := out.trace.String()
	out.mu.Unlock()
	fmt.Fprintf(w, "weir-sim: the trace so far:\n%s", trace)
}
