package checker

import (
	"testing"

	"github.com/weir-dev/weir/history"
)

// lossPoll records an ok poll of t/0 by proc in which kgo reported a data
// loss: it had consumed to consumedTo and was reset to resetTo.
func (b *hb) lossPoll(proc int, consumedTo, resetTo int64) int64 {
	pr := history.PartitionRead{Topic: "t", Partition: 0, HighWatermark: history.Unknown, LogStartOffset: history.Unknown,
		Error: "lost records", DataLoss: &history.DataLoss{ConsumedTo: consumedTo, ResetTo: resetTo}}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnPoll})
	return b.add(history.Op{Process: proc, Type: history.OK, F: history.FnPoll, Poll: &history.Poll{Reads: []history.PartitionRead{pr}},
		Error: "t/0: lost records"})
}

// subscribe records proc's subscription to t, read_committed or not.
func (b *hb) subscribe(proc int, readCommitted bool) {
	s := &history.Subscribe{Topics: []string{"t"}, ReadCommitted: readCommitted}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnSubscribe, Subscribe: s})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnSubscribe, Subscribe: s})
}

// finalTo records a complete final read of t/0 up to hwm that returned rs
// (a final reader keeps control records, so it reads to the high
// watermark even when markers end the log).
func (b *hb) finalTo(hwm int64, rs ...rd) {
	b.add(history.Op{Process: finalProc, Type: history.Invoke, F: history.FnFinal, Final: &history.Final{Topic: "t", Partitions: 1, Reader: readerProc}})
	b.assign(readerProc, 0)
	b.pollH(readerProc, map[int32]int64{0: hwm}, rs...)
	b.add(history.Op{Process: finalProc, Type: history.OK, F: history.FnFinal, Final: &history.Final{Topic: "t", Partitions: 1, Reader: readerProc,
		Marks: []history.FinalMark{{Partition: 0, HighWatermark: hwm, ReadTo: hwm, Complete: true}}}})
}

// kgo's data-loss report on a topic transactions write to (seed 21021).
// The log of t/0: a@0, a transaction of producer 0 in leader epoch 1 (the
// consumer's position still carries epoch 0, the one its ListOffsets
// answered), aborted; b@1 and c@2, an open transaction of producer 1,
// later aborted; a's abort marker at 3; d@4, committed, and its marker at
// 5. A read_committed fetch below the last stable offset (1, b's
// transaction still open) returns a's batch with a's transaction among
// the aborted ones: kgo drops it and moves its position to 1, with epoch
// 0. After the next leader change the leader answers that epoch 0 ends at
// 0, and kgo reports offset 0 lost: an offset where it returned nothing.
// Such a report alone is not a regression; one over a record the client
// had returned, a high watermark that goes back, or the same report on a
// topic no transaction wrote to still is.
func TestTxnDataLossReport(t *testing.T) {
	aborted := func(b *hb) {
		b.ktxn(0, history.Fail, 1, []rd{{0, 0, "a"}}, nil)
		b.ktxn(1, history.Info, 2, []rd{{0, 1, "b"}, {0, 2, "c"}}, nil)
	}
	d := rd{0, 4, "d"}
	for _, c := range []struct {
		name   string
		build  func(b *hb)
		want   map[string]int
		detail string // in watermark-regression's first witness
	}{
		{name: "kgo's read_committed position past an aborted batch (seed 21021)", build: func(b *hb) {
			aborted(b)
			b.ktxn(0, history.OK, 5, []rd{d}, nil)
			b.subscribe(5, true)
			b.poll(5) // the fetch past a@0 returned nothing
			b.lossPoll(5, 1, 0)
			b.poll(5, d)
			b.finalTo(6, d)
		}},
		{name: "a read_uncommitted position past a marker", build: func(b *hb) {
			b.ktxn(0, history.OK, 1, []rd{{0, 0, "a"}}, nil)
			b.subscribe(5, false)
			b.poll(5, rd{0, 0, "a"})
			b.lossPoll(5, 2, 1) // a's marker at 1, of a later epoch than a
			b.finalTo(2, rd{0, 0, "a"})
		}},
		{name: "a report over a record the client had returned", build: func(b *hb) {
			aborted(b)
			b.ktxn(0, history.OK, 5, []rd{d}, nil)
			b.subscribe(5, true)
			b.poll(5, d)
			b.lossPoll(5, 6, 4)
			b.finalTo(6, d)
		}, want: map[string]int{WatermarkRegression: 1}, detail: "consumed t/0 to offset 6 when the log no longer reached it"},
		{name: "a report whose range holds a record an earlier poll of the client returned", build: func(b *hb) {
			e := rd{0, 6, "e"}
			aborted(b)
			b.ktxn(0, history.OK, 5, []rd{d}, nil)
			b.subscribe(5, true)
			b.poll(5, d)
			b.ktxn(0, history.OK, 7, []rd{e}, nil)
			b.poll(5, e)
			b.lossPoll(5, 8, 3) // d@4 was returned two polls before
			b.finalTo(8, d, e)
		}, want: map[string]int{WatermarkRegression: 1}, detail: "reset to 3"},
		{name: "the log went back under the report: its high watermark shows it", build: func(b *hb) {
			aborted(b)
			b.ktxn(0, history.OK, 5, []rd{d}, nil)
			b.subscribe(5, true)
			b.pollH(5, map[int32]int64{0: 6}) // an answer with no record
			b.lossPoll(5, 1, 0)
			b.pollH(5, map[int32]int64{0: 2}) // the leader's log now ends at 2
			b.finalTo(6, d)
		}, want: map[string]int{WatermarkRegression: 1, Nonlinearizable: 1}, detail: "saw t/0 high watermark 2"},
		{name: "the same report on a topic no transaction wrote to", build: func(b *hb) {
			b.send(0, "a", history.OK, 0, 0)
			b.subscribe(5, true)
			b.poll(5)
			b.lossPoll(5, 1, 0)
			b.poll(5, rd{0, 0, "a"})
			b.finalTo(1, rd{0, 0, "a"})
		}, want: map[string]int{WatermarkRegression: 1}, detail: "consumed t/0 to offset 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b hb
			c.build(&b)
			v := checkCounts(t, b.ops, c.want, WatermarkRegression, c.detail)
			wantOutcome := Valid
			if len(c.want) > 0 {
				wantOutcome = Invalid
			}
			if v.Outcome != wantOutcome {
				t.Errorf("outcome %s, want %s\n%s", v.Outcome, wantOutcome, v.Summary())
			}
		})
	}
}

