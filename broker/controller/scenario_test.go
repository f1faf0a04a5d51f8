package controller

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

// scenario drives a Controller over an image the way the Raft shell does:
// every decision's records become one log entry applied at the next
// offset. Commands (see testdata/*.txt):
//
//	register id=N [rack=R] [incarnation=I] [cluster=C]
//	heartbeat id=N [epoch=E] [offset=O] [shutdown] [fence]
//	advance d=DURATION          move the clock
//	tick                        fence brokers whose session expired
//	create-topic name=T [partitions=P] [rf=R] [assign=(1,2;2,3)] [config=(k=v,...)] [validate]
//	delete-topic name=T
//	create-partitions name=T count=N
//	alter-partition broker=N topic=T partition=P isr=(1,2) [leader-epoch=E] [partition-epoch=E] [broker-epoch=E]
//	elect type=(preferred|unclean) [topic=T partitions=(0,1)]
//	alter-config name=T [set=(k=v,...)] [delete=(k,...)]
//	allocate-pids broker=N
//	show                        the image: brokers and partitions
//	lose-quorum                 the log commits nothing until new-leader
//	new-leader                  a majority is back and the controller
//	                            activates (Activate) on the image
//
// The output of a decision is its answer, then the records it appended:
// "+ record", or "x record" while the quorum is lost, when the records
// are decided but never committed, so the image does not change (the
// shell answers such a request with a timeout, never with the answer).
// fataler is what scenario needs of *testing.T and *rapid.T.
type fataler interface {
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

type scenario struct {
	t   fataler
	c   *Controller
	img *metadata.Image
	now time.Time
	// start is the scenario's first now: sessions print relative to it.
	start time.Time
	// noChecks skips CheckImage/CheckTransition/CheckLeaderRequests
	// after each entry (benchmarks measure the controller, not the
	// checks).
	noChecks bool
	// lost is set between lose-quorum and new-leader: decisions are not
	// committed.
	lost bool
	// flagged collects what CheckLeaderRequests found, which is fatal
	// unless the SkipPartitionEpochCheck defect is planted; the
	// scenario prints it after the command's output ("! ...").
	flagged []string
}

func newScenario(t fataler, cfg Config) *scenario {
	s := &scenario{
		t:   t,
		c:   New(cfg, rand.New(rand.NewPCG(1, 2))),
		img: metadata.Empty(nil),
		now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	s.start = s.now
	s.commit(s.c.Bootstrap(s.img))
	return s
}

// commit applies records as the next log entry; no records, no entry;
// nothing while the quorum is lost.
func (s *scenario) commit(recs []metadata.Record) {
	if len(recs) == 0 || s.lost {
		return
	}
	next, err := s.img.Apply(metadata.Offset{Index: s.img.Offset().Index + 1, Term: 1}, recs)
	if err != nil {
		s.t.Fatalf("records do not apply: %v", err)
	}
	if s.noChecks {
		s.img = next
		return
	}
	if err := metadata.CheckTransition(s.img, next); err != nil {
		s.t.Fatalf("controller broke a rule: %v", err)
	}
	if err := metadata.CheckImage(next); err != nil {
		s.t.Fatalf("controller broke a rule: %v", err)
	}
	if err := metadata.CheckLeaderRequests(s.img, recs); err != nil {
		if !s.c.cfg.Defects.SkipPartitionEpochCheck {
			s.t.Fatalf("controller broke a rule: %v", err)
		}
		s.flagged = append(s.flagged, err.Error()) // the planted defect, shown in the output
	}
	s.img = next
}

func (s *scenario) decide(req kmsg.Request) Result {
	res := s.c.Decide(s.img, req, s.now)
	if res.Err != nil {
		s.t.Fatal(res.Err)
	}
	s.commit(res.Records)
	return res
}

func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		cfg := DefaultConfig()
		switch name := filepath.Base(path); {
		case strings.Contains(name, "defect-elect-outside-isr"):
			cfg.Defects.ElectOutsideISR = true
		case strings.Contains(name, "defect"):
			cfg.Defects.SkipPartitionEpochCheck = true
		}
		s := newScenario(t, cfg)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			s.t = t
			out := s.run(d)
			if s.lost { // what was decided was not committed
				out = strings.ReplaceAll("\n"+out, "\n+ ", "\nx ")[1:]
			}
			for _, f := range s.flagged {
				out += "\n! " + f
			}
			s.flagged = nil
			return out
		})
	})
}

