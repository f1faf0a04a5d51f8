package host

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/weir-dev/weir/runfolder"
)

// Exit codes of a run (and of `weir sim`): runfolder's.
const (
	ExitValid    = runfolder.ExitValid
	ExitInvalid  = runfolder.ExitInvalid
	ExitLiveness = runfolder.ExitLiveness
	ExitHarness  = runfolder.ExitHarness
)

// VerdictName names an exit code.
func VerdictName(code int) string { return runfolder.VerdictName(code) }

// Defaults of RunConfig.
const (
	DefaultBudget  = 10 * time.Minute // virtual
	DefaultWallCap = 10 * time.Minute // wall
)

// GuestOutDir is where the run folder is mounted inside the guest.
const GuestOutDir = "/out"

// Runner runs one guest module: it holds the wazero runtime and the module,
// compiled once. Run may be called from many goroutines at once.
type Runner struct {
	spinCheck     bool
	guest         *Guest
	rt            wazero.Runtime
	compiled      wazero.CompiledModule
	compileTime   time.Duration
	wazeroVersion string
	cacheDir      string
}

// RunnerOption is an option of NewRunner.
type RunnerOption func(*Runner)

// SpinCheck compiles the guest with wazero's termination checks
// (WithCloseOnContextDone), so that a guest spinning without reading its
// clock is stopped at the wall-clock cap as a harness error instead of
// ending the process. The checks call out to Go at every loop head of the
// compiled code, which Go's wasm code passes on every call and backward
// jump: a run costs about twice the CPU (docs/PERFORMANCE.md, "The
// simulator's own speed"). For finding a spinning guest, not for sweeps.
func SpinCheck() RunnerOption { return func(r *Runner) { r.spinCheck = true } }

// NewRunner compiles g with wazero's compiler engine (the interpreter where
// the platform has no compiler), caching compiled code in cacheDir/wazero
// ("" is CacheDir()). Close releases it.
func NewRunner(ctx context.Context, g *Guest, cacheDir string, opts ...RunnerOption) (*Runner, error) {
	r := &Runner{guest: g, wazeroVersion: wazeroVersion(), cacheDir: cacheDir}
	for _, o := range opts {
		o(r)
	}
	if r.cacheDir == "" {
		var err error
		if r.cacheDir, err = CacheDir(); err != nil {
			return nil, err
		}
	}
	cc, err := wazero.NewCompilationCacheWithDir(filepath.Join(r.cacheDir, "wazero"))
	if err != nil {
		return nil, err
	}
	// WithCloseOnContextDone only with SpinCheck: its check at every loop
	// head of the compiled code calls out to Go, and Go's wasm code passes
	// a loop head on every call and backward jump, so it cost about half
	// of a run's CPU. The virtual clock stops the guest instead
	// (vclock.stop; runUntilStopped for a guest that does not read it).
	cfg := wazero.NewRuntimeConfig().WithCompilationCache(cc).WithCloseOnContextDone(r.spinCheck)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	start := time.Now()
	compiled, err := rt.CompileModule(ctx, g.Bytes)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("compiling %s: %w", g.Path, err)
	}
	r.rt, r.compiled, r.compileTime = rt, compiled, time.Since(start)
	return r, nil
}

// Close releases the runtime and the compiled module.
func (r *Runner) Close(ctx context.Context) error { return r.rt.Close(ctx) }

// CompileTime is how long compiling the module took (short on a cache hit).
func (r *Runner) CompileTime() time.Duration { return r.compileTime }

// Guest is the module this runner runs.
func (r *Runner) Guest() *Guest { return r.guest }

func wazeroVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	// Test binaries carry no dependency list; the module cache path of
	// wazero's source (kept by -trimpath too) names the version.
	file, _ := runtime.FuncForPC(reflect.ValueOf(wazero.NewRuntime).Pointer()).FileLine(0)
	if _, v, ok := strings.Cut(file, "github.com/tetratelabs/wazero@"); ok {
		v, _, _ = strings.Cut(v, "/")
		return v
	}
	return "unknown"
}

