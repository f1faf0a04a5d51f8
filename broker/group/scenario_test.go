package group

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestScenarios runs the scenario files in testdata/scenarios (regenerate with
// go test ./broker/group -run TestScenarios -rewrite). Commands:
//
//	new [initial-delay=MS] [max-size=N] [retention=MS] [check-interval=MS]
//	join group=G waiter=W client=C [member=ID] [instance=I] [session=MS]
//	     [rebalance=MS] [type=consumer] [protocols=a,b] [meta=S | topics=t1,t2] [version=V]
//	sync group=G waiter=W member=ID gen=N [instance=I] [assign=ID:bytes;ID:bytes]
//	     [protocol=P] [version=V]
//	heartbeat group=G member=ID gen=N [instance=I]
//	leave group=G [member=ID] [instance=I] [version=V]
//	commit group=G offsets=t/p:o,... [member=ID] [gen=N] [instance=I]
//	       [metadata=S | metadata-bytes=N] [epoch=E] [retention=MS] [version=V]
//	fetch group=G [partitions=t/p,...]
//	describe groups=G,... [version=V]
//	list [states=S,...]
//	delete-groups groups=G,...
//	delete-offsets group=G partitions=t/p,...
//	txn-commit group=G producer=P offsets=t/p:o,... [epoch=E] [member=ID] [gen=N]
//	           [instance=I] [version=V]
//	marker producer=P commit=true|false [epoch=E]
//	fetch-stable group=G partitions=t/p,...   (OffsetFetch with require_stable)
//	topics t=N,u=M,...          (the topics heartbeats see: name=partitions)
//	cg-heartbeat group=G member=ID epoch=E [instance=I] [subscribe=t,u | regex=R]
//	             [assignor=A] [owned=t:0,1;u:2 | owned=none] [rebalance=MS]
//	             [rack=R] [version=V]    (ConsumerGroupHeartbeat; owned
//	             defaults to none, and to empty when joining)
//	cg-describe groups=G,...
//	tick advance=MS
//	set auto-durable=true|false
//	durable [offset=O]          (default: everything appended)
//	state                       (the shard's groups and offsets)
//	log                         (every record appended so far)
//	reload                      (a new shard loads the log: a restart)
//	unload
//
// Every command prints the batch it appended and the replies released.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
		h := newHarness(DefaultConfig())
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			return h.run(t, td)
		})
	})
}

// harness is a shard with a log and a clock, as the broker would drive it.
type harness struct {
	topics      harnessTopics
	cfg         Config
	s           *Shard
	nowMs       int64
	ids         int
	log         []logEntry
	autoDurable bool
	out         strings.Builder
}

func newHarness(cfg Config) *harness {
	h := &harness{cfg: cfg, nowMs: 1_000_000, autoDurable: true}
	h.reset()
	return h
}

func (h *harness) newID() string { h.ids++; return strconv.Itoa(h.ids) }

func (h *harness) reset() {
	h.s = NewShard(h.cfg, h.newID)
	h.log = nil
	h.s.FinishLoad(h.nowMs, 0)
}

