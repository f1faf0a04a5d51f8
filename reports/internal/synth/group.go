package synth

import (
	"os"

	"github.com/weir-dev/weir/history"
)

// Group writes a valid queue run folder whose consumer group "g" has one
// failed member with known numbers: member m1 (process 1, events process
// 2), given queue/0 at 1 s, reads offsets 0-4 at 2 s and reports its
// partitions lost at 3 s; member m3 (process 3, events 4), given queue/0
// at 4 s, reads offsets 2-6 at 5 s (2, 3 and 4 again) and leaves cleanly
// at 6 s. So one failure, 3 records read again.
func Group(dir string, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b builder
	join := func(process, events int, at float64) {
		j := &history.Join{Group: "g", Topics: []string{"queue"}, Events: events}
		b.add(history.Op{Process: process, Type: history.Invoke, F: history.FnJoin, Time: secs(at), Join: j})
		b.add(history.Op{Process: process, Type: history.OK, F: history.FnJoin, Time: secs(at), Join: j})
	}
	event := func(events int, member, kind string, owned []int32, at float64) {
		a := &history.Assignment{Group: "g", Member: member, Generation: 1, Event: kind, Topic: "queue", Owned: owned, Changed: []int32{0}}
		b.add(history.Op{Process: events, Type: history.Invoke, F: history.FnAssignment, Time: secs(at), Assignment: a})
		b.add(history.Op{Process: events, Type: history.OK, F: history.FnAssignment, Time: secs(at), Assignment: a})
	}
	poll := func(process int, from, to int64, at float64) {
		var rs []history.Record
		for o := from; o <= to; o++ {
			rs = append(rs, history.Record{Offset: o, Value: "v"})
		}
		b.add(history.Op{Process: process, Type: history.Invoke, F: history.FnPoll, Time: secs(at)})
		b.add(history.Op{Process: process, Type: history.OK, F: history.FnPoll, Time: secs(at + 0.01),
			Poll: &history.Poll{Reads: []history.PartitionRead{{Topic: "queue", Partition: 0, HighWatermark: 10, Records: rs}}}})
	}
	join(1, 2, 0.5)
	join(3, 4, 0.5)
	event(2, "m1", history.Assigned, []int32{0}, 1)
	poll(1, 0, 4, 2)
	event(2, "m1", history.Lost, nil, 3)
	event(4, "m3", history.Assigned, []int32{0}, 4)
	poll(3, 2, 6, 5)
	event(4, "m3", history.Revoked, nil, 6)
	return writeRun(dir, seed, b.ops, `{"seed":1,"scenario":"world","workload":"queue"}`)
}
