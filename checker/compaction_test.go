package checker

import (
	"maps"
	"strings"
	"testing"

	"github.com/weir-dev/weir/history"
)

// kv builds histories of one compacted partition, kv/0, on top of hb.
type kv struct {
	hb
	compacted bool
}

type krec struct {
	o         int64
	key, v    string
	tombstone bool
}

func (b *kv) sendKV(proc int, key, value string, tombstone bool) *history.Send {
	return &history.Send{Client: proc + 1, Topic: "kv", Key: key, Value: value, Partition: -1, Offset: -1, Tombstone: tombstone}
}

// put records a whole send of key=value by proc ending typ, at offset o
// if ok.
func (b *kv) put(proc int, key, value string, tombstone bool, typ history.Type, o int64) {
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnSend, Send: b.sendKV(proc, key, value, tombstone)})
	s := b.sendKV(proc, key, value, tombstone)
	op := history.Op{Process: proc, Type: typ, F: history.FnSend, Send: s}
	if typ == history.OK {
		s.Partition, s.Offset = 0, o
	} else {
		op.Error = "err"
	}
	b.add(op)
}

func (b *kv) subscribe(proc int) {
	s := &history.Subscribe{Topics: []string{"kv"}}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnSubscribe, Subscribe: s})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnSubscribe, Subscribe: s})
}

// poll records an ok poll of kv/0 by proc returning rs, the high
// watermark hw.
func (b *kv) poll(proc int, hw int64, rs ...krec) {
	pr := history.PartitionRead{Topic: "kv", Partition: 0, HighWatermark: hw, LogStartOffset: 0}
	for _, r := range rs {
		pr.Records = append(pr.Records, history.Record{Offset: r.o, Key: r.key, Value: r.v, Tombstone: r.tombstone})
	}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnPoll})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnPoll, Poll: &history.Poll{Reads: []history.PartitionRead{pr}}})
}

// final records a complete final read of kv/0 to hw returning rs.
func (b *kv) final(hw int64, rs ...krec) {
	f := history.Final{Topic: "kv", Partitions: 1, Reader: readerProc, Compacted: b.compacted}
	inv := f
	b.add(history.Op{Process: finalProc, Type: history.Invoke, F: history.FnFinal, Final: &inv})
	a := &history.Assign{Topic: "kv", Partitions: []int32{0}}
	b.add(history.Op{Process: readerProc, Type: history.Invoke, F: history.FnAssign, Assign: a})
	b.add(history.Op{Process: readerProc, Type: history.OK, F: history.FnAssign, Assign: a})
	b.poll(readerProc, hw, rs...)
	f.Marks = []history.FinalMark{{Partition: 0, HighWatermark: hw, ReadTo: hw, Complete: true}}
	b.add(history.Op{Process: finalProc, Type: history.OK, F: history.FnFinal, Final: &f})
}

// The log of these cases: k1=a@0, k2=b@1, k1=c@2, k2 deleted (d)@3,
// k1=e@4, all acknowledged and read by a consumer as they came.
var (
	kvA = krec{0, "k1", "a", false}
	kvB = krec{1, "k2", "b", false}
	kvC = krec{2, "k1", "c", false}
	kvD = krec{3, "k2", "d", true}
	kvE = krec{4, "k1", "e", false}
)

func (b *kv) writeAndRead() {
	b.subscribe(50)
	for _, r := range []krec{kvA, kvB, kvC, kvD, kvE} {
		b.put(int(r.o), r.key, r.v, r.tombstone, history.OK, r.o)
		b.poll(50, r.o+1, r)
	}
}