func (h *harness) run(t *testing.T, td *datadriven.TestData) string {
	h.out.Reset()
	a := args{t: t, td: td}
	switch td.Cmd {
	case "new":
		h.cfg = DefaultConfig()
		h.cfg.InitialRebalanceDelayMs = int32(a.int("initial-delay", 0))
		h.cfg.MaxSize = int32(a.int("max-size", int64(h.cfg.MaxSize)))
		h.cfg.OffsetsRetentionMs = a.int("retention", h.cfg.OffsetsRetentionMs)
		h.cfg.OffsetsRetentionCheckIntervalMs = a.int("check-interval", h.cfg.OffsetsRetentionCheckIntervalMs)
		h.ids = 0
		h.autoDurable = true
		h.reset()
		return "ok"
	case "join":
		h.apply(h.s.Join(h.nowMs, a.joinRequest(), Client{ID: a.str("client", "c"), Host: "/10.0.0.1"}, a.str("waiter", "")))
	case "sync":
		h.apply(h.s.Sync(h.nowMs, a.syncRequest(), a.str("waiter", "")))
	case "heartbeat":
		req := kmsg.NewPtrHeartbeatRequest()
		req.Version = 4
		req.Group, req.MemberID, req.Generation = a.str("group", ""), a.str("member", ""), int32(a.int("gen", -1))
		req.InstanceID = a.optStr("instance")
		h.apply(h.s.Heartbeat(h.nowMs, req, "hb"))
	case "leave":
		req := kmsg.NewPtrLeaveGroupRequest()
		req.Version = int16(a.int("version", 5))
		req.Group = a.str("group", "")
		if req.Version < 3 {
			req.MemberID = a.str("member", "")
		} else {
			m := kmsg.NewLeaveGroupRequestMember()
			m.MemberID, m.InstanceID = a.str("member", ""), a.optStr("instance")
			req.Members = append(req.Members, m)
		}
		h.apply(h.s.Leave(h.nowMs, req, "leave"))
	case "commit":
		h.apply(h.s.Commit(h.nowMs, a.commitRequest(), "commit"))
	case "fetch":
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 8
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group = a.str("group", "")
		g.MemberID = a.optStr("member")
		g.MemberEpoch = int32(a.int("member-epoch", -1))
		req.Version = int16(a.int("version", 8))
		if a.has("partitions") {
			byTopic := map[string][]int32{}
			var order []string
			for _, tp := range a.list("partitions") {
				topic, p := parseTopicPartition(t, tp)
				if byTopic[topic] == nil {
					order = append(order, topic)
				}
				byTopic[topic] = append(byTopic[topic], p)
			}
			for _, topic := range order {
				rt := kmsg.NewOffsetFetchRequestGroupTopic()
				rt.Topic, rt.Partitions = topic, byTopic[topic]
				g.Topics = append(g.Topics, rt)
			}
		}
		req.Groups = append(req.Groups, g)
		h.apply(h.s.FetchOffsets(h.nowMs, req, "fetch"))
	case "describe":
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Version = int16(a.int("version", 5))
		req.Groups = a.list("groups")
		h.apply(h.s.Describe(h.nowMs, req, "describe"))
	case "list":
		req := kmsg.NewPtrListGroupsRequest()
		req.Version = 5
		if a.has("states") {
			req.StatesFilter = a.list("states")
		}
		h.apply(h.s.List(h.nowMs, req, "list"))
	case "delete-groups":
		req := kmsg.NewPtrDeleteGroupsRequest()
		req.Version = 2
		req.Groups = a.list("groups")
		h.apply(h.s.DeleteGroups(h.nowMs, req, "delete"))
	case "delete-offsets":
		req := kmsg.NewPtrOffsetDeleteRequest()
		req.Group = a.str("group", "")
		for _, tp := range a.list("partitions") {
			topic, p := parseTopicPartition(t, tp)
			rt := kmsg.NewOffsetDeleteRequestTopic()
			rt.Topic = topic
			rp := kmsg.NewOffsetDeleteRequestTopicPartition()
			rp.Partition = p
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
		}
		h.apply(h.s.DeleteOffsets(h.nowMs, req, "offset-delete"))
	case "txn-commit":
		h.apply(h.s.TxnCommit(h.nowMs, a.txnCommitRequest(), "txn-commit"))
	case "marker":
		m := TxnMarker{ProducerID: a.int("producer", 0), ProducerEpoch: int16(a.int("epoch", 0)), Commit: a.str("commit", "true") == "true"}
		h.apply(h.s.CompleteTxn(h.nowMs, m, "marker"))
	case "fetch-stable":
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version, req.RequireStable = 8, true
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group = a.str("group", "")
		for _, tp := range a.list("partitions") {
			topic, p := parseTopicPartition(t, tp)
			rt := kmsg.NewOffsetFetchRequestGroupTopic()
			rt.Topic, rt.Partitions = topic, []int32{p}
			g.Topics = append(g.Topics, rt)
		}
		req.Groups = append(req.Groups, g)
		h.apply(h.s.FetchOffsets(h.nowMs, req, "fetch"))
	case "topics":
		h.topics = harnessTopics{}
		for _, arg := range td.CmdArgs {
			n, err := strconv.Atoi(arg.SingleVal(t))
			if err != nil {
				t.Fatalf("topics: %s: %v", arg.Key, err)
			}
			h.topics[arg.Key] = int32(n)
		}
		return "ok"
	case "cg-heartbeat":
		h.apply(h.s.ConsumerHeartbeat(h.nowMs, a.consumerHeartbeat(), Client{ID: a.str("client", "c"), Host: "/10.0.0.1"}, h.topics, "hb"))
	case "cg-describe":
		req := kmsg.NewPtrConsumerGroupDescribeRequest()
		req.Groups = a.list("groups")
		h.apply(h.s.ConsumerDescribe(h.nowMs, req, h.topics, "describe"))
	case "tick":
		h.nowMs += a.int("advance", 0)
		h.apply(h.s.Tick(h.nowMs))
	case "set":
		h.autoDurable = a.str("auto-durable", "true") == "true"
		return "ok"
	case "durable":
		h.durable(a.int("offset", int64(len(h.log))))
	case "state":
		return strings.TrimRight(h.s.Dump(), "\n")
	case "log":
		for i, e := range h.log {
			fmt.Fprintf(&h.out, "%d: %s\n", i, e.describe())
		}
	case "reload":
		s := NewShard(h.cfg, h.newID)
		for _, e := range h.log {
			if err := e.replay(s); err != nil {
				t.Fatalf("replay: %v", err)
			}
		}
		h.apply(h.s.Unload())
		s.FinishLoad(h.nowMs, int64(len(h.log)))
		h.s = s
		h.out.WriteString(s.Dump())
	case "unload":
		h.apply(h.s.Unload())
	default:
		t.Fatalf("unknown command %q", td.Cmd)
	}
	out := strings.TrimRight(h.out.String(), "\n")
	if out == "" {
		return "(nothing)"
	}
	return out
}

