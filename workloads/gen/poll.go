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

// ReadCommitted is the kgo options of a read_committed consumer whose
// polls are recorded: isolation level read_committed, and control records
// kept (PollValue leaves them out of the history).
//
// Keeping them is what makes kgo's position carry the leader epoch of the
// last batch it read, transaction markers included, as the Java consumer's
// does (KIP-320: its CompletedFetch takes lastEpoch from every batch,
// control and aborted ones too). Without them kgo pairs an offset past
// trailing markers with the epoch of the last data record before them.
// When a marker was written in a later leader epoch than that record, the
// position check after the next leader change asks OffsetForLeaderEpoch
// for the older epoch; the leader answers, as Kafka's does, where that
// epoch ends, which is the first such marker, below the position; and kgo
// reports a data loss (ErrDataLoss) that never happened and rewinds to it.
// The history would then record a watermark regression the broker did not
// make. An aborted transaction's batch is the exception kgo keeps: it drops
// it even with control records kept, without its epoch, so a position past
// one of a later epoch can still be reported lost
// (TestKgoPositionPastAnAbortedBatchReportsAFalseLoss; the checker leaves
// such a report alone when the client returned nothing in its range).
func ReadCommitted() []kgo.Opt {
	return []kgo.Opt{kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords()}
}

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
//
// Each read carries the leader epochs of the batches it returned
// (PartitionRead.Epochs, control batches included) and, with cl (the
// client that polled; nil: unknown), the partition's leader epoch in cl's
// metadata as the poll returned (PartitionRead.LeaderEpoch). kgo's fetch
// carries its cursor's epoch, which its metadata sets and which only
// grows, so the broker answered in that epoch or an earlier one: an upper
// bound, the safe side for the checkers (a later epoch than the real one
// makes them judge the read as the current leader's).
func PollValue(fs kgo.Fetches, cl *kgo.Client) (history.Poll, string) {
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
				pr.Epochs = addEpoch(pr.Epochs, r.LeaderEpoch, r.Offset)
				if r.Attrs.IsControl() {
					continue
				}
				pr.Records = append(pr.Records, recordValue(r))
			}
			if fp.Err == nil {
				pr.LeaderEpoch = servingEpoch(cl, ft.Topic, fp.Partition, pr.Epochs)
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

// addEpoch adds the epoch of a record at offset to es, the epochs of a
// read in offset order, if it starts one there.
func addEpoch(es []history.EpochStart, epoch int32, offset int64) []history.EpochStart {
	if epoch < 0 || len(es) > 0 && (epoch <= es[len(es)-1].Epoch || offset <= es[len(es)-1].Offset) {
		return es
	}
	return append(es, history.EpochStart{Epoch: epoch, Offset: offset})
}

// servingEpoch is the latest leader epoch a read of topic/p returning
// batches of epochs es can have been answered in: cl's epoch for it, and at
// least the latest batch's. Nil if cl knows none.
func servingEpoch(cl *kgo.Client, topic string, p int32, es []history.EpochStart) *int32 {
	if cl == nil {
		return nil
	}
	_, epoch, err := cl.PartitionLeader(topic, p)
	if err != nil || epoch < 0 {
		return nil
	}
	if n := len(es); n > 0 {
		epoch = max(epoch, es[n-1].Epoch)
	}
	return &epoch
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
	return PollWith(rec, process, false, cl, func() kgo.Fetches {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return cl.PollFetches(pctx)
	})
}

// PollWith records one poll by process, made by poll (a PollRecords, a
// GroupTransactSession's poll), and returns the fetches with the recorded
// value. With unsure, the poll may return the rest of a fetch made before
// the client's previous poll began (that poll stopped at its record
// limit; kgo keeps the rest buffered): the checkers take a read to have
// happened after the previous poll that returned its partition began, so
// the watermarks, which are the fetch's, are recorded as unknown, and so
// is the leader epoch. cl is the client poll reads through (for the leader
// epochs, PollValue; nil: unknown).
func PollWith(rec *history.Recorder, process int, unsure bool, cl *kgo.Client, poll func() kgo.Fetches) (kgo.Fetches, history.Poll) {
	rec.Record(history.Op{Process: process, Type: history.Invoke, F: history.FnPoll})
	fs := poll()
	p, errs := PollValue(fs, cl)
	if unsure {
		for i := range p.Reads {
			p.Reads[i].HighWatermark, p.Reads[i].LogStartOffset = history.Unknown, history.Unknown
			p.Reads[i].LeaderEpoch = nil
		}
	}
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
