package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
)

// consume polls until ctx ends. It starts with subscribe if subscribe is
// set, else with assign, and before each poll may re-assign or re-subscribe.
func (w *worker) consume(ctx context.Context, subscribe bool) error {
	var cl *kgo.Client
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	for ctx.Err() == nil {
		if cl == nil || w.rng.Float64() < w.cfg.ReassignChance {
			if cl != nil {
				cl.Close()
				subscribe = w.rng.IntN(2) == 0
			}
			var err error
			if cl, err = w.start(subscribe); err != nil {
				return err
			}
		}
		w.poll(ctx, cl)
		sleep(ctx, w.cfg.PollInterval)
	}
	return nil
}

// start records an assign or subscribe and returns the client doing it.
func (w *worker) start(subscribe bool) (*kgo.Client, error) {
	var op history.Op
	var opt kgo.Opt
	if subscribe {
		op = history.Op{F: history.FnSubscribe, Subscribe: &history.Subscribe{Topics: []string{w.cfg.Topic}}}
		opt = kgo.ConsumeTopics(w.cfg.Topic)
	} else {
		// A random non-empty subset of the partitions.
		var ps []int32
		for len(ps) == 0 {
			for p := range w.cfg.Partitions {
				if w.rng.IntN(2) == 0 {
					ps = append(ps, p)
				}
			}
		}
		op = history.Op{F: history.FnAssign, Assign: &history.Assign{Topic: w.cfg.Topic, Partitions: ps}}
		opt = assignOpt(w.cfg.Topic, ps)
	}
	inv := op
	inv.Process, inv.Type = w.process, history.Invoke
	w.rec.Record(inv)
	cl, err := w.cfg.client(w.host, opt, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	op.Process, op.Type = w.process, history.OK
	if err != nil {
		op.Type, op.Error = history.Fail, err.Error()
	}
	w.rec.Record(op)
	return cl, err
}

func assignOpt(topic string, ps []int32) kgo.Opt {
	m := make(map[int32]kgo.Offset, len(ps))
	for _, p := range ps {
		m[p] = kgo.NewOffset().AtStart()
	}
	return kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: m})
}

// poll records one PollFetches of cl, bounded by PollTimeout.
func (w *worker) poll(ctx context.Context, cl *kgo.Client) history.Poll {
	w.rec.Record(history.Op{Process: w.process, Type: history.Invoke, F: history.FnPoll})
	pctx, cancel := context.WithTimeout(ctx, w.cfg.PollTimeout)
	fs := cl.PollFetches(pctx)
	cancel()
	p, errs := pollValue(fs)
	op := history.Op{Process: w.process, Type: history.OK, F: history.FnPoll, Poll: &p}
	if errs != "" {
		op.Error = errs
		if len(p.Reads) == 0 {
			op.Type = history.Fail
		}
	}
	w.rec.Record(op)
	return p
}

// pollValue turns fetches into a poll value, one read per partition the
// fetches answered (with or without records), sorted by topic and
// partition, plus the errors other than the poll's own deadline.
//
// The watermarks are the broker's answer (FetchPartition.HighWatermark and
// LogStartOffset). A partition that came with an error has none the
// history can trust: kgo injects errors (data loss, for one) as fetches
// whose watermarks are zero, so they are recorded as Unknown.
func pollValue(fs kgo.Fetches) (history.Poll, string) {
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
				pr.Records = append(pr.Records, history.Record{Offset: r.Offset, Key: string(r.Key), Value: string(r.Value)})
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
