package runfolder

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// SchemaVersion is the version of header.json, verdict.json and
// faults.jsonl written by this build. Version 1 had no version field.
const SchemaVersion = 2

// FileMode is the mode of every file in a run folder.
const FileMode = 0o644

// Exit codes of a run, of `weir sim` and of `weir check`: the worst
// verdict wins, in this order (invalid > liveness > valid), with harness
// errors worst of all.
const (
	ExitValid    = 0 // every check passed on a complete history
	ExitInvalid  = 1 // a checker found a violation the configuration does not allow
	ExitLiveness = 2 // the healed cluster did not converge, or the final read was incomplete
	ExitHarness  = 3 // the run could not be judged: a panic, a spent budget, a checker out of time
)

// VerdictName names an exit code.
func VerdictName(code int) string {
	switch code {
	case ExitValid:
		return "valid"
	case ExitInvalid:
		return "invalid"
	case ExitLiveness:
		return "liveness"
	}
	return "harness-error"
}

// The artifacts of a run folder.
const (
	HeaderFile  = "header.json"   // Header: how to replay the run, then its outcome
	SummaryFile = "summary.txt"   // the header and verdict for people
	StdoutFile  = "stdout.log"    // the guest's standard output
	StderrFile  = "stderr.log"    // the guest's standard error
	TraceFile   = "trace.log"     // faults, crashes, restarts, warnings, with times
	HistoryFile = "history.jsonl" // what the clients saw (package history)
	FaultsFile  = "faults.jsonl"  // Fault, one per line, in the order applied
	VerdictFile = "verdict.json"  // Verdict; written last
)

// Artifacts are the files a run writes in its folder; a host removes them
// before a run so that nothing stale is taken for this run's output.
// Linearizability visualisations (LinearizabilityGlob) are removed too.
var Artifacts = []string{HeaderFile, SummaryFile, StdoutFile, StderrFile, TraceFile, HistoryFile, FaultsFile, VerdictFile}

// LinearizabilityGlob matches porcupine's HTML visualisations of the
// partitions that were not linearizable.
const LinearizabilityGlob = "linearizability-*.html"

// Header is header.json: everything needed to understand and replay a run,
// then its outcome. summary.txt opens with the same facts.
type Header struct {
	SchemaVersion int             `json:"schema_version"`
	Seed          uint64          `json:"seed"`
	Args          []string        `json:"args"`       // the guest's argv after its name
	ExtraArgs     []string        `json:"extra_args"` // the flags given to the run, without the host's own
	Env           []string        `json:"env"`
	BudgetNs      int64           `json:"budget_ns"`
	WallCapNs     int64           `json:"wall_cap_ns"`
	GuestSHA256   string          `json:"guest_sha256"`
	GuestPath     string          `json:"guest_path"`
	GoVersion     string          `json:"go_version"` // toolchain that built the guest
	WazeroVersion string          `json:"wazero_version"`
	HostGoVersion string          `json:"host_go_version"`
	HostPlatform  string          `json:"host_platform"`
	Params        json.RawMessage `json:"params,omitempty"` // the guest's PARAMS= line

	// The outcome; zero in the header written before the run.
	ExitCode     int    `json:"exit_code"`
	Verdict      string `json:"verdict,omitempty"`
	Message      string `json:"message,omitempty"`
	TraceSHA256  string `json:"trace_sha256,omitempty"`
	StdoutSHA256 string `json:"stdout_sha256,omitempty"`
	VirtualNs    int64  `json:"virtual_ns"`
	WallNs       int64  `json:"wall_ns"`
	MemoryBytes  uint64 `json:"memory_bytes"` // the guest's linear memory at exit
	Finished     bool   `json:"finished"`
}

