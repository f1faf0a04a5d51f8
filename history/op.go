package history

import (
	"fmt"
	"strconv"
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
	FnAssign    = "assign"    // Op.Assign: consume these partitions from the start
	FnSubscribe = "subscribe" // Op.Subscribe: consume whole topics (no group)
	FnFinal     = "final"     // Op.Final: read every partition up to its high watermark
)

// Unknown is the partition or offset of a send the client has no answer for.
const Unknown = -1

// Op is one event of a history. Exactly one of the value fields is set, the
// one F names (none for an invoke of a poll). Field order is the encoding's
// order.
type Op struct {
	Index   int64  `json:"index"`   // position in the history, from 0, set by the Recorder
	Process int    `json:"process"` // logical client; never has two open operations
	Type    Type   `json:"type"`
	F       string `json:"f"`
	Time    int64  `json:"time"` // nanoseconds since the Unix epoch, virtual in simulation

	Send      *Send      `json:"send,omitempty"`
	Poll      *Poll      `json:"poll,omitempty"`
	Assign    *Assign    `json:"assign,omitempty"`
	Subscribe *Subscribe `json:"subscribe,omitempty"`
	Final     *Final     `json:"final,omitempty"`

	Error string `json:"error,omitempty"` // why an operation failed or is unknown
}

// Send appends one keyed record. Partition and Offset are where an ok send
// was acknowledged; Unknown on the invoke, fail and info.
type Send struct {
	Topic     string `json:"topic"`
	Key       string `json:"key"`
	Value     string `json:"value"` // unique across the history
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Acked reports whether the send carries the position its broker gave it.
func (s *Send) Acked() bool { return s.Partition >= 0 && s.Offset >= 0 }

// Poll is what one poll of a consumer returned, partitions in increasing
// order, records of each partition in the order the client returned them.
type Poll struct {
	Reads []PartitionRead `json:"reads"`
}

// PartitionRead is the records a poll returned for one partition.
type PartitionRead struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Records   []Record `json:"records"`
}

// Record is one record read.
type Record struct {
	Offset int64  `json:"offset"`
	Key    string `json:"key"`
	Value  string `json:"value"`
}

// Assign replaces a consumer's partitions: it reads them from their start.
type Assign struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

// Subscribe replaces a consumer's topics: it reads every partition of them,
// without a group, from their start.
type Subscribe struct {
	Topics []string `json:"topics"`
}

// Final is the final read of a topic after the cluster healed. On ok the
// reader read every listed partition from its start up to HighWatermark, so
// every record below it was seen by the final reader's polls.
type Final struct {
	Topic          string          `json:"topic"`
	HighWatermarks []PartitionMark `json:"high_watermarks,omitempty"`
}

// PartitionMark is an offset of one partition.
type PartitionMark struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

// Completes reports whether t ends an operation.
func (t Type) Completes() bool { return t == OK || t == Fail || t == Info }

func (t Type) valid() bool { return t == Invoke || t.Completes() }

// String is a short human form, e.g. "12 p3 ok send k1=p3-7 -> orders/2@41".
func (o Op) String() string {
	s := strconv.FormatInt(o.Index, 10) + " p" + strconv.Itoa(o.Process) + " " + string(o.Type) + " " + o.F
	switch {
	case o.Send != nil:
		s += fmt.Sprintf(" %s=%s", o.Send.Key, o.Send.Value)
		if o.Send.Acked() {
			s += fmt.Sprintf(" -> %s/%d@%d", o.Send.Topic, o.Send.Partition, o.Send.Offset)
		}
	case o.Poll != nil:
		for _, pr := range o.Poll.Reads {
			if len(pr.Records) > 0 {
				s += fmt.Sprintf(" %s/%d@%d..%d(%d)", pr.Topic, pr.Partition,
					pr.Records[0].Offset, pr.Records[len(pr.Records)-1].Offset, len(pr.Records))
			}
		}
	case o.Assign != nil:
		s += fmt.Sprintf(" %s%v", o.Assign.Topic, o.Assign.Partitions)
	case o.Subscribe != nil:
		s += fmt.Sprintf(" %v", o.Subscribe.Topics)
	case o.Final != nil:
		s += " " + o.Final.Topic
		for _, m := range o.Final.HighWatermarks {
			s += fmt.Sprintf(" %d:%d", m.Partition, m.Offset)
		}
	}
	if o.Error != "" {
		s += " (" + o.Error + ")"
	}
	return s
}

// check reports what is malformed in one op on its own.
func (o *Op) check() error {
	if !o.Type.valid() {
		return fmt.Errorf("op %d: bad type %q", o.Index, o.Type)
	}
	set := 0
	for _, b := range []bool{o.Send != nil, o.Poll != nil, o.Assign != nil, o.Subscribe != nil, o.Final != nil} {
		if b {
			set++
		}
	}
	if set > 1 {
		return fmt.Errorf("op %d: more than one value", o.Index)
	}
	want := ""
	switch {
	case o.Send != nil:
		want = FnSend
	case o.Poll != nil:
		want = FnPoll
	case o.Assign != nil:
		want = FnAssign
	case o.Subscribe != nil:
		want = FnSubscribe
	case o.Final != nil:
		want = FnFinal
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
	case FnPoll, FnAssign, FnSubscribe, FnFinal:
	default:
		return fmt.Errorf("op %d: unknown function %q", o.Index, o.F)
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
