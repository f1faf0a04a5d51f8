package registry

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/clickstream"
	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/queue"
)

func TestParseNames(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "queue", want: []string{"queue"}},
		{in: "clickstream,queue", want: []string{"queue", "clickstream"}},
		{in: " queue , clickstream", want: []string{"queue", "clickstream"}},
		{in: "", err: "no workload named"},
		{in: "payment", err: `unknown workload "payment" (known: queue, clickstream`},
		{in: "queue,queue", err: "named twice"},
		{in: "queue,", err: `unknown workload ""`},
	} {
		got, err := ParseNames(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseNames(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseNames(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// Every field of queue.Config is either carried by QueueParams or given by
// the Env: a field added to queue.Config and forgotten here fails.
func TestQueueParamsCoverConfig(t *testing.T) {
	fromEnv := map[string]bool{"Rand": true, "Seed": true, "Bootstrap": true, "Dialer": true, "HostDialer": true, "ClientOpts": true}
	var cfg queue.Config
	v := reflect.ValueOf(&cfg).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if fromEnv[f.Name] {
			continue
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString("x" + f.Name)
		case reflect.Int, reflect.Int16, reflect.Int32, reflect.Int64:
			fv.SetInt(int64(i + 1))
		case reflect.Float64:
			fv.SetFloat(float64(i) + 0.5)
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Map:
			fv.Set(reflect.ValueOf(map[string]string{"k": f.Name}))
		case reflect.Pointer:
			switch f.Name {
			case "Txn":
				fv.Set(reflect.ValueOf(&queue.TxnConfig{Processes: 3, MaxSends: 5, AbortChance: 0.25, Timeout: 7 * time.Second}))
			case "Compacted":
				fv.Set(reflect.ValueOf(&queue.CompactedConfig{Topic: "kv", Partitions: 2, TopicConfigs: map[string]string{"segment.bytes": "4096"},
					Processes: 3, Rate: 7.5, Keys: 5, TombstoneShare: 0.25, ReassignChance: 0.125}))
			default:
				t.Fatalf("queue.Config.%s (%s): teach QueueParams and this test about it", f.Name, f.Type)
			}
		case reflect.Struct:
			if f.Name != "Group" {
				t.Fatalf("queue.Config.%s (%s): teach QueueParams and this test about it", f.Name, f.Type)
			}
			fv.Set(reflect.ValueOf(queue.GroupConfig{Name: "g", Balancer: "range", Lifetime: time.Second, CrashShare: 0.5,
				Downtime: 2 * time.Second, CommitChance: 0.25, OffsetsChance: 0.125, LateCommitChance: 0.0625,
				SessionTimeout: 3 * time.Second, RebalanceTimeout: 4 * time.Second}))
		default:
			t.Fatalf("queue.Config.%s (%s): teach QueueParams and this test about it", f.Name, f.Type)
		}
	}
	cfg.Acks = queue.AcksLeader // the one value besides the default
	b, err := json.Marshal(QueueParamsOf(cfg))
	if err != nil {
		t.Fatal(err)
	}
	var p QueueParams
	if err := decodeStrict(b, &p); err != nil {
		t.Fatal(err)
	}
	back, err := p.Config()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, cfg) {
		t.Fatalf("queue.Config does not survive QueueParams:\n got %+v\nwant %+v", back, cfg)
	}
}

// Each entry's parameters are a function of the seed, build without a
// cluster, and give the checker options `weir check` needs.
func TestEntriesDrawBuildOpts(t *testing.T) {
	for _, e := range Entries() {
		for _, sim := range []bool{false, true} {
			c := Cluster{ReplicationFactor: 3, MinInsync: 2, Duration: 10 * time.Second, Simulated: sim, TopicSuffix: "-7"}
			a, err := e.Draw(rand.New(rand.NewPCG(7, 1)), c)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := e.Draw(rand.New(rand.NewPCG(7, 1)), c)
			other, _ := e.Draw(rand.New(rand.NewPCG(8, 1)), c)
			if string(a) != string(b) || string(a) == string(other) {
				t.Fatalf("%s: parameters are not a function of the seed:\n%s\n%s\n%s", e.Name, a, b, other)
			}
			if !strings.Contains(string(a), `-7"`) {
				t.Errorf("%s: topic names without the run's suffix: %s", e.Name, a)
			}
			w, err := e.Build(a, Env{})
			if err != nil {
				t.Fatalf("%s: %v", e.Name, err)
			}
			opts, err := Opts(e.Name, a)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(opts.Allowed, checker.IntSendSkip) || len(w.Hosts()) == 0 {
				t.Errorf("%s: opts %+v, hosts %v", e.Name, opts, w.Hosts())
			}
		}
	}
	opts, err := Opts("clickstream", json.RawMessage(`{"gap_ns":1000000}`))
	if err != nil || len(opts.Properties) != 4 {
		t.Fatalf("clickstream's properties: %d, %v", len(opts.Properties), err)
	}
}

func TestOptsRefusesWhatItCannotJudge(t *testing.T) {
	if _, err := Opts("queue", nil); err != nil {
		t.Errorf("the simulator's queue records no parameters and is judged with the defaults: %v", err)
	}
	for _, tc := range []struct {
		name, params, err string
	}{
		{"clickstream", "", "recorded no parameters"},
		{"vitalz", "{}", "unknown workload"},
		{"queue", `{"topic":"q","wat":1}`, `unknown field "wat"`},
		{"queue", `{"acks":"none"}`, `acks "none"`},
		{"clickstream", `{"users":1,"producers":3}`, "fewer users than producers"},
	} {
		if _, err := Opts(tc.name, json.RawMessage(tc.params)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Opts(%s, %s) = %v, want error %q", tc.name, tc.params, err, tc.err)
		}
	}
}

// The acks=1 queue allows lost writes: the parameters reach the options.
func TestQueueOptsFollowParams(t *testing.T) {
	opts, err := Opts("queue", json.RawMessage(`{"acks":"leader"}`))
	if err != nil || !slices.Contains(opts.Allowed, checker.LostWrite) {
		t.Fatalf("acks=1: allowed %v, %v", opts.Allowed, err)
	}
	opts, _ = Opts("queue", nil)
	if slices.Contains(opts.Allowed, checker.LostWrite) {
		t.Fatalf("acks=all allows lost writes: %v", opts.Allowed)
	}
}

func TestCombinedOpts(t *testing.T) {
	q, _ := Opts("queue", json.RawMessage(`{"acks":"leader"}`))
	c, _ := Opts("clickstream", json.RawMessage(`{}`))
	o := CombinedOpts([]checker.Opts{q, c})
	if !slices.Contains(o.Allowed, checker.LostWrite) || len(o.Properties) != len(clickstream.Properties(clickstream.Config{})) {
		t.Fatalf("combined: %+v", o)
	}
	if !slices.IsSorted(o.Allowed) || len(slices.Compact(slices.Clone(o.Allowed))) != len(o.Allowed) {
		t.Fatalf("allowed not sorted and unique: %v", o.Allowed)
	}
	// A transactional processor's group commits stay judged as such when
	// another workload runs beside it.
	p, _ := Opts("payments", json.RawMessage(`{}`))
	if o := CombinedOpts([]checker.Opts{q, p}); !p.TxnGroupCommits || !o.TxnGroupCommits || CombinedOpts([]checker.Opts{q, c}).TxnGroupCommits {
		t.Fatalf("TxnGroupCommits: payments %v, combined with queue %v", p.TxnGroupCommits, o.TxnGroupCommits)
	}
}

// fake records a fixed script of ops.
type fake struct{ ops []history.Op }

func (f *fake) Setup(context.Context) error { return nil }
func (f *fake) Run(_ context.Context, rec *history.Recorder) error {
	for _, op := range f.ops {
		rec.Record(op)
	}
	return nil
}
func (f *fake) Finish(context.Context, *history.Recorder) error { return nil }
func (f *fake) Opts() checker.Opts                              { return checker.Opts{} }
func (f *fake) Hosts() []string                                 { return nil }

// script is a send, its ack, and a final read of topic, by the same
// process and client ids in every workload.
func script(topic, value string) []history.Op {
	fr := gen.FinalProcess
	return []history.Op{
		{Process: 0, Type: history.Invoke, F: history.FnSend, Send: &history.Send{Client: 1, Topic: topic, Key: "k", Value: value, Partition: -1, Offset: -1}},
		{Process: 0, Type: history.OK, F: history.FnSend, Send: &history.Send{Client: 1, Topic: topic, Key: "k", Value: value, Partition: 0, Offset: 0}},
		{Process: fr, Type: history.Invoke, F: history.FnFinal, Final: &history.Final{Topic: topic, Partitions: 1, Reader: fr + 1}},
		{Process: fr + 1, Type: history.Invoke, F: history.FnAssign, Assign: &history.Assign{Topic: topic, Partitions: []int32{0}}},
		{Process: fr + 1, Type: history.OK, F: history.FnAssign, Assign: &history.Assign{Topic: topic, Partitions: []int32{0}}},
		{Process: fr + 1, Type: history.Invoke, F: history.FnPoll},
		{Process: fr + 1, Type: history.OK, F: history.FnPoll, Poll: &history.Poll{Reads: []history.PartitionRead{{Topic: topic, Partition: 0, HighWatermark: 1, LogStartOffset: 0, Records: []history.Record{{Offset: 0, Key: "k", Value: value}}}}}},
		{Process: fr, Type: history.OK, F: history.FnFinal, Final: &history.Final{Topic: topic, Partitions: 1, Reader: fr + 1, Marks: []history.FinalMark{{Partition: 0, HighWatermark: 1, ReadTo: 1, Complete: true}}}},
	}
}

// Two workloads with the same process and client ids merge into one
// history that validates and is judged valid; each workload's ops keep
// their order, and no id is shared.
func TestSetMergesHistories(t *testing.T) {
	now := time.Unix(100, 0)
	clock := func() time.Time { now = now.Add(time.Millisecond); return now }
	s := &Set{}
	for _, f := range []*fake{{script("a", "a1")}, {script("b", "b1")}} {
		s.members = append(s.members, &built{name: "fake", w: f, rec: history.NewRecorder(time.Unix(100, 0), clock)})
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := s.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 16 {
		t.Fatalf("%d ops, want 16", len(h))
	}
	if err := history.Validate(h); err != nil {
		t.Fatalf("merged history: %v", err)
	}
	procs := map[string]map[int]bool{"a": {}, "b": {}}
	for i, op := range h {
		if op.Index != int64(i) || (i > 0 && op.Time < h[i-1].Time) {
			t.Fatalf("op %d: index %d time %d after %d", i, op.Index, op.Time, h[max(i-1, 0)].Time)
		}
		topic := ""
		switch {
		case op.Send != nil:
			topic = op.Send.Topic
		case op.Final != nil:
			topic = op.Final.Topic
		case op.Assign != nil:
			topic = op.Assign.Topic
		}
		if topic != "" {
			procs[topic][op.Process] = true
		}
	}
	for p := range procs["a"] {
		if procs["b"][p] {
			t.Fatalf("process %d in both workloads", p)
		}
	}
	if code, summary, _ := checker.Judge(h, checker.Opts{}, nil); code != 0 {
		t.Fatalf("merged clean histories judged %d:\n%s", code, summary)
	}
	// The recorders' own ops are untouched.
	if op := s.members[1].rec.Ops()[0]; op.Process != 0 || op.Send.Client != 1 {
		t.Fatalf("the merge changed a recorder's op: %v", op)
	}
	// The same value sent by two workloads is refused: the checkers name a
	// send by its value.
	clash := &Set{}
	for _, f := range []*fake{{script("a", "v")}, {script("b", "v")}} {
		clash.members = append(clash.members, &built{name: "fake", w: f, rec: history.NewRecorder(time.Unix(100, 0), clock)})
	}
	if err := clash.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := clash.History(); err == nil || !strings.Contains(err.Error(), `both sent the value "v"`) {
		t.Fatalf("a value sent by two workloads merged: %v", err)
	}
	// An id the shift would confuse is refused, never merged.
	s.members[1].rec.Record(history.Op{Process: Stride, Type: history.Invoke, F: history.FnPoll})
	if _, err := s.History(); err == nil || !strings.Contains(err.Error(), "process id") {
		t.Fatalf("an id past the stride merged: %v", err)
	}
}

// FuzzOpts: a header's parameters are outside bytes; whatever they hold,
// Opts answers with options or an error, never a panic.
func FuzzOpts(f *testing.F) {
	for _, e := range Entries() {
		raw, _ := e.Draw(rand.New(rand.NewPCG(1, 1)), Cluster{ReplicationFactor: 3, MinInsync: 2, Duration: time.Second})
		f.Add(e.Name, []byte(raw))
	}
	f.Add("queue", []byte(`{"acks":"leader","partitions":-1}`))
	f.Add("clickstream", []byte(`{"users":0,"producers":0,"gap_ns":-5}`))
	f.Add("queue", []byte(`null`))
	f.Fuzz(func(t *testing.T, name string, params []byte) {
		opts, err := Opts(name, params)
		if err == nil && opts.Allowed == nil && opts.Properties == nil {
			t.Fatalf("%s %q: options with nothing in them", name, params)
		}
	})
}

// TestPipelinesDrawTwoMembers: every seed gives a pipeline workload's
// processing group at least two member slots, in the simulator and on a
// real cluster, so a rebalance moves partitions between live members.
func TestPipelinesDrawTwoMembers(t *testing.T) {
	for _, name := range []string{"clickstream", "payments", "vitals"} {
		e, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for seed := range uint64(200) {
			for _, sim := range []bool{true, false} {
				raw, err := e.Draw(rand.New(rand.NewPCG(seed, 1)), Cluster{ReplicationFactor: 3, Duration: 10 * time.Second, Simulated: sim})
				if err != nil {
					t.Fatal(err)
				}
				var p struct {
					Members int `json:"members"`
				}
				if err := json.Unmarshal(raw, &p); err != nil {
					t.Fatal(err)
				}
				if p.Members < 2 {
					t.Fatalf("%s seed %d (simulated %v): %d member slot(s)", name, seed, sim, p.Members)
				}
				seen[p.Members] = true
			}
		}
		if len(seen) < 2 {
			t.Errorf("%s: every seed draws the same member count %v", name, seen)
		}
	}
}

// A member's join names its events process: a merge moves it with the
// member's own process, or the member's assignment ops would be taken
// for another workload's (seen: unfenced-instance and nonmonotonic-poll
// on queue,clickstream,payments,vitals).
func TestShiftMovesJoinEvents(t *testing.T) {
	j := &history.Join{Group: "g", Topics: []string{"t"}, Events: 11}
	op, err := shift(history.Op{Process: 10, Type: history.Invoke, F: history.FnJoin, Join: j}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if op.Process != 10+2*Stride || op.Join.Events != 11+2*Stride || j.Events != 11 {
		t.Fatalf("shifted process %d events %d (the original's %d)", op.Process, op.Join.Events, j.Events)
	}
}