// RunConfig is one run.
type RunConfig struct {
	Seed uint64
	// Args are the guest's flags other than the ones the host sets
	// (--seed, --out, --budget), e.g. "--duration", "60s", "--faults", "crash".
	Args []string
	// Env is the guest's whole environment, KEY=VALUE. The host's own
	// environment never reaches the guest.
	Env []string
	// OutDir is the run folder on the host; created if missing. The guest
	// sees it as /out.
	OutDir string
	// Budget is the virtual-time budget (passed to the guest as --budget;
	// the host stops the guest past it). 0 is DefaultBudget.
	Budget time.Duration
	// WallCap is the wall-clock time after which the host stops the guest.
	// 0 is DefaultWallCap.
	WallCap time.Duration
	// Stdout and Stderr, if not nil, also receive the guest's output as it
	// is written (it is always saved in stdout.log and stderr.log).
	Stdout, Stderr io.Writer
	// Twice runs the seed a second time, into OutDir/determinism, and
	// compares the two runs' trace and stdout hashes and exit codes: a
	// difference is a harness error (the run is not a function of its
	// seed). The second folder is removed when they agree.
	Twice bool
}

// determinismDir is where RunConfig.Twice puts the second run.
const determinismDir = "determinism"

// Header is header.json (runfolder.Header).
type Header = runfolder.Header

// Result is a run's outcome: its header (also in OutDir/header.json).
type Result struct {
	Header
	OutDir string
	Err    error // the host could not run the guest at all (ExitCode is 3)
}

// Virtual and Wall are the run's simulated and real durations.
func (r Result) Virtual() time.Duration { return time.Duration(r.VirtualNs) }
func (r Result) Wall() time.Duration    { return time.Duration(r.WallNs) }

var (
	errVirtualBudget = errors.New("virtual-time budget exceeded")
	errWallCap       = errors.New("wall-clock cap exceeded")
)

// Run runs the guest once and writes its run folder. It never returns an
// error: whatever goes wrong is a harness error (ExitCode 3) with Message
// saying what.
func (r *Runner) Run(ctx context.Context, rc RunConfig) Result {
	if rc.Budget <= 0 {
		rc.Budget = DefaultBudget
	}
	if rc.WallCap <= 0 {
		rc.WallCap = DefaultWallCap
	}
	args := append([]string{"--seed", strconv.FormatUint(rc.Seed, 10), "--out", GuestOutDir, "--budget", rc.Budget.String()}, rc.Args...)
	res := Result{OutDir: rc.OutDir, Header: Header{
		Seed: rc.Seed, Args: args, ExtraArgs: nonNil(rc.Args), Env: nonNil(rc.Env),
		BudgetNs: int64(rc.Budget), WallCapNs: int64(rc.WallCap),
		GuestSHA256: r.guest.SHA256, GuestPath: r.guest.Path, GoVersion: r.guest.GoVersion,
		WazeroVersion: r.wazeroVersion, HostGoVersion: runtime.Version(), HostPlatform: runtime.GOOS + "/" + runtime.GOARCH,
	}}
	fail := func(err error) Result {
		res.ExitCode, res.Verdict, res.Message, res.Err = ExitHarness, VerdictName(ExitHarness), err.Error(), err
		return res
	}
	if rc.OutDir == "" {
		return fail(errors.New("no run folder"))
	}
	if err := os.MkdirAll(rc.OutDir, 0o755); err != nil {
		return fail(err)
	}
	if err := removeArtifacts(rc.OutDir); err != nil {
		return fail(err)
	}
	// A header before the run, so that a run that hangs the host can still
	// be reproduced.
	if err := writeHeader(rc.OutDir, res.Header); err != nil {
		return fail(err)
	}
	stdoutF, err := os.Create(filepath.Join(rc.OutDir, runfolder.StdoutFile))
	if err != nil {
		return fail(err)
	}
	defer stdoutF.Close()
	stderrF, err := os.Create(filepath.Join(rc.OutDir, runfolder.StderrFile))
	if err != nil {
		return fail(err)
	}
	defer stderrF.Close()
	var stdoutB, stderrB bytes.Buffer
	stdout := io.MultiWriter(stdoutF, &stdoutB)
	stderr := io.MultiWriter(stderrF, &stderrB)
	if rc.Stdout != nil {
		stdout = io.MultiWriter(stdout, rc.Stdout)
	}
	if rc.Stderr != nil {
		stderr = io.MultiWriter(stderr, rc.Stderr)
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	runCtx, cancelWall := context.WithTimeoutCause(runCtx, rc.WallCap, errWallCap)
	defer cancelWall()
	// The guest stops itself at the budget; the host allows a grace period
	// for it to write its results, then stops it.
	grace := rc.Budget/10 + 10*time.Second
	clock := newVClock(int64(rc.Budget+grace), func() { cancel(errVirtualBudget) })

	mc := wazero.NewModuleConfig().
		WithName("").
		WithArgs(append([]string{"weir-sim"}, args...)...).
		WithStdout(stoppingWriter{stdout, clock}).WithStderr(stoppingWriter{stderr, clock}).WithStdin(bytes.NewReader(nil)).
		WithRandSource(seedRand(rc.Seed)).
		WithNanotime(clock.nanotime, 1).
		WithWalltime(clock.walltime, 1000).
		WithNanosleep(clock.nanosleep).
		WithOsyield(func() {}).
		WithFSConfig(wazero.NewFSConfig().WithDirMount(rc.OutDir, GuestOutDir)).
		WithStartFunctions() // _start is called below, to read the memory size after it
	for _, kv := range rc.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fail(fmt.Errorf("environment entry %q: want KEY=VALUE", kv))
		}
		mc = mc.WithEnv(k, v)
	}

	stopClock := context.AfterFunc(runCtx, clock.stop)
	defer stopClock()
	start := time.Now()
	exit, runErr := r.runUntilStopped(runCtx, mc, &res)
	res.WallNs = int64(time.Since(start))
	res.VirtualNs = clock.elapsed()
	res.ExitCode, res.Message = r.judge(rc, runCtx, exit, runErr, &stderrB, clock)
	res.Verdict = VerdictName(res.ExitCode)
	res.Params = paramsLine(stdoutB.Bytes())
	if res.GoVersion == "" && res.Params != nil {
		var p struct {
			GoVersion string `json:"go_version"`
		}
		if json.Unmarshal(res.Params, &p) == nil {
			res.GoVersion = p.GoVersion
		}
	}
	res.StdoutSHA256 = sha256Hex(stdoutB.Bytes())
	if b, err := os.ReadFile(filepath.Join(rc.OutDir, runfolder.TraceFile)); err == nil {
		res.TraceSHA256 = sha256Hex(b)
	}
	res.Finished = true
	if rc.Twice {
		r.runAgain(ctx, rc, &res)
	}
	if err := writeHeader(rc.OutDir, res.Header); err != nil {
		return fail(err)
	}
	if err := writeSummary(rc.OutDir, res.Header); err != nil {
		return fail(err)
	}
	if err := chmodArtifacts(rc.OutDir); err != nil {
		return fail(err)
	}
	return res
}