// Verdict is verdict.json: the run's outcome as the guest (or `weir
// check`) judged it. Details holds the checkers' verdict (package checker)
// and whatever else the scenario reports.
type Verdict struct {
	SchemaVersion int             `json:"schema_version"`
	Seed          uint64          `json:"seed"`
	Code          int             `json:"code"`
	Verdict       string          `json:"verdict"`
	Summary       string          `json:"summary"`
	VirtualNs     int64           `json:"virtual_ns"`
	Details       json.RawMessage `json:"details,omitempty"`
}

// Fault is one line of faults.jsonl: a fault or heal as it was applied.
type Fault struct {
	TimeS  float64  `json:"time_s"` // seconds since the run's start
	Kind   string   `json:"kind"`   // the family: partition, crash, pause, disk, clock, flaky
	Op     string   `json:"op"`     // what was done: crash, restart, isolate, heal-partition, ...
	Heals  bool     `json:"heals"`  // it ends a fault rather than starting one
	Nodes  []string `json:"nodes,omitempty"`
	Detail string   `json:"detail,omitempty"` // the schedule's line for the event
	Error  string   `json:"error,omitempty"`  // why applying it failed, if it did
	// Status is empty for a fault or heal that happened at TimeS; a crash
	// that waits for a trigger (an fsync, a segment roll) is "armed" at its
	// scheduled time and has a line of its own when it lands, and a
	// scheduled restart that found nothing to do (the trigger never came,
	// or the node restarted itself) is "dropped".
	Status string `json:"status,omitempty"`
}

// Statuses of a Fault.
const (
	FaultArmed   = "armed"
	FaultDropped = "dropped"
)

// ReadHeader reads dir's header.json.
func ReadHeader(dir string) (Header, error) {
	var h Header
	return h, readJSON(filepath.Join(dir, HeaderFile), &h, func() int { return h.SchemaVersion })
}

// WriteHeader writes dir's header.json, stamping the schema version.
func WriteHeader(dir string, h Header) error {
	h.SchemaVersion = SchemaVersion
	return writeJSON(filepath.Join(dir, HeaderFile), h)
}

// ReadVerdict reads dir's verdict.json.
func ReadVerdict(dir string) (Verdict, error) {
	var v Verdict
	return v, readJSON(filepath.Join(dir, VerdictFile), &v, func() int { return v.SchemaVersion })
}

// WriteVerdict writes dir's verdict.json, stamping the schema version and
// the verdict's name from its code.
func WriteVerdict(dir string, v Verdict) error {
	v.SchemaVersion = SchemaVersion
	v.Verdict = VerdictName(v.Code)
	return writeJSON(filepath.Join(dir, VerdictFile), v)
}

// MarshalVerdict is verdict.json's bytes, for writers that do their own
// file I/O (the guest writes through its own mount).
func MarshalVerdict(v Verdict) ([]byte, error) {
	v.SchemaVersion = SchemaVersion
	v.Verdict = VerdictName(v.Code)
	b, err := json.MarshalIndent(v, "", "  ")
	return append(b, '\n'), err
}

func readJSON(path string, v any, version func() int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if got := version(); got > SchemaVersion {
		return fmt.Errorf("%s: schema version %d is newer than this build knows (%d): use a newer weir", path, got, SchemaVersion)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), FileMode)
}

// Simulated runs' clocks, which the host (sim/host) sets up and the
// history of schema version 1 was stamped with.
const (
	// GuestClockStartNs is the guest's monotonic clock at the start of a
	// run: above zero, because a clock that reads 0 aborts the Go runtime.
	GuestClockStartNs = 1_000_000_000
	// GuestWallEpochSec is what the guest's wall clock reads at virtual
	// time 0: 2025-01-01T00:00:00Z.
	GuestWallEpochSec = 1_735_689_600
)

// GuestTimeOrigin is what a simulated run's wall clock (time.Now) reads
// when the run starts: a schema-1 history's times minus this are seconds
// since the start.
func GuestTimeOrigin() time.Time {
	return time.Unix(GuestWallEpochSec, 0).Add(GuestClockStartNs * time.Nanosecond)
}
