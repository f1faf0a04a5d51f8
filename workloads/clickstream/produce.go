package clickstream

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/stream"
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

// producers are the run's producer clients: client i sends the events of
// its share of the users, each lane drawing from a random source of its
// own.
func (c *Config) producers() stream.Producers {
	return stream.Producers{Topic: c.Topic, Clients: c.Producers, InFlight: c.InFlight, Rate: c.Rate,
		NewClient: func(i int) func(*gen.Process) stream.Lane {
			us := newUsers(c, i)
			return func(*gen.Process) stream.Lane {
				rng := gen.Child(c.Rand)
				return stream.Lane{Rand: rng, Next: func(now int64) (string, string) {
					e := us.next(rng, now/1e6, c.Jitter.Milliseconds())
					return e.User, e.String()
				}}
			}
		}}
}
