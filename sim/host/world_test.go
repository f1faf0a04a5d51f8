package host

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The tests below run the real world scenario: Weir brokers on the
// simulated network and disks, franz-go clients, faults and checkers.

func TestWorldIsDeterministic(t *testing.T) {
	r := testRunner(t)
	args := []string{"--duration", "15s", "--faults", "crash,partition,pause"}
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
}

// TestWorldFindsAckBeforeFsync is the proof that the simulator finds a real
// durability bug: with the planted defect the broker acknowledges acks=-1
// writes before fsync, and a crash must lose some, which the lost-write
// checker must report; the failing seed must replay to the same violation,
// and the same seed without the defect must be valid.
func TestWorldFindsAckBeforeFsync(t *testing.T) {
	r := testRunner(t)
	args := []string{"--faults", "crash", "--defect", "ack-before-fsync"}
	var found *Result
	for first := uint64(1); first <= 200 && found == nil; first += 10 {
		seeds := make([]uint64, 10)
		for i := range seeds {
			seeds[i] = first + uint64(i)
		}
		res := r.Sweep(t.Context(), seeds, 2, func(s uint64) RunConfig {
			return RunConfig{Seed: s, Args: args, OutDir: t.TempDir()}
		}, nil)
		for i := range res {
			switch res[i].ExitCode {
			case ExitValid:
			case ExitInvalid:
				if found == nil {
					found = &res[i]
				}
			default:
				t.Fatalf("seed %d: exit %d: %s", res[i].Seed, res[i].ExitCode, res[i].Message)
			}
		}
	}
	if found == nil {
		t.Fatal("200 seeds with ack-before-fsync and crashes found no lost write")
	}
	t.Logf("seed %d found the defect: %s", found.Seed, found.Message)
	verdict := readFile(t, filepath.Join(found.OutDir, "verdict.json"))
	if !strings.Contains(verdict, `"lost-write"`) {
		t.Fatalf("seed %d is invalid but not for a lost write:\n%.2000s", found.Seed, verdict)
	}
	if tr := readFile(t, filepath.Join(found.OutDir, "trace.log")); !strings.Contains(tr, "crash n1") {
		t.Fatalf("seed %d lost a write without a crash in its trace", found.Seed)
	}

	h, err := ReadHeader(found.OutDir)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Run(t.Context(), ReplayConfig(h, t.TempDir()))
	if rep.ExitCode != ExitInvalid || rep.TraceSHA256 != found.TraceSHA256 {
		t.Fatalf("replay of seed %d: exit %d, trace %s, want exit 1 and %s", found.Seed, rep.ExitCode, rep.TraceSHA256, found.TraceSHA256)
	}
	if readFile(t, filepath.Join(rep.OutDir, "verdict.json")) != verdict {
		t.Fatal("the replay's verdict differs")
	}

	clean := runSeed(t, r, found.Seed, RunConfig{Args: []string{"--faults", "crash"}})
	if clean.ExitCode != ExitValid {
		t.Fatalf("seed %d without the defect: exit %d: %s", found.Seed, clean.ExitCode, clean.Message)
	}
	os.RemoveAll(found.OutDir)
}
