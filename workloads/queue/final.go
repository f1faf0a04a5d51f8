package queue

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weir-dev/weir/history"
)

// FinalReads reads every partition of cfg.Topic from its start up to the
// high watermark it had when FinalReads began, recording an assign and the
// polls as ops of FinalProcess, then a final op whose high watermarks are
// those of the partitions it read completely (ok), or fail if it read none.
// Call it after Run returned and the cluster healed, with ctx bounding how
// long it may take. The error is non-nil when some partition was not read
// completely; the history says which.
//
// "Completely" means a record at high watermark - 1 was read; a partition
// whose tail is a control record (transactions) would never count as read,
// which this workload does not produce.
func FinalReads(ctx context.Context, cfg Config, rec *history.Recorder) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	w := &worker{cfg: &cfg, rec: rec, process: FinalProcess}
	final := history.Final{Topic: cfg.Topic}
	// The polls are ops of the same process, so the final op is invoked
	// only once they are over: assign, polls, final invoke, final ok.
	finish := func(err error) error {
		rec.Record(history.Op{Process: w.process, Type: history.Invoke, F: history.FnFinal, Final: &history.Final{Topic: cfg.Topic}})
		op := history.Op{Process: w.process, Type: history.OK, F: history.FnFinal, Final: &final}
		if err != nil {
			op.Error = err.Error()
			if len(final.HighWatermarks) == 0 {
				op.Type = history.Fail
			}
		}
		rec.Record(op)
		return err
	}

	adm, err := cfg.client()
	if err != nil {
		return finish(err)
	}
	ac := kadm.NewClient(adm)
	starts, err := ac.ListStartOffsets(ctx, cfg.Topic)
	if err == nil {
		err = starts.Error()
	}
	var ends kadm.ListedOffsets
	if err == nil {
		ends, err = ac.ListEndOffsets(ctx, cfg.Topic)
	}
	if err == nil {
		err = ends.Error()
	}
	adm.Close()
	if err != nil {
		return finish(fmt.Errorf("list offsets: %w", err))
	}
	hwm := map[int32]int64{}
	next := map[int32]int64{} // one past the highest offset read, from the log start
	ends.Each(func(o kadm.ListedOffset) {
		if o.Topic == cfg.Topic {
			hwm[o.Partition] = o.Offset
		}
	})
	starts.Each(func(o kadm.ListedOffset) {
		if o.Topic == cfg.Topic {
			next[o.Partition] = o.Offset
		}
	})
	parts := make([]int32, 0, len(hwm))
	for p := range hwm {
		parts = append(parts, p)
	}
	slices.Sort(parts)

	pending := func() []int32 {
		var ps []int32
		for _, p := range parts {
			if next[p] < hwm[p] {
				ps = append(ps, p)
			}
		}
		return ps
	}
	if todo := pending(); len(todo) > 0 {
		rec.Record(history.Op{Process: w.process, Type: history.Invoke, F: history.FnAssign, Assign: &history.Assign{Topic: cfg.Topic, Partitions: todo}})
		cl, err := cfg.client(assignOpt(cfg.Topic, todo))
		if err != nil {
			rec.Record(history.Op{Process: w.process, Type: history.Fail, F: history.FnAssign, Assign: &history.Assign{Topic: cfg.Topic, Partitions: todo}, Error: err.Error()})
			return finish(err)
		}
		rec.Record(history.Op{Process: w.process, Type: history.OK, F: history.FnAssign, Assign: &history.Assign{Topic: cfg.Topic, Partitions: todo}})
		for len(pending()) > 0 && ctx.Err() == nil {
			p := w.poll(ctx, cl)
			for _, pr := range p.Reads {
				if pr.Topic != cfg.Topic {
					continue
				}
				for _, r := range pr.Records {
					next[pr.Partition] = max(next[pr.Partition], r.Offset+1)
				}
			}
		}
		cl.Close()
	}
	for _, p := range parts {
		if next[p] >= hwm[p] {
			final.HighWatermarks = append(final.HighWatermarks, history.PartitionMark{Partition: p, Offset: hwm[p]})
		}
	}
	if todo := pending(); len(todo) > 0 {
		var b strings.Builder
		for i, p := range todo {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d (read to %d of %d)", p, next[p], hwm[p])
		}
		return finish(fmt.Errorf("partitions not read to their high watermark: %s: %v", b.String(), ctx.Err()))
	}
	return finish(nil)
}
