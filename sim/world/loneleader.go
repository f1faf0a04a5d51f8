package world

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weir-dev/weir/faults"
)

// A lone-leader window (faults.OpLoneLeader) aims a crash at the one moment
// an unclean election can lose acknowledged writes: the leader is the
// ISR's only member and an out-of-sync replica is up to be elected. The
// world picks the partition (one with records) when the window opens, or
// as soon after as one qualifies (it depends on where leadership went),
// cuts the leader and one in-sync follower off from each other so that
// the follower falls out of the ISR, watches the leader's metadata image
// every loneLeaderPoll until the ISR is the leader alone, then its high
// watermark until it moves on (a write committed by the leader alone),
// lets it acknowledge writes alone for the event's Lag more, and crashes
// it. The heal event removes the cut and restarts the leader; the
// liveness phase heals both too. One window at a time (the faults' down
// track).

// loneLeaderPoll is how often the window looks at the leader's image.
const loneLeaderPoll = 100 * time.Millisecond

// loneLeader is an open lone-leader window.
type loneLeader struct {
	topic            string
	partition        int
	leader, follower string
	crashed          bool
	closed           chan struct{} // closed by the heal (or the liveness phase)
}

func (l *loneLeader) String() string {
	if l.leader == "" {
		return "(no partition picked)"
	}
	return fmt.Sprintf("%s/%d (leader %s, follower %s)", l.topic, l.partition, l.leader, l.follower)
}

// startLoneLeader opens the window of e and starts its watcher, which
// picks the partition (at once if one qualifies, else as soon as one does:
// another fault may hold every ISR short, or every follower may be the
// active controller's node), cuts it and crashes its leader.
func (w *World) startLoneLeader(e faults.Event) error {
	w.loneMu.Lock()
	defer w.loneMu.Unlock()
	if w.lone != nil {
		return fmt.Errorf("world: a lone-leader window is open already: %v", w.lone)
	}
	l := &loneLeader{closed: make(chan struct{})}
	w.lone = l
	if !w.pickLoneLeader(l, e.Nth) {
		w.Tracef("lone leader: no partition of a workload topic has records, a leader and an in-sync follower up (the follower not the active controller); looking again every %v", loneLeaderPoll)
	}
	go w.watchLoneLeader(l, e, w.Elapsed()+e.Until-e.At-e.Down)
	return nil
}

// pickLoneLeader picks l's partition (loneLeaderTarget) and cuts its leader
// and follower off from each other; false if none qualifies. Call with
// loneMu held, l open.
func (w *World) pickLoneLeader(l *loneLeader, nth int) bool {
	t := w.loneLeaderTarget(nth)
	if t == nil {
		return false
	}
	l.topic, l.partition, l.leader, l.follower = t.topic, t.partition, t.leader, t.follower
	w.net.CutOneWay(l.leader, l.follower)
	w.net.CutOneWay(l.follower, l.leader)
	w.Tracef("lone leader: %v: cut the leader and the follower off from each other", l)
	return true
}

// loneLeaderTarget picks the nth (modulo) partition, in topic name and
// partition order, of the topics without a "__" prefix whose leader and
// an in-sync follower are up, as the image of the first node up says, and
// whose leader holds a record (hasWrites). The
// follower must not be the metadata quorum's leader (the active
// controller): cut off from it, the leader would be fenced and the
// follower elected cleanly, which loses nothing.
func (w *World) loneLeaderTarget(nth int) *loneLeader {
	var candidates []*loneLeader
	for _, n := range w.nodes {
		b := w.Broker(n.name)
		if b == nil {
			continue
		}
		st, img := b.MetadataState()
		controller := w.nodeName(st.Leader)
		for _, t := range img.Topics() {
			if strings.HasPrefix(t.Name, "__") {
				continue
			}
			for i, p := range t.Partitions {
				leader := w.nodeName(p.Leader)
				if leader == "" || !w.Up(leader) || !w.hasWrites(leader, t.Name, i) {
					continue
				}
				for _, r := range p.ISR {
					if f := w.nodeName(r); r != p.Leader && f != "" && f != controller && w.Up(f) {
						candidates = append(candidates, &loneLeader{topic: t.Name, partition: i, leader: leader, follower: f})
						break
					}
				}
			}
		}
		break
	}
	if len(candidates) == 0 {
		return nil
	}
	slices.SortStableFunc(candidates, func(a, b *loneLeader) int {
		if c := strings.Compare(a.topic, b.topic); c != 0 {
			return c
		}
		return a.partition - b.partition
	})
	return candidates[nth%len(candidates)]
}

// hasWrites reports whether node's replica of topic's partition index
// has a record: a partition the workload writes to. The records a lone
// leader acknowledges alone are what an election from outside the ISR
// loses, and a partition none of the workload's keys go to never has
// any.
func (w *World) hasWrites(node, topic string, index int) bool {
	b := w.Broker(node)
	if b == nil {
		return false
	}
	end, _, ok := b.LogEnds(topic, int32(index))
	return ok && end > 0
}

// nodeName is the name of the node with broker id id, "" if none.
func (w *World) nodeName(id int32) string {
	for _, n := range w.nodes {
		if n.id == id {
			return n.name
		}
	}
	return ""
}