func TestCompaction(t *testing.T) {
	for _, c := range []struct {
		name string
		// notCompacted: the same history on a topic not marked compacted.
		notCompacted bool
		build        func(b *kv)
		want         map[string]int
		detail       string // in compaction-lost-key's first witness
	}{
		{name: "nothing cleaned yet", build: func(b *kv) {
			b.writeAndRead()
			b.final(5, kvA, kvB, kvC, kvD, kvE)
		}},
		{name: "cleaned: each key's last record, the tombstone kept", build: func(b *kv) {
			b.writeAndRead()
			b.final(5, kvD, kvE)
		}},
		{name: "cleaned: the tombstone gone past its retention, with its key", build: func(b *kv) {
			b.writeAndRead()
			b.final(5, kvE)
		}},
		{name: "a consumer reads across the gaps after the sends that explain them", build: func(b *kv) {
			b.writeAndRead()
			b.subscribe(51)
			b.poll(51, 5, kvA)
			b.poll(51, 5, kvD, kvE) // b@1 and c@2 superseded by d and e, sent before
			b.final(5, kvD, kvE)
		}},
		{name: "a key whose last send is unknown may be gone: the send may have been a tombstone", build: func(b *kv) {
			b.writeAndRead()
			b.put(9, "k1", "x", true, history.Info, 0)
			b.final(5, kvD)
		}},
		{name: "the same history on a topic that does not compact: lost writes and skips", notCompacted: true, build: func(b *kv) {
			b.writeAndRead()
			b.subscribe(51)
			b.poll(51, 5, kvA)
			b.poll(51, 5, kvD, kvE)
			b.final(5, kvD, kvE)
		}, want: map[string]int{LostWrite: 3, PollSkip: 1}},
		{name: "the cleaner kept a key's first value and removed its last", build: func(b *kv) {
			b.writeAndRead()
			b.final(5, kvA, kvD)
		}, want: map[string]int{CompactionLostKey: 1, LostWrite: 1}, detail: "ends the key with the older a at kv/0@0"},
		{name: "a key's last value gone with nothing after it", build: func(b *kv) {
			b.writeAndRead()
			b.final(5, kvD)
		}, want: map[string]int{CompactionLostKey: 1, LostWrite: 1}, detail: "its last known record is value e at kv/0@4 (op 21), but the complete final read (op 27) has nothing of the key"},
		{name: "a deleted key's older value back after its tombstone went", build: func(b *kv) {
			b.writeAndRead()
			b.final(5, kvB, kvE)
		}, want: map[string]int{CompactionLostKey: 1}, detail: "key k2 of compacted kv/0: its last known record is tombstone d"},
		{name: "a last value only read (its send unknown) is judged too", build: func(b *kv) {
			b.writeAndRead()
			b.put(9, "k3", "y", false, history.Info, 0)
			b.poll(50, 6, krec{5, "k3", "y", false})
			b.final(6, kvD, kvE)
		}, want: map[string]int{CompactionLostKey: 1}, detail: "key k3"},
		{name: "a skip before the later record of its key was sent", build: func(b *kv) {
			b.subscribe(50)
			b.put(0, "k1", "a", false, history.OK, 0)
			b.put(1, "k2", "b", false, history.OK, 1)
			b.put(2, "k1", "c", false, history.OK, 2)
			b.poll(50, 3, kvA, kvC) // b@1 skipped: nothing later of k2 sent yet
			b.put(3, "k2", "d", true, history.OK, 3)
			b.final(4, kvC, kvD)
		}, want: map[string]int{IntPollSkip: 1}},
		{name: "a skip for a later record above the high watermark the poll saw", build: func(b *kv) {
			x, z, y := krec{1, "k2", "x", false}, krec{2, "k3", "z", false}, krec{3, "k2", "y", false}
			b.subscribe(50)
			b.put(0, "k1", "a", false, history.OK, 0)
			b.poll(50, 1, kvA)
			for _, r := range []krec{x, z, y} {
				b.put(int(r.o), r.key, r.v, false, history.OK, r.o)
			}
			b.poll(50, 3, z) // x@1 gone, for y@3, which the cleaner could not read yet
			b.final(4, kvA, z, y)
		}, want: map[string]int{PollSkip: 1}},
		{name: "a record moved to another offset", build: func(b *kv) {
			b.writeAndRead()
			b.final(6, kvD, krec{5, "k1", "e", false})
		}, want: map[string]int{Duplicate: 1, LostWrite: 1, IntPollSkip: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &kv{compacted: !c.notCompacted}
			c.build(b)
			v := checkCounts(t, b.ops, c.want, CompactionLostKey, c.detail)
			wantStatus := StatusClean
			switch {
			case c.notCompacted:
				wantStatus = StatusNotChecked
			case c.want[CompactionLostKey] > 0:
				wantStatus = StatusFound
			}
			if r := v.Check(CompactionLostKey); r.Status != wantStatus {
				t.Errorf("compaction-lost-key: status %s, want %s", r.Status, wantStatus)
			}
		})
	}
}

// lossPoll records an ok poll of kv/0 by proc in which kgo reported a data
// loss: it had consumed to consumedTo and was reset to resetTo.
func (b *kv) lossPoll(proc int, consumedTo, resetTo int64) {
	pr := history.PartitionRead{Topic: "kv", Partition: 0, HighWatermark: history.Unknown, LogStartOffset: history.Unknown,
		Error: "lost records", DataLoss: &history.DataLoss{ConsumedTo: consumedTo, ResetTo: resetTo}}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnPoll})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnPoll, Poll: &history.Poll{Reads: []history.PartitionRead{pr}},
		Error: "kv/0: lost records"})
}

