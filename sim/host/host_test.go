package host

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The guest is built and compiled once per test binary: the tests below
// that need it are skipped by -short.
var shared struct {
	once sync.Once
	r    *Runner
	err  error
}

func testRunner(t testing.TB) *Runner {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the wasm guest; skipped by -short")
	}
	shared.once.Do(func() {
		ctx := context.Background()
		g, err := BuildGuest(ctx, BuildOptions{})
		if err != nil {
			shared.err = err
			return
		}
		shared.r, shared.err = NewRunner(ctx, g, "")
		if shared.err == nil {
			fmt.Fprintf(os.Stderr, "sim/host test: guest %s (%d MiB, built now: %v), compiled in %v\n",
				short(g.SHA256), len(g.Bytes)>>20, g.Built, shared.r.CompileTime().Round(time.Millisecond))
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.r
}

// short runs keep the tests fast; the virtual duration is what the guest
// simulates, not what the test waits.
var shortRun = []string{"--scenario", "selftest", "--duration", "5s"}

func runSeed(t *testing.T, r *Runner, seed uint64, rc RunConfig) Result {
	t.Helper()
	rc.Seed = seed
	if rc.OutDir == "" {
		rc.OutDir = t.TempDir()
	}
	if rc.Args == nil {
		rc.Args = shortRun
	}
	return r.Run(t.Context(), rc)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeterminism(t *testing.T) {
	r := testRunner(t)
	// Three runs at once in one runtime: instances must not leak into
	// each other either.
	seeds := []uint64{7, 7, 8}
	res := make([]Result, len(seeds))
	var wg sync.WaitGroup
	for i, s := range seeds {
		wg.Go(func() { res[i] = runSeed(t, r, s, RunConfig{}) })
	}
	wg.Wait()
	for _, x := range res {
		if x.ExitCode != ExitValid || x.TraceSHA256 == "" {
			t.Fatalf("seed %d: exit %d %q, trace %q", x.Seed, x.ExitCode, x.Message, x.TraceSHA256)
		}
	}
	a, b, c := res[0], res[1], res[2]
	if a.TraceSHA256 != b.TraceSHA256 || a.StdoutSHA256 != b.StdoutSHA256 || a.VirtualNs != b.VirtualNs {
		t.Fatalf("seed 7 twice: trace %s vs %s, stdout %s vs %s, virtual %d vs %d",
			a.TraceSHA256, b.TraceSHA256, a.StdoutSHA256, b.StdoutSHA256, a.VirtualNs, b.VirtualNs)
	}
	if readFile(t, filepath.Join(a.OutDir, "stdout.log")) != readFile(t, filepath.Join(b.OutDir, "stdout.log")) {
		t.Fatal("seed 7 twice: different stdout")
	}
	if a.TraceSHA256 == c.TraceSHA256 {
		t.Fatalf("seeds 7 and 8 gave the same trace %s", a.TraceSHA256)
	}
	if tr := readFile(t, filepath.Join(a.OutDir, "trace.log")); strings.Count(tr, "\n") < 100 || !strings.Contains(tr, "heartbeat") {
		t.Fatalf("trace too thin:\n%.500s", tr)
	}

	// The header is enough to understand and replay the run.
	h, err := ReadHeader(a.OutDir)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Seed     uint64          `json:"seed"`
		Selftest json.RawMessage `json:"selftest"`
	}
	if err := json.Unmarshal(h.Params, &p); err != nil || p.Seed != 7 || len(p.Selftest) == 0 {
		t.Fatalf("header params %s: %v", h.Params, err)
	}
	if !h.Finished || h.Seed != 7 || h.GuestSHA256 != r.Guest().SHA256 || h.TraceSHA256 != a.TraceSHA256 ||
		!strings.HasPrefix(h.WazeroVersion, "v1.") || !strings.HasPrefix(h.GoVersion, "go1.") || h.VirtualNs < int64(5*time.Second) {
		t.Fatalf("header: %+v", h)
	}
	sum := readFile(t, filepath.Join(a.OutDir, "summary.txt"))
	if !strings.HasPrefix(sum, "SEED=7\n") || !strings.Contains(sum, r.Guest().SHA256) || !strings.Contains(sum, "verdict: valid") {
		t.Fatalf("summary.txt:\n%s", sum)
	}
	for _, f := range []string{"history.jsonl", "verdict.json"} {
		if fi, err := os.Stat(filepath.Join(a.OutDir, f)); err != nil || fi.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}

	// Replay from the header alone, into another folder.
	rep := r.Run(t.Context(), ReplayConfig(h, t.TempDir()))
	if rep.TraceSHA256 != a.TraceSHA256 || rep.ExitCode != ExitValid {
		t.Fatalf("replay: exit %d, trace %s, want %s", rep.ExitCode, rep.TraceSHA256, a.TraceSHA256)
	}
}

// spinModule is (module (func (loop (br 0))) (memory 1) (export "_start" (func 0))):
// a guest that spins without a host call, as a bug in guest code might.
var spinModule = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x04\x01\x60\x00\x00" + // type section: () -> ()
	"\x03\x02\x01\x00" + // function section: one function of type 0
	"\x05\x03\x01\x00\x01" + // memory section: one page
	"\x07\x0a\x01\x06_start\x00\x00" + // export section: _start
	"\x0a\x09\x01\x07\x00\x03\x40\x0c\x00\x0b\x0b") // code: loop br 0 end end

// TestSpinCheck: a guest that spins without reading its clock is stopped
// at the wall-clock cap by a runner made with SpinCheck. (Without it the
// process has to exit: runUntilStopped.)
func TestSpinCheck(t *testing.T) {
	r, err := NewRunner(t.Context(), &Guest{Path: "spin.wasm", Bytes: spinModule}, t.TempDir(), SpinCheck())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	res := r.Run(t.Context(), RunConfig{Seed: 1, OutDir: t.TempDir(), WallCap: time.Second})
	if want := "guest ran past the wall-clock cap of 1s"; res.ExitCode != ExitHarness || !strings.Contains(res.Message, want) {
		t.Fatalf("exit %d, message %q; want 3 and %q", res.ExitCode, res.Message, want)
	}
}

func TestHarnessErrors(t *testing.T) {
	r := testRunner(t)
	cases := []struct {
		name string
		rc   RunConfig
		want string // in Message
	}{
		{"panic", RunConfig{Args: []string{"--scenario", "panic"}},
			`guest exited with code 2 and no verdict.json: panic: weir-sim: scenario "panic" panics on purpose`},
		// The guest notices its budget and says so.
		{"guest budget", RunConfig{Args: []string{"--scenario", "selftest", "--duration", "30s"}, Budget: 3 * time.Second},
			"virtual-time budget of 3s exceeded"},
		// The guest cannot notice (its main is blocked): the host stops it.
		{"host budget", RunConfig{Args: []string{"--scenario", "overrun"}, Budget: 2 * time.Second},
			"guest passed its virtual-time budget of 2s without stopping"},
		// A long run reads its clock: the host stops it there at the cap.
		{"wall cap", RunConfig{Args: []string{"--scenario", "selftest", "--duration", "8h"}, Budget: 9 * time.Hour, WallCap: time.Second},
			"guest ran past the wall-clock cap of 1s"},
		{"unknown defect", RunConfig{Args: []string{"--defect", "nope"}},
			`guest exited with code 3 and no verdict.json: weir-sim: unknown defect "nope"`},
		{"unknown fault", RunConfig{Args: []string{"--faults", "crash,meteor"}},
			`weir-sim: unknown fault kind "meteor"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := runSeed(t, r, 1, c.rc)
			if res.ExitCode != ExitHarness || !strings.Contains(res.Message, c.want) {
				t.Fatalf("exit %d, message %q; want 3 and %q", res.ExitCode, res.Message, c.want)
			}
			h, err := ReadHeader(res.OutDir)
			if err != nil || !h.Finished || h.ExitCode != ExitHarness || h.Message != res.Message {
				t.Fatalf("header %+v: %v", h, err)
			}
		})
	}
}

// TestDefects checks that the verdict codes 1 and 2 make it from the
// guest's checker to the host, and only on seeds where the defect fires.
func TestDefects(t *testing.T) {
	r := testRunner(t)
	for _, c := range []struct {
		defect string
		code   int
	}{{"selftest-lose-message", ExitInvalid}, {"selftest-stall", ExitLiveness}} {
		seeds := []uint64{1, 2, 3, 4, 5, 6}
		res := r.Sweep(t.Context(), seeds, 0, func(s uint64) RunConfig {
			return RunConfig{Seed: s, Args: []string{"--scenario", "selftest", "--duration", "20s", "--defect", c.defect}, OutDir: t.TempDir()}
		}, nil)
		found := 0
		for _, x := range res {
			// The guest traces "defect: ..." when the defect fires.
			fired := strings.Contains(readFile(t, filepath.Join(x.OutDir, "trace.log")), " defect: ")
			switch {
			case x.ExitCode == c.code && fired:
				found++
			case x.ExitCode != ExitValid || fired:
				t.Fatalf("%s seed %d: exit %d (%s), defect fired %v", c.defect, x.Seed, x.ExitCode, x.Message, fired)
			}
		}
		if found == 0 {
			t.Fatalf("%s: no seed of %v found it", c.defect, seeds)
		}
	}
}

func TestCommand(t *testing.T) {
	testRunner(t) // builds the guest into the cache the command uses
	dir := t.TempDir()
	cmd := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Command(t.Context(), args, nil, &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errs := cmd("--seeds", "1-4", "--parallel", "2", "--scenario", "selftest", "--duration", "20s", "--defect", "selftest-lose-message", "--out", dir)
	if !strings.Contains(out, "weir sim: 4 seeds in ") || strings.Contains(errs, "\r") {
		t.Fatalf("sweep: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	// Seed 3 is a seed where the defect fires (see TestDefects' seeds).
	var failing []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] != "SEED" && f[0] != "weir" {
			failing = append(failing, f[0])
			if f[1] != "1" || f[2] != "invalid" || f[3] != filepath.Join(dir, "seed-"+f[0]) {
				t.Fatalf("failing-seed row %q", line)
			}
		}
	}
	if code != ExitInvalid || len(failing) == 0 || !strings.Contains(out, "SEED  EXIT  VERDICT") {
		t.Fatalf("sweep: exit %d, failing %v\n%s", code, failing, out)
	}
	// Valid runs' folders are removed, failing ones kept.
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(failing) {
		t.Fatalf("run folders %v, failing seeds %v", entries, failing)
	}

	runDir := filepath.Join(dir, "seed-"+failing[0])
	code, out, errs = cmd("--replay", runDir)
	if code != ExitInvalid || !strings.Contains(out, "weir sim: trace matches: sha256 ") || errs != "" {
		t.Fatalf("replay: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	// A replay with another module warns.
	h, err := ReadHeader(runDir)
	if err != nil {
		t.Fatal(err)
	}
	h.GuestSHA256 = strings.Repeat("0", 64)
	if err := writeHeader(runDir, h); err != nil {
		t.Fatal(err)
	}
	code, _, errs = cmd("--replay", runDir)
	if code != ExitInvalid || !strings.Contains(errs, "warning: the guest module differs") {
		t.Fatalf("replay with another module: exit %d, stderr %q", code, errs)
	}
	// A replay whose trace differs is a harness error.
	h.TraceSHA256 = strings.Repeat("1", 64)
	if err := writeHeader(runDir, h); err != nil {
		t.Fatal(err)
	}
	code, out, _ = cmd("--replay", runDir)
	if code != ExitHarness || !strings.Contains(out, "weir sim: trace DIFFERS: sha256 ") {
		t.Fatalf("replay with another trace: exit %d\n%s", code, out)
	}

	one := filepath.Join(dir, "one")
	code, out, _ = cmd("--seed", "42", "--duration", "2s", "--rate", "300", "--out", one)
	if code != ExitValid || !strings.HasPrefix(out, "SEED=42\nPARAMS={") || !strings.Contains(out, "weir sim: seed 42: valid (exit 0)") {
		t.Fatalf("one seed: exit %d\n%s", code, out)
	}
	// --rate travels like the other guest flags: into the parameters and
	// the header, and from the header into the replay.
	h, err = ReadHeader(one)
	var p struct {
		Rate  float64 `json:"rate"`
		World struct {
			Rate float64 `json:"rate"`
		} `json:"world"`
	}
	if err == nil {
		err = json.Unmarshal(h.Params, &p)
	}
	if err != nil || !slices.Equal(h.ExtraArgs, []string{"--duration", "2s", "--rate", "300"}) || p.Rate != 300 || p.World.Rate != 300 {
		t.Fatalf("--rate 300: %v, extra args %q, params %s", err, h.ExtraArgs, h.Params)
	}
	if code, out, _ = cmd("--replay", one); code != ExitValid || !strings.Contains(out, "weir sim: trace matches") {
		t.Fatalf("replay of --rate 300: exit %d\n%s", code, out)
	}

	// A prebuilt guest: nothing is built.
	code, out, errs = cmd("--guest", testRunner(t).Guest().Path, "--seed", "1", "--duration", "1s", "--out", filepath.Join(dir, "guest"))
	if code != ExitValid || strings.Contains(errs, "building") {
		t.Fatalf("--guest: exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs = cmd("--guest", "host_test.go"); code != ExitHarness || !strings.Contains(errs, "is not a wasm module") {
		t.Fatalf("--guest host_test.go: exit %d, %q", code, errs)
	}

	code, out, _ = cmd("--list-defects")
	if code != 0 || !strings.Contains(out, "selftest-lose-message") {
		t.Fatalf("--list-defects: exit %d\n%s", code, out)
	}
}

func TestCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--seed", "1", "--seeds", "1-2"},
		{"--seeds", "5-1"},
		{"--seed", "x"},
		{"--replay", "x", "--faults", "crash"},
		{"--replay", "x", "--rate", "500"},
		{"extra"},
	} {
		var out, errb bytes.Buffer
		if code := Command(t.Context(), args, nil, &out, &errb); code != 2 || !strings.HasPrefix(errb.String(), "weir sim: ") {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := Command(t.Context(), []string{"--help"}, nil, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "usage: weir sim") {
		t.Fatalf("--help: exit %d, %q", code, out.String())
	}
}

func TestParseSeeds(t *testing.T) {
	for in, want := range map[string]string{
		"7":          "[7]",
		"1-4":        "[1 2 3 4]",
		"3,1-2,3":    "[3 1 2]",
		" 10 - 11":   "error",
		"":           "error",
		"1-":         "error",
		"2-1":        "error",
		"0-20000000": "error",
	} {
		got, err := ParseSeeds(in)
		s := fmt.Sprint(got)
		if err != nil {
			s = "error"
		}
		if s != want {
			t.Errorf("ParseSeeds(%q) = %s, want %s", in, s, want)
		}
	}
}

// TestSourceKey: a change to a Go source, go.mod or go.sum changes the
// build key; test files, testdata and run folders do not.
func TestSourceKey(t *testing.T) {
	root := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module "+ModulePath+"\n")
	write("a/a.go", "package a\n")
	key := func() string {
		k, err := sourceKey(root, "go1.26.8")
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k0 := key()
	if key() != k0 {
		t.Fatal("key not stable")
	}
	write("a/a_test.go", "package a\n")
	write("a/testdata/x.go", "package x\n")
	write("runs/seed-1/trace.log", "x")
	write(".git/x.go", "package x\n")
	write("README.md", "hello")
	if key() != k0 {
		t.Fatal("key changed by a file the build does not read")
	}
	for _, f := range []string{"a/a.go", "b/b.go", "go.sum", "go.mod"} {
		write(f, "// changed\n")
		k := key()
		if k == k0 {
			t.Fatalf("key unchanged after writing %s", f)
		}
		k0 = k
	}
	if k, _ := sourceKey(root, "go1.27"); k == k0 {
		t.Fatal("key unchanged by the Go version")
	}
}

func TestVClock(t *testing.T) {
	overruns := 0
	c := newVClock(int64(time.Second), func() { overruns++ })
	a, b := c.nanotime(), c.nanotime()
	if a <= 0 || b-a != clockTickNs {
		t.Fatalf("nanotime %d then %d", a, b)
	}
	c.nanosleep(int64(500 * time.Millisecond))
	if s, ns := c.walltime(); s != wallEpochSec+1 || ns != int32((clockStartNs+500*time.Millisecond+3*clockTickNs)%1e9) {
		t.Fatalf("walltime %d.%09d", s, ns)
	}
	c.nanosleep(-5)
	if overruns != 0 || c.elapsed() != int64(500*time.Millisecond)+3*clockTickNs {
		t.Fatalf("elapsed %d, overruns %d", c.elapsed(), overruns)
	}
	c.nanosleep(int64(time.Second))
	c.nanotime()
	if overruns != 1 {
		t.Fatalf("overruns %d, want exactly 1", overruns)
	}
	// After stop, every read ends the guest: wazero turns the panic into
	// the error of the guest's _start.
	c.stop()
	for name, read := range map[string]func(){"nanotime": func() { c.nanotime() }, "walltime": func() { c.walltime() },
		"nanosleep": func() { c.nanosleep(1) }, "write": func() { stoppingWriter{io.Discard, c}.Write(nil) }} {
		func() {
			defer func() {
				if r := recover(); r != errStopped {
					t.Errorf("%s after stop: recovered %v, want errStopped", name, r)
				}
			}()
			read()
		}()
	}
	// The random source depends on the seed only.
	var x, y, z [16]byte
	seedRand(1).Read(x[:])
	seedRand(1).Read(y[:])
	seedRand(2).Read(z[:])
	if x != y || x == z {
		t.Fatalf("seedRand: %x %x %x", x, y, z)
	}
}

// BenchmarkCompile measures compiling the guest with an empty wazero cache
// (cold) and then from that cache (warm).
func BenchmarkCompile(b *testing.B) {
	g := testRunner(b).Guest()
	ctx := context.Background()
	for b.Loop() {
		dir := b.TempDir()
		r, err := NewRunner(ctx, g, dir)
		if err != nil {
			b.Fatal(err)
		}
		cold := r.CompileTime()
		r.Close(ctx)
		if r, err = NewRunner(ctx, g, dir); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(cold.Seconds(), "cold-s")
		b.ReportMetric(r.CompileTime().Seconds(), "warm-s")
		r.Close(ctx)
	}
}

// BenchmarkSelftest60s runs the selftest scenario for the default 60
// virtual seconds, one seed per iteration.
func BenchmarkSelftest60s(b *testing.B) {
	r := testRunner(b)
	var virtual, wall time.Duration
	var mem uint64
	seed := uint64(0)
	for b.Loop() {
		seed++
		res := r.Run(b.Context(), RunConfig{Seed: seed, OutDir: b.TempDir()})
		if res.ExitCode != ExitValid {
			b.Fatalf("seed %d: %s", seed, res.Message)
		}
		virtual += res.Virtual()
		wall += res.Wall()
		mem = max(mem, res.MemoryBytes)
	}
	b.ReportMetric(virtual.Seconds()/wall.Seconds(), "virtual-s/wall-s")
	b.ReportMetric(float64(mem)/(1<<20), "max-MiB-linear-memory")
}

// A sweep's summary counts seeds and valid seeds by the brokers each drew.
func TestValidByBrokers(t *testing.T) {
	res := func(nodes string, exit int) Result {
		var r Result
		if nodes != "" {
			r.Params = json.RawMessage(`{"seed":1,"world":{"nodes":` + nodes + `}}`)
		}
		r.ExitCode = exit
		return r
	}
	got := validByBrokers([]Result{res("3", ExitValid), res("3", ExitInvalid), res("1", ExitValid), res("5", ExitValid), res("", ExitHarness)})
	if want := "valid seeds by brokers drawn: 1: 1 of 1, 3: 1 of 2, 5: 1 of 1, ?: 0 of 1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A sweep whose stderr is not a terminal logs a progress line at each
// tenth, nine in all; short sweeps none.
func TestSweepProgressTenths(t *testing.T) {
	for _, c := range []struct{ total, lines int }{{1000, 9}, {55, 9}, {49, 0}, {1, 0}} {
		n := 0
		for done := 1; done <= c.total; done++ {
			if tenth(done, c.total) {
				n++
			}
		}
		if n != c.lines {
			t.Errorf("%d seeds: %d progress lines, want %d", c.total, n, c.lines)
		}
	}
}
