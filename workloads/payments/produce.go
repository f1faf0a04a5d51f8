package payments

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/stream"
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

// producers are the run's producer clients: each lane draws its commands
// (keyed by branch) from a commander of its own.
func (c *Config) producers() stream.Producers {
	return stream.Producers{Topic: c.Topic, Clients: c.Producers, InFlight: c.InFlight, Rate: c.Rate,
		NewClient: func(int) func(*gen.Process) stream.Lane {
			return func(proc *gen.Process) stream.Lane {
				cm := newCommander(c, gen.Child(c.Rand), proc)
				return stream.Lane{Rand: cm.rng, Next: func(now int64) (string, string) {
					cmd := cm.next(now / 1e6 * c.TimeScale)
					branch, _ := branchOf(cmd.Acct)
					return branch, cmd.String()
				}}
			}
		}}
}
