package checker

import (
	"fmt"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder"
)

// Judge runs Check on a run's history and decides the run's exit code
// (package runfolder), for the simulation guest and `weir check` alike, so
// a run folder is judged the same wherever it came from. The safety
// checkers judge every run; liveness is the error of the run's liveness
// phase, if it failed (nil outside the simulator).
//
// Invalid (an anomaly the configuration does not allow) wins over
// liveness; liveness (the healed cluster did not converge, the final read
// could not read every partition to its high watermark, or a processing
// application did not get through its input: what should have come out
// cannot be judged) over a checker that could not finish (out of its
// budget: a harness limit); that over valid.
//
// external adds the findings of checkers that read more than the history
// (the simulator's metadata checker, the brokers' invariant breaches)
// before the verdict is summarised; what they find is judged like the
// history's anomalies.
func Judge(h []history.Op, opts Opts, liveness error, external ...func(*Verdict)) (int, string, Verdict) {
	v := Check(h, opts)
	for _, add := range external {
		add(&v)
	}
	summary := v.Summary()
	if liveness != nil {
		summary = fmt.Sprintf("LIVENESS: %v\n%s", liveness, summary)
	}
	switch {
	case v.Outcome == Invalid:
		return runfolder.ExitInvalid, summary, v
	case liveness != nil:
		return runfolder.ExitLiveness, summary, v
	case v.Outcome == Unknown && (v.UnknownBecause(FinalReadIncomplete) || v.UnknownBecause(ProcessingIncomplete)):
		return runfolder.ExitLiveness, summary, v
	case v.Outcome == Unknown:
		return runfolder.ExitHarness, summary, v
	}
	return runfolder.ExitValid, summary, v
}
