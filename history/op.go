package history

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Type is how far an operation got: invoked, or completed as ok, fail or info.
type Type string

const (
	Invoke Type = "invoke"
	OK     Type = "ok"
	Fail   Type = "fail" // definitely did not happen
	Info   Type = "info" // may or may not have happened
)

// Functions of the queue workload.
const (
	FnSend      = "send"      // Op.Send
	FnPoll      = "poll"      // Op.Poll
	FnTxn       = "txn"       // Op.Txn: several sends and polls in one operation
	FnAssign    = "assign"    // Op.Assign: consume these partitions from the start
	FnSubscribe = "subscribe" // Op.Subscribe: consume whole topics (no group)
	FnFinal     = "final"     // Op.Final: read every partition up to its high watermark
)

// Unknown is a partition, offset or watermark the client has no answer for.
const Unknown = -1

// Op is one event of a history. Exactly one of the value fields is set, the
// one F names (none for an invoke of a poll). Field order is the encoding's
// order.
type Op struct {
	Index   int64  `json:"index"`   // position in the history, from 0, set by the Recorder
	Process int    `json:"process"` // logical client; never has two open operations
	Type    Type   `json:"type"`
	F       string `json:"f"`
	// Time is nanoseconds since the run's start: virtual time in the
	// simulation, the same base as trace.log's first column.
	Time int64 `json:"time"`

	Send      *Send      `json:"send,omitempty"`
	Poll      *Poll      `json:"poll,omitempty"`
	Txn       *Txn       `json:"txn,omitempty"`
	Assign    *Assign    `json:"assign,omitempty"`
	Subscribe *Subscribe `json:"subscribe,omitempty"`
	Final     *Final     `json:"final,omitempty"`
	// Group members' ops (version 4).
	Join       *Join       `json:"join,omitempty"`
	Assignment *Assignment `json:"assignment,omitempty"`
	Commit     *Commit     `json:"commit,omitempty"`
	Offsets    *Offsets    `json:"offsets,omitempty"`

	Error string `json:"error,omitempty"` // why an operation failed or is unknown
}

// Seconds is an op time as a person reads it: seconds since the run's start.
func Seconds(ns int64) float64 { return float64(ns) / 1e9 }

// Send appends one keyed record. Partition and Offset are where an ok send
// was acknowledged; Unknown on the invoke, fail and info.
type Send struct {
	// Client names the producer client (one incarnation of one kgo
	// client) the record went through, unique in a run, from 1; 0 when
	// unknown. Several processes may share a client: offsets of one
	// client's acknowledged sends to one partition follow the order the
	// sends were invoked (nonmonotonic-send).
	Client    int    `json:"client"`
	Topic     string `json:"topic"`
	Key       string `json:"key"`
	Value     string `json:"value"` // unique across the history
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	// Tombstone (version 6): the record's value is null (a delete on a
	// compacted topic); Value is still the send's unique value, carried
	// in the record's TombstoneHeader header.
	Tombstone bool `json:"tombstone,omitempty"`
}

// TombstoneHeader is the record header that carries a tombstone's history
// value: a tombstone's value is null, and the value must still identify
// the send when a poll reads it.
const TombstoneHeader = "weir-value"

// Acked reports whether the send carries the position its broker gave it.
func (s *Send) Acked() bool { return s.Partition >= 0 && s.Offset >= 0 }

// Poll is what one poll of a consumer returned: one PartitionRead per
// partition the client's fetches answered, with or without records, in
// increasing (topic, partition) order.
type Poll struct {
	Reads []PartitionRead `json:"reads"`
}