func (h *harness) apply(out Output) {
	if b := out.Batch; b != nil {
		if b.BaseOffset != int64(len(h.log)) {
			panic(fmt.Sprintf("batch at %d, log ends at %d", b.BaseOffset, len(h.log)))
		}
		for _, r := range b.Records {
			h.log = append(h.log, logEntry{Record: r, pid: -1})
		}
		fmt.Fprintf(&h.out, "append %d record(s) at %d\n", len(b.Records), b.BaseOffset)
	}
	if b := out.TxnBatch; b != nil {
		if b.BaseOffset != int64(len(h.log)) {
			panic(fmt.Sprintf("transactional batch at %d, log ends at %d", b.BaseOffset, len(h.log)))
		}
		if b.Marker != nil {
			h.log = append(h.log, logEntry{pid: b.ProducerID, marker: b.Marker})
			fmt.Fprintf(&h.out, "append marker producer=%d epoch=%d commit=%v at %d\n", b.ProducerID, b.ProducerEpoch, b.Marker.Commit, b.BaseOffset)
		} else {
			for _, r := range b.Records {
				h.log = append(h.log, logEntry{Record: r, pid: b.ProducerID})
			}
			fmt.Fprintf(&h.out, "append %d transactional record(s) of producer %d epoch %d at %d\n", len(b.Records), b.ProducerID, b.ProducerEpoch, b.BaseOffset)
		}
	}
	h.print(out.Replies)
	if h.autoDurable && (out.Batch != nil || out.TxnBatch != nil) {
		h.durable(int64(len(h.log)))
	}
}

func (h *harness) durable(offset int64) {
	h.print(h.s.Durable(h.nowMs, offset).Replies)
}

func (h *harness) print(replies []Reply) {
	for _, r := range replies {
		fmt.Fprintf(&h.out, "%v: %s\n", r.To, describeResponse(r.Resp))
	}
}

