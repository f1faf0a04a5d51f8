package txncoord

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestScenarios runs the scenario files in testdata/scenarios (regenerate with
// go test ./broker/txncoord -run TestScenarios -rewrite). Commands:
//
//	new [max-timeout=MS] [expiration=MS] [tv2=false] [defect=no-epoch-bump]
//	init id=T [timeout=MS] [producer=P epoch=E] [version=V]
//	add id=T producer=P epoch=E partitions=t/p,... [version=V]
//	add-batch id=T producer=P epoch=E partitions=t/p,... [verify=true]
//	add-offsets id=T producer=P epoch=E partition=N
//	end id=T producer=P epoch=E commit=true|false [version=V]
//	markers-done [id=T]     (every marker job given so far, or T's)
//	tick advance=MS
//	set auto-durable=true|false
//	durable
//	describe ids=T,...
//	list [states=S,...] [producers=P,...] [duration=MS] [pattern=RE]
//	put id=T producer=P epoch=E state=S  (a record written by hand, as
//	                                      another coordinator would have)
//	state | log
//	reload [epoch=N] [back=MS] [durable=N] (a new coordinator loads the log;
//	                                back: its clock reads MS behind; durable:
//	                                its high watermark, the whole log if unset)
//	unload
//	truncate to=N   (the log loses its records from N on, as a follower
//	                 without them that becomes leader has them)
//
// Every command prints the records it appended, the replies and the marker
// jobs released.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
		h := newHarness(DefaultConfig())
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			return h.run(t, td)
		})
	})
}

type harness struct {
	cfg         Config
	s           *Shard
	nowMs       int64
	nextPID     int64
	log         []Record
	jobs        []MarkerJob
	autoDurable bool
	waiters     int
	out         strings.Builder
}

func newHarness(cfg Config) *harness {
	h := &harness{cfg: cfg, nowMs: 1_000_000, nextPID: 1000, autoDurable: true}
	h.s = NewShard(cfg)
	h.s.FinishLoad(h.nowMs, 0, 0)
	return h
}

func (h *harness) ids() (int64, int16) {
	h.nextPID++
	return h.nextPID, 0
}