func (s *scenario) run(d *datadriven.TestData) string {
	switch d.Cmd {
	case "register":
		return s.register(d)
	case "heartbeat":
		return s.heartbeat(d)
	case "advance":
		dur, err := time.ParseDuration(s.arg(d, "d"))
		if err != nil {
			s.t.Fatal(err)
		}
		s.now = s.now.Add(dur)
		return fmt.Sprintf("now +%s", dur)
	case "tick":
		recs := s.c.Tick(s.img, s.now)
		s.commit(recs)
		return formatRecords(recs)
	case "create-topic":
		return s.createTopic(d)
	case "delete-topic":
		req := kmsg.NewPtrDeleteTopicsRequest()
		req.Version = 6
		name := s.arg(d, "name")
		rt := kmsg.NewDeleteTopicsRequestTopic()
		rt.Topic = &name
		req.Topics = append(req.Topics, rt)
		res := s.decide(req)
		return fmt.Sprintf("%s\n%s", errName(res.Response.(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode), formatRecords(res.Records))
	case "create-partitions":
		req := kmsg.NewPtrCreatePartitionsRequest()
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = s.arg(d, "name"), int32(s.intArg(d, "count", 0))
		req.Topics = append(req.Topics, rt)
		res := s.decide(req)
		st := res.Response.(*kmsg.CreatePartitionsResponse).Topics[0]
		return fmt.Sprintf("%s%s\n%s", errName(st.ErrorCode), msg(st.ErrorMessage), formatRecords(res.Records))
	case "alter-partition":
		return s.alterPartition(d)
	case "elect":
		return s.elect(d)
	case "alter-config":
		return s.alterConfig(d)
	case "allocate-pids":
		id := int32(s.intArg(d, "broker", 0))
		br, _ := s.img.Broker(id)
		req := kmsg.NewPtrAllocateProducerIDsRequest()
		req.BrokerID, req.BrokerEpoch = id, br.Epoch
		res := s.decide(req)
		r := res.Response.(*kmsg.AllocateProducerIDsResponse)
		return fmt.Sprintf("%s start=%d len=%d\n%s", errName(r.ErrorCode), r.ProducerIDStart, r.ProducerIDLen, formatRecords(res.Records))
	case "show":
		return formatImage(s.img)
	case "lose-quorum":
		s.lost = true
		return "the quorum lost its majority"
	case "new-leader":
		s.lost = false
		s.c.Activate(s.img, s.now) // the harder case: the same node leads again, its heartbeat times old

		var sessions []string
		for _, br := range s.img.Brokers() {
			at, _ := s.c.Session(br.ID)
			sessions = append(sessions, fmt.Sprintf("%d@+%s", br.ID, at.Sub(s.start)))
		}
		return "activated; sessions " + strings.Join(sessions, " ")
	}
	s.t.Fatalf("unknown command %q", d.Cmd)
	return ""
}

func (s *scenario) arg(d *datadriven.TestData, key string) string {
	a, ok := d.Arg(key)
	if !ok {
		s.t.Fatalf("%s: missing %s=", d.Cmd, key)
	}
	return single(s.t, a)
}

func (s *scenario) intArg(d *datadriven.TestData, key string, def int64) int64 {
	a, ok := d.Arg(key)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(single(s.t, a), 10, 64)
	if err != nil {
		s.t.Fatalf("%s=%s: %v", key, single(s.t, a), err)
	}
	return n
}

func (s *scenario) ints(d *datadriven.TestData, key string) []int32 {
	a, ok := d.Arg(key)
	if !ok {
		return nil
	}
	out := []int32{}
	for _, v := range a.Vals {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.t.Fatalf("%s: %v", key, err)
		}
		out = append(out, int32(n))
	}
	return out
}

