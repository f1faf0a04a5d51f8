package workload

import (
	"testing"
	"time"

	"github.com/weir-dev/weir/bench/driver"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/reports/pipeline"
)

// TestMeasureWindow: only what the measured window holds is measured:
// sends by their acknowledgement (publish latency from the invoke),
// failed sends by their invoke, processed records by their input's
// acknowledgement, whenever their output came.
func TestMeasureWindow(t *testing.T) {
	var ops []history.Op
	add := func(proc int, typ history.Type, at time.Duration, s *history.Send) {
		ops = append(ops, history.Op{Index: int64(len(ops)), Process: proc, Type: typ, F: history.FnSend, Time: int64(at), Send: s})
	}
	send := func(proc int, topic, v string, inv, done time.Duration, typ history.Type) {
		add(proc, history.Invoke, inv, &history.Send{Topic: topic, Value: v, Partition: -1, Offset: -1})
		s := &history.Send{Topic: topic, Value: v, Partition: 0, Offset: int64(len(ops))}
		if typ != history.OK {
			s.Partition, s.Offset = -1, -1
		}
		add(proc, typ, done, s)
	}
	ms := time.Millisecond
	send(1, "in", "warm", 500*ms, 600*ms, history.OK)     // warm-up
	send(1, "in", "a", 1200*ms, 1250*ms, history.OK)      // measured, 50 ms
	send(2, "in", "bb", 1300*ms, 1400*ms, history.OK)     // measured, 100 ms
	send(1, "in", "lost", 2000*ms, 2100*ms, history.Info) // measured error
	send(2, "other", "out", 2200*ms, 2300*ms, history.OK) // not the input
	send(1, "in", "late", 2900*ms, 3100*ms, history.OK)   // acked after the window
	m := pipeline.Measure{Input: "in", Output: "out", Samples: []pipeline.Sample{
		{At: 1500 * ms, Latency: 250 * ms},        // input acked at 1.25 s: measured
		{At: 4 * time.Second, Latency: 2600 * ms}, // input acked at 1.4 s, processed in the drain: measured
		{At: 4 * time.Second, Latency: 900 * ms},  // input acked at 3.1 s: not
	}}
	res := measure(ops, m, window{from: time.Second, to: 3 * time.Second}, 4*time.Second)
	b := res.Bench
	if b.ProducedRecords != 2 || b.ProducedBytes != 3 || b.ProduceErrors != 1 || b.ProduceSec != 2 {
		t.Errorf("produced %d records, %d bytes, %d errors over %v s; want 2, 3, 1 over 2", b.ProducedRecords, b.ProducedBytes, b.ProduceErrors, b.ProduceSec)
	}
	if b.Publish.TotalCount() != 2 || b.Publish.Max() < int64(99*ms) || b.Publish.Min() > int64(51*ms) {
		t.Errorf("publish latencies min %v max %v of %d", time.Duration(b.Publish.Min()), time.Duration(b.Publish.Max()), b.Publish.TotalCount())
	}
	if b.ConsumedRecords != 2 || b.ConsumeSec != 3 || b.EndToEnd.TotalCount() != 2 {
		t.Errorf("processed %d over %v s (%d latencies), want 2 over 3", b.ConsumedRecords, b.ConsumeSec, b.EndToEnd.TotalCount())
	}
	if res.Alerts != nil {
		t.Error("alert delays for a workload without alerts")
	}
	want := []struct {
		phase     string
		prod, con float64
	}{{driver.PhaseWarmup, 1, 0}, {driver.PhaseMeasure, 2, 1}, {driver.PhaseMeasure, 0, 0}, {driver.PhaseDrain, 1, 0}, {driver.PhaseDrain, 0, 2}}
	if len(b.Series) != len(want) {
		t.Fatalf("series %+v", b.Series)
	}
	for i, w := range want {
		s := b.Series[i]
		if s.Phase != w.phase || s.ProducedRecordsPerSec != w.prod || s.ConsumedRecordsPerSec != w.con || s.Sec != float64(i+1) {
			t.Errorf("second %d: %+v, want %+v", i, s, w)
		}
	}
}
