package checker

import (
	"slices"

	"github.com/weir-dev/weir/history"
)

// hb builds synthetic histories; ops are 1 ms apart. Unless said otherwise
// a send's client is its process + 1, and every helper records an invoke
// and its completion, so the result passes history.Validate.
type hb struct{ ops []history.Op }

func (b *hb) add(op history.Op) int64 {
	op.Index, op.Time = int64(len(b.ops)), int64(len(b.ops)+1)*1_000_000
	b.ops = append(b.ops, op)
	return op.Index
}

func sendVal(client int, value string, p int32, o int64) *history.Send {
	return &history.Send{Client: client, Topic: "t", Key: "k", Value: value, Partition: p, Offset: o}
}

// invokeSend invokes a send of value by proc through client.
func (b *hb) invokeSend(proc, client int, value string) int64 {
	return b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnSend, Send: sendVal(client, value, -1, -1)})
}

// completeSend completes proc's open send of value as typ, at p/o if ok.
func (b *hb) completeSend(proc, client int, value string, typ history.Type, p int32, o int64) int64 {
	s := sendVal(client, value, -1, -1)
	op := history.Op{Process: proc, Type: typ, F: history.FnSend, Send: s}
	if typ == history.OK {
		s.Partition, s.Offset = p, o
	} else {
		op.Error = "err"
	}
	return b.add(op)
}

// send records a whole send of value by proc ending typ; p and o matter for ok.
func (b *hb) send(proc int, value string, typ history.Type, p int32, o int64) int64 {
	b.invokeSend(proc, proc+1, value)
	return b.completeSend(proc, proc+1, value, typ, p, o)
}

type rd struct {
	p int32
	o int64
	v string
}

// poll records an ok poll by proc returning rs, grouped by partition in the
// order given; each partition's high watermark is one past its last record.
func (b *hb) poll(proc int, rs ...rd) int64 {
	return b.pollH(proc, nil, rs...)
}

// pollH is poll with the high watermarks given per partition (a partition
// only in hwm was fetched with no records).
func (b *hb) pollH(proc int, hwm map[int32]int64, rs ...rd) int64 {
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnPoll})
	return b.add(history.Op{Process: proc, Type: history.OK, F: history.FnPoll, Poll: pollVal(hwm, rs)})
}

func pollVal(hwm map[int32]int64, rs []rd) *history.Poll {
	var p history.Poll
	for _, r := range rs {
		n := len(p.Reads)
		if n == 0 || p.Reads[n-1].Partition != r.p {
			p.Reads = append(p.Reads, history.PartitionRead{Topic: "t", Partition: r.p, HighWatermark: -1, LogStartOffset: 0})
			n++
		}
		pr := &p.Reads[n-1]
		pr.Records = append(pr.Records, history.Record{Offset: r.o, Key: "k", Value: r.v})
		pr.HighWatermark = max(pr.HighWatermark, r.o+1)
	}
	for part, h := range hwm {
		i := slices.IndexFunc(p.Reads, func(pr history.PartitionRead) bool { return pr.Partition == part })
		if i < 0 {
			p.Reads = append(p.Reads, history.PartitionRead{Topic: "t", Partition: part, LogStartOffset: 0})
			i = len(p.Reads) - 1
		}
		p.Reads[i].HighWatermark = h
	}
	slices.SortStableFunc(p.Reads, func(a, b history.PartitionRead) int { return int(a.Partition - b.Partition) })
	return &p
}

func (b *hb) assign(proc int, ps ...int32) {
	a := &history.Assign{Topic: "t", Partitions: ps}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnAssign, Assign: a})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnAssign, Assign: a})
}

// Processes of the final read.
const (
	finalProc  = 1000
	readerProc = 1001
)

// final records a final read of len(hwm) partitions: the listing found
// high watermark hwm[i] for partition i, the reader read rs, and the final
// op completes ok if that reached every high watermark, else info.
func (b *hb) final(hwm []int64, rs ...rd) int64 {
	b.add(history.Op{Process: finalProc, Type: history.Invoke, F: history.FnFinal, Final: &history.Final{Topic: "t", Partitions: int32(len(hwm)), Reader: readerProc}})
	var ps []int32
	for p := range hwm {
		ps = append(ps, int32(p))
	}
	b.assign(readerProc, ps...)
	hw := map[int32]int64{}
	for p, h := range hwm {
		hw[int32(p)] = h
	}
	b.pollH(readerProc, hw, rs...)
	return b.finalDone(hwm, rs)
}

func (b *hb) finalDone(hwm []int64, rs []rd) int64 {
	f := &history.Final{Topic: "t", Partitions: int32(len(hwm)), Reader: readerProc}
	typ := history.OK
	for p, h := range hwm {
		m := history.FinalMark{Partition: int32(p), HighWatermark: h}
		for _, r := range rs {
			if r.p == int32(p) {
				m.ReadTo = max(m.ReadTo, r.o+1)
			}
		}
		m.Complete = m.ReadTo >= h
		if !m.Complete {
			typ = history.Info
		}
		f.Marks = append(f.Marks, m)
	}
	return b.add(history.Op{Process: finalProc, Type: typ, F: history.FnFinal, Final: f})
}

// txn records an ok txn of sends by proc, acknowledged at the positions given.
func (b *hb) txn(proc int, sends ...rd) int64 {
	inv := &history.Txn{}
	done := &history.Txn{}
	for _, s := range sends {
		inv.Mops = append(inv.Mops, history.Mop{F: history.FnSend, Send: sendVal(proc+1, s.v, -1, -1)})
		done.Mops = append(done.Mops, history.Mop{F: history.FnSend, Send: sendVal(proc+1, s.v, s.p, s.o)})
	}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnTxn, Txn: inv})
	return b.add(history.Op{Process: proc, Type: history.OK, F: history.FnTxn, Txn: done})
}