func (s *scenario) register(d *datadriven.TestData) string {
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.BrokerID = int32(s.intArg(d, "id", 0))
	req.IncarnationID[0] = byte(s.intArg(d, "incarnation", 1))
	if d.HasArg("cluster") {
		req.ClusterID = s.arg(d, "cluster")
	}
	if d.HasArg("rack") {
		rack := s.arg(d, "rack")
		req.Rack = &rack
	}
	l := kmsg.NewBrokerRegistrationRequestListener()
	l.Name, l.Host, l.Port = "PLAINTEXT", fmt.Sprintf("n%d", req.BrokerID), 9092
	req.Listeners = append(req.Listeners, l)
	res := s.decide(req)
	r := res.Response.(*kmsg.BrokerRegistrationResponse)
	return fmt.Sprintf("%s epoch=%d\n%s", errName(r.ErrorCode), r.BrokerEpoch, formatRecords(res.Records))
}

func (s *scenario) heartbeat(d *datadriven.TestData) string {
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID = int32(s.intArg(d, "id", 0))
	epoch := int64(-1)
	if br, ok := s.img.Broker(req.BrokerID); ok {
		epoch = br.Epoch
	}
	req.BrokerEpoch = s.intArg(d, "epoch", epoch)
	req.CurrentMetadataOffset = s.intArg(d, "offset", int64(s.img.Offset().Index))
	req.WantShutdown, req.WantFence = d.HasArg("shutdown"), d.HasArg("fence")
	res := s.decide(req)
	r := res.Response.(*kmsg.BrokerHeartbeatResponse)
	return fmt.Sprintf("%s caught-up=%t fenced=%t shutdown=%t\n%s", errName(r.ErrorCode), r.IsCaughtUp, r.IsFenced, r.ShouldShutdown, formatRecords(res.Records))
}

func (s *scenario) createTopic(d *datadriven.TestData) string {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.ValidateOnly = d.HasArg("validate")
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = s.arg(d, "name")
	rt.NumPartitions = int32(s.intArg(d, "partitions", -1))
	rt.ReplicationFactor = int16(s.intArg(d, "rf", -1))
	if a, ok := d.Arg("assign"); ok {
		for i, v := range a.Vals {
			ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			ra.Partition = int32(i)
			for _, r := range strings.Split(v, ";") {
				n, _ := strconv.Atoi(r)
				ra.Replicas = append(ra.Replicas, int32(n))
			}
			rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
		}
	}
	if a, ok := d.Arg("config"); ok {
		for _, kv := range a.Vals {
			k, v, _ := strings.Cut(kv, "=")
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = k, &v
			rt.Configs = append(rt.Configs, c)
		}
	}
	req.Topics = append(req.Topics, rt)
	res := s.decide(req)
	st := res.Response.(*kmsg.CreateTopicsResponse).Topics[0]
	return fmt.Sprintf("%s%s partitions=%d rf=%d\n%s", errName(st.ErrorCode), msg(st.ErrorMessage), st.NumPartitions, st.ReplicationFactor, formatRecords(res.Records))
}

func (s *scenario) topic(name string) *metadata.Topic {
	t, ok := s.img.Topic(name)
	if !ok {
		s.t.Fatalf("no topic %s", name)
	}
	return t
}

func (s *scenario) alterPartition(d *datadriven.TestData) string {
	t := s.topic(s.arg(d, "topic"))
	idx := int32(s.intArg(d, "partition", 0))
	p := t.Partitions[idx]
	broker := int32(s.intArg(d, "broker", int64(p.Leader)))
	br, _ := s.img.Broker(broker)
	req := kmsg.NewPtrAlterPartitionRequest()
	req.Version = 2
	req.BrokerID, req.BrokerEpoch = broker, s.intArg(d, "broker-epoch", br.Epoch)
	rt := kmsg.NewAlterPartitionRequestTopic()
	rt.TopicID = t.ID
	rp := kmsg.NewAlterPartitionRequestTopicPartition()
	rp.Partition = idx
	rp.LeaderEpoch = int32(s.intArg(d, "leader-epoch", int64(p.LeaderEpoch)))
	rp.PartitionEpoch = int32(s.intArg(d, "partition-epoch", int64(p.PartitionEpoch)))
	rp.NewISR = s.ints(d, "isr")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	res := s.decide(req)
	r := res.Response.(*kmsg.AlterPartitionResponse)
	if r.ErrorCode != 0 {
		return errName(r.ErrorCode)
	}
	sp := r.Topics[0].Partitions[0]
	if sp.ErrorCode != 0 {
		return errName(sp.ErrorCode)
	}
	return fmt.Sprintf("NONE leader=%d epoch=%d isr=%v pepoch=%d\n%s", sp.LeaderID, sp.LeaderEpoch, sp.ISR, sp.PartitionEpoch, formatRecords(res.Records))
}