// PartitionRead is what a poll returned for one partition: its records in
// the order the client returned them, and the watermarks the broker sent
// with them (kgo's FetchPartition.HighWatermark and LogStartOffset;
// Unknown when the answer carried none, as with an error).
type PartitionRead struct {
	Topic          string   `json:"topic"`
	Partition      int32    `json:"partition"`
	HighWatermark  int64    `json:"high_watermark"`
	LogStartOffset int64    `json:"log_start_offset"`
	Records        []Record `json:"records"`
	// Error is the client's error for this partition, if any.
	Error string `json:"error,omitempty"`
	// DataLoss is set when the client reported that the log lost records
	// it had consumed (kgo's ErrDataLoss).
	DataLoss *DataLoss `json:"data_loss,omitempty"`
	// LeaderEpoch (version 7) is the partition's leader epoch in the
	// reading client's metadata when the poll returned, nil if unknown.
	// A consumer's fetch carries its current leader epoch (KIP-320) and
	// a broker answers only in that epoch, so the read was served in this
	// epoch or an earlier one: an earlier one's leader, cut off from the
	// metadata quorum, may not know it was deposed and answers with its
	// own, older high watermark.
	LeaderEpoch *int32 `json:"leader_epoch,omitempty"`
	// Epochs (version 7) are the leader epochs of the batches the read
	// returned, transaction markers' included, each with the first offset
	// returned in it, in offset order: the epoch a record was appended in.
	Epochs []EpochStart `json:"epochs,omitempty"`
}

// EpochStart is the first offset a read returned of a leader epoch.
type EpochStart struct {
	Epoch  int32 `json:"epoch"`
	Offset int64 `json:"offset"`
}

// DataLoss is kgo's ErrDataLoss: the client had consumed up to ConsumedTo
// when the broker's log no longer reached it, and it resumed at ResetTo.
type DataLoss struct {
	ConsumedTo int64 `json:"consumed_to"`
	ResetTo    int64 `json:"reset_to"`
}

// Record is one record read. A tombstone's Value is the one its
// TombstoneHeader carried.
type Record struct {
	Offset    int64  `json:"offset"`
	Key       string `json:"key"`
	Value     string `json:"value"`
	Tombstone bool   `json:"tombstone,omitempty"` // version 6
}

// Txn is an operation of several micro-operations, Jepsen's txn mode: sends
// and polls through one client, in the order given. With Transactional, the
// client ran them in one Kafka transaction: ok means committed, fail
// aborted, info unknown. Without, the sends are independent records that
// happen to be issued together: ok means every send was acknowledged (each
// carries its position), and anything less is info.
type Txn struct {
	Transactional bool  `json:"transactional,omitempty"`
	Mops          []Mop `json:"mops"`
	// CommitTime is when the client asked to commit (EndTxn with commit),
	// in nanoseconds since the run's start like Op.Time; 0 when it never
	// did (aborted before, or crashed). No read_committed reader can see
	// the transaction's records before it (precommitted-read).
	CommitTime int64 `json:"commit_time,omitempty"`
	// Group and Offsets (version 5) are the consumer offsets the client
	// committed for Group inside the transaction (TxnOffsetCommit, or
	// send_offsets_to_transaction), each with the answer's error if the
	// answer refused it: they take effect only if the transaction
	// commits, never when it aborts (aborted-offset-commit). An invoke
	// names Group when the transaction will commit offsets for it.
	Group   string        `json:"group,omitempty"`
	Offsets []GroupOffset `json:"offsets,omitempty"`
}

// Mop is one micro-operation of a Txn: a send or a poll.
type Mop struct {
	F    string `json:"f"` // FnSend or FnPoll
	Send *Send  `json:"send,omitempty"`
	Poll *Poll  `json:"poll,omitempty"`
}

// Assign replaces a consumer's partitions: it reads them from their start
// with a new client.
type Assign struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
	// ReadCommitted says the client reads with isolation level
	// read_committed: it must never see a record of a transaction that
	// was not committed (aborted-read, precommitted-read).
	ReadCommitted bool `json:"read_committed,omitempty"`
}

// Subscribe replaces a consumer's topics: it reads every partition of them,
// without a group, from their start, with a new client.
type Subscribe struct {
	Topics        []string `json:"topics"`
	ReadCommitted bool     `json:"read_committed,omitempty"` // as Assign.ReadCommitted
}

