package reconcile_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/reconcile"
)

// scenario is one broker's view: the image the metadata log built so far
// and the replicas the broker holds, which each plan changes as the
// broker's shell would (open, reconfigure, remove).
type scenario struct {
	t     *testing.T
	img   *metadata.Image
	index uint64
	held  []reconcile.Replica
}

// TestScenarios runs testdata/*.txt. Commands build the image from
// metadata records (register, fence, unfence, topic, change, config,
// remove-topic) and plan for a node (plan id=N incarnation=X), printing
// the plan and applying it to the held replicas.
func TestScenarios(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			s := &scenario{t: t, img: metadata.Empty(nil)}
			datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
				return s.run(d)
			})
		})
	}
}

func (s *scenario) run(d *datadriven.TestData) string {
	switch d.Cmd {
	case "register":
		id := s.int(d, "id")
		return s.apply(&metadata.RegisterBrokerRecord{
			NodeID: id, Epoch: int64(s.index + 1), IncarnationID: incarnation(s.arg(d, "incarnation")), Fenced: true,
			Listeners: []metadata.Listener{{Name: "PLAINTEXT", Host: fmt.Sprintf("n%d", id), Port: 9092}},
		})
	case "fence", "unfence":
		id := s.int(d, "id")
		b, ok := s.img.Broker(id)
		if !ok {
			d.Fatalf(s.t, "no broker %d", id)
		}
		if d.Cmd == "fence" {
			return s.apply(&metadata.FenceBrokerRecord{NodeID: id, Epoch: b.Epoch})
		}
		return s.apply(&metadata.UnfenceBrokerRecord{NodeID: id, Epoch: b.Epoch})
	case "topic":
		return s.topic(d)
	case "change":
		return s.change(d)
	case "config":
		t := s.mustTopic(d)
		return s.apply(&metadata.ConfigRecord{Resource: metadata.ResourceTopic, Name: t.Name, Key: s.arg(d, "key"), Value: s.arg(d, "value")})
	case "remove-topic":
		return s.apply(&metadata.RemoveTopicRecord{ID: s.mustTopic(d).ID})
	case "plan":
		return s.plan(d)
	}
	d.Fatalf(s.t, "unknown command %q", d.Cmd)
	return ""
}

func (s *scenario) apply(records ...metadata.Record) string {
	s.index++
	next, err := s.img.Apply(metadata.Offset{Index: s.index, Term: 1}, records)
	if err != nil {
		return "error: " + err.Error()
	}
	s.img = next
	return "ok"
}

// topic name=t id=N partitions=R0;R1... where each Ri is
// "replicas/leader" ("1,2,3/1"); every partition starts with a full ISR.
func (s *scenario) topic(d *datadriven.TestData) string {
	var id metadata.TopicID
	id[15] = byte(s.int(d, "id"))
	recs := []metadata.Record{&metadata.TopicRecord{Name: s.arg(d, "name"), ID: id}}
	for i, spec := range strings.Split(s.arg(d, "partitions"), ";") {
		replicas, leader, _ := strings.Cut(spec, "/")
		rs := ints(replicas)
		l, err := strconv.Atoi(leader)
		if err != nil {
			d.Fatalf(s.t, "partition %q: %v", spec, err)
		}
		recs = append(recs, &metadata.PartitionRecord{TopicID: id, Partition: int32(i), Replicas: rs, ISR: rs, Leader: int32(l)})
	}
	return s.apply(recs...)
}

// change topic=t partition=N leader=L [replicas=...]: a new leader epoch.
func (s *scenario) change(d *datadriven.TestData) string {
	t := s.mustTopic(d)
	i := s.int(d, "partition")
	p := t.Partitions[i]
	r := &metadata.PartitionChangeRecord{TopicID: t.ID, Partition: i, Leader: s.int(d, "leader"),
		LeaderEpoch: p.LeaderEpoch + 1, PartitionEpoch: p.PartitionEpoch + 1}
	if d.HasArg("replicas") {
		r.Replicas = ints(s.arg(d, "replicas"))
		r.ISR = r.Replicas
	}
	return s.apply(r)
}

// plan id=N incarnation=X prints the plan and applies it to the held
// replicas.
func (s *scenario) plan(d *datadriven.TestData) string {
	node := reconcile.Node{ID: s.int(d, "id"), Incarnation: incarnation(s.arg(d, "incarnation"))}
	p := reconcile.Decide(node, s.held, s.img)
	var b strings.Builder
	fmt.Fprintf(&b, "active=%t\n", p.Active)
	var next []reconcile.Replica
	for _, st := range p.Steps {
		var what []string
		switch {
		case st.Open:
			what = append(what, "open")
		case st.Reconfigure:
			what = append(what, "reconfigure")
		default:
			what = append(what, "keep")
		}
		what = append(what, st.Role.String())
		if st.Role == reconcile.Follow {
			what = append(what, st.LeaderAddr)
		}
		if st.Why != "" {
			what = append(what, "("+st.Why+")")
		}
		fmt.Fprintf(&b, "%s-%d epoch=%d: %s\n", st.Topic.Name, st.Index, st.Partition.LeaderEpoch, strings.Join(what, " "))
		next = append(next, reconcile.Replica{Topic: st.Topic.Name, TopicID: st.Topic.ID, Partition: st.Index, Overrides: st.Topic.Overrides})
	}
	for _, r := range p.Remove {
		fmt.Fprintf(&b, "%s-%d: remove\n", r.Topic, r.Partition)
	}
	s.held = next
	return b.String()
}

func (s *scenario) mustTopic(d *datadriven.TestData) *metadata.Topic {
	t, ok := s.img.Topic(s.arg(d, "topic"))
	if !ok {
		d.Fatalf(s.t, "no topic %q", s.arg(d, "topic"))
	}
	return t
}

func (s *scenario) arg(d *datadriven.TestData, key string) string {
	var v string
	d.ScanArgs(s.t, key, &v)
	return v
}

func (s *scenario) int(d *datadriven.TestData, key string) int32 {
	n, err := strconv.Atoi(s.arg(d, key))
	if err != nil {
		d.Fatalf(s.t, "%s: %v", key, err)
	}
	return int32(n)
}

func incarnation(name string) [16]byte {
	var id [16]byte
	copy(id[:], name)
	return id
}

func ints(s string) []int32 {
	var out []int32
	for _, f := range strings.Split(s, ",") {
		n, _ := strconv.Atoi(f)
		out = append(out, int32(n))
	}
	return slices.Clip(out)
}