// args reads a directive's arguments.
type args struct {
	t  *testing.T
	td *datadriven.TestData
}

func (a args) has(key string) bool { return a.td.HasArg(key) }

func (a args) str(key, def string) string {
	if arg, ok := a.td.Arg(key); ok {
		return arg.SingleVal(a.t)
	}
	return def
}

func (a args) optStr(key string) *string {
	if !a.has(key) {
		return nil
	}
	s := a.str(key, "")
	return &s
}

func (a args) int(key string, def int64) int64 {
	if !a.has(key) {
		return def
	}
	n, err := strconv.ParseInt(a.str(key, ""), 10, 64)
	if err != nil {
		a.t.Fatalf("%s: %v", key, err)
	}
	return n
}

func (a args) list(key string) []string {
	s := a.str(key, "")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func (a args) joinRequest() *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = int16(a.int("version", 9))
	req.Group = a.str("group", "")
	req.MemberID = a.str("member", "")
	req.InstanceID = a.optStr("instance")
	req.SessionTimeoutMillis = int32(a.int("session", 10000))
	req.RebalanceTimeoutMillis = int32(a.int("rebalance", 30000))
	req.ProtocolType = a.str("type", "consumer")
	meta := []byte(a.str("meta", ""))
	if a.has("topics") {
		sub := kmsg.NewConsumerMemberMetadata()
		sub.Topics = a.list("topics")
		meta = sub.AppendTo(nil)
	}
	for _, name := range a.list("protocols") {
		if name == "" {
			continue
		}
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = name, meta
		req.Protocols = append(req.Protocols, p)
	}
	if !a.has("protocols") {
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = "range", meta
		req.Protocols = append(req.Protocols, p)
	}
	return req
}

func (a args) syncRequest() *kmsg.SyncGroupRequest {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = int16(a.int("version", 5))
	req.Group, req.MemberID, req.Generation = a.str("group", ""), a.str("member", ""), int32(a.int("gen", -1))
	req.InstanceID = a.optStr("instance")
	req.Protocol = a.optStr("protocol")
	if s := a.str("assign", ""); s != "" {
		for _, pair := range strings.Split(s, ";") {
			id, bytes, ok := strings.Cut(pair, ":")
			if !ok {
				a.t.Fatalf("assign %q: want id:bytes", pair)
			}
			ga := kmsg.NewSyncGroupRequestGroupAssignment()
			ga.MemberID, ga.MemberAssignment = id, []byte(bytes)
			req.GroupAssignment = append(req.GroupAssignment, ga)
		}
	}
	return req
}