// Final is the final read of a topic after the cluster healed: the final
// reader lists every partition's log start and high watermark, then reads
// each from its log start to that high watermark with polls recorded as ops
// of its own process, all while the final op is open.
//
// The invoke carries Topic and Partitions. The completion carries a mark
// per partition the listing returned. It is ok only when every partition the
// topic was created with was listed and read completely; info when some
// partition was not (listed but not read to its high watermark, or not
// listed at all); fail when nothing could be listed.
type Final struct {
	Topic string `json:"topic"`
	// Partitions is how many partitions the workload created the topic
	// with, so a listing that lost some shows.
	Partitions int32 `json:"partitions"`
	// Reader is the process of the final reader: its polls between the
	// final op's invoke and completion are the final read.
	Reader int         `json:"reader"`
	Marks  []FinalMark `json:"marks,omitempty"`
	// Compacted (version 6, on the invoke) says the topic has
	// cleanup.policy=compact: its log cleaner may remove any record but
	// the last of each key (and that one too when it is a tombstone past
	// delete.retention.ms).
	Compacted bool `json:"compacted,omitempty"`
}

// FinalMark is what the final read found for one partition.
type FinalMark struct {
	Partition      int32 `json:"partition"`
	LogStartOffset int64 `json:"log_start_offset"`
	HighWatermark  int64 `json:"high_watermark"`
	// ReadTo is one past the highest offset the final reader read, or the
	// log start if it read nothing.
	ReadTo int64 `json:"read_to"`
	// Complete is ReadTo >= HighWatermark: every record below the high
	// watermark was returned to the final reader.
	Complete bool `json:"complete"`
}

// Completes reports whether t ends an operation.
func (t Type) Completes() bool { return t == OK || t == Fail || t == Info }

func (t Type) valid() bool { return t == Invoke || t.Completes() }

