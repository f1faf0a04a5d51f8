package redelivery

import (
	"testing"
	"time"

	"github.com/weir-dev/weir/history"
)

// builder makes a history op by op, times in seconds.
type builder struct{ ops []history.Op }

func (b *builder) add(op history.Op, at float64) {
	op.Index, op.Time = int64(len(b.ops)), int64(at*1e9)
	b.ops = append(b.ops, op)
}

func (b *builder) join(process, events int, group string, at float64) {
	j := &history.Join{Group: group, Topics: []string{"t"}, Events: events}
	b.add(history.Op{Process: process, Type: history.Invoke, F: history.FnJoin, Join: j}, at)
	b.add(history.Op{Process: process, Type: history.OK, F: history.FnJoin, Join: j}, at)
}

func (b *builder) event(events int, member, kind string, owned []int32, at float64) {
	a := &history.Assignment{Group: "g", Member: member, Generation: 1, Event: kind, Topic: "t", Owned: owned}
	b.add(history.Op{Process: events, Type: history.Invoke, F: history.FnAssignment, Assignment: a}, at)
	b.add(history.Op{Process: events, Type: history.OK, F: history.FnAssignment, Assignment: a}, at)
}

// poll reads offsets from..to (inclusive) of t/0, invoked at at.
func (b *builder) poll(process int, from, to int64, at float64) {
	pr := history.PartitionRead{Topic: "t", Partition: 0, HighWatermark: 100, LogStartOffset: 0}
	for o := from; o <= to; o++ {
		pr.Records = append(pr.Records, history.Record{Offset: o, Value: "v"})
	}
	b.add(history.Op{Process: process, Type: history.Invoke, F: history.FnPoll}, at)
	b.add(history.Op{Process: process, Type: history.OK, F: history.FnPoll, Poll: &history.Poll{Reads: []history.PartitionRead{pr}}}, at+0.01)
}

// TestMeasure: a member that read 0-9 and failed at 10 s; another read
// 0-4 before the failure (not counted) and 6-12 after it (6-9 again); a
// member of another group reread everything (not counted); a member that
// left cleanly is no failure, nor one that failed before it owned a
// partition.
func TestMeasure(t *testing.T) {
	var b builder
	b.join(1, 2, "g", 0)
	b.join(3, 4, "g", 0)
	b.join(5, 6, "other", 0)
	b.join(7, 8, "g", 0)
	b.event(8, "m7", history.Lost, nil, 0.5)
	b.event(2, "m1", history.Assigned, []int32{0}, 1)
	b.event(4, "m3", history.Assigned, []int32{0}, 1)
	b.poll(1, 0, 9, 2)
	b.poll(3, 0, 4, 3) // before the failure
	b.event(2, "m1", history.Lost, nil, 10)
	b.poll(3, 6, 12, 11)
	b.poll(5, 0, 20, 12)
	b.event(4, "m3", history.Revoked, nil, 20)
	if err := history.Validate(b.ops); err != nil {
		t.Fatal(err)
	}
	got := Measure(b.ops)
	// m3's poll invoked at 11 s returned at 11.01 s: t/0 read again 1.01 s
	// after the failure.
	want := []Failure{{Group: "g", Member: "m1", Process: 1, At: 10 * time.Second, Read: 10, Redelivered: 4, Resumed: 1010 * time.Millisecond}}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("failures %+v, want %+v", got, want)
	}
	if c := Counts(got); len(c) != 1 || c[0] != 4 {
		t.Errorf("counts %v", c)
	}
	if r := Resumes(got); len(r) != 1 || r[0] != 1010*time.Millisecond {
		t.Errorf("resumes %v", r)
	}
}

// TestNeverResumed: a failed member's partition that nobody reads again
// has no resume time (-1), and Resumes leaves it out.
func TestNeverResumed(t *testing.T) {
	var b builder
	b.join(1, 2, "g", 0)
	b.event(2, "m1", history.Assigned, []int32{0}, 1)
	b.poll(1, 0, 9, 2)
	b.event(2, "m1", history.Lost, nil, 10)
	got := Measure(b.ops)
	if len(got) != 1 || got[0].Resumed != -1 {
		t.Fatalf("failures %+v, want one never resumed", got)
	}
	if r := Resumes(got); len(r) != 0 {
		t.Errorf("resumes %v", r)
	}
}

// TestNoGroup: a history without members has no failures.
func TestNoGroup(t *testing.T) {
	var b builder
	b.poll(1, 0, 3, 1)
	if got := Measure(b.ops); len(got) != 0 {
		t.Fatalf("failures %+v", got)
	}
}

func TestPercentile(t *testing.T) {
	s := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 100}
	for _, c := range []struct {
		p    float64
		want int
	}{{50, 4}, {90, 8}, {99, 100}, {100, 100}, {0, 0}} {
		if got := Percentile(s, c.p); got != c.want {
			t.Errorf("p%v = %d, want %d", c.p, got, c.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
}