// runAgain is RunConfig.Twice: it reruns rc and turns res into a harness
// error if the second run differs.
func (r *Runner) runAgain(ctx context.Context, rc RunConfig, res *Result) {
	again := rc
	again.Twice, again.Stdout, again.Stderr = false, nil, nil
	again.OutDir = filepath.Join(rc.OutDir, determinismDir)
	b := r.Run(ctx, again)
	var diffs []string
	if b.TraceSHA256 != res.TraceSHA256 {
		diffs = append(diffs, fmt.Sprintf("trace sha256 %s then %s", res.TraceSHA256, b.TraceSHA256))
	}
	if b.StdoutSHA256 != res.StdoutSHA256 {
		diffs = append(diffs, fmt.Sprintf("stdout sha256 %s then %s", res.StdoutSHA256, b.StdoutSHA256))
	}
	if b.ExitCode != res.ExitCode {
		diffs = append(diffs, fmt.Sprintf("exit %d then %d", res.ExitCode, b.ExitCode))
	}
	if len(diffs) == 0 {
		os.RemoveAll(again.OutDir)
		return
	}
	res.ExitCode, res.Verdict = ExitHarness, VerdictName(ExitHarness)
	res.Message = fmt.Sprintf("not deterministic: the same seed ran twice differently (%s; second run in %s)", strings.Join(diffs, "; "), again.OutDir)
}