func (a args) txnCommitRequest() *kmsg.TxnOffsetCommitRequest {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.Version = int16(a.int("version", 3))
	req.TransactionalID = "tx"
	req.Group = a.str("group", "")
	req.ProducerID = a.int("producer", 0)
	req.ProducerEpoch = int16(a.int("epoch", 0))
	req.MemberID = a.str("member", "")
	req.Generation = int32(a.int("gen", -1))
	req.InstanceID = a.optStr("instance")
	byTopic := map[string][]kmsg.TxnOffsetCommitRequestTopicPartition{}
	var order []string
	for _, tpo := range a.list("offsets") {
		tp, o, ok := strings.Cut(tpo, ":")
		if !ok {
			a.t.Fatalf("offsets %q: want topic/partition:offset", tpo)
		}
		topic, p := parseTopicPartition(a.t, tp)
		off, err := strconv.ParseInt(o, 10, 64)
		if err != nil {
			a.t.Fatalf("offsets %q: %v", tpo, err)
		}
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = p, off
		if byTopic[topic] == nil {
			order = append(order, topic)
		}
		byTopic[topic] = append(byTopic[topic], rp)
	}
	for _, topic := range order {
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic, rt.Partitions = topic, byTopic[topic]
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func (a args) commitRequest() *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = int16(a.int("version", 8))
	req.Group = a.str("group", "")
	req.MemberID = a.str("member", "")
	req.Generation = int32(a.int("gen", -1))
	req.InstanceID = a.optStr("instance")
	req.RetentionTimeMillis = a.int("retention", -1)
	md := a.optStr("metadata")
	if n := a.int("metadata-bytes", -1); n >= 0 {
		s := strings.Repeat("x", int(n))
		md = &s
	}
	for _, item := range a.list("offsets") {
		tp, off, ok := strings.Cut(item, ":")
		if !ok {
			a.t.Fatalf("offsets item %q: want t/p:offset", item)
		}
		topic, p := parseTopicPartition(a.t, tp)
		o, err := strconv.ParseInt(off, 10, 64)
		if err != nil {
			a.t.Fatal(err)
		}
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.Metadata = p, o, md
		rp.LeaderEpoch = int32(a.int("epoch", -1))
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func parseTopicPartition(t testing.TB, s string) (string, int32) {
	topic, ps, ok := strings.Cut(s, "/")
	p, err := strconv.ParseInt(ps, 10, 32)
	if !ok || err != nil {
		t.Fatalf("%q: want topic/partition", s)
	}
	return topic, int32(p)
}

func errName(code int16) string {
	if code == 0 {
		return "ok"
	}
	if e := kerr.ErrorForCode(code); e != nil {
		if ke, ok := e.(*kerr.Error); ok {
			return ke.Message
		}
		return e.Error()
	}
	return strconv.Itoa(int(code))
}

// describeResponse prints a response on one line (a few for lists).
func describeResponse(resp kmsg.Response) string {
	var b strings.Builder
	switch r := resp.(type) {
	case *kmsg.JoinGroupResponse:
		if r.ErrorCode != 0 {
			fmt.Fprintf(&b, "JoinGroup %s member=%q", errName(r.ErrorCode), r.MemberID)
			break
		}
		fmt.Fprintf(&b, "JoinGroup gen=%d protocol=%s leader=%s member=%s", r.Generation, deref(r.Protocol), r.LeaderID, r.MemberID)
		if len(r.Members) > 0 {
			var ms []string
			for _, m := range r.Members {
				ms = append(ms, m.MemberID+"="+describeMetadata(m.ProtocolMetadata))
			}
			fmt.Fprintf(&b, " members=[%s]", strings.Join(ms, " "))
		}
		if r.SkipAssignment {
			b.WriteString(" skip-assignment")
		}
	case *kmsg.SyncGroupResponse:
		if r.ErrorCode != 0 {
			fmt.Fprintf(&b, "SyncGroup %s", errName(r.ErrorCode))
			break
		}
		fmt.Fprintf(&b, "SyncGroup protocol=%s assignment=%q", deref(r.Protocol), r.MemberAssignment)
	case *kmsg.HeartbeatResponse:
		fmt.Fprintf(&b, "Heartbeat %s", errName(r.ErrorCode))
	case *kmsg.LeaveGroupResponse:
		fmt.Fprintf(&b, "LeaveGroup %s", errName(r.ErrorCode))
		for _, m := range r.Members {
			fmt.Fprintf(&b, " %s%s=%s", m.MemberID, instanceSuffix(m.InstanceID), errName(m.ErrorCode))
		}
	case *kmsg.OffsetCommitResponse:
		b.WriteString("OffsetCommit")
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				fmt.Fprintf(&b, " %s/%d=%s", t.Topic, p.Partition, errName(p.ErrorCode))
			}
		}
	case *kmsg.OffsetFetchResponse:
		b.WriteString("OffsetFetch")
		for _, g := range r.Groups {
			fmt.Fprintf(&b, " %s", g.Group)
			if g.ErrorCode != 0 {
				fmt.Fprintf(&b, " %s", errName(g.ErrorCode))
			}
			for _, t := range g.Topics {
				for _, p := range t.Partitions {
					fmt.Fprintf(&b, " %s/%d=%d", t.Topic, p.Partition, p.Offset)
					if p.ErrorCode != 0 {
						fmt.Fprintf(&b, "(%s)", errName(p.ErrorCode))
					}
					if p.LeaderEpoch >= 0 {
						fmt.Fprintf(&b, "@%d", p.LeaderEpoch)
					}
					if p.Metadata != nil && *p.Metadata != "" {
						fmt.Fprintf(&b, "(%s)", *p.Metadata)
					}
				}
			}
		}
	case *kmsg.DescribeGroupsResponse:
		b.WriteString("DescribeGroups")
		for _, g := range r.Groups {
			fmt.Fprintf(&b, "\n  %s %s state=%s type=%s protocol=%s", g.Group, errName(g.ErrorCode), g.State, g.ProtocolType, g.Protocol)
			for _, m := range g.Members {
				fmt.Fprintf(&b, "\n    %s%s client=%s host=%s metadata=%s assignment=%q", m.MemberID, instanceSuffix(m.InstanceID), m.ClientID, m.ClientHost, describeMetadata(m.ProtocolMetadata), m.MemberAssignment)
			}
		}
	case *kmsg.ListGroupsResponse:
		fmt.Fprintf(&b, "ListGroups %s", errName(r.ErrorCode))
		for _, g := range r.Groups {
			fmt.Fprintf(&b, " %s:%s:%s", g.Group, g.GroupState, g.ProtocolType)
		}
	case *kmsg.DeleteGroupsResponse:
		b.WriteString("DeleteGroups")
		for _, g := range r.Groups {
			fmt.Fprintf(&b, " %s=%s", g.Group, errName(g.ErrorCode))
		}
	case *kmsg.TxnOffsetCommitResponse:
		b.WriteString("TxnOffsetCommit")
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				fmt.Fprintf(&b, " %s/%d=%s", t.Topic, p.Partition, errName(p.ErrorCode))
			}
		}
	case *kmsg.WriteTxnMarkersResponse:
		b.WriteString("WriteTxnMarkers")
		for _, m := range r.Markers {
			for _, t := range m.Topics {
				for _, p := range t.Partitions {
					fmt.Fprintf(&b, " %s", errName(p.ErrorCode))
				}
			}
		}
	case *kmsg.ConsumerGroupHeartbeatResponse:
		fmt.Fprintf(&b, "ConsumerGroupHeartbeat %s", errName(r.ErrorCode))
		if r.ErrorCode != 0 {
			fmt.Fprintf(&b, " %q", deref(r.ErrorMessage))
			break
		}
		fmt.Fprintf(&b, " member=%s epoch=%d", deref(r.MemberID), r.MemberEpoch)
		if r.Assignment != nil {
			fmt.Fprintf(&b, " assignment=%s", formatPartitions(responsePartitions(r.Assignment), testTopicName))
		}
	case *kmsg.ConsumerGroupDescribeResponse:
		b.WriteString("ConsumerGroupDescribe")
		for _, g := range r.Groups {
			if g.ErrorCode != 0 {
				fmt.Fprintf(&b, "\n  %s %s %q", g.Group, errName(g.ErrorCode), deref(g.ErrorMessage))
				continue
			}
			fmt.Fprintf(&b, "\n  %s state=%s epoch=%d assignment-epoch=%d assignor=%s", g.Group, g.State, g.Epoch, g.AssignmentEpoch, g.AssignorName)
			for _, m := range g.Members {
				fmt.Fprintf(&b, "\n    %s%s epoch=%d client=%s subscribed=%s assigned=%s target=%s", m.MemberID, instanceSuffix(m.InstanceID), m.MemberEpoch, m.ClientID,
					strings.Join(m.SubscribedTopics, ","), describedPartitions(m.Assignment), describedPartitions(m.TargetAssignment))
			}
		}
	case *kmsg.OffsetDeleteResponse:
		fmt.Fprintf(&b, "OffsetDelete %s", errName(r.ErrorCode))
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				fmt.Fprintf(&b, " %s/%d=%s", t.Topic, p.Partition, errName(p.ErrorCode))
			}
		}
	default:
		fmt.Fprintf(&b, "%T", resp)
	}
	return b.String()
}