// leadsAlone reports whether l's leader, by its own image, leads l's
// partition with an ISR of itself alone.
func (w *World) leadsAlone(l *loneLeader) bool {
	b := w.Broker(l.leader)
	if b == nil {
		return false
	}
	_, img := b.MetadataState()
	t, ok := img.Topic(l.topic)
	if !ok || l.partition >= len(t.Partitions) {
		return false
	}
	p := t.Partitions[l.partition]
	return w.nodeName(p.Leader) == l.leader && len(p.ISR) == 1 && p.ISR[0] == p.Leader
}

// leaderHighWatermark is the high watermark of l's partition on l's
// leader, -1 if unknown (the leader is down, or holds no replica yet).
func (w *World) leaderHighWatermark(l *loneLeader) int64 {
	b := w.Broker(l.leader)
	if b == nil {
		return -1
	}
	_, hw, ok := b.LogEnds(l.topic, int32(l.partition))
	if !ok {
		return -1
	}
	return hw
}

// watchLoneLeader picks l's partition if it has none yet, waits until its
// leader leads alone and its high watermark moves on from there (writes
// committed by the leader alone, acknowledged to their producers: on a
// partition that takes no writes meanwhile an election of the follower
// loses nothing), then e.Lag more, and crashes it, unless the window
// closes first or the crash would come after last: the leader could not
// stay down e.Down before the window's heal (e.Until), and restarted
// sooner it would be back before the controller elects without it.
func (w *World) watchLoneLeader(l *loneLeader, e faults.Event, last time.Duration) {
	for {
		w.loneMu.Lock()
		picked := l.leader != "" || (w.lone == l && w.pickLoneLeader(l, e.Nth))
		w.loneMu.Unlock()
		if picked {
			break
		}
		if w.Elapsed() > last || !w.sleepOrClose(l, loneLeaderPoll) {
			w.noLoneCrash(l, "no partition qualified in time")
			return
		}
	}
	for !w.leadsAlone(l) {
		if w.Elapsed() > last || !w.sleepOrClose(l, loneLeaderPoll) {
			w.noLoneCrash(l, "the ISR did not shrink to the leader alone in time")
			return
		}
	}
	hw := w.leaderHighWatermark(l)
	w.Tracef("lone leader: %v: the ISR is the leader alone at high watermark %d", l, hw)
	for w.leaderHighWatermark(l) <= hw {
		if w.Elapsed()+e.Lag > last || !w.sleepOrClose(l, loneLeaderPoll) {
			w.noLoneCrash(l, "the leader committed no write alone in time")
			return
		}
	}
	w.Tracef("lone leader: %v: the leader commits writes alone (high watermark %d); crash it in %v", l, w.leaderHighWatermark(l), e.Lag)
	if w.Elapsed()+e.Lag > last || !w.sleepOrClose(l, e.Lag) {
		w.noLoneCrash(l, "too late to keep the leader down until the controller elects without it")
		return
	}
	w.loneMu.Lock()
	defer w.loneMu.Unlock()
	select {
	case <-l.closed:
		return
	default:
	}
	if err := w.Crash(l.leader, e.Keep); err != nil {
		w.Tracef("lone leader: %v: %v", l, err)
		return
	}
	l.crashed = true
	w.Tracef("lone leader: %v: crashed the leader, its follower up and out of the ISR", l)
	w.recordCrash(l.leader, faults.OpCrash.String(), false, fmt.Sprintf("keep=%.2f: the lone leader of %s/%d, follower %s up and out of the ISR", e.Keep, l.topic, l.partition, l.follower))
}

// noLoneCrash traces why l's window crashed nothing, unless it closed.
func (w *World) noLoneCrash(l *loneLeader, why string) {
	select {
	case <-l.closed:
	case <-w.ctx.Done():
	default:
		w.Tracef("lone leader: %v: no crash: %s", l, why)
	}
}

// sleepOrClose waits d on the world's clock and reports whether l's window
// is still open and the world running.
func (w *World) sleepOrClose(l *loneLeader, d time.Duration) bool {
	t := w.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-l.closed:
	case <-w.ctx.Done():
	}
	return false
}

// endLoneLeader closes the open window: the cut goes, and the leader it
// crashed restarts (unless restart is false: the liveness phase heals the
// network and restarts every node itself). It says what it did.
func (w *World) endLoneLeader(restart bool) (string, error) {
	w.loneMu.Lock()
	defer w.loneMu.Unlock()
	l := w.lone
	if l == nil {
		return "no window open", nil
	}
	w.lone = nil
	close(l.closed)
	if !restart {
		return "", nil
	}
	if l.leader == "" {
		return "no partition qualified: nothing cut or crashed", nil
	}
	w.net.Uncut(l.leader, l.follower)
	w.net.Uncut(l.follower, l.leader)
	if !l.crashed {
		return fmt.Sprintf("%v: the ISR never shrank to the leader alone; no crash", l), nil
	}
	if w.Up(l.leader) {
		return "", nil
	}
	return "", w.Restart(l.leader)
}