// chmodArtifacts gives every artifact of the run folder runfolder.FileMode,
// whoever wrote it (wazero creates the guest's files 0600).
func chmodArtifacts(dir string) error {
	for _, a := range runfolder.Artifacts {
		if err := os.Chmod(filepath.Join(dir, a), runfolder.FileMode); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// stoppingWriter is the guest's stdout or stderr: a write after the clock
// was stopped ends the guest as a clock read does, so that a guest that
// writes without reading the clock stops too, and never writes into the
// buffers Run reads once it gave up on it.
type stoppingWriter struct {
	w     io.Writer
	clock *vclock
}

func (s stoppingWriter) Write(b []byte) (int, error) {
	if s.clock.stopped.Load() {
		panic(errStopped)
	}
	return s.w.Write(b)
}

// spinGrace is how long Run waits, after the run's context ended, for the
// guest to read its clock (and so stop) before it gives up on it.
const spinGrace = 5 * time.Second

// runUntilStopped is instantiateAndRun, watching for a guest that does
// not stop within spinGrace of ctx's end. A guest stops at its next clock
// read once ctx ends (vclock.stop). One that never reads the clock cannot
// be stopped unless the runner was made with SpinCheck: without wazero's
// termination checks its compiled code checks nothing, and worse, the
// host's next garbage collection waits forever for the goroutine running
// it (Go cannot preempt code it did not compile). The process is then
// lost, so it says which run spun and exits with a harness error; the
// run's header.json, written before the run, has what replays it. Guest
// code must not spin (DESIGN.md, rule 1): this is the last resort.
func (r *Runner) runUntilStopped(ctx context.Context, mc wazero.ModuleConfig, res *Result) (uint32, error) {
	type outcome struct {
		exit uint32
		err  error
		mem  uint64
	}
	done := make(chan outcome, 1)
	go func() {
		var own Result
		exit, err := r.instantiateAndRun(ctx, mc, &own)
		done <- outcome{exit, err, own.MemoryBytes}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		select {
		case o = <-done:
		case <-time.After(spinGrace):
			if !r.spinCheck {
				fmt.Fprintf(os.Stderr, "weir sim: seed %d (%s): the guest did not stop within %v of %v: it runs without reading its clock (a spin loop?), which nothing can stop without --spin-check; exiting\n",
					res.Seed, res.OutDir, spinGrace, context.Cause(ctx))
				os.Exit(ExitHarness)
			}
			o = <-done
		}
	}
	res.MemoryBytes = o.mem
	return o.exit, o.err
}

// instantiateAndRun runs the guest's _start and returns its exit code.
func (r *Runner) instantiateAndRun(ctx context.Context, mc wazero.ModuleConfig, res *Result) (uint32, error) {
	mod, err := r.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, guestMemory()), r.compiled, mc)
	if err != nil {
		return 0, err
	}
	defer mod.Close(context.Background())
	start := mod.ExportedFunction("_start")
	if start == nil {
		return 0, errors.New("guest module has no _start (not a wasip1 command?)")
	}
	_, err = start.Call(ctx)
	if mem := mod.Memory(); mem != nil {
		res.MemoryBytes = uint64(mem.Size())
	}
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil // _start returned without proc_exit: exit 0
}

// Exec runs the guest with args for something other than a run (such as
// --list-defects): seed 0, no run folder, stdout and stderr passed through.
func (r *Runner) Exec(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	clock := newVClock(int64(time.Hour), func() {})
	mc := wazero.NewModuleConfig().WithName("").
		WithArgs(append([]string{"weir-sim"}, args...)...).
		WithStdout(stdout).WithStderr(stderr).
		WithRandSource(seedRand(0)).
		WithNanotime(clock.nanotime, 1).WithWalltime(clock.walltime, 1000).
		WithNanosleep(clock.nanosleep).WithOsyield(func() {}).
		WithStartFunctions()
	var res Result
	code, err := r.instantiateAndRun(ctx, mc, &res)
	return int(code), err
}

// judge turns how the guest ended into an exit code and a message.
func (r *Runner) judge(rc RunConfig, ctx context.Context, exit uint32, runErr error, stderr *bytes.Buffer, clock *vclock) (int, string) {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errVirtualBudget):
		return ExitHarness, fmt.Sprintf("guest passed its virtual-time budget of %v without stopping; the host stopped it at virtual %v", rc.Budget, time.Duration(clock.elapsed()))
	case errors.Is(cause, errWallCap):
		return ExitHarness, fmt.Sprintf("guest ran past the wall-clock cap of %v (virtual %v simulated); a loop that never blocks?", rc.WallCap, time.Duration(clock.elapsed()))
	case cause != nil:
		return ExitHarness, fmt.Sprintf("run stopped: %v", cause)
	}
	if runErr != nil {
		return ExitHarness, fmt.Sprintf("guest failed: %v%s", firstLine(runErr.Error()), stderrHint(stderr))
	}
	var v struct {
		Code    *int   `json:"code"`
		Summary string `json:"summary"`
	}
	b, err := os.ReadFile(filepath.Join(rc.OutDir, "verdict.json"))
	switch {
	case err != nil:
		return ExitHarness, fmt.Sprintf("guest exited with code %d and no verdict.json%s", exit, stderrHint(stderr))
	case json.Unmarshal(b, &v) != nil || v.Code == nil:
		return ExitHarness, fmt.Sprintf("guest exited with code %d and an unreadable verdict.json%s", exit, stderrHint(stderr))
	case uint32(*v.Code) != exit:
		return ExitHarness, fmt.Sprintf("guest exited with code %d but verdict.json says %d%s", exit, *v.Code, stderrHint(stderr))
	case *v.Code < ExitValid || *v.Code > ExitHarness:
		return ExitHarness, fmt.Sprintf("guest verdict code %d is not 0-3", *v.Code)
	}
	return *v.Code, v.Summary
}

