package host

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/weir-dev/weir/runfolder"
	"github.com/weir-dev/weir/workloads/registry"
)

// The tests below run the real world scenario: Weir brokers on the
// simulated network and disks, franz-go clients, faults and checkers.

func TestWorldIsDeterministic(t *testing.T) {
	r := testRunner(t)
	// The light load keeps it short (seeds 11 and 12 draw 500 sends/s).
	args := []string{"--duration", "15s", "--faults", "crash,partition,pause", "--rate", "100"}
	run := func(seed uint64) Result {
		return runSeed(t, r, seed, RunConfig{Args: args})
	}
	a, b, c := run(11), run(11), run(12)
	for _, x := range []Result{a, b, c} {
		if x.ExitCode != ExitValid {
			t.Fatalf("seed %d: exit %d: %s", x.Seed, x.ExitCode, x.Message)
		}
	}
	if a.TraceSHA256 != b.TraceSHA256 || a.VirtualNs != b.VirtualNs {
		t.Fatalf("seed 11 twice: trace %s vs %s, virtual %d vs %d", a.TraceSHA256, b.TraceSHA256, a.VirtualNs, b.VirtualNs)
	}
	if readFile(t, filepath.Join(a.OutDir, "history.jsonl")) != readFile(t, filepath.Join(b.OutDir, "history.jsonl")) {
		t.Fatal("seed 11 twice: different histories")
	}
	if a.TraceSHA256 == c.TraceSHA256 {
		t.Fatal("seeds 11 and 12 gave the same trace")
	}
	// The run did real work: clients acknowledged and read records.
	var v struct {
		Details struct {
			Stats struct {
				SendsOK        int `json:"sends_ok"`
				AckedSendsRead int `json:"acked_sends_read"`
			} `json:"stats"`
		} `json:"details"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(a.OutDir, "verdict.json"))), &v); err != nil {
		t.Fatal(err)
	}
	if s := v.Details.Stats; s.SendsOK < 20 || s.AckedSendsRead != s.SendsOK {
		t.Fatalf("seed 11: %d sends acknowledged, %d of them read", s.SendsOK, s.AckedSendsRead)
	}
	// faults.jsonl: one JSON object per fault applied, in time order, and
	// the same faults named on the FAULTS= line.
	lines := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(a.OutDir, "faults.jsonl"))), "\n")
	var last float64
	for _, line := range lines {
		var f runfolder.Fault
		if err := json.Unmarshal([]byte(line), &f); err != nil || f.Op == "" || f.Kind == "" || f.TimeS < last {
			t.Fatalf("faults.jsonl line %q: %v", line, err)
		}
		last = f.TimeS
	}
	stdout := readFile(t, filepath.Join(a.OutDir, "stdout.log"))
	if !strings.Contains(stdout, "CHECKS=lost-write,") || !strings.Contains(stdout, "\nFAULTS=") {
		t.Fatalf("stdout lacks the CHECKS= and FAULTS= lines:\n%s", stdout)
	}
	for _, name := range runfolder.Artifacts {
		if fi, err := os.Stat(filepath.Join(a.OutDir, name)); err == nil && fi.Mode().Perm() != runfolder.FileMode {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode().Perm(), os.FileMode(runfolder.FileMode))
		}
	}
}

// TestSelftestShort is the proof that the simulator finds real bugs: the
// short selftest plants defects in the broker (ack-before-fsync among them:
// acks=-1 answered before the fsync), and each must be caught by one of the
// checkers expected to catch it, with a seed that replays to the same trace
// and verdict, while the same seeds without a defect are valid.
func TestSelftestShort(t *testing.T) {
	r := testRunner(t)
	out := t.TempDir()
	rep := RunSelftest(t.Context(), r, SelftestConfig{Cases: ShortSelftestCases(), Parallel: 2, Out: out})
	var table strings.Builder
	WriteSelftestTable(&table, rep, false, false)
	t.Logf("\n%s", table.String())
	if !rep.OK {
		t.Fatal("the short selftest failed")
	}
	for _, row := range rep.Rows {
		if row.Seed == 0 || !row.Replays || len(row.CaughtBy) == 0 {
			t.Errorf("%s: seed %d, replays %v, caught by %v", row.Case.Defect, row.Seed, row.Replays, row.CaughtBy)
		}
		if row.Case.Defect == "payments/no-transaction" {
			// Planted in the application, recorded where it reads it.
			h, err := ReadHeader(row.Dir)
			if err != nil {
				t.Fatal(err)
			}
			p, err := registry.ReadRunParams(h.Params)
			var pp struct {
				Defects map[string]bool `json:"defects"`
			}
			if err == nil {
				err = json.Unmarshal(p.WorkloadParams["payments"], &pp)
			}
			if err != nil || !pp.Defects["no_transaction"] {
				t.Errorf("seed %d: the header does not record the planted defect: %s, %v", row.Seed, p.WorkloadParams["payments"], err)
			}
		}
		if row.Case.Defect == "ack-before-fsync" {
			if tr := readFile(t, filepath.Join(row.Dir, "trace.log")); !strings.Contains(tr, "crash n1") {
				t.Errorf("seed %d lost a write without a crash in its trace", row.Seed)
			}
		}
	}
	for _, cs := range rep.Control {
		if cs.Seeds == 0 || cs.Valid != cs.Seeds {
			t.Errorf("control %v: %d of %d valid", cs.Args, cs.Valid, cs.Seeds)
		}
	}
}

// TestWorldDedicatedControllers runs the world scenario with the metadata
// quorum on three dedicated controllers (--controllers dedicated) for a
// few virtual seconds with crashes, partitions and pauses: the run is
// valid, its parameters and CLUSTER= line name the mode, the controllers
// run as c1-c3 and one of them leads the quorum.
func TestWorldDedicatedControllers(t *testing.T) {
	r := testRunner(t)
	// The light load keeps it short (seed 5 draws 1000 sends/s).
	res := runSeed(t, r, 5, RunConfig{Args: []string{"--duration", "5s", "--faults", "crash,partition,pause", "--controllers", "dedicated", "--rate", "100"}})
	if res.ExitCode != ExitValid {
		t.Fatalf("seed 5: exit %d: %s", res.ExitCode, res.Message)
	}
	var p struct {
		World struct {
			Nodes          int    `json:"nodes"`
			ControllerMode string `json:"controller_mode"`
			Controllers    int    `json:"controllers"`
		} `json:"world"`
	}
	if err := json.Unmarshal(res.Params, &p); err != nil || p.World.ControllerMode != "dedicated" || p.World.Controllers != 3 {
		t.Fatalf("params %s: %v; want controller_mode dedicated with 3 controllers", res.Params, err)
	}
	if stdout := readFile(t, filepath.Join(res.OutDir, "stdout.log")); !strings.Contains(stdout, "\nCLUSTER=") || !strings.Contains(stdout, "3 dedicated controllers") {
		t.Fatalf("stdout lacks the CLUSTER= line of a dedicated cluster:\n%s", stdout)
	}
	trace := readFile(t, filepath.Join(res.OutDir, "trace.log"))
	for _, want := range []string{"start c1 (incarnation 1) controller on c1:9093", "start c3 (incarnation 1) controller on c3:9093", "start n1 (incarnation 1) listening on n1:9092"} {
		if !strings.Contains(trace, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	if !regexp.MustCompile(`metadata +c[123] leads the quorum`).MatchString(trace) || regexp.MustCompile(`metadata +n\d+ leads the quorum`).MatchString(trace) {
		t.Error("the trace does not show a controller, and only controllers, leading the quorum")
	}
}

// TestWorldGroupModes runs the world scenario's consumer group with the
// consumer protocol (KIP-848) and static members for a few virtual
// seconds with crashes, partitions and pauses: the run is valid, its
// parameters and GROUP= line name the modes, and its members joined with
// the consumer protocol and an instance id and were given partitions.
func TestWorldGroupModes(t *testing.T) {
	r := testRunner(t)
	res := runSeed(t, r, 3, RunConfig{Args: []string{"--duration", "8s", "--faults", "crash,partition,pause", "--group", "on,consumer,static"}})
	if res.ExitCode != ExitValid {
		t.Fatalf("seed 3: exit %d: %s", res.ExitCode, res.Message)
	}
	var p struct {
		World struct {
			GroupProtocol string `json:"group_protocol"`
			GroupStatic   bool   `json:"group_static"`
		} `json:"world"`
	}
	if err := json.Unmarshal(res.Params, &p); err != nil || p.World.GroupProtocol != "consumer" || !p.World.GroupStatic {
		t.Fatalf("params %s: %v; want group_protocol consumer and group_static", res.Params, err)
	}
	if stdout := readFile(t, filepath.Join(res.OutDir, "stdout.log")); !strings.Contains(stdout, "\nGROUP=") || !strings.Contains(stdout, "consumer protocol (KIP-848") || !strings.Contains(stdout, "static members") {
		t.Fatalf("stdout lacks the GROUP= line of a static consumer-protocol group:\n%s", stdout)
	}
	h := readFile(t, filepath.Join(res.OutDir, "history.jsonl"))
	for _, want := range []string{`"protocol":"consumer","instance_id":"queue-group-consumer-0"`, `"event":"assigned"`} {
		if !strings.Contains(h, want) {
			t.Errorf("history lacks %s", want)
		}
	}
}
