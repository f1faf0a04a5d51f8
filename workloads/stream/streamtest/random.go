package streamtest

import (
	"math/rand/v2"
	"time"

	"pgregory.net/rapid"
)

// Draws is where a random script's choices come from: rapid (Rapid: a
// failing script shrinks to a short one) or a seeded generator (Seeded: a
// script is replayed by its seed, so a search over seeds is the same on
// every run).
type Draws interface {
	// IntRange returns an int in [lo, hi]; label names the choice.
	IntRange(lo, hi int, label string) int
}

// Rapid draws from t.
func Rapid(t *rapid.T) Draws { return rapidDraws{t} }

type rapidDraws struct{ t *rapid.T }

func (d rapidDraws) IntRange(lo, hi int, label string) int {
	return rapid.IntRange(lo, hi).Draw(d.t, label)
}

// Seeded draws from a generator seeded with seed.
func Seeded(seed uint64) Draws { return seeded{rand.New(rand.NewPCG(seed, 0x5eed))} }

type seeded struct{ rng *rand.Rand }

func (d seeded) IntRange(lo, hi int, _ string) int { return lo + d.rng.IntN(hi-lo+1) }

// RandomRun plays a script drawn from d on pl: the sends (each sends one
// input record) interleaved with batches of random size on random
// partitions, each committed, aborted (transactional pipelines), or
// crashed before writing or before committing, with takeovers by new
// members and the clock moving on; then every send left and Finish.
func RandomRun(d Draws, pl *Pipeline, sends []func(), barrier func(p int32, attempt int) string) {
	ends := []End{Commit, Commit, Commit, CrashBeforeWrite, CrashBeforeCommit}
	if pl.cfg.Transactional {
		ends = append(ends, Abort, Abort)
	}
	m := pl.Member()
	next := 0
	steps := d.IntRange(0, 3*len(sends)+4, "steps")
	for range steps {
		switch d.IntRange(0, 9, "action") {
		case 0, 1, 2, 3:
			if next < len(sends) {
				sends[next]()
				next++
			}
		case 4, 5, 6, 7:
			p := int32(d.IntRange(0, int(pl.cfg.Partitions)-1, "partition"))
			n := d.IntRange(1, 6, "records")
			end := ends[d.IntRange(0, len(ends)-1, "end")]
			m.Batch(p, n, end)
			if m.dead {
				m = pl.Member()
			}
		case 8:
			m = pl.Member() // a takeover: the old member is never used again
		default:
			pl.c.Advance(time.Duration(d.IntRange(1, 2000, "advance ms")) * time.Millisecond)
		}
	}
	for ; next < len(sends); next++ {
		sends[next]()
	}
	pl.Finish(barrier)
}