func (h *harness) run(t *testing.T, td *datadriven.TestData) string {
	h.out.Reset()
	a := args{t: t, td: td}
	switch td.Cmd {
	case "new":
		cfg := DefaultConfig()
		cfg.MaxTimeoutMs = int32(a.int("max-timeout", int64(cfg.MaxTimeoutMs)))
		cfg.IDExpirationMs = a.int("expiration", cfg.IDExpirationMs)
		cfg.TV2 = a.str("tv2", "true") == "true"
		cfg.Defects.NoEpochBump = a.str("defect", "") == "no-epoch-bump"
		*h = *newHarness(cfg)
		return "ok"
	case "init":
		req := kmsg.NewPtrInitProducerIDRequest()
		req.Version = int16(a.int("version", 5))
		id := a.str("id", "")
		req.TransactionalID = &id
		req.TransactionTimeoutMillis = int32(a.int("timeout", 60000))
		req.ProducerID, req.ProducerEpoch = a.int("producer", -1), int16(a.int("epoch", -1))
		h.apply(h.s.InitProducerID(h.nowMs, req, h.ids, h.waiter("init")))
	case "add":
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.Version = int16(a.int("version", 3))
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = a.str("id", ""), a.int("producer", 0), int16(a.int("epoch", 0))
		for _, tp := range a.partitions() {
			rt := kmsg.NewAddPartitionsToTxnRequestTopic()
			rt.Topic, rt.Partitions = tp.Topic, []int32{tp.Partition}
			req.Topics = append(req.Topics, rt)
		}
		h.apply(h.s.AddPartitions(h.nowMs, req, h.waiter("add")))
	case "add-batch":
		tx := kmsg.NewAddPartitionsToTxnRequestTransaction()
		tx.TransactionalID, tx.ProducerID, tx.ProducerEpoch = a.str("id", ""), a.int("producer", 0), int16(a.int("epoch", 0))
		tx.VerifyOnly = a.str("verify", "false") == "true"
		for _, tp := range a.partitions() {
			rt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
			rt.Topic, rt.Partitions = tp.Topic, []int32{tp.Partition}
			tx.Topics = append(tx.Topics, rt)
		}
		h.apply(h.s.AddPartitionsBatch(h.nowMs, []kmsg.AddPartitionsToTxnRequestTransaction{tx}, h.waiter("batch")))
	case "add-offsets":
		req := kmsg.NewPtrAddOffsetsToTxnRequest()
		req.Version = 3
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = a.str("id", ""), a.int("producer", 0), int16(a.int("epoch", 0))
		req.Group = "g"
		h.apply(h.s.AddOffsets(h.nowMs, req, "__consumer_offsets", int32(a.int("partition", 0)), h.waiter("add-offsets")))
	case "end":
		req := kmsg.NewPtrEndTxnRequest()
		req.Version = int16(a.int("version", 5))
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = a.str("id", ""), a.int("producer", 0), int16(a.int("epoch", 0))
		req.Commit = a.str("commit", "true") == "true"
		h.apply(h.s.EndTxn(h.nowMs, req, h.ids, h.waiter("end")))
	case "markers-done":
		id := a.str("id", "")
		var kept []MarkerJob
		for _, j := range h.jobs {
			if id != "" && j.TransactionalID != id {
				kept = append(kept, j)
				continue
			}
			h.apply(h.s.MarkersWritten(h.nowMs, j))
		}
		h.jobs = kept
	case "tick":
		h.nowMs += a.int("advance", 0)
		h.apply(h.s.Tick(h.nowMs))
	case "set":
		h.autoDurable = a.str("auto-durable", "true") == "true"
		return "ok"
	case "durable":
		h.print(h.s.Durable(int64(len(h.log))))
	case "describe":
		h.apply(h.s.Describe(h.nowMs, a.list("ids"), h.waiter("describe")))
	case "list":
		req := kmsg.NewPtrListTransactionsRequest()
		req.Version = 2
		if a.has("states") {
			req.StateFilters = a.list("states")
		}
		for _, p := range a.list("producers") {
			n, _ := strconv.ParseInt(p, 10, 64)
			req.ProducerIDFilters = append(req.ProducerIDFilters, n)
		}
		req.DurationFilterMillis = a.int("duration", -1)
		var re *regexp.Regexp
		if a.has("pattern") {
			re = regexp.MustCompile(a.str("pattern", ""))
		}
		h.apply(h.s.List(h.nowMs, req, re, h.waiter("list")))
	case "put":
		st, ok := ParseState(a.str("state", "Empty"))
		if !ok {
			t.Fatalf("unknown state")
		}
		m := &txnMeta{
			id: a.str("id", ""), producerID: a.int("producer", 0), prevProducerID: noProducer, nextProducerID: noProducer,
			epoch: int16(a.int("epoch", 0)), timeoutMs: 60000, state: st, partitions: map[TopicPartition]bool{},
			startMs: -1, updateMs: h.nowMs,
		}
		for _, tp := range a.partitions() {
			m.partitions[tp] = true
		}
		var w Shard
		w.write(m)
		h.log = append(h.log, w.records...)
		return fmt.Sprintf("wrote %s at %d", a.str("id", ""), len(h.log)-1)
	case "state":
		return strings.TrimRight(h.s.Dump(), "\n")
	case "log":
		for i, r := range h.log {
			fmt.Fprintf(&h.out, "%d: %s\n", i, describeRecord(r))
		}
	case "reload":
		s := NewShard(h.cfg)
		for _, r := range h.log {
			if err := s.Replay(r.Key, r.Value); err != nil {
				t.Fatalf("replay: %v", err)
			}
		}
		h.apply(h.s.Unload())
		h.s = s
		h.jobs = nil
		h.nowMs -= a.int("back", 0) // the new coordinator's clock is behind
		end := int64(len(h.log))
		h.apply(s.FinishLoadDurable(h.nowMs, end, a.int("durable", end), int32(a.int("epoch", 1))))
		h.out.WriteString(s.Dump())
	case "unload":
		h.apply(h.s.Unload())
	case "truncate":
		h.log = h.log[:a.int("to", int64(len(h.log)))]
		h.out.WriteString("ok")
	default:
		t.Fatalf("unknown command %q", td.Cmd)
	}
	out := strings.TrimRight(h.out.String(), "\n")
	if out == "" {
		return "(nothing)"
	}
	return out
}

func (h *harness) waiter(kind string) string {
	return kind
}

func (h *harness) apply(out Output) {
	if b := out.Batch; b != nil {
		if b.BaseOffset != int64(len(h.log)) {
			panic(fmt.Sprintf("batch at %d, log ends at %d", b.BaseOffset, len(h.log)))
		}
		h.log = append(h.log, b.Records...)
		for i, r := range b.Records {
			fmt.Fprintf(&h.out, "append %d: %s\n", b.BaseOffset+int64(i), describeRecord(r))
		}
	}
	h.print(out)
	if h.autoDurable && out.Batch != nil {
		h.print(h.s.Durable(int64(len(h.log))))
	}
}

