package host

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder/rejudge"
	"github.com/weir-dev/weir/workloads/registry"
)

// `weir sim --workload clickstream`: the workload's parameters are printed
// with SEED= and recorded in the header, the processing group's mode
// (forced here: the consumer protocol with static members) among them,
// the run is valid, a replay from the header gives the same trace, and
// `weir check` judges the folder as the guest did.
func TestWorkloadClickstream(t *testing.T) {
	r := testRunner(t)
	res := runSeed(t, r, 4, RunConfig{Args: []string{"--workload", "clickstream", "--duration", "5s", "--faults", "crash,partition", "--group", "seed,consumer,static"}})
	if res.ExitCode != ExitValid {
		t.Fatalf("exit %d: %s", res.ExitCode, res.Message)
	}
	rp, err := registry.ReadRunParams(res.Params)
	if err != nil || rp.Workload != "clickstream" || len(rp.WorkloadParams["clickstream"]) == 0 {
		t.Fatalf("params %s: %v", res.Params, err)
	}
	if m, err := registry.GroupModeOf(rp.WorkloadParams["clickstream"]); err != nil || !m.Consumer() || !m.Static {
		t.Fatalf("the processing group's mode %+v (%v), want consumer and static", m, err)
	}
	stdout := readFile(t, filepath.Join(res.OutDir, "stdout.log"))
	if !strings.Contains(stdout, `"workload_params":{"clickstream":{`) || !strings.Contains(stdout, "clickstream-lost-event") {
		t.Fatalf("stdout lacks the workload's parameters or checks:\n%s", stdout)
	}
	if !strings.Contains(stdout, "GROUP=clickstream processing group: ") || !strings.Contains(stdout, "consumer protocol (KIP-848") {
		t.Fatalf("stdout lacks the processing group's GROUP= line:\n%s", stdout)
	}
	var v struct {
		Details struct {
			Stats struct {
				SendsOK int `json:"sends_ok"`
			} `json:"stats"`
			Checks []struct{ Name, Status string } `json:"checks"`
		} `json:"details"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(res.OutDir, "verdict.json"))), &v); err != nil {
		t.Fatal(err)
	}
	checked := map[string]string{}
	for _, c := range v.Details.Checks {
		checked[c.Name] = c.Status
	}
	if v.Details.Stats.SendsOK < 50 || checked["clickstream-double-count"] != "clean" || checked["metadata"] != "clean" {
		t.Fatalf("%d sends acknowledged; checks %v", v.Details.Stats.SendsOK, checked)
	}
	// The processing group's ops are in the history, and every group
	// checker judged them (static members: unfenced-instance too).
	hist := readFile(t, filepath.Join(res.OutDir, "history.jsonl"))
	for _, f := range []string{history.FnJoin, history.FnAssignment, history.FnCommit, history.FnOffsets} {
		if !strings.Contains(hist, `"type":"ok","f":"`+f+`"`) {
			t.Errorf("the history has no ok %s op", f)
		}
	}
	for _, name := range checker.GroupAnomalies() {
		if checked[name] != "clean" {
			t.Errorf("%s: %q, want clean", name, checked[name])
		}
	}

	h, err := ReadHeader(res.OutDir)
	if err != nil {
		t.Fatal(err)
	}
	again := r.Run(t.Context(), ReplayConfig(h, filepath.Join(res.OutDir, "replay")))
	if again.TraceSHA256 != res.TraceSHA256 || again.ExitCode != res.ExitCode {
		t.Fatalf("replay: trace %s exit %d, recorded %s exit %d", again.TraceSHA256, again.ExitCode, res.TraceSHA256, res.ExitCode)
	}

	judged, err := rejudge.Folder(res.OutDir)
	if err != nil || judged.Code != ExitValid || !strings.Contains(strings.Join(judged.CarriedOver, ","), "metadata") {
		t.Fatalf("weir check: exit %d, carried over %v, %v\n%s", judged.Code, judged.CarriedOver, err, judged.Summary)
	}
}
