package realrun

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/broker/brokertest"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder"
	"github.com/weir-dev/weir/runfolder/rejudge"
	"github.com/weir-dev/weir/workloads/registry"
	"github.com/weir-dev/weir/workloads/stream"
	"github.com/weir-dev/weir/workloads/stream/streamtest"
)

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{nil, "usage: weir workload run"},
		{[]string{"walk"}, `unknown subcommand "walk"`},
		{[]string{"list", "x"}, "list takes no arguments"},
		{[]string{"run"}, "no workload named"},
		{[]string{"run", "--bootstrap", "h:1", "--out", "d"}, "no workload named"},
		{[]string{"run", "qeue", "--bootstrap", "h:1", "--out", "d"}, `unknown workload "qeue" (known: queue, clickstream`},
		{[]string{"run", "queue", "--out", "d"}, "--bootstrap: the cluster's brokers are required"},
		{[]string{"run", "queue", "--bootstrap", "localhost", "--out", "d"}, `--bootstrap "localhost": want host:port`},
		{[]string{"run", "queue", "--bootstrap", "h:1,h:99999", "--out", "d"}, `port "99999" is not a number from 1 to 65535`},
		{[]string{"run", "queue", "--bootstrap", ":9092", "--out", "d"}, "want host:port"},
		{[]string{"run", "queue", "--bootstrap", "h:1"}, "--out: the run folder is required"},
		{[]string{"run", "queue", "--bootstrap", "h:1", "--out", "d", "--duration", "0s"}, "--duration 0s: want more than 0"},
		{[]string{"run", "queue", "--bootstrap", "h:1", "--out", "d", "--duration", "soon"}, `invalid value "soon" for flag -duration`},
		{[]string{"run", "queue", "--bootstrap", "h:1", "--out", "d", "--seed", "-1"}, `--seed "-1": want a number`},
		{[]string{"run", "queue", "--bootstrap", "h:1", "--out", "d", "--parallel", "2"}, "flag provided but not defined: -parallel"},
		{[]string{"run", "queue", "--bootstrap", "h:1", "--out", "d", "extra"}, `unexpected argument "extra"`},
		{[]string{"run", "queue", "--bootstrap", "h:1", "--out", "d", "--group", "telepathy"}, `--group "telepathy": want seed, or classic or consumer`},
		{[]string{"run", "queue", "--bootstrap", "h:1", "--out", "d", "--group", "consumer,classic"}, `--group "consumer,classic"`},
		{[]string{"run", "queue", "--bootstrap", "h:1", "--out", "d", "--group", "seed,static"}, `--group "seed,static"`},
	} {
		var out, errOut bytes.Buffer
		if code := Command(context.Background(), tc.args, nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), tc.says) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut.String(), tc.says)
		}
	}
	cfg, err := parseRun([]string{"--bootstrap", "a:1, b:2", "--out", "d", "--seed", "9", "--duration", "3s", "clickstream,queue"})
	if err != nil || !slices.Equal(cfg.Names, []string{"queue", "clickstream"}) || !slices.Equal(cfg.Bootstrap, []string{"a:1", "b:2"}) || cfg.Seed != 9 || cfg.Duration != 3*time.Second {
		t.Fatalf("%+v, %v", cfg, err)
	}
	if cfg.GroupProtocol != "" || cfg.GroupMembership != "" {
		t.Fatalf("no --group forced %q, %q", cfg.GroupProtocol, cfg.GroupMembership)
	}
	for flag, want := range map[string][2]string{"consumer,static": {"consumer", "static"}, "dynamic": {"", "dynamic"}, "classic": {"classic", ""}, "seed": {"", ""}} {
		cfg, err := parseRun([]string{"queue", "--bootstrap", "a:1", "--out", "d", "--group", flag})
		if err != nil || cfg.GroupProtocol != want[0] || cfg.GroupMembership != want[1] {
			t.Errorf("--group %s: %q, %q, %v; want %q", flag, cfg.GroupProtocol, cfg.GroupMembership, err, want)
		}
	}
	var out bytes.Buffer
	if code := Command(context.Background(), []string{"list"}, nil, &out, &out); code != 0 || !strings.Contains(out.String(), "clickstream ") {
		t.Fatalf("list: exit %d: %s", code, out.String())
	}
}