// Sends returns the sends an op carries: its Send, or the sends of its Txn.
func (o *Op) Sends() []*Send {
	switch {
	case o.Send != nil:
		return []*Send{o.Send}
	case o.Txn != nil:
		var out []*Send
		for i := range o.Txn.Mops {
			if s := o.Txn.Mops[i].Send; s != nil {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Reads returns the partition reads an op carries, in order: its Poll's,
// or those of its Txn's polls.
func (o *Op) Reads() []*PartitionRead {
	var polls []*Poll
	switch {
	case o.Poll != nil:
		polls = []*Poll{o.Poll}
	case o.Txn != nil:
		for i := range o.Txn.Mops {
			if p := o.Txn.Mops[i].Poll; p != nil {
				polls = append(polls, p)
			}
		}
	}
	var out []*PartitionRead
	for _, p := range polls {
		for i := range p.Reads {
			out = append(out, &p.Reads[i])
		}
	}
	return out
}

// String is a short human form, e.g. "12 p3 ok send k1=p3-7 -> orders/2@41".
func (o Op) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d p%d %s %s", o.Index, o.Process, o.Type, o.F)
	for _, s := range o.Sends() {
		b.WriteString(" " + s.String())
	}
	for _, pr := range o.Reads() {
		b.WriteString(" " + pr.String())
	}
	switch {
	case o.Assign != nil:
		fmt.Fprintf(&b, " %s%v", o.Assign.Topic, o.Assign.Partitions)
	case o.Subscribe != nil:
		fmt.Fprintf(&b, " %v", o.Subscribe.Topics)
	case o.Final != nil:
		b.WriteString(" " + o.Final.Topic)
		for _, m := range o.Final.Marks {
			fmt.Fprintf(&b, " %d:[%d,%d) read to %d", m.Partition, m.LogStartOffset, m.HighWatermark, m.ReadTo)
		}
	default:
		o.groupString(&b)
	}
	if o.Error != "" {
		b.WriteString(" (" + o.Error + ")")
	}
	return b.String()
}

// String is e.g. "k1=p3-7 -> orders/2@41 (client 4)".
func (s *Send) String() string {
	out := s.Key + "=" + s.Value
	if s.Acked() {
		out += fmt.Sprintf(" -> %s/%d@%d", s.Topic, s.Partition, s.Offset)
	}
	if s.Client > 0 {
		out += " (client " + strconv.Itoa(s.Client) + ")"
	}
	return out
}

// String is e.g. "orders/2@40..43(4) hwm 44".
func (pr *PartitionRead) String() string {
	s := fmt.Sprintf("%s/%d", pr.Topic, pr.Partition)
	if n := len(pr.Records); n > 0 {
		s += fmt.Sprintf("@%d..%d(%d)", pr.Records[0].Offset, pr.Records[n-1].Offset, n)
	}
	if pr.HighWatermark != Unknown {
		s += fmt.Sprintf(" hwm %d", pr.HighWatermark)
	}
	return s
}

// check reports what is malformed in one op on its own.
func (o *Op) check() error {
	if !o.Type.valid() {
		return fmt.Errorf("op %d: bad type %q", o.Index, o.Type)
	}
	if o.Time < 0 {
		return fmt.Errorf("op %d: negative time %d", o.Index, o.Time)
	}
	if o.Txn != nil && o.Txn.CommitTime < 0 {
		return fmt.Errorf("op %d: negative commit time %d", o.Index, o.Txn.CommitTime)
	}
	set, want := 0, ""
	for _, v := range []struct {
		set bool
		f   string
	}{
		{o.Send != nil, FnSend}, {o.Poll != nil, FnPoll}, {o.Txn != nil, FnTxn},
		{o.Assign != nil, FnAssign}, {o.Subscribe != nil, FnSubscribe}, {o.Final != nil, FnFinal},
		{o.Join != nil, FnJoin}, {o.Assignment != nil, FnAssignment}, {o.Commit != nil, FnCommit}, {o.Offsets != nil, FnOffsets},
	} {
		if v.set {
			set++
			want = v.f
		}
	}
	if set > 1 {
		return fmt.Errorf("op %d: more than one value", o.Index)
	}
	if want != "" && o.F != want {
		return fmt.Errorf("op %d: f %q with a %s value", o.Index, o.F, want)
	}
	switch o.F {
	case FnSend:
		if o.Send == nil {
			return fmt.Errorf("op %d: send without a value", o.Index)
		}
		if o.Type == OK && !o.Send.Acked() {
			return fmt.Errorf("op %d: ok send without partition and offset", o.Index)
		}
	case FnTxn:
		if o.Txn == nil {
			return fmt.Errorf("op %d: txn without a value", o.Index)
		}
		if err := o.Txn.check(o.Type); err != nil {
			return fmt.Errorf("op %d: %w", o.Index, err)
		}
	case FnPoll:
		if o.Poll != nil {
			if err := o.Poll.check(); err != nil {
				return fmt.Errorf("op %d: %w", o.Index, err)
			}
		}
	case FnFinal:
		if o.Final == nil {
			return fmt.Errorf("op %d: final without a value", o.Index)
		}
		if err := o.Final.check(o.Type); err != nil {
			return fmt.Errorf("op %d: %w", o.Index, err)
		}
	case FnAssign, FnSubscribe:
	case FnJoin, FnAssignment, FnCommit, FnOffsets:
		return o.checkGroup()
	default:
		return fmt.Errorf("op %d: unknown function %q", o.Index, o.F)
	}
	return nil
}

func (t *Txn) check(typ Type) error {
	if len(t.Offsets) > 0 && t.Group == "" {
		return errors.New("txn with offsets but no group")
	}
	for _, g := range t.Offsets {
		if g.Partition < 0 || g.Offset < Unknown || g.LeaderEpoch < Unknown {
			return fmt.Errorf("bad txn offset %s", g.String())
		}
	}
	for i, m := range t.Mops {
		switch {
		case m.F == FnSend && m.Send != nil && m.Poll == nil:
			if typ == OK && !m.Send.Acked() {
				return fmt.Errorf("mop %d: ok txn with a send without partition and offset", i)
			}
		case m.F == FnPoll && m.Poll != nil && m.Send == nil:
			if err := m.Poll.check(); err != nil {
				return fmt.Errorf("mop %d: %w", i, err)
			}
		case m.F == FnPoll && m.Poll == nil && m.Send == nil && typ == Invoke:
			// An invoked poll has no value yet.
		default:
			return fmt.Errorf("mop %d: f %q does not match its value", i, m.F)
		}
	}
	return nil
}

func (p *Poll) check() error {
	for _, pr := range p.Reads {
		if pr.HighWatermark < Unknown || pr.LogStartOffset < Unknown {
			return fmt.Errorf("%s/%d: watermark below %d", pr.Topic, pr.Partition, Unknown)
		}
		if pr.LeaderEpoch != nil && *pr.LeaderEpoch < 0 {
			return fmt.Errorf("%s/%d: negative leader epoch %d", pr.Topic, pr.Partition, *pr.LeaderEpoch)
		}
		for i, e := range pr.Epochs {
			if e.Epoch < 0 || e.Offset < 0 || i > 0 && (e.Epoch <= pr.Epochs[i-1].Epoch || e.Offset <= pr.Epochs[i-1].Offset) {
				return fmt.Errorf("%s/%d: epochs not increasing from 0 with their offsets: %v", pr.Topic, pr.Partition, pr.Epochs)
			}
		}
	}
	return nil
}

// MaxPartitions bounds Final.Partitions: checkers walk every partition a
// topic was created with, so a history must not name billions.
const MaxPartitions = 1 << 16

func (f *Final) check(typ Type) error {
	if f.Partitions < 0 || f.Partitions > MaxPartitions {
		return fmt.Errorf("final of %d partitions (0 to %d)", f.Partitions, MaxPartitions)
	}
	for _, m := range f.Marks {
		if m.Complete != (m.ReadTo >= m.HighWatermark) {
			return fmt.Errorf("final mark of partition %d: complete=%v but read to %d of %d", m.Partition, m.Complete, m.ReadTo, m.HighWatermark)
		}
		if typ == OK && !m.Complete {
			return fmt.Errorf("ok final with partition %d read to %d of %d", m.Partition, m.ReadTo, m.HighWatermark)
		}
	}
	if typ == OK && int32(len(f.Marks)) < f.Partitions {
		return fmt.Errorf("ok final with %d marks for %d partitions", len(f.Marks), f.Partitions)
	}
	return nil
}

// Validate checks a whole history: indexes 0, 1, 2, ...; times never going
// backwards; each op well formed; every completion closing the open invoke
// of its process with the same function; no process with two open ops.
// Invokes left open at the end are allowed (they mean info).
func Validate(h []Op) error {
	open := map[int]*Op{}
	for i := range h {
		o := &h[i]
		if o.Index != int64(i) {
			return fmt.Errorf("op at position %d has index %d", i, o.Index)
		}
		if i > 0 && o.Time < h[i-1].Time {
			return fmt.Errorf("op %d: time %d before the previous op's %d", i, o.Time, h[i-1].Time)
		}
		if err := o.check(); err != nil {
			return err
		}
		inv, isOpen := open[o.Process]
		if o.Type == Invoke {
			if isOpen {
				return fmt.Errorf("op %d: process %d invokes while op %d is open", i, o.Process, inv.Index)
			}
			open[o.Process] = o
			continue
		}
		if !isOpen {
			return fmt.Errorf("op %d: process %d completes with no open invoke", i, o.Process)
		}
		if inv.F != o.F {
			return fmt.Errorf("op %d: completes %s but op %d invoked %s", i, o.F, inv.Index, inv.F)
		}
		delete(open, o.Process)
	}
	return nil
}
