package streamtest

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// Cluster is an in-memory stand-in for a Kafka cluster: topics of
// partitions of records, transactions that stay open, commit or abort,
// and a Recorder whose clock moves by a millisecond per reading and
// otherwise only when told (Advance).
type Cluster struct {
	Rec     *history.Recorder
	now     time.Duration
	logs    map[string]map[int32][]*stored
	procs   int
	clients int
	open    []*txnState // transactions of crashed members, not yet timed out
}

type stored struct {
	key, value string
	txn        *txnState // nil: written outside a transaction
}

type txnState int

const (
	txnOpen txnState = iota
	txnCommitted
	txnAborted
)

// visible reports whether a reader sees the record: a read_committed
// reader sees records outside transactions and those of committed ones.
func (s *stored) visible(readCommitted bool) bool {
	return !readCommitted || s.txn == nil || *s.txn == txnCommitted
}

// NewCluster returns an empty cluster whose history starts at time 0.
func NewCluster() *Cluster {
	c := &Cluster{logs: map[string]map[int32][]*stored{}}
	start := time.Unix(0, 0)
	c.Rec = history.NewRecorder(start, func() time.Time {
		c.now += time.Millisecond
		return start.Add(c.now)
	})
	return c
}

// Advance moves the clock forward by d.
func (c *Cluster) Advance(d time.Duration) { c.now += d }

// Ops returns the history so far.
func (c *Cluster) Ops() []history.Op { return c.Rec.Ops() }

func (c *Cluster) newProcess() int { c.procs++; return c.procs }
func (c *Cluster) newClient() int  { c.clients++; return c.clients }

func (c *Cluster) log(topic string, p int32) []*stored { return c.logs[topic][p] }

func (c *Cluster) append(topic string, p int32, s *stored) int64 {
	if c.logs[topic] == nil {
		c.logs[topic] = map[int32][]*stored{}
	}
	c.logs[topic][p] = append(c.logs[topic][p], s)
	return int64(len(c.logs[topic][p]) - 1)
}

// timeOut aborts every open transaction of a crashed member: a
// read_committed reader (gen.ReadToEnd) waits until none is open below
// the high watermark, which the transaction timeout brings about.
func (c *Cluster) timeOut() {
	for _, t := range c.open {
		if *t == txnOpen {
			*t = txnAborted
		}
	}
	c.open = nil
}

// read returns what a reader of topic/p sees from offset from on.
func (c *Cluster) read(topic string, p int32, from int64, readCommitted bool) []*kgo.Record {
	var out []*kgo.Record
	for o, s := range c.log(topic, p) {
		if int64(o) >= from && s.visible(readCommitted) {
			out = append(out, &kgo.Record{Topic: topic, Partition: p, Offset: int64(o), Key: []byte(s.key), Value: []byte(s.value)})
		}
	}
	return out
}

// poll records one poll of process that returned rs from topic/p.
func (c *Cluster) poll(process int, topic string, p int32, rs []*kgo.Record) {
	pr := history.PartitionRead{Topic: topic, Partition: p, HighWatermark: int64(len(c.log(topic, p))), Records: []history.Record{}}
	for _, r := range rs {
		pr.Records = append(pr.Records, history.Record{Offset: r.Offset, Key: string(r.Key), Value: string(r.Value)})
	}
	c.Rec.Record(history.Op{Process: process, Type: history.Invoke, F: history.FnPoll})
	c.Rec.Record(history.Op{Process: process, Type: history.OK, F: history.FnPoll, Poll: &history.Poll{Reads: []history.PartitionRead{pr}}})
}

// readPartition records process reading topic/p from its start to its end
// (an assign and one poll, as gen.ReadToEnd does) and returns what it read.
// recordedCommitted is what the history says; readCommitted what the
// reader really does (they differ only under a planted defect).
func (c *Cluster) readPartition(process int, topic string, p int32, recordedCommitted, readCommitted bool) []*kgo.Record {
	a := &history.Assign{Topic: topic, Partitions: []int32{p}, ReadCommitted: recordedCommitted}
	c.Rec.Record(history.Op{Process: process, Type: history.Invoke, F: history.FnAssign, Assign: a})
	c.Rec.Record(history.Op{Process: process, Type: history.OK, F: history.FnAssign, Assign: a})
	if readCommitted {
		c.timeOut()
	}
	rs := c.read(topic, p, 0, readCommitted)
	c.poll(process, topic, p, rs)
	return rs
}

// Final records the i-th final read of topic (partitions 0..parts-1), as
// gen.FinalRead does, complete.
func (c *Cluster) Final(i int, topic string, parts int32, readCommitted bool) {
	proc, reader := gen.FinalProcesses(i)
	inv := &history.Final{Topic: topic, Partitions: parts, Reader: reader}
	c.Rec.Record(history.Op{Process: proc, Type: history.Invoke, F: history.FnFinal, Final: inv})
	a := &history.Assign{Topic: topic, Partitions: make([]int32, 0, parts), ReadCommitted: readCommitted}
	for p := range parts {
		a.Partitions = append(a.Partitions, p)
	}
	c.Rec.Record(history.Op{Process: reader, Type: history.Invoke, F: history.FnAssign, Assign: a})
	c.Rec.Record(history.Op{Process: reader, Type: history.OK, F: history.FnAssign, Assign: a})
	if readCommitted {
		c.timeOut()
	}
	done := &history.Final{Topic: topic, Partitions: parts, Reader: reader}
	for p := range parts {
		rs := c.read(topic, p, 0, readCommitted)
		c.poll(reader, topic, p, rs)
		hw := int64(len(c.log(topic, p)))
		done.Marks = append(done.Marks, history.FinalMark{Partition: p, HighWatermark: hw, ReadTo: hw, Complete: true})
	}
	c.Rec.Record(history.Op{Process: proc, Type: history.OK, F: history.FnFinal, Final: done})
}

// Producer is one producer client with one process, sending one record
// at a time.
type Producer struct {
	c       *Cluster
	process int
	client  int
}

// Producer returns a new producer client.
func (c *Cluster) Producer() *Producer {
	return &Producer{c: c, process: c.newProcess(), client: c.newClient()}
}

// Send appends value to topic/p and records an acknowledged send; it
// returns the offset.
func (pr *Producer) Send(topic string, p int32, key, value string) int64 {
	s := history.Send{Client: pr.client, Topic: topic, Key: key, Value: value, Partition: history.Unknown, Offset: history.Unknown}
	inv := s
	pr.c.Rec.Record(history.Op{Process: pr.process, Type: history.Invoke, F: history.FnSend, Send: &inv})
	s.Partition, s.Offset = p, pr.c.append(topic, p, &stored{key: key, value: value})
	pr.c.Rec.Record(history.Op{Process: pr.process, Type: history.OK, F: history.FnSend, Send: &s})
	return s.Offset
}

// Lost records a send that ended as typ (history.Fail or history.Info)
// without appending anything. An info send crashes the process and the
// client incarnation, as gen.Sender does.
func (pr *Producer) Lost(typ history.Type, topic string, key, value string) {
	s := history.Send{Client: pr.client, Topic: topic, Key: key, Value: value, Partition: history.Unknown, Offset: history.Unknown}
	inv, done := s, s
	pr.c.Rec.Record(history.Op{Process: pr.process, Type: history.Invoke, F: history.FnSend, Send: &inv})
	pr.c.Rec.Record(history.Op{Process: pr.process, Type: typ, F: history.FnSend, Send: &done, Error: fmt.Sprintf("planted %s", typ)})
	if typ == history.Info {
		pr.process, pr.client = pr.c.newProcess(), pr.c.newClient()
	}
}
