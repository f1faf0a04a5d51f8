package clickstream

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

// users is one producer client's users and what it has sent for each. It
// is only touched inside a Sender's Build, under the Sender's lock.
type users struct {
	names []string
	cum   []float64 // cumulative Zipf weights
	seq   map[string]int
}

// newUsers gives client i of n its share of the users: user u goes
// through client u mod n.
func newUsers(cfg *Config, i int) *users {
	us := &users{seq: map[string]int{}}
	total := 0.0
	for u := i; u < cfg.Users; u += cfg.Producers {
		us.names = append(us.names, fmt.Sprintf("u%d", u))
		total += 1 / math.Pow(float64(len(us.names)), max(cfg.Skew, 0))
		us.cum = append(us.cum, total)
	}
	return us
}

// next draws a user and makes its next event, at event time now (ms).
func (us *users) next(rng *rand.Rand, nowMs int64, jitterMs int64) event {
	x := rng.Float64() * us.cum[len(us.cum)-1]
	i, _ := slices.BinarySearch(us.cum, x)
	u := us.names[min(i, len(us.names)-1)]
	us.seq[u]++
	kind := "view"
	if rng.IntN(3) == 0 {
		kind = "click"
	}
	ms := nowMs
	if jitterMs > 0 {
		ms += rng.Int64N(2*jitterMs+1) - jitterMs
	}
	return event{User: u, Seq: us.seq[u], Kind: kind, Ms: max(ms, 0)}
}

// produce runs the producer clients until ctx ends.
func produce(ctx context.Context, cfg *Config, rec *history.Recorder, procs *gen.Procs, ids *gen.Counter) error {
	g := gen.NewGroup(ctx)
	for i := range cfg.Producers {
		s := gen.NewSender(cfg.Client, ids, 0, cfg.Rate, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(2*time.Millisecond))
		us := newUsers(cfg, i)
		var lanes []func(context.Context) error
		for range cfg.InFlight {
			rng, proc := gen.Child(cfg.Rand), procs.New()
			lanes = append(lanes, func(ctx context.Context) error {
				for ctx.Err() == nil {
					if !s.Pacer.Wait(ctx, rng) {
						return nil
					}
					_, err := s.Send(ctx, rec, proc, func(int) (history.Send, *kgo.Record) {
						e := us.next(rng, rec.Now()/1e6, cfg.Jitter.Milliseconds())
						v := e.String()
						return history.Send{Topic: cfg.Topic, Key: e.User, Value: v}, &kgo.Record{Topic: cfg.Topic, Key: []byte(e.User), Value: []byte(v)}
					})
					if err != nil {
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
