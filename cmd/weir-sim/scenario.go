package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/weir-dev/weir/broker"
)

// runScenario runs one simulation and returns its exit code (0 valid,
// 1 invalid, 2 liveness, 3 harness error), after recording its verdict with
// out.Verdict. ctx ends when the virtual-time budget is spent.
//
// THIS IS THE SEAM for the real world. Today every scenario here is a
// harness self-test: "selftest" exercises goroutines, timers, select, maps
// and channels so that the determinism of sim/host can be tested end to end;
// "panic", "spin" and "overrun" misbehave on purpose so that the host's
// handling of a broken guest is tested. To plug in the real world, add a
// scenario "world" to the table below whose run builds sim/world from p
// (cluster, faults schedule, workload, checkers; its parameters derived in
// its params func from the same rng), and make "world" the --scenario
// default in parseFlags. Keep "selftest": the host's tests run it.
func runScenario(ctx context.Context, p params, out *output) (exitCode int) {
	return scenarios[p.Scenario].run(ctx, p, out)
}

// scenario is one row of the table: params derives its parameters from the
// seed's stream (called once, before the run), run runs it.
type scenario struct {
	params func(p *params, rng *rand.Rand)
	run    func(ctx context.Context, p params, out *output) int
}

// scenarios are the values of --scenario.
var scenarios = map[string]scenario{
	"world":    {params: worldAndWorkloadParams, run: runWorld},
	"selftest": {params: selftestParamsFromSeed, run: runSelftest},
	// Harness tests of sim/host: a broken guest must be reported as a
	// harness error (exit 3) with a clear message.
	"panic": {run: func(context.Context, params, *output) int {
		panic("weir-sim: scenario \"panic\" panics on purpose (harness test)")
	}},
	// spin loops without reading the clock: only the host's wall-clock cap
	// can stop it (wasm has no preemption).
	"spin": {run: func(context.Context, params, *output) int {
		for i := uint64(0); ; i++ {
			if i == 1<<63 {
				return exitValid
			}
		}
	}},
	// overrun ignores its context and sleeps forever: the guest's own
	// budget check cannot fire while run blocks, so the host must stop it
	// when the virtual clock passes the budget.
	"overrun": {run: func(context.Context, params, *output) int {
		for {
			time.Sleep(time.Second)
		}
	}},
}

func scenarioNames() []string {
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// defect is a planted bug, reachable only through --defect, never on by
// default. A sweep with the defect on must find it; the same seeds with it
// off must be valid.
type defect struct {
	name  string
	about string
}

// defects is what --list-defects prints: the broker's planted defects
// (broker.DefectCatalog, for the world scenario), the workloads'
// (registry.DefectCatalog, workloaddefects.go) and the selftest
// scenario's own.
var defects = func() []defect {
	var ds []defect
	for _, d := range broker.DefectCatalog() {
		ds = append(ds, defect{d.Name, fmt.Sprintf("world scenario: %s (caught by %s)", d.Breaks, strings.Join(d.CaughtBy, ", "))})
	}
	ds = append(ds, workloadDefectLines()...)
	return append(ds,
		defect{"selftest-lose-message", "selftest scenario: a worker drops one message on about half of the seeds (found as invalid, exit 1)"},
		defect{"selftest-stall", "selftest scenario: a worker stops reading on about half of the seeds (found as liveness, exit 2)"},
	)
}()