func (s *scenario) elect(d *datadriven.TestData) string {
	req := kmsg.NewPtrElectLeadersRequest()
	req.Version = 1
	if s.arg(d, "type") == "unclean" {
		req.ElectionType = electUnclean
	}
	if d.HasArg("topic") {
		rt := kmsg.NewElectLeadersRequestTopic()
		rt.Topic, rt.Partitions = s.arg(d, "topic"), s.ints(d, "partitions")
		req.Topics = append(req.Topics, rt)
	}
	res := s.decide(req)
	var b strings.Builder
	for _, st := range res.Response.(*kmsg.ElectLeadersResponse).Topics {
		for _, sp := range st.Partitions {
			fmt.Fprintf(&b, "%s/%d: %s%s\n", st.Topic, sp.Partition, errName(sp.ErrorCode), msg(sp.ErrorMessage))
		}
	}
	return b.String() + formatRecords(res.Records)
}

func (s *scenario) alterConfig(d *datadriven.TestData) string {
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, s.arg(d, "name")
	if a, ok := d.Arg("set"); ok {
		for _, kv := range a.Vals {
			k, v, _ := strings.Cut(kv, "=")
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Value, c.Op = k, &v, kmsg.IncrementalAlterConfigOpSet
			rr.Configs = append(rr.Configs, c)
		}
	}
	if a, ok := d.Arg("delete"); ok {
		for _, k := range a.Vals {
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Op = k, kmsg.IncrementalAlterConfigOpDelete
			rr.Configs = append(rr.Configs, c)
		}
	}
	req.Resources = append(req.Resources, rr)
	res := s.decide(req)
	sr := res.Response.(*kmsg.IncrementalAlterConfigsResponse).Resources[0]
	return fmt.Sprintf("%s%s\n%s", errName(sr.ErrorCode), msg(sr.ErrorMessage), formatRecords(res.Records))
}

func errName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	return kerr.TypedErrorForCode(code).Message
}

func msg(m *string) string {
	if m == nil {
		return ""
	}
	return ": " + *m
}

// formatRecords prints records one a line, topic ids as topic names.
func formatRecords(recs []metadata.Record) string {
	if len(recs) == 0 {
		return "(no records)"
	}
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "+ %s\n", r)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func formatImage(img *metadata.Image) string {
	var b strings.Builder
	fmt.Fprintf(&b, "offset=%d\n", img.Offset().Index)
	for _, br := range img.Brokers() {
		state := "active"
		switch {
		case br.Fenced && br.InControlledShutdown:
			state = "fenced shut-down"
		case br.Fenced:
			state = "fenced"
		case br.InControlledShutdown:
			state = "shutting-down"
		}
		fmt.Fprintf(&b, "broker %d epoch=%d rack=%q %s\n", br.ID, br.Epoch, br.Rack, state)
	}
	for _, t := range img.Topics() {
		for i, p := range t.Partitions {
			fmt.Fprintf(&b, "%s/%d replicas=%v isr=%v leader=%d epoch=%d pepoch=%d\n", t.Name, i, p.Replicas, p.ISR, p.Leader, p.LeaderEpoch, p.PartitionEpoch)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func single(t fataler, a datadriven.CmdArg) string {
	if len(a.Vals) != 1 {
		t.Fatalf("%s: want one value, got %v", a.Key, a.Vals)
	}
	return a.Vals[0]
}
