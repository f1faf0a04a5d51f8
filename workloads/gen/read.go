package gen

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
)

// Read is a read of a topic's partitions from their log start to their end.
type Read struct {
	Topic string
	// Partitions to read; nil reads every partition the listing returns.
	Partitions []int32
	// ReadCommitted reads with isolation level read_committed, after
	// waiting until no transaction is open below the high watermark.
	ReadCommitted bool
	// DefectReadUncommitted, a planted defect, reads read_uncommitted (and
	// does not wait for open transactions) while the history says
	// ReadCommitted.
	DefectReadUncommitted bool
	// Visit, if set, gets every data record read, in offset order per
	// partition (not control records).
	Visit func(*kgo.Record)
}

// ReadToEnd lists the partitions' log start and high watermark, then reads
// each from its log start to that high watermark, recording the reading as
// an assign and polls of process. With ReadCommitted it first waits, trying
// every half second, until the last stable offset of every partition
// reached its high watermark: a transaction still open there would hold the
// read back (a crashed producer's is aborted by its timeout).
//
// It returns a mark per partition listed; the error is non-nil unless every
// requested partition (every listed one, for nil) was read completely: a
// read that ended with ctx, or a listing that never covered them.
func ReadToEnd(ctx context.Context, cc ClientConfig, rec *history.Recorder, process int, r Read) (map[int32]*history.FinalMark, error) {
	marks, err := listMarks(ctx, cc, r)
	if err != nil {
		return marks, err
	}
	if todo := unread(marks); len(todo) > 0 {
		return marks, readMarks(ctx, cc, rec, process, r, marks, todo)
	}
	return marks, nil // a listing without error has every partition asked for
}

// listMarks lists the log start and high watermark of r's partitions,
// trying again every half second until an answer covers them (and, with
// ReadCommitted, no transaction is open below a high watermark) or ctx
// ends. It returns the last listing it had with the error. Each listing
// asks the leaders in the newest leader epoch any broker knows of
// (freshestLeaders), never a stale image's.
func listMarks(ctx context.Context, cc ClientConfig, r Read) (map[int32]*history.FinalMark, error) {
	cl, err := cc.New()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var last map[int32]*history.FinalMark
	for {
		leaders, err := freshestLeaders(ctx, cl, r.Topic)
		var marks map[int32]*history.FinalMark
		if err == nil {
			marks, err = listOnce(ctx, cl, r, leaders)
		}
		if err == nil {
			last = marks
			if len(marks) == 0 { // listAt lists every partition asked for, or fails
				err = errors.New("no partitions listed")
			}
		}
		if err == nil && r.ReadCommitted && !r.DefectReadUncommitted {
			err = openTransactions(ctx, cl, r.Topic, leaders, marks)
		}
		if err == nil {
			return marks, nil
		}
		if !Sleep(ctx, 500*time.Millisecond) {
			return last, err
		}
	}
}

// listOnce lists the start and end of r's partitions (every partition the
// freshest metadata has, for nil) from their leaders.
func listOnce(ctx context.Context, cl *kgo.Client, r Read, leaders map[int32]leaderAt) (map[int32]*history.FinalMark, error) {
	ps := r.Partitions
	if ps == nil {
		ps = slices.Sorted(maps.Keys(leaders))
	}
	starts, err := listAt(ctx, cl, r.Topic, leaders, ps, -2, 0)
	if err != nil {
		return nil, err
	}
	ends, err := listAt(ctx, cl, r.Topic, leaders, ps, -1, 0)
	if err != nil {
		return nil, err
	}
	marks := make(map[int32]*history.FinalMark, len(ps))
	for _, p := range ps {
		marks[p] = &history.FinalMark{Partition: p, HighWatermark: ends[p], LogStartOffset: starts[p], ReadTo: starts[p], Complete: starts[p] >= ends[p]}
	}
	return marks, nil
}

// openTransactions returns an error naming the partitions whose last
// stable offset is below their listed high watermark.
func openTransactions(ctx context.Context, cl *kgo.Client, topic string, leaders map[int32]leaderAt, marks map[int32]*history.FinalMark) error {
	ps := slices.Sorted(maps.Keys(marks))
	lsos, err := listAt(ctx, cl, topic, leaders, ps, -1, 1)
	if err != nil {
		return err
	}
	var open []string
	for _, p := range ps {
		if lsos[p] < marks[p].HighWatermark {
			open = append(open, fmt.Sprintf("%d (stable to %d of %d)", p, lsos[p], marks[p].HighWatermark))
		}
	}
	if len(open) > 0 {
		return fmt.Errorf("transactions open in %s partitions %s", topic, strings.Join(open, ", "))
	}
	return nil
}

