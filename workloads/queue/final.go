package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weir-dev/weir/history"
)

// FinalReads is the final read of cfg.Topic: it lists every partition's log
// start and high watermark, then reads each partition from its log start up
// to that high watermark. Call it after Run returned and the cluster
// healed, with ctx bounding how long it may take.
//
// It records a final op of FinalProcess around the whole read (invoked
// before the listing, completed after the last poll), and the reading as
// an assign and polls of FinalReader. The final op completes
//   - ok when every partition the topic was created with was listed and
//     read to its high watermark;
//   - info ("incomplete") when some partition was not: listed but not read
//     that far before ctx ended, or not listed at all. Its marks say which;
//   - fail when nothing could be listed (the topic vanished, the cluster
//     did not answer).
//
// The error is non-nil unless the final op is ok; the history says why.
//
// "Read to its high watermark" means a record at high watermark - 1 or
// beyond was read; a partition whose tail is a control record
// (transactions) would never count as read, which this workload does not
// produce.
func FinalReads(ctx context.Context, cfg Config, rec *history.Recorder) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	final := &history.Final{Topic: cfg.Topic, Partitions: cfg.Partitions, Reader: FinalReader}
	inv := *final
	rec.Record(history.Op{Process: FinalProcess, Type: history.Invoke, F: history.FnFinal, Final: &inv})
	finish := func(typ history.Type, err error) error {
		op := history.Op{Process: FinalProcess, Type: typ, F: history.FnFinal, Final: final}
		if err != nil {
			op.Error = err.Error()
		}
		rec.Record(op)
		return err
	}

	marks, err := listMarks(ctx, &cfg)
	if err != nil {
		return finish(history.Fail, fmt.Errorf("list offsets: %w", err))
	}
	if todo := unread(marks); len(todo) > 0 {
		if err := readMarks(ctx, &cfg, rec, marks, todo); err != nil {
			final.Marks = sortedMarks(marks)
			return finish(history.Info, err)
		}
	}
	final.Marks = sortedMarks(marks)
	var missing []string
	for p := range cfg.Partitions {
		m, ok := marks[p]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("%d (not listed)", p))
		case !m.Complete:
			missing = append(missing, fmt.Sprintf("%d (read to %d of %d)", p, m.ReadTo, m.HighWatermark))
		}
	}
	if len(missing) > 0 {
		return finish(history.Info, fmt.Errorf("incomplete: partitions %s: %v", strings.Join(missing, ", "), ctx.Err()))
	}
	return finish(history.OK, nil)
}

// listMarks lists every partition's log start and high watermark, trying
// again every half second until an answer covers the topic or ctx ends.
func listMarks(ctx context.Context, cfg *Config) (map[int32]*history.FinalMark, error) {
	cl, err := cfg.client(finalHost)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for {
		marks, err := listOnce(ctx, adm, cfg.Topic)
		if err == nil && len(marks) > 0 {
			return marks, nil
		}
		if err == nil {
			err = errors.New("no partitions listed")
		}
		if !sleep(ctx, 500*time.Millisecond) {
			return nil, err
		}
	}
}

func listOnce(ctx context.Context, adm *kadm.Client, topic string) (map[int32]*history.FinalMark, error) {
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, err
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, err
	}
	marks := map[int32]*history.FinalMark{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Topic == topic {
			marks[o.Partition] = &history.FinalMark{Partition: o.Partition, HighWatermark: o.Offset}
		}
	})
	starts.Each(func(o kadm.ListedOffset) {
		if m := marks[o.Partition]; m != nil && o.Topic == topic {
			m.LogStartOffset, m.ReadTo = o.Offset, o.Offset
		}
	})
	for _, m := range marks {
		m.Complete = m.ReadTo >= m.HighWatermark
	}
	return marks, nil
}

// readMarks reads the partitions todo from their log start until each is
// read to its high watermark or ctx ends, updating their marks.
func readMarks(ctx context.Context, cfg *Config, rec *history.Recorder, marks map[int32]*history.FinalMark, todo []int32) error {
	w := &worker{cfg: cfg, rec: rec, process: FinalReader}
	a := &history.Assign{Topic: cfg.Topic, Partitions: todo}
	rec.Record(history.Op{Process: w.process, Type: history.Invoke, F: history.FnAssign, Assign: a})
	cl, err := cfg.client(finalHost, assignOpt(cfg.Topic, todo))
	if err != nil {
		rec.Record(history.Op{Process: w.process, Type: history.Fail, F: history.FnAssign, Assign: a, Error: err.Error()})
		return err
	}
	defer cl.Close()
	rec.Record(history.Op{Process: w.process, Type: history.OK, F: history.FnAssign, Assign: a})
	for len(unread(marks)) > 0 && ctx.Err() == nil {
		p := w.poll(ctx, cl)
		for _, pr := range p.Reads {
			m := marks[pr.Partition]
			if pr.Topic != cfg.Topic || m == nil {
				continue
			}
			for _, r := range pr.Records {
				m.ReadTo = max(m.ReadTo, r.Offset+1)
			}
			m.Complete = m.ReadTo >= m.HighWatermark
		}
	}
	if todo := unread(marks); len(todo) > 0 {
		var b strings.Builder
		for i, p := range todo {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d (read to %d of %d)", p, marks[p].ReadTo, marks[p].HighWatermark)
		}
		return fmt.Errorf("incomplete: partitions not read to their high watermark: %s: %v", b.String(), ctx.Err())
	}
	return nil
}

// unread returns the partitions not read to their high watermark, sorted.
func unread(marks map[int32]*history.FinalMark) []int32 {
	var ps []int32
	for p, m := range marks {
		if !m.Complete {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return ps
}

func sortedMarks(marks map[int32]*history.FinalMark) []history.FinalMark {
	out := make([]history.FinalMark, 0, len(marks))
	for _, m := range marks {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b history.FinalMark) int { return int(a.Partition - b.Partition) })
	return out
}
