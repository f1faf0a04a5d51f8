package clickstream

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/workloads/stream"
)

// app is the sessionizer: it rebuilds each user's sessions from the input
// partitions it holds and writes a summary when a session closes.
type app struct {
	cfg   *Config
	gapMs int64
	parts map[int32]*partState
}

// partState is one input partition's state: its open sessions, and the
// input offsets earlier incarnations already counted in a summary.
type partState struct {
	open    map[string]*session // by user
	counted map[int64]bool
}

type session struct {
	user  string
	offs  []int64
	ms    []int64 // event time of each event
	t0    int64   // event time of the first event
	maxMs int64   // latest event time seen in it
}

func newApp(cfg *Config) *app {
	return &app{cfg: cfg, gapMs: cfg.Gap.Milliseconds(), parts: map[int32]*partState{}}
}

func (a *app) part(p int32) *partState {
	s := a.parts[p]
	if s == nil {
		s = &partState{open: map[string]*session{}, counted: map[int64]bool{}}
		a.parts[p] = s
	}
	return s
}

// Restore marks the input offsets the partition's summaries counted: a
// replay from the committed offset skips them (they were counted once).
func (a *app) Restore(p int32, outputs map[string][]*kgo.Record) {
	s := a.part(p)
	for _, r := range outputs[a.cfg.Output] {
		if sum, ok := parseSummary(string(r.Value)); ok {
			for _, o := range sum.Offs {
				s.counted[o] = true
			}
		}
	}
}

func (a *app) Drop(p int32) { delete(a.parts, p) }

// Committable is the first offset an open session still needs: committing
// past it would lose its head if the partition moved.
func (a *app) Committable(p int32, next int64) int64 {
	for _, ss := range a.part(p).open {
		next = min(next, ss.offs[0])
	}
	return next
}

// Process applies the session rules to each record in partition order:
// close every open session the record's event time is more than Gap past,
// then add the record to its user's open session (or open one). A record
// already counted closes sessions but is not counted again. A barrier
// closes every session and is answered.
func (a *app) Process(b *stream.Batch, rs []*kgo.Record) {
	for _, r := range rs {
		s := a.part(r.Partition)
		v := string(r.Value)
		if isBarrier(v) {
			a.close(b, r.Partition, s, func(*session) bool { return true })
			b.Emit(a.cfg.Output, r.Partition, "barrier", summary{Barrier: v, Offset: r.Offset, W: b.Unique()}.encode())
			continue
		}
		e, ok := parseEvent(v)
		if !ok {
			continue
		}
		a.close(b, r.Partition, s, func(ss *session) bool {
			if a.cfg.Defects.GapFromFirst {
				return e.Ms-ss.t0 > a.gapMs // planted: inactivity measured from the first event
			}
			return e.Ms-ss.maxMs > a.gapMs
		})
		if s.counted[r.Offset] {
			continue
		}
		ss := s.open[e.User]
		if ss == nil {
			ss = &session{user: e.User, t0: e.Ms, maxMs: e.Ms}
			s.open[e.User] = ss
		}
		ss.offs = append(ss.offs, r.Offset)
		ss.ms = append(ss.ms, e.Ms)
		ss.maxMs = max(ss.maxMs, e.Ms)
	}
}

// close emits and forgets the open sessions done says are over, in the
// order they began.
func (a *app) close(b *stream.Batch, p int32, s *partState, done func(*session) bool) {
	var over []*session
	for _, ss := range s.open {
		if done(ss) {
			over = append(over, ss)
		}
	}
	slices.SortFunc(over, func(x, y *session) int { return cmp.Compare(x.offs[0], y.offs[0]) })
	for _, ss := range over {
		delete(s.open, ss.user)
		if a.cfg.Defects.EventTimeOrder {
			sortByEventTime(ss)
		}
		sum := summary{SID: fmt.Sprintf("%s@%d", ss.user, ss.offs[0]), User: ss.user, Offs: ss.offs, T0: ss.t0, T1: ss.maxMs, W: b.Unique()}
		b.Emit(a.cfg.Output, p, ss.user, sum.encode())
	}
}

// sortByEventTime is the planted EventTimeOrder defect: it lists a
// session's events by their event time, which reorders a user's events
// whenever its device clock disagrees with the order they were sent in.
func sortByEventTime(ss *session) {
	idx := make([]int, len(ss.offs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int { return cmp.Compare(ss.ms[x], ss.ms[y]) })
	offs := make([]int64, len(idx))
	for i, j := range idx {
		offs[i] = ss.offs[j]
	}
	ss.offs = offs
}