// readMarks reads the partitions todo from their log start until each is
// read to its high watermark or ctx ends, updating their marks.
func readMarks(ctx context.Context, cc ClientConfig, rec *history.Recorder, process int, r Read, marks map[int32]*history.FinalMark, todo []int32) error {
	a := &history.Assign{Topic: r.Topic, Partitions: todo, ReadCommitted: r.ReadCommitted}
	rec.Record(history.Op{Process: process, Type: history.Invoke, F: history.FnAssign, Assign: a})
	offsets := make(map[int32]kgo.Offset, len(todo))
	for _, p := range todo {
		offsets[p] = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{r.Topic: offsets}), kgo.KeepControlRecords()}
	if r.ReadCommitted && !r.DefectReadUncommitted {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := cc.New(opts...)
	if err != nil {
		rec.Record(history.Op{Process: process, Type: history.Fail, F: history.FnAssign, Assign: a, Error: err.Error()})
		return err
	}
	defer cl.Close()
	rec.Record(history.Op{Process: process, Type: history.OK, F: history.FnAssign, Assign: a})
	_, pollTimeout := cc.Timeouts()
	for len(unread(marks)) > 0 && ctx.Err() == nil {
		fs, _ := Poll(ctx, rec, process, cl, pollTimeout)
		if fs.NumRecords() == 0 {
			// The client may be fetching from a stale leader whose log
			// ends below the listed end (freshestLeaders): kgo asks for
			// metadata again only on errors, so ask it to.
			cl.ForceMetadataRefresh()
		}
		fs.EachRecord(func(rd *kgo.Record) {
			m := marks[rd.Partition]
			if rd.Topic != r.Topic || m == nil {
				return
			}
			m.ReadTo = max(m.ReadTo, rd.Offset+1)
			m.Complete = m.ReadTo >= m.HighWatermark
			if r.Visit != nil && !rd.Attrs.IsControl() {
				r.Visit(rd)
			}
		})
	}
	if todo := unread(marks); len(todo) > 0 {
		var b strings.Builder
		for i, p := range todo {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d (read to %d of %d)", p, marks[p].ReadTo, marks[p].HighWatermark)
		}
		return fmt.Errorf("incomplete: %s partitions not read to their high watermark: %s: %v", r.Topic, b.String(), ctx.Err())
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

// FinalTarget is one topic a run's final read covers.
type FinalTarget struct {
	Topic         string
	Partitions    int32 // the partitions the topic was created with
	ReadCommitted bool
	// Compacted: the topic has cleanup.policy=compact (history.Final.
	// Compacted), so the checkers judge it by the last record of each key.
	Compacted bool
}

// FinalRead is the final read of one topic, the i-th of the run (its
// processes are FinalProcesses(i)): call it after the workload stopped and
// the cluster healed, with ctx bounding how long it may take.
//
// It records a final op around the whole read (invoked before the
// listing, completed after the last poll), and the reading as an assign and
// polls of the final reader. The final op completes
//   - ok when every partition the topic was created with was listed and
//     read to its high watermark;
//   - info ("incomplete") when some partition was not: listed but not read
//     that far before ctx ended, or not listed at all. Its marks say which;
//   - fail when nothing could be listed (the topic vanished, the cluster
//     did not answer).
//
// The error is non-nil unless the final op is ok; the history says why.
func FinalRead(ctx context.Context, cc ClientConfig, rec *history.Recorder, i int, t FinalTarget) error {
	proc, reader := FinalProcesses(i)
	final := &history.Final{Topic: t.Topic, Partitions: t.Partitions, Reader: reader, Compacted: t.Compacted}
	inv := *final
	rec.Record(history.Op{Process: proc, Type: history.Invoke, F: history.FnFinal, Final: &inv})
	finish := func(typ history.Type, err error) error {
		op := history.Op{Process: proc, Type: typ, F: history.FnFinal, Final: final}
		if err != nil {
			op.Error = err.Error()
		}
		rec.Record(op)
		return err
	}
	marks, err := ReadToEnd(ctx, cc, rec, reader, Read{Topic: t.Topic, ReadCommitted: t.ReadCommitted})
	final.Marks = sortedMarks(marks)
	if len(marks) == 0 {
		if err == nil {
			err = errors.New("no partitions listed")
		}
		return finish(history.Fail, fmt.Errorf("list offsets: %w", err))
	}
	if err != nil {
		return finish(history.Info, err)
	}
	var missing []string
	for p := range t.Partitions {
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

func sortedMarks(marks map[int32]*history.FinalMark) []history.FinalMark {
	out := make([]history.FinalMark, 0, len(marks))
	for _, m := range marks {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b history.FinalMark) int { return int(a.Partition - b.Partition) })
	return out
}