// harnessTopics is the scenarios' topic image: name -> partitions, each
// topic's id its name's bytes.
type harnessTopics map[string]int32

func testTopicID(name string) TopicID {
	var id TopicID
	copy(id[:], name)
	return id
}

func testTopicName(id TopicID) string { return strings.TrimRight(string(id[:]), "\x00") }

func (ht harnessTopics) Topic(name string) (TopicID, int32, bool) {
	n, ok := ht[name]
	return testTopicID(name), n, ok
}

func (ht harnessTopics) Name(id TopicID) (string, bool) {
	name := testTopicName(id)
	_, ok := ht[name]
	return name, ok
}

func (ht harnessTopics) Names() []string {
	var out []string
	for n := range ht {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func responsePartitions(a *kmsg.ConsumerGroupHeartbeatResponseAssignment) partitions {
	p := partitions{}
	for _, t := range a.Topics {
		for _, x := range t.Partitions {
			p.add(t.TopicID, x)
		}
	}
	return p
}

// count is how many partitions a set holds.
func (p partitions) count() int {
	n := 0
	for _, ps := range p {
		n += len(ps)
	}
	return n
}

func describedPartitions(a kmsg.Assignment) string {
	var parts []string
	for _, t := range a.TopicPartitions {
		var ps []string
		for _, p := range t.Partitions {
			ps = append(ps, strconv.Itoa(int(p)))
		}
		parts = append(parts, t.Topic+":"+strings.Join(ps, ","))
	}
	if len(parts) == 0 {
		return "[]"
	}
	return strings.Join(parts, ";")
}

// consumerHeartbeat builds a ConsumerGroupHeartbeat from the arguments.
func (a args) consumerHeartbeat() *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = int16(a.int("version", 1))
	req.Group, req.MemberID = a.str("group", ""), a.str("member", "")
	req.MemberEpoch = int32(a.int("epoch", 0))
	req.InstanceID, req.RackID = a.optStr("instance"), a.optStr("rack")
	req.RebalanceTimeoutMillis = -1
	if req.MemberEpoch == 0 {
		req.RebalanceTimeoutMillis = 30000
	}
	req.RebalanceTimeoutMillis = int32(a.int("rebalance", int64(req.RebalanceTimeoutMillis)))
	if a.has("subscribe") {
		req.SubscribedTopicNames = a.list("subscribe")
	}
	req.SubscribedTopicRegex = a.optStr("regex")
	req.ServerAssignor = a.optStr("assignor")
	owned := a.str("owned", "none")
	if req.MemberEpoch == 0 && !a.has("owned") {
		owned = ""
	}
	if owned != "none" {
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		for _, item := range strings.Split(owned, ";") {
			if item == "" {
				continue
			}
			name, ps, _ := strings.Cut(item, ":")
			rt := kmsg.NewConsumerGroupHeartbeatRequestTopic()
			rt.TopicID = testTopicID(name)
			for _, p := range strings.Split(ps, ",") {
				n, err := strconv.Atoi(p)
				if err != nil {
					a.t.Fatalf("owned %q: %v", item, err)
				}
				rt.Partitions = append(rt.Partitions, int32(n))
			}
			req.Topics = append(req.Topics, rt)
		}
	}
	return req
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func instanceSuffix(s *string) string {
	if s == nil {
		return ""
	}
	return "(" + *s + ")"
}

// describeMetadata prints consumer-protocol metadata as its topics, and
// anything else as a quoted string.
func describeMetadata(b []byte) string {
	if topics, ok := subscribedTopics(b); ok && len(topics) > 0 {
		sort.Strings(topics)
		return "topics:" + strings.Join(topics, ",")
	}
	return strconv.Quote(string(b))
}

// logEntry is a record of the harness's log: a plain one (pid -1), one of
// producer pid's transactional batch, or pid's marker.
type logEntry struct {
	Record
	pid    int64
	marker *TxnMarker
}

func (e logEntry) replay(s *Shard) error {
	switch {
	case e.marker != nil:
		return s.ReplayMarker(e.pid, e.marker.Commit)
	case e.pid >= 0:
		return s.ReplayTxnOffset(e.pid, e.Key, e.Value)
	}
	return s.Replay(e.Key, e.Value)
}

func (e logEntry) describe() string {
	switch {
	case e.marker != nil:
		return fmt.Sprintf("marker producer=%d commit=%v", e.pid, e.marker.Commit)
	case e.pid >= 0:
		return fmt.Sprintf("txn(%d) %s", e.pid, describeRecord(e.Record))
	}
	return describeRecord(e.Record)
}

func describeRecord(r Record) string {
	var kv kmsg.OffsetCommitKey
	if err := kv.ReadFrom(r.Key); err == nil && kv.Version <= 1 {
		if r.Value == nil {
			return fmt.Sprintf("offset %s %s/%d tombstone", kv.Group, kv.Topic, kv.Partition)
		}
		var v kmsg.OffsetCommitValue
		if err := v.ReadFrom(r.Value); err != nil {
			return "bad offset value: " + err.Error()
		}
		return fmt.Sprintf("offset %s %s/%d=%d epoch=%d v%d", kv.Group, kv.Topic, kv.Partition, v.Offset, v.LeaderEpoch, v.Version)
	}
	var gk kmsg.GroupMetadataKey
	if err := gk.ReadFrom(r.Key); err == nil && gk.Version == 2 {
		if r.Value == nil {
			return fmt.Sprintf("group %s tombstone", gk.Group)
		}
		var v kmsg.GroupMetadataValue
		if err := v.ReadFrom(r.Value); err != nil {
			return "bad group value: " + err.Error()
		}
		var ms []string
		for _, m := range v.Members {
			ms = append(ms, fmt.Sprintf("%s=%q", m.MemberID, m.Assignment))
		}
		return fmt.Sprintf("group %s gen=%d type=%s protocol=%s leader=%s members=[%s]", gk.Group, v.Generation, v.ProtocolType, deref(v.Protocol), deref(v.Leader), strings.Join(ms, " "))
	}
	if d, ok := describeConsumerRecord(r); ok {
		return d
	}
	return fmt.Sprintf("unknown record key %x", r.Key)
}

// describeConsumerRecord names a consumer group record and its key, with
// the epoch of the epoch records.
func describeConsumerRecord(r Record) (string, bool) {
	kr := cgReader{kbin.Reader{Src: r.Key}}
	typ := kr.Int16()
	names := map[int16]string{cgMetadataKey: "cg-epoch", cgPartitionMetadataKey: "cg-topics", cgMemberMetadataKey: "cg-member",
		cgTargetMetadataKey: "cg-target-epoch", cgTargetMemberKey: "cg-target", cgCurrentMemberKey: "cg-current"}
	name, ok := names[typ]
	if !ok || !kr.Ok() {
		return "", false
	}
	d := name + " " + kr.String()
	if typ == cgMemberMetadataKey || typ == cgTargetMemberKey || typ == cgCurrentMemberKey {
		d += "/" + kr.String()
	}
	if r.Value == nil {
		return d + " tombstone", true
	}
	vr := cgReader{kbin.Reader{Src: r.Value}}
	vr.Int16()
	switch typ {
	case cgMetadataKey, cgTargetMetadataKey:
		d += fmt.Sprintf("=%d", vr.Int32())
	case cgTargetMemberKey:
		d += "=" + formatPartitions(vr.topicPartitions(), testTopicName)
	case cgCurrentMemberKey:
		epoch, prev, state := vr.Int32(), vr.Int32(), memberState(vr.Int8())
		d += fmt.Sprintf(" epoch=%d prev=%d %s assigned=%s", epoch, prev, state, formatPartitions(vr.topicPartitions(), testTopicName))
		if rev := vr.topicPartitions(); len(rev) > 0 {
			d += " revoking=" + formatPartitions(rev, testTopicName)
		}
	}
	return d, true
}
