package gen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
)

// PollValue turns fetches into a poll value, one read per partition the
// fetches answered (with or without records), sorted by topic and
// partition, plus the errors other than the poll's own deadline. Control
// records (transaction markers, kept by kgo.KeepControlRecords) are left
// out: they are not values anyone sent.
//
// The watermarks are the broker's answer (FetchPartition.HighWatermark and
// LogStartOffset). A partition that came with an error has none the
// history can trust: kgo injects errors (data loss, for one) as fetches
// whose watermarks are zero, so they are recorded as Unknown.
func PollValue(fs kgo.Fetches) (history.Poll, string) {
	var p history.Poll
	var errs []string
	fs.EachTopic(func(ft kgo.FetchTopic) {
		for _, fp := range ft.Partitions {
			if fp.Err != nil && (errors.Is(fp.Err, context.DeadlineExceeded) || errors.Is(fp.Err, context.Canceled)) {
				continue
			}
			if fp.Err != nil {
				errs = append(errs, fmt.Sprintf("%s/%d: %v", ft.Topic, fp.Partition, fp.Err))
			}
			if ft.Topic == "" || fp.Partition < 0 {
				continue // a client-wide error, not a partition's answer
			}
			pr := history.PartitionRead{Topic: ft.Topic, Partition: fp.Partition,
				HighWatermark: fp.HighWatermark, LogStartOffset: fp.LogStartOffset}
			if fp.Err != nil {
				pr.HighWatermark, pr.LogStartOffset, pr.Error = history.Unknown, history.Unknown, fp.Err.Error()
				var dl *kgo.ErrDataLoss
				if errors.As(fp.Err, &dl) {
					pr.DataLoss = &history.DataLoss{ConsumedTo: dl.ConsumedTo, ResetTo: dl.ResetTo}
				}
			}
			pr.HighWatermark = max(pr.HighWatermark, history.Unknown)
			pr.LogStartOffset = max(pr.LogStartOffset, history.Unknown)
			for _, r := range fp.Records {
				if r.Attrs.IsControl() {
					continue
				}
				pr.Records = append(pr.Records, recordValue(r))
			}
			p.Reads = append(p.Reads, pr)
		}
	})
	// A partition appears once per fetch; the stable sort keeps the
	// client's order if two fetches carry it.
	slices.SortStableFunc(p.Reads, func(a, b history.PartitionRead) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return p, strings.Join(errs, "; ")
}

// recordValue is the history's record of r. A tombstone (a null value)
// carries its history value in the history.TombstoneHeader header.
func recordValue(r *kgo.Record) history.Record {
	rec := history.Record{Offset: r.Offset, Key: string(r.Key), Value: string(r.Value)}
	if r.Value == nil {
		for _, h := range r.Headers {
			if h.Key == history.TombstoneHeader {
				rec.Value, rec.Tombstone = string(h.Value), true
			}
		}
	}
	return rec
}

// Poll records one PollFetches of cl by process, bounded by timeout, and
// returns the fetches with the recorded value.
func Poll(ctx context.Context, rec *history.Recorder, process int, cl *kgo.Client, timeout time.Duration) (kgo.Fetches, history.Poll) {
	rec.Record(history.Op{Process: process, Type: history.Invoke, F: history.FnPoll})
	pctx, cancel := context.WithTimeout(ctx, timeout)
	fs := cl.PollFetches(pctx)
	cancel()
	p, errs := PollValue(fs)
	op := history.Op{Process: process, Type: history.OK, F: history.FnPoll, Poll: &p}
	if errs != "" {
		op.Error = errs
		if len(p.Reads) == 0 {
			op.Type = history.Fail
		}
	}
	rec.Record(op)
	return fs, p
}
