// Package rejudge is `weir check DIR`: it judges a run folder again, from
// its history and the workload parameters its header recorded, with the
// same code a run judges itself with (checker.Judge and the workloads'
// options from workloads/registry), whether the folder came from the
// simulator or from `weir workload run` against a real cluster.
//
// What a run knew beyond its history is carried over from the folder's
// verdict.json: the findings of checks that read more than the history
// (the simulator's metadata checker, the brokers' invariant breaches) and
// a failed liveness phase. Everything else is judged anew.
//
// A folder that cannot be judged (no header, no parameters, an unknown
// workload, a missing, corrupt or ill-paired history, no verdict.json: the
// run did not finish writing) is an error, reported with the harness exit
// code; it is never valid. Rejudging writes nothing into the folder.
package rejudge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder"
	"github.com/weir-dev/weir/workloads/registry"
)

// Result is a folder judged again.
type Result struct {
	Code      int    // runfolder's exit codes
	Summary   string // checker.Judge's summary
	Verdict   checker.Verdict
	Workloads []string
	// Recorded is the verdict the run wrote.
	Recorded runfolder.Verdict
	// CarriedOver names the checks taken from the recorded verdict, and
	// Liveness the recorded liveness failure ("" if none).
	CarriedOver []string
	Liveness    string
}

// livenessPrefix opens the summary checker.Judge writes for a run whose
// liveness phase failed; the rest of that line is the failure.
const livenessPrefix = "LIVENESS: "

// Folder judges the run folder dir again. An error means the folder cannot
// be judged.
func Folder(dir string) (Result, error) {
	var res Result
	h, err := runfolder.ReadHeader(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("%s: no %s: not a run folder (weir sim and weir workload run write one)", dir, runfolder.HeaderFile)
	}
	if err != nil {
		return res, err
	}
	rp, err := registry.ReadRunParams(h.Params)
	if err != nil {
		return res, fmt.Errorf("%s: %s: %w: which workload ran is unknown", dir, runfolder.HeaderFile, err)
	}
	if rp.Scenario != "" && rp.Scenario != "world" && rp.Scenario != registry.External {
		return res, fmt.Errorf("%s: scenario %q tests the harness itself and has no workload history to judge", dir, rp.Scenario)
	}
	res.Workloads, err = registry.ParseNames(rp.Workload)
	if err != nil {
		return res, fmt.Errorf("%s: %s: %w", dir, runfolder.HeaderFile, err)
	}
	var all []checker.Opts
	for _, name := range res.Workloads {
		o, err := registry.Opts(name, rp.WorkloadParams[name])
		if err != nil {
			return res, fmt.Errorf("%s: %w", dir, err)
		}
		all = append(all, o)
	}
	opts := registry.CombinedOpts(all)

	res.Recorded, err = runfolder.ReadVerdict(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("%s: no %s: the run did not finish writing its folder, so its history may be cut short", dir, runfolder.VerdictFile)
	}
	if err != nil {
		return res, err
	}
	ops, err := readHistory(filepath.Join(dir, runfolder.HistoryFile))
	if err != nil {
		return res, err
	}
	external, carried, err := carryOver(res.Recorded, opts)
	if err != nil {
		return res, fmt.Errorf("%s: %s: %w", dir, runfolder.VerdictFile, err)
	}
	res.CarriedOver = carried
	var liveness error
	if line, ok := recordedLiveness(res.Recorded); ok {
		res.Liveness, liveness = line, errors.New(line)
	}
	res.Code, res.Summary, res.Verdict = checker.Judge(ops, opts, liveness, external)
	return res, nil
}

// readHistory decodes and validates a history.jsonl.
func readHistory(path string) ([]history.Op, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: missing: the run left no history to judge", path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ops, err := history.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a history this build reads: %w", path, err)
	}
	if err := history.Validate(ops); err != nil {
		return nil, fmt.Errorf("%s: ill-formed history: %w", path, err)
	}
	return ops, nil
}

// carryOver returns an external checker (for checker.Judge) that adds the
// recorded verdict's checks that no history checker or workload property
// makes (the metadata checker, invariant breaches), with their recorded
// witnesses, and their names.
func carryOver(rec runfolder.Verdict, opts checker.Opts) (func(*checker.Verdict), []string, error) {
	if len(rec.Details) == 0 {
		return func(*checker.Verdict) {}, nil, nil
	}
	var old checker.Verdict
	if err := json.Unmarshal(rec.Details, &old); err != nil {
		return nil, nil, fmt.Errorf("details: %w", err)
	}
	own := checker.Anomalies()
	for _, p := range opts.Properties {
		own = append(own, p.Name)
	}
	var carried []checker.CheckResult
	for _, c := range old.Checks {
		if !slices.Contains(own, c.Name) {
			carried = append(carried, c)
		}
	}
	var names []string
	for _, c := range carried {
		names = append(names, c.Name)
	}
	add := func(v *checker.Verdict) {
		for _, c := range carried {
			var details []string
			for _, w := range old.Anomalies[c.Name] {
				details = append(details, w.Detail)
			}
			if c.Status == checker.StatusFound && len(details) == 0 {
				details = []string{fmt.Sprintf("%d found by the run (no witness recorded)", max(c.Count, 1))}
			}
			v.AddFound(c.Name, details)
		}
	}
	return add, names, nil
}

// recordedLiveness is the liveness failure the run recorded, if its
// verdict was one.
func recordedLiveness(rec runfolder.Verdict) (string, bool) {
	if rec.Code != runfolder.ExitLiveness || !strings.HasPrefix(rec.Summary, livenessPrefix) {
		return "", false
	}
	line, _, _ := strings.Cut(strings.TrimPrefix(rec.Summary, livenessPrefix), "\n")
	return line, true
}
