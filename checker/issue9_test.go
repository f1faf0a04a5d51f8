package checker

import (
	"testing"

	"github.com/weir-dev/weir/history"
)

// The cases of issue 9 that the checker before it called valid (each was
// seen failing on it, in the history format of the time).

// A send acknowledged and polled, then lost in a crash with no later write
// at its offset: the complete final read does not have it.
func TestIssue9AckedPolledThenLost(t *testing.T) {
	var b hb
	b.send(0, "a", history.OK, 0, 0)
	b.poll(1, rd{0, 0, "a"})
	b.final([]int64{0}) // the healed log is empty
	v := Check(b.ops, Opts{})
	if v.Outcome != Invalid || v.Counts[LostWrite] != 1 {
		t.Fatalf("acked, polled, then gone from the complete final read:\n%s", v.Summary())
	}
}

// A final read that failed (the topic vanished): unknown, never valid.
func TestIssue9FinalReadFailed(t *testing.T) {
	var b hb
	b.send(0, "a", history.OK, 0, 0)
	b.add(history.Op{Process: finalProc, Type: history.Invoke, F: history.FnFinal, Final: &history.Final{Topic: "t", Partitions: 1, Reader: readerProc}})
	b.add(history.Op{Process: finalProc, Type: history.Fail, F: history.FnFinal, Final: &history.Final{Topic: "t", Partitions: 1, Reader: readerProc}, Error: "topic vanished"})
	v := Check(b.ops, Opts{})
	if v.Outcome != Unknown || !v.UnknownBecause(FinalReadIncomplete) {
		t.Fatalf("final read failed:\n%s", v.Summary())
	}
}

// A final read that timed out before reaching a partition's high watermark.
func TestIssue9FinalReadIncomplete(t *testing.T) {
	var b hb
	b.send(0, "a", history.OK, 0, 0)
	b.send(0, "b", history.OK, 0, 1)
	b.final([]int64{2}, rd{0, 0, "a"}) // read to 1 of 2
	v := Check(b.ops, Opts{})
	if v.Outcome != Unknown || !v.UnknownBecause(FinalReadIncomplete) || v.Stats.Unjudged != 2 {
		t.Fatalf("final read incomplete:\n%s", v.Summary())
	}
}

// A send issued after another was acknowledged, given a lower offset.
func TestIssue9Reordered(t *testing.T) {
	var b hb
	b.send(0, "a", history.OK, 0, 1)
	b.send(0, "b", history.OK, 0, 0)
	b.final([]int64{2}, rd{0, 0, "b"}, rd{0, 1, "a"})
	v := Check(b.ops, Opts{})
	if v.Outcome != Invalid || v.Counts[NonmonotonicSend] != 1 {
		t.Fatalf("reordered sends:\n%s", v.Summary())
	}
}

// A value that nobody sent.
func TestIssue9Phantom(t *testing.T) {
	var b hb
	b.send(0, "a", history.OK, 0, 0)
	b.final([]int64{2}, rd{0, 0, "a"}, rd{0, 1, "zzz"})
	v := Check(b.ops, Opts{})
	if v.Outcome != Invalid || v.Counts[PhantomValue] != 1 {
		t.Fatalf("phantom value:\n%s", v.Summary())
	}
}

// A high watermark going backwards, and kgo's data-loss error.
func TestIssue9WatermarkRegression(t *testing.T) {
	var b hb
	b.send(0, "a", history.OK, 0, 0)
	b.send(2, "b", history.Info, 0, 0)
	b.poll(1, rd{0, 0, "a"}, rd{0, 1, "b"}) // the log end was past 1
	b.add(history.Op{Process: 1, Type: history.Invoke, F: history.FnPoll})
	b.add(history.Op{Process: 1, Type: history.OK, F: history.FnPoll, Poll: &history.Poll{Reads: []history.PartitionRead{{
		Topic: "t", Partition: 0, HighWatermark: -1, LogStartOffset: -1, Error: "lost records",
		DataLoss: &history.DataLoss{ConsumedTo: 2, ResetTo: 1}}}}})
	// The final high watermark (and the final reader's) is below an offset read.
	b.final([]int64{1}, rd{0, 0, "a"})
	v := Check(b.ops, Opts{})
	if v.Outcome != Invalid || v.Counts[WatermarkRegression] != 3 {
		t.Fatalf("watermark went backwards:\n%s", v.Summary())
	}
}
