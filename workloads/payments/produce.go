package payments

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// commander draws commands for one process.
type commander struct {
	cfg  *Config
	rng  *rand.Rand
	proc *gen.Process
	cum  []float64 // cumulative Zipf weights of a branch's accounts
	n    int
	id   int // the process the ids count for
}

func newCommander(cfg *Config, rng *rand.Rand, proc *gen.Process) *commander {
	c := &commander{cfg: cfg, rng: rng, proc: proc, id: proc.ID}
	total := 0.0
	for i := range cfg.Accounts {
		total += 1 / math.Pow(float64(i+1), cfg.Skew)
		c.cum = append(c.cum, total)
	}
	return c
}

func (c *commander) pick() int {
	i, _ := slices.BinarySearch(c.cum, c.rng.Float64()*c.cum[len(c.cum)-1])
	return min(i, c.cfg.Accounts-1)
}

// next draws a command at event time ms; ids are "p<process>.<n>", n
// counting again from 0 when the process crashed (it has a new id).
func (c *commander) next(ms int64) command {
	if c.proc.ID != c.id {
		c.id, c.n = c.proc.ID, 0
	}
	c.n++
	b := c.rng.IntN(c.cfg.Branches)
	cmd := command{ID: fmt.Sprintf("p%d.%d", c.id, c.n), Acct: account(b, c.pick()), Ms: ms}
	switch x := c.rng.IntN(10); {
	case x < 3:
		cmd.Kind, cmd.Amount = "deposit", 10+c.rng.Int64N(91)
	case x < 7:
		cmd.Kind, cmd.Amount = "withdraw", 5+c.rng.Int64N(76)
	default:
		cmd.Kind, cmd.Amount = "transfer", 5+c.rng.Int64N(76)
		to := c.rng.IntN(c.cfg.Accounts - 1)
		if account(b, to) == cmd.Acct {
			to = c.cfg.Accounts - 1
		}
		cmd.To = account(b, to)
	}
	return cmd
}

// produce runs the producer clients until ctx ends.
func produce(ctx context.Context, cfg *Config, rec *history.Recorder, procs *gen.Procs, ids *gen.Counter) error {
	g := gen.NewGroup(ctx)
	for range cfg.Producers {
		s := gen.NewSender(cfg.Client, ids, 0, cfg.Rate, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(2*time.Millisecond))
		var lanes []func(context.Context) error
		for range cfg.InFlight {
			proc := procs.New()
			cm := newCommander(cfg, gen.Child(cfg.Rand), proc)
			lanes = append(lanes, func(ctx context.Context) error {
				for ctx.Err() == nil {
					if !s.Pacer.Wait(ctx, cm.rng) {
						return nil
					}
					cmd := cm.next(rec.Now() / 1e6 * cfg.TimeScale)
					v := cmd.String()
					branch, _ := branchOf(cmd.Acct)
					if _, err := s.Send(ctx, rec, proc, func(int) (history.Send, *kgo.Record) {
						return history.Send{Topic: cfg.Topic, Key: branch, Value: v}, &kgo.Record{Topic: cfg.Topic, Key: []byte(branch), Value: []byte(v)}
					}); err != nil {
						return err
					}
				}
				return nil
			})
		}
		g.GoAll(lanes, s.Close)
	}
	return g.Wait()
}
