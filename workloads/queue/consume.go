package queue

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// consume polls until ctx ends. It starts with subscribe if subscribe is
// set, else with assign, and before each poll may re-assign or re-subscribe.
func (w *worker) consume(ctx context.Context, subscribe bool) error {
	if w.cfg.Group.Name != "" {
		return w.groupConsume(ctx)
	}
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
		gen.Sleep(ctx, w.cfg.PollInterval)
	}
	return nil
}

// start records an assign or subscribe and returns the client doing it.
func (w *worker) start(subscribe bool) (*kgo.Client, error) {
	var op history.Op
	var opt kgo.Opt
	if subscribe {
		op = history.Op{F: history.FnSubscribe, Subscribe: &history.Subscribe{Topics: []string{w.cfg.Topic}, ReadCommitted: w.cfg.readCommitted()}}
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
		op = history.Op{F: history.FnAssign, Assign: &history.Assign{Topic: w.cfg.Topic, Partitions: ps, ReadCommitted: w.cfg.readCommitted()}}
		opt = assignOpt(w.cfg.Topic, ps)
	}
	inv := op
	inv.Process, inv.Type = w.proc.ID, history.Invoke
	w.rec.Record(inv)
	cl, err := w.cfg.client(w.host, append(w.cfg.isolation(), opt, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	op.Process, op.Type = w.proc.ID, history.OK
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
func (w *worker) poll(ctx context.Context, cl *kgo.Client) {
	gen.Poll(ctx, w.rec, w.proc.ID, cl, w.cfg.PollTimeout)
}