// A high watermark below one another client saw earlier is a regression,
// unless a deposed leader may have answered it (seed 35006's shape: a at
// t/0@0, appended in leader epoch 2, read there by process 2; then process
// 3's poll, answered in leader epoch readEpoch, shows high watermark 0).
// Answered in the append's epoch, a later one, or an unknown one, it is
// still found.
func TestWatermarkOfADeposedLeader(t *testing.T) {
	for _, c := range []struct {
		name      string
		readEpoch *int32
		want      int
	}{
		{name: "answered in an earlier epoch", readEpoch: new(int32(1))},
		{name: "answered in the append's epoch", readEpoch: new(int32(2)), want: 1},
		{name: "answered in a later epoch", readEpoch: new(int32(3)), want: 1},
		{name: "the read's epoch unknown", want: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b hb
			b.send(0, "a", history.OK, 0, 0)
			b.assign(2, 0)
			i := b.pollH(2, map[int32]int64{0: 1}, rd{0, 0, "a"})
			b.ops[i].Poll.Reads[0].Epochs = []history.EpochStart{{Epoch: 2, Offset: 0}}
			b.ops[i].Poll.Reads[0].LeaderEpoch = new(int32(2))
			b.assign(3, 0)
			i = b.pollH(3, map[int32]int64{0: 0})
			b.ops[i].Poll.Reads[0].LeaderEpoch = c.readEpoch
			b.finalTo(1, rd{0, 0, "a"})
			v := Check(b.ops, Opts{})
			if got := v.Counts[WatermarkRegression]; got != c.want {
				t.Fatalf("watermark-regression ×%d, want ×%d: %s", got, c.want, v.Summary())
			}
		})
	}
}