// A broker that is not there is a harness error, said in one line, never
// a verdict.
func TestNoCluster(t *testing.T) {
	_, err := Run(context.Background(), Config{Names: []string{"queue"}, Bootstrap: []string{"127.0.0.1:1"}, Duration: time.Second,
		Out: t.TempDir(), SetupTimeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "cannot reach a cluster at 127.0.0.1:1") {
		t.Fatalf("got %v", err)
	}
}

// The queue against a real broker: a valid run folder, judged the same by
// weir check; the same folder with an acknowledged record taken out of
// its final read is a lost write.
func TestQueueAgainstABroker(t *testing.T) {
	addr := brokertest.Start(t)
	dir := t.TempDir()
	res, err := Run(t.Context(), Config{Names: []string{"queue"}, Bootstrap: []string{addr}, Duration: 2 * time.Second, Out: dir, Seed: 5, Args: []string{"test"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != runfolder.ExitValid {
		t.Fatalf("exit %d:\n%s", res.Code, res.Summary)
	}
	for _, name := range []string{runfolder.HeaderFile, runfolder.HistoryFile, runfolder.TraceFile, runfolder.FaultsFile, runfolder.SummaryFile, runfolder.VerdictFile} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != runfolder.FileMode {
			t.Errorf("%s: %v", name, err)
		}
	}
	h, err := runfolder.ReadHeader(dir)
	if err != nil || !h.Finished || h.ExitCode != 0 || h.SchemaVersion != runfolder.SchemaVersion {
		t.Fatalf("header %+v, %v", h, err)
	}
	rp, err := registry.ReadRunParams(h.Params)
	if err != nil || rp.Scenario != registry.External || rp.Workload != "queue" || len(rp.WorkloadParams["queue"]) == 0 {
		t.Fatalf("params %s: %v", h.Params, err)
	}
	var qp registry.QueueParams
	if err := json.Unmarshal(rp.WorkloadParams["queue"], &qp); err != nil || !strings.HasPrefix(qp.Topic, "queue-5-") {
		t.Fatalf("queue params %s: %v", rp.WorkloadParams["queue"], err)
	}
	v, err := runfolder.ReadVerdict(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cv checker.Verdict
	if err := json.Unmarshal(v.Details, &cv); err != nil || cv.Stats.SendsOK < 50 || cv.Stats.AckedRead != cv.Stats.SendsOK {
		t.Fatalf("stats %+v, %v", cv.Stats, err)
	}

	again, err := rejudge.Folder(dir)
	if err != nil || again.Code != runfolder.ExitValid || len(again.CarriedOver) != 0 {
		t.Fatalf("weir check: %+v, %v", again, err)
	}

	value := plantLostWrite(t, dir)
	lost, err := rejudge.Folder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if lost.Code != runfolder.ExitInvalid || lost.Verdict.Counts[checker.LostWrite] != 1 || !strings.Contains(lost.Summary, value) {
		t.Fatalf("a planted lost write of %s: exit %d\n%s", value, lost.Code, lost.Summary)
	}
}

// plantLostWrite removes the first acknowledged send's record from the
// final read in dir's history, as a broker that lost it would, and returns
// its value.
func plantLostWrite(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, runfolder.HistoryFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := history.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	value, final := "", -1
	for _, op := range ops {
		if value == "" && op.Type == history.OK && op.Send != nil {
			value = op.Send.Value
		}
		if op.Final != nil {
			final = op.Final.Reader
		}
	}
	removed := 0
	for _, op := range ops {
		if op.Process != final || op.Poll == nil {
			continue
		}
		for i := range op.Poll.Reads {
			r := &op.Poll.Reads[i]
			r.Records = slices.DeleteFunc(r.Records, func(rec history.Record) bool {
				if rec.Value == value {
					removed++
					return true
				}
				return false
			})
		}
	}
	if removed != 1 {
		t.Fatalf("the final read held %s %d times", value, removed)
	}
	var out bytes.Buffer
	if err := history.Encode(&out, ops); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), runfolder.FileMode); err != nil {
		t.Fatal(err)
	}
	return value
}

// A processing group's mode: drawn from the seed as the simulator draws it
// unless forced; a drawn consumer protocol becomes classic, said in the
// trace, on a cluster that does not offer it, and a forced one is refused
// there.
func TestGroupModeOnClustersWithAndWithoutKIP848(t *testing.T) {
	raw, err := registry.Lookup("clickstream")
	if err != nil {
		t.Fatal(err)
	}
	params, err := raw.Draw(rand.New(rand.NewPCG(1, 2)), registry.Cluster{ReplicationFactor: 1, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mode := func(t *testing.T, cfg Config, kip848 bool) (stream.GroupMode, string, error) {
		t.Helper()
		tr := &trace{start: time.Now()}
		set, err := setGroupMode(cfg, "clickstream", clusterInfo{brokers: 1, consumerProtocol: kip848}, params, tr)
		if err != nil {
			return stream.GroupMode{}, string(tr.bytes()), err
		}
		m, err := registry.GroupModeOf(set)
		return m, string(tr.bytes()), err
	}
	// Seed 1 draws the consumer protocol and static members for clickstream.
	drawn := registry.DrawGroupMode(1, "clickstream", "", "")
	if drawn != (stream.GroupMode{Protocol: stream.ProtocolConsumer, Static: true}) {
		t.Fatalf("seed 1 draws %s; the test wants a seed that draws consumer,static", drawn.Name())
	}
	if m, tr, err := mode(t, Config{Seed: 1}, true); err != nil || m != drawn || !strings.Contains(tr, "clickstream processing group: consumer,static") {
		t.Errorf("drawn on a KIP-848 cluster: %s, %v, trace %q", m.Name(), err, tr)
	}
	if m, tr, err := mode(t, Config{Seed: 1}, false); err != nil || m != (stream.GroupMode{Protocol: stream.ProtocolClassic, Static: true}) || !strings.Contains(tr, "which the cluster does not offer") {
		t.Errorf("drawn on a cluster without KIP-848: %s, %v, trace %q", m.Name(), err, tr)
	}
	if m, _, err := mode(t, Config{Seed: 1, GroupProtocol: stream.ProtocolClassic, GroupMembership: "dynamic"}, true); err != nil || m != (stream.GroupMode{Protocol: stream.ProtocolClassic}) {
		t.Errorf("forced classic,dynamic: %s, %v", m.Name(), err)
	}
	if _, _, err := mode(t, Config{Seed: 3, GroupProtocol: stream.ProtocolConsumer}, false); err == nil || !strings.Contains(err.Error(), "does not offer the consumer group protocol") {
		t.Errorf("forced consumer on a cluster without KIP-848: %v", err)
	}
}

// A pipeline against a real broker in the mode --group forces: the
// consumer protocol with static members, recorded where the workload
// reads it, and judged valid with its group ops.
func TestPipelineGroupModeAgainstABroker(t *testing.T) {
	// The simulator's consumer session (Kafka's 45s would hold a crashed
	// member's partitions past the final drain's patience).
	addr := brokertest.StartConfig(t, func(c *broker.Config) { c.Groups.Coordinator.ConsumerSessionTimeoutMs = 6000 })
	dir := t.TempDir()
	res, err := Run(t.Context(), Config{Names: []string{"clickstream"}, Bootstrap: []string{addr}, Duration: 3 * time.Second, Out: dir, Seed: 3,
		Args: []string{"test"}, GroupProtocol: stream.ProtocolConsumer, GroupMembership: "static"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != runfolder.ExitValid {
		t.Fatalf("exit %d:\n%s", res.Code, res.Summary)
	}
	m, err := registry.GroupModeOf(res.Params.WorkloadParams["clickstream"])
	if err != nil || m != (stream.GroupMode{Protocol: stream.ProtocolConsumer, Static: true}) {
		t.Fatalf("recorded mode %s, %v", m.Name(), err)
	}
	v, err := runfolder.ReadVerdict(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cv checker.Verdict
	if err := json.Unmarshal(v.Details, &cv); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, runfolder.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := history.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	streamtest.RequireGroupJudged(t, cv, ops)
}
