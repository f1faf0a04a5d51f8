package faults

import (
	"math/rand/v2"
	"time"
)

// AlterWindowConfig says what LateAlterWindows draws.
type AlterWindowConfig struct {
	// Brokers are the broker hosts: the leaders whose AlterPartition is
	// held and the followers crashed. Fewer than three draw nothing.
	Brokers []string
	// AlterPartition is the Kafka API key the arms match (kmsg's
	// AlterPartition; faults does not import kmsg).
	AlterPartition int16
	Duration       time.Duration // the safety phase
	// MeanGap is the mean quiet time before each window (exponential);
	// 0 means Duration/4.
	MeanGap time.Duration
	// Busy is the schedule the windows go around: a window's crashes
	// fall only where Busy has no node down, so that the two together
	// never take more than one node down at once and never crash or
	// restart a node Busy has down.
	Busy Schedule
}

// The timeline of a window, from its start.
const (
	alterDownMin, alterDownMax     = 200 * time.Millisecond, time.Second // each follower's downtime
	alterSecondMin, alterSecondMax = 3 * time.Second, 5 * time.Second    // from the first restart to the second crash
	alterHoldMin, alterHoldMax     = 9 * time.Second, 13 * time.Second   // how late the held changes land
	alterMargin                    = 2 * time.Second                     // quiet around the crashes
)

// LateAlterWindows draws late-AlterPartition windows: the moment where a
// leader's ISR change, computed from one partition epoch, reaches the
// controller after the controller changed the ISR itself and a member it
// removed came back. In each window two brokers X and M crash in turn,
// and every other broker's next AlterPartition, with what follows it on
// that connection, is held 9-13 s:
//
//   - X crashes and restarts within a second. Re-registering, it is
//     taken out of every ISR (a new partition epoch); once it has caught
//     up, each leader of a partition of X proposes the ISR with X back,
//     and that proposal is held.
//   - 3-5 s after X's restart M crashes and restarts within a second:
//     the controller takes it out of every ISR (another partition
//     epoch), and unfences it at its first heartbeat.
//   - The held proposals then land. Each names the partition epoch from
//     before M's removal and an ISR with M in it: a correct controller
//     refuses them (INVALID_UPDATE_VERSION) and the leader proposes again
//     from the new epoch; a controller that skips the partition epoch
//     check writes M back into the ISR without its having caught up.
//
// The heartbeats travel apart from the AlterPartitions (the metadata
// quorum's connection of its own), so the leaders stay unfenced. The arms
// are healed at M's crash (a proposal not written by then is not of this
// window), and every hold lands within the safety phase.
//
// It is drawn apart from Generate, from an rng of its own, so that adding
// it to a run leaves the rest of the schedule as it was. The events come
// sorted as Generate sorts them.
func LateAlterWindows(rng *rand.Rand, cfg AlterWindowConfig) []Event {
	if len(cfg.Brokers) < 3 || cfg.Duration <= 0 {
		return nil
	}
	if cfg.MeanGap <= 0 {
		cfg.MeanGap = cfg.Duration / 4
	}
	busy := downSpans(cfg.Busy)
	between := func(lo, hi time.Duration) time.Duration {
		return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
	}
	var out []Event
	t := time.Duration(0)
	for {
		t += time.Duration(rng.ExpFloat64() * float64(cfg.MeanGap))
		// Drawn whole before the checks, so that every window consumes
		// the rng alike.
		downX := between(alterDownMin, alterDownMax)
		second := downX + between(alterSecondMin, alterSecondMax)
		downM := between(alterDownMin, alterDownMax)
		hold := between(alterHoldMin, alterHoldMax)
		i := rng.IntN(len(cfg.Brokers))
		j := (i + 1 + rng.IntN(len(cfg.Brokers)-1)) % len(cfg.Brokers)
		if t+second+hold > cfg.Duration {
			sortEvents(out)
			return out
		}
		if end, ok := overlaps(busy, t-alterMargin, t+second+downM+alterMargin); ok {
			t = end
			continue
		}
		x, m := cfg.Brokers[i], cfg.Brokers[j]
		out = append(out,
			Event{At: t, Op: OpCrash, Node: x, Keep: rng.Float64()},
			Event{At: t + downX, Op: OpRestart, Node: x},
			Event{At: t + second, Op: OpCrash, Node: m, Keep: rng.Float64()},
			Event{At: t + second + downM, Op: OpRestart, Node: m})
		for _, b := range cfg.Brokers {
			if b != x && b != m {
				out = append(out,
					Event{At: t, Op: OpLateRequest, Node: b, Request: cfg.AlterPartition, Hold: hold},
					Event{At: t + second, Op: OpLateRequestHeal, Node: b})
			}
		}
		t += second + downM + alterMargin
	}
}

// span is a stretch of a schedule, [from, to).
type span struct{ from, to time.Duration }

// downSpans are the stretches of s in which some node is down: crashed
// (a triggered crash counts from when it is armed), paused, or in a
// lone-leader window.
func downSpans(s Schedule) []span {
	var out []span
	down := map[string]bool{}
	var from time.Duration
	for _, e := range s.Events {
		key := e.Node
		if e.Op == OpLoneLeader || e.Op == OpLoneLeaderHeal {
			key = loneLeaderNode
		}
		switch e.Op {
		case OpCrash, OpPause, OpLoneLeader:
			if len(down) == 0 {
				from = e.At
			}
			down[key] = true
		case OpRestart, OpResume, OpLoneLeaderHeal:
			if e.Op == OpRestart && e.Ops > 0 {
				continue // it crashes the node again: still down
			}
			delete(down, key)
			if len(down) == 0 {
				out = append(out, span{from, e.At})
			}
		}
	}
	if len(down) > 0 {
		out = append(out, span{from, s.Duration})
	}
	return out
}

// overlaps reports whether [from, to] meets a span of spans, and the end
// of the last span it meets.
func overlaps(spans []span, from, to time.Duration) (time.Duration, bool) {
	end, ok := time.Duration(0), false
	for _, sp := range spans {
		if sp.from <= to && from <= sp.to {
			end, ok = max(end, sp.to), true
		}
	}
	return end, ok
}