// laggingDeposedRead is seed 70072's shape: a@0, b@1 and c@2 acknowledged
// in leader epoch 0 (the epoch-1 leader committed b and c, and wrote a
// batch of its own at 3); if ownEpochFirst, process 4 reads high
// watermark 2 in epoch 0 before c is acknowledged; process 2 then reads to 4 in epoch 1, with a
// batch of epoch 1 at 3 when newerShown; then process 3's poll, answered
// in epoch 0 by the deposed leader, shows high watermark 1.
func laggingDeposedRead(ownEpochFirst, newerShown bool) []history.Op {
	var b hb
	b.send(0, "a", history.OK, 0, 0)
	b.send(0, "b", history.OK, 0, 1)
	if ownEpochFirst {
		b.assign(4, 0)
		i := b.pollH(4, map[int32]int64{0: 2}, rd{0, 0, "a"}, rd{0, 1, "b"})
		b.ops[i].Poll.Reads[0].Epochs = []history.EpochStart{{Epoch: 0, Offset: 0}}
		b.ops[i].Poll.Reads[0].LeaderEpoch = new(int32(0))
	}
	b.send(0, "c", history.OK, 0, 2)
	b.assign(2, 0)
	i := b.pollH(2, map[int32]int64{0: 4}, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{0, 2, "c"})
	b.ops[i].Poll.Reads[0].Epochs = []history.EpochStart{{Epoch: 0, Offset: 0}}
	if newerShown {
		b.ops[i].Poll.Reads[0].Epochs = append(b.ops[i].Poll.Reads[0].Epochs, history.EpochStart{Epoch: 1, Offset: 3})
	}
	b.ops[i].Poll.Reads[0].LeaderEpoch = new(int32(1))
	b.assign(3, 0)
	i = b.pollH(3, map[int32]int64{0: 1}, rd{0, 0, "a"})
	b.ops[i].Poll.Reads[0].LeaderEpoch = new(int32(0))
	b.finalTo(4, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{0, 2, "c"})
	return b.ops
}

// A deposed leader's high watermark may lag behind records of its own
// epoch that the new leader committed, so the record at it does not give
// the leader away; a batch of a newer epoch read before it could answer
// does (seed 70072). Its answer is still held to what its own epoch and
// older ones showed, and without the newer batch it is a regression as
// before. The linearizability check takes the read as a deposed leader's
// too (it needs only the appends below its high watermark to have taken
// effect), and without the newer batch finds it stale.
func TestWatermarkOfALaggingDeposedLeader(t *testing.T) {
	for _, c := range []struct {
		name                      string
		ownEpochFirst, newerShown bool
		want, wantLin             int
	}{
		{name: "after a batch of a newer epoch was read", newerShown: true},
		{name: "below what its own epoch showed", ownEpochFirst: true, newerShown: true, want: 1},
		{name: "no newer epoch shown before it", want: 1, wantLin: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := Check(laggingDeposedRead(c.ownEpochFirst, c.newerShown), Opts{})
			if got := v.Counts[WatermarkRegression]; got != c.want {
				t.Fatalf("watermark-regression ×%d, want ×%d: %s", got, c.want, v.Summary())
			}
			if got := v.Counts[Nonlinearizable]; got != c.wantLin {
				t.Fatalf("nonlinearizable ×%d, want ×%d: %s", got, c.wantLin, v.Summary())
			}
		})
	}
}

// A member's fetch of a partition it kept through a rebalance may have
// been answered before the rebalance and handed to its first poll after
// it (seed 71166: vitals/1, owned since generation 1 and never polled,
// came in the first poll after generation 2 added two other partitions,
// with the high watermark of a fetch answered before an acknowledgement
// that preceded generation 2). Only a partition the assignment added is
// read from when it began.
func TestKeptPartitionReadMayPredateTheAssignment(t *testing.T) {
	for _, c := range []struct {
		name    string
		changed []int32 // partitions generation 2 added
		want    bool    // a finding
	}{
		{name: "kept through the rebalance", changed: []int32{1}},
		{name: "added by the rebalance", changed: []int32{0, 1}, want: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b hb
			b.send(0, "a", history.OK, 0, 0)
			b.join(10)
			b.assignment(10, "m", 1, history.Assigned, p0, p0)
			b.send(0, "b", history.OK, 0, 1) // the high watermark passed 1
			b.assignment(10, "m", 2, history.Assigned, []int32{0, 1}, c.changed)
			b.pollH(10, map[int32]int64{0: 1}, rd{0, 0, "a"})
			b.finalTo(2, rd{0, 0, "a"}, rd{0, 1, "b"})
			v := Check(b.ops, Opts{})
			found := v.Counts[WatermarkRegression]+v.Counts[Nonlinearizable] > 0
			if found != c.want {
				t.Fatalf("found %v, want %v: %s", found, c.want, v.Summary())
			}
		})
	}
}