// stderrHint picks the line of the guest's stderr that explains a failure:
// a panic or fatal error if any, else the last line.
func stderrHint(stderr *bytes.Buffer) string {
	var last string
	sc := bufio.NewScanner(bytes.NewReader(stderr.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			return ": " + line + " (stack in stderr.log)"
		}
		if line != "" {
			last = line
		}
	}
	if last == "" {
		return ""
	}
	return ": " + last
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// paramsLine finds the guest's PARAMS=<json> line.
func paramsLine(stdout []byte) json.RawMessage {
	for line := range bytes.Lines(stdout) {
		if p, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("PARAMS=")); ok && json.Valid(p) {
			return json.RawMessage(bytes.Clone(p))
		}
	}
	return nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeHeader(dir string, h Header) error { return runfolder.WriteHeader(dir, h) }

// removeArtifacts removes what an earlier run left in dir.
func removeArtifacts(dir string) error {
	names := slices.Clone(runfolder.Artifacts)
	vis, _ := filepath.Glob(filepath.Join(dir, runfolder.LinearizabilityGlob))
	for _, v := range vis {
		names = append(names, filepath.Base(v))
	}
	for _, a := range names {
		if err := os.Remove(filepath.Join(dir, a)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// writeSummary writes summary.txt: the header's facts first (SEED= as
// TigerBeetle's VOPR prints it), then the outcome.
func writeSummary(dir string, h Header) error {
	var b strings.Builder
	fmt.Fprintf(&b, "SEED=%d\n", h.Seed)
	fmt.Fprintf(&b, "guest:   %s (sha256 %s)\n", h.GuestPath, h.GuestSHA256)
	fmt.Fprintf(&b, "go:      %s   wazero: %s   host: %s %s\n", h.GoVersion, h.WazeroVersion, h.HostGoVersion, h.HostPlatform)
	fmt.Fprintf(&b, "args:    %s\n", strings.Join(h.Args, " "))
	if len(h.Env) > 0 {
		fmt.Fprintf(&b, "env:     %s\n", strings.Join(h.Env, " "))
	}
	fmt.Fprintf(&b, "params:  %s\n", h.Params)
	fmt.Fprintf(&b, "\nverdict: %s (exit %d): %s\n", h.Verdict, h.ExitCode, h.Message)
	fmt.Fprintf(&b, "trace:   sha256 %s\n", h.TraceSHA256)
	fmt.Fprintf(&b, "time:    %v virtual in %v wall (%.0fx)\n", time.Duration(h.VirtualNs).Round(time.Millisecond),
		time.Duration(h.WallNs).Round(time.Millisecond), speedup(h.VirtualNs, h.WallNs))
	fmt.Fprintf(&b, "memory:  %d MiB guest linear memory\n", h.MemoryBytes>>20)
	fmt.Fprintf(&b, "replay:  weir sim --replay %s\n", dir)
	return os.WriteFile(filepath.Join(dir, runfolder.SummaryFile), []byte(b.String()), runfolder.FileMode)
}

func speedup(virtualNs, wallNs int64) float64 {
	if wallNs <= 0 {
		return 0
	}
	return float64(virtualNs) / float64(wallNs)
}

// ReadHeader reads a run folder's header.json.
func ReadHeader(dir string) (Header, error) { return runfolder.ReadHeader(dir) }

// ReplayConfig is the RunConfig that reruns the run described by h into
// outDir.
func ReplayConfig(h Header, outDir string) RunConfig {
	return RunConfig{Seed: h.Seed, Args: h.ExtraArgs, Env: h.Env, OutDir: outDir,
		Budget: time.Duration(h.BudgetNs), WallCap: time.Duration(h.WallCapNs)}
}

// Sweep runs every seed, parallel at a time (0 is GOMAXPROCS), with the
// RunConfig that config returns for it. done, if not nil, is called after
// each run, from one goroutine at a time. Results are in seeds' order. It
// stops starting runs when ctx ends.
func (r *Runner) Sweep(ctx context.Context, seeds []uint64, parallel int, config func(seed uint64) RunConfig, done func(Result)) []Result {
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	results := make([]Result, len(seeds))
	for i, s := range seeds {
		results[i] = Result{Header: Header{Seed: s, ExitCode: ExitHarness, Verdict: VerdictName(ExitHarness), Message: "not run: interrupted"}}
	}
	next := make(chan int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(parallel, len(seeds)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res := r.Run(ctx, config(seeds[i]))
				results[i] = res
				if done != nil {
					mu.Lock()
					done(res)
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i := range seeds {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return results
}