// kgo's data-loss report on a compacted topic (seed 20107). The consumer
// 51 reads a@0, then its fetch walks past the batches of b@1 and c@2, which
// the cleaner emptied (d@3 and e@4 replace them), to position 3. kgo pairs
// that position with a@0's leader epoch, not the emptied batches' later
// one, so after a leader change the leader answers that a@0's epoch ends at
// 1 and kgo reports offsets 1-2 lost: offsets where it returned nothing. Such
// a report alone is not a regression; one over a record the client had
// returned, or a high watermark that goes back, still is.
func TestCompactionDataLossReport(t *testing.T) {
	for _, c := range []struct {
		name         string
		notCompacted bool
		build        func(b *kv)
		want         map[string]int
		detail       string // in watermark-regression's first witness
	}{
		{name: "kgo's position past batches the cleaner emptied (seed 20107)", build: func(b *kv) {
			b.writeAndRead() // consumer 50 read b@1 and c@2: another client
			b.subscribe(51)
			b.poll(51, 5, kvA)
			b.lossPoll(51, 3, 1)
			b.poll(51, 5, kvD, kvE)
			b.final(5, kvD, kvE)
		}},
		{name: "a report over a record the client had returned", build: func(b *kv) {
			b.writeAndRead()
			b.subscribe(51)
			b.poll(51, 5, kvA, kvB)
			b.lossPoll(51, 3, 1)
			b.poll(51, 5, kvD, kvE)
			b.final(5, kvD, kvE)
		}, want: map[string]int{WatermarkRegression: 1}},
		{name: "a report whose lost range holds a record returned in the same poll, below the position", build: func(b *kv) {
			b.writeAndRead()
			b.subscribe(51)
			b.poll(51, 5, kvA)
			pr := history.PartitionRead{Topic: "kv", Partition: 0, HighWatermark: 5, LogStartOffset: 0,
				Records: []history.Record{{Offset: 2, Key: "k1", Value: "c"}}}
			loss := history.PartitionRead{Topic: "kv", Partition: 0, HighWatermark: history.Unknown, LogStartOffset: history.Unknown,
				Error: "lost records", DataLoss: &history.DataLoss{ConsumedTo: 3, ResetTo: 1}}
			b.add(history.Op{Process: 51, Type: history.Invoke, F: history.FnPoll})
			b.add(history.Op{Process: 51, Type: history.OK, F: history.FnPoll, Poll: &history.Poll{Reads: []history.PartitionRead{pr, loss}}, Error: "kv/0: lost records"})
			b.poll(51, 5, kvD, kvE)
			b.final(5, kvD, kvE)
		}, want: map[string]int{WatermarkRegression: 1}},
		{name: "the compacted log went back under the report: its high watermark shows it", build: func(b *kv) {
			b.writeAndRead()
			b.subscribe(51)
			b.poll(51, 5, kvA)
			b.lossPoll(51, 3, 1)
			b.poll(51, 2) // the leader's log now ends at 2
			b.final(5, kvD, kvE)
		}, want: map[string]int{WatermarkRegression: 2}, detail: "saw kv/0 high watermark 2"}, // against 51's and 50's reads
		{name: "the same report on a topic that does not compact", notCompacted: true, build: func(b *kv) {
			b.writeAndRead()
			b.subscribe(51)
			b.poll(51, 5, kvA)
			b.lossPoll(51, 3, 1)
			b.poll(51, 5, kvB, kvC, kvD, kvE)
			b.final(5, kvA, kvB, kvC, kvD, kvE)
		}, want: map[string]int{WatermarkRegression: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &kv{compacted: !c.notCompacted}
			c.build(b)
			checkCounts(t, b.ops, c.want, WatermarkRegression, c.detail)
		})
	}
}

// checkCounts validates ops, checks them and requires exactly want's
// non-zero counts, and, when detail is not empty, that anomaly's first
// witness to say it. It returns the verdict.
func checkCounts(t *testing.T, ops []history.Op, want map[string]int, anomaly, detail string) Verdict {
	t.Helper()
	if err := history.Validate(ops); err != nil {
		t.Fatalf("test history: %v", err)
	}
	v := Check(ops, Opts{})
	nonZero := map[string]int{}
	for k, n := range want {
		if n > 0 {
			nonZero[k] = n
		}
	}
	if !maps.Equal(v.Counts, nonZero) {
		t.Errorf("counts %v, want %v\n%s", v.Counts, nonZero, v.Summary())
	}
	if detail != "" {
		if ws := v.Anomalies[anomaly]; len(ws) == 0 || !strings.Contains(ws[0].Detail, detail) {
			t.Errorf("%s witness %+v does not say %q", anomaly, ws, detail)
		}
	}
	return v
}
