package streamtest

import (
	"time"

	"pgregory.net/rapid"
)

// RandomRun plays a script drawn by t on pl: the sends (each sends one
// input record) interleaved with batches of random size on random
// partitions, each committed, aborted (transactional pipelines), or
// crashed before writing or before committing, with takeovers by new
// members and the clock moving on; then every send left and Finish. The
// steps come from t, so rapid shrinks a failing script to a short one.
func RandomRun(t *rapid.T, pl *Pipeline, sends []func(), barrier func(p int32, attempt int) string) {
	ends := []End{Commit, Commit, Commit, CrashBeforeWrite, CrashBeforeCommit}
	if pl.cfg.Transactional {
		ends = append(ends, Abort, Abort)
	}
	m := pl.Member()
	next := 0
	steps := rapid.IntRange(0, 3*len(sends)+4).Draw(t, "steps")
	for range steps {
		switch rapid.IntRange(0, 9).Draw(t, "action") {
		case 0, 1, 2, 3:
			if next < len(sends) {
				sends[next]()
				next++
			}
		case 4, 5, 6, 7:
			p := rapid.Int32Range(0, pl.cfg.Partitions-1).Draw(t, "partition")
			n := rapid.IntRange(1, 6).Draw(t, "records")
			end := rapid.SampledFrom(ends).Draw(t, "end")
			m.Batch(p, n, end)
			if m.dead {
				m = pl.Member()
			}
		case 8:
			m = pl.Member() // a takeover: the old member is never used again
		default:
			pl.c.Advance(time.Duration(rapid.IntRange(1, 2000).Draw(t, "advance ms")) * time.Millisecond)
		}
	}
	for ; next < len(sends); next++ {
		sends[next]()
	}
	pl.Finish(barrier)
}