func (h *harness) print(out Output) {
	for _, r := range out.Replies {
		fmt.Fprintf(&h.out, "%v: %s\n", r.To, describeResponse(r.Resp))
	}
	for _, j := range out.Markers {
		h.jobs = append(h.jobs, j)
		var ps []string
		for _, tp := range j.Partitions {
			ps = append(ps, fmt.Sprintf("%s/%d", tp.Topic, tp.Partition))
		}
		what := "abort"
		if j.Commit {
			what = "commit"
		}
		fmt.Fprintf(&h.out, "markers %s %s producer=%d epoch=%d coordinator=%d tv2=%v [%s]\n", j.TransactionalID, what, j.ProducerID, j.ProducerEpoch, j.CoordinatorEpoch, j.TV2, strings.Join(ps, " "))
	}
}

func describeRecord(r Record) string {
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(r.Key); err != nil {
		return "bad key: " + err.Error()
	}
	if r.Value == nil {
		return fmt.Sprintf("%s tombstone", k.TransactionalID)
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(r.Value); err != nil {
		return "bad value: " + err.Error()
	}
	var ps []string
	for _, t := range v.Topics {
		for _, p := range t.Partitions {
			ps = append(ps, fmt.Sprintf("%s/%d", t.Topic, p))
		}
	}
	return fmt.Sprintf("%s %v producer=%d epoch=%d prev=%d next=%d tv=%d start=%d [%s]", k.TransactionalID, State(v.State), v.ProducerID, v.ProducerEpoch, v.PreviousProducerID, v.NextProducerID, v.ClientTransactionVersion, v.StartTimestamp, strings.Join(ps, " "))
}

func errName(code int16) string {
	if code == 0 {
		return "ok"
	}
	if e := kerr.ErrorForCode(code); e != nil {
		return e.(*kerr.Error).Message
	}
	return strconv.Itoa(int(code))
}

func describeResponse(resp kmsg.Response) string {
	var b strings.Builder
	switch r := resp.(type) {
	case *kmsg.InitProducerIDResponse:
		fmt.Fprintf(&b, "InitProducerId %s producer=%d epoch=%d", errName(r.ErrorCode), r.ProducerID, r.ProducerEpoch)
	case *kmsg.AddPartitionsToTxnResponse:
		b.WriteString("AddPartitionsToTxn")
		if r.ErrorCode != 0 {
			fmt.Fprintf(&b, " %s", errName(r.ErrorCode))
		}
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				fmt.Fprintf(&b, " %s/%d=%s", t.Topic, p.Partition, errName(p.ErrorCode))
			}
		}
		for _, tx := range r.Transactions {
			fmt.Fprintf(&b, " %s:", tx.TransactionalID)
			for _, t := range tx.Topics {
				for _, p := range t.Partitions {
					fmt.Fprintf(&b, " %s/%d=%s", t.Topic, p.Partition, errName(p.ErrorCode))
				}
			}
		}
	case *kmsg.AddOffsetsToTxnResponse:
		fmt.Fprintf(&b, "AddOffsetsToTxn %s", errName(r.ErrorCode))
	case *kmsg.EndTxnResponse:
		fmt.Fprintf(&b, "EndTxn %s", errName(r.ErrorCode))
		if r.Version >= 5 {
			fmt.Fprintf(&b, " producer=%d epoch=%d", r.ProducerID, r.ProducerEpoch)
		}
	case *kmsg.DescribeTransactionsResponse:
		b.WriteString("DescribeTransactions")
		for _, st := range r.TransactionStates {
			fmt.Fprintf(&b, "\n  %s %s", st.TransactionalID, errName(st.ErrorCode))
			if st.ErrorCode == 0 {
				fmt.Fprintf(&b, " %s producer=%d epoch=%d timeout=%d start=%d", st.State, st.ProducerID, st.ProducerEpoch, st.TimeoutMillis, st.StartTimestamp)
				for _, t := range st.Topics {
					for _, p := range t.Partitions {
						fmt.Fprintf(&b, " %s/%d", t.Topic, p)
					}
				}
			}
		}
	case *kmsg.ListTransactionsResponse:
		fmt.Fprintf(&b, "ListTransactions %s", errName(r.ErrorCode))
		for _, st := range r.TransactionStates {
			fmt.Fprintf(&b, " %s:%d:%s", st.TransactionalID, st.ProducerID, st.TransactionState)
		}
		if len(r.UnknownStateFilters) > 0 {
			fmt.Fprintf(&b, " unknown=%v", r.UnknownStateFilters)
		}
	default:
		fmt.Fprintf(&b, "%T", resp)
	}
	return b.String()
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
		return nil
	}
	return strings.Split(s, ",")
}

func (a args) partitions() []TopicPartition {
	var out []TopicPartition
	for _, tp := range a.list("partitions") {
		topic, p, ok := strings.Cut(tp, "/")
		n, err := strconv.Atoi(p)
		if !ok || err != nil {
			a.t.Fatalf("partition %q: want topic/partition", tp)
		}
		out = append(out, TopicPartition{Topic: topic, Partition: int32(n)})
	}
	return out
}
