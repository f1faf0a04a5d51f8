package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// Drain is how a pipeline workload ends once the cluster healed: a
// barrier record to every input partition, a processor without churn or
// crashes running until every barrier's offset is committed (bounded by
// Timeout), then the final read of every topic and of the group's
// committed offsets. The App answers a barrier
// with an output that names it, so the checkers know how far the
// processing got in each partition: every input record below a barrier
// that came out must have been processed.
type Drain struct {
	Processor Config // the run's processor; Drain turns its churn off
	// Barrier is the value of the attempt-th barrier of partition p
	// (attempts from 0; an unknown outcome sends another).
	Barrier func(p int32, attempt int) string
	Finals  []gen.FinalTarget
	// Timeout bounds the barriers and the processing, default 60s; the
	// final reads get their own ctx.
	Timeout time.Duration
}

// Run sends the barriers, processes until they are committed, then reads
// every final target. The error is a harness error or says what did not
// finish (the history records it all: a processing that did not get
// through leaves its barrier unanswered, an incomplete final read ends
// info).
func (d Drain) Run(ctx context.Context, rec *history.Recorder) error {
	if d.Timeout <= 0 {
		d.Timeout = 60 * time.Second
	}
	cfg := d.Processor
	cfg.Lifetime, cfg.CrashShare, cfg.CrashChance, cfg.AbortChance = 0, 0, 0, 0
	proc, err := New(cfg, rec)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	targets, berr := d.sendBarriers(dctx, &cfg, rec)
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		proc.Run(pctx)
	}()
	through := berr == nil && proc.WaitCommitted(dctx, targets)
	stop()
	<-done
	var errs []error
	if berr != nil {
		errs = append(errs, berr)
	} else if !through {
		errs = append(errs, fmt.Errorf("the processing did not get through the barriers within %v", d.Timeout))
	}
	for i, t := range d.Finals {
		if err := gen.FinalRead(ctx, cfg.Client, rec, i, t); err != nil {
			errs = append(errs, err)
		}
	}
	// The group's committed offsets, for lost-commit.
	if err := gen.FinalOffsets(ctx, cfg.Client, rec, cfg.Procs.New().ID, cfg.Group, cfg.Input); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// sendBarriers sends one barrier to every input partition, again after an
// unknown outcome, and returns the offset of each acknowledged one.
func (d Drain) sendBarriers(ctx context.Context, cfg *Config, rec *history.Recorder) (map[int32]int64, error) {
	s := gen.NewSender(cfg.Client, cfg.IDs, 0, 0, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()))
	defer s.Close()
	proc := cfg.Procs.New()
	out := map[int32]int64{}
	for p := range cfg.Partitions {
		for attempt := 0; ; attempt++ {
			if ctx.Err() != nil {
				return out, fmt.Errorf("barrier of %s/%d: %w", cfg.Input, p, ctx.Err())
			}
			value := d.Barrier(p, attempt)
			op, err := s.Send(ctx, rec, proc, func(int) (history.Send, *kgo.Record) {
				return history.Send{Topic: cfg.Input, Value: value}, &kgo.Record{Topic: cfg.Input, Partition: p, Value: []byte(value)}
			})
			if err != nil {
				return out, err
			}
			if op.Type == history.OK {
				out[p] = op.Send.Offset
				break
			}
			if op.Type == history.Fail {
				return out, fmt.Errorf("barrier of %s/%d refused: %s", cfg.Input, p, op.Error)
			}
		}
	}
	return out, nil
}
