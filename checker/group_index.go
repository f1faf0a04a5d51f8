package checker

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/weir-dev/weir/history"
)

// Consumer-group anomalies (history version 4: join, assignment, commit and
// offsets ops).
const (
	// NonmonotonicCommit: an offset the coordinator accepted for a group
	// and partition below one it had accepted before the commit began.
	NonmonotonicCommit = "nonmonotonic-commit"
	// LostCommit: a read of the committed offsets (during the run or after
	// the cluster healed) missing an acknowledged commit: lower, absent,
	// or with another leader epoch or metadata.
	LostCommit = "lost-commit"
	// CommitPastRead: a committed offset (accepted, or read back) beyond
	// one past the highest offset the group's members had read.
	CommitPastRead = "commit-past-read"
	// DoubleAssignment: two members own the same partition in the same
	// generation of a group, or (consumer protocol) at the same time.
	DoubleAssignment = "double-assignment"
	// RebalanceSkip: a member given a partition began reading it beyond
	// the group's committed offset, skipping records.
	RebalanceSkip = "rebalance-skip"
	// CommittedRedelivery: a member given a partition after a commit was
	// acknowledged read a record below the committed offset.
	CommittedRedelivery = "committed-redelivery"
	// UnfencedInstance: a commit accepted from a static member's old
	// member id after a newer incarnation of its group.instance.id had
	// been given partitions.
	UnfencedInstance = "unfenced-instance"
)

// GroupAnomalies lists the consumer-group anomalies, in the verdict's order.
func GroupAnomalies() []string {
	return []string{NonmonotonicCommit, LostCommit, CommitPastRead, DoubleAssignment, RebalanceSkip, CommittedRedelivery, UnfencedInstance}
}

// groupChecks are the consumer-group checkers, in the order of
// GroupAnomalies.
func groupChecks() []check {
	return []check{
		{name: NonmonotonicCommit, find: nonmonotonicCommits},
		{name: LostCommit, find: lostCommits},
		{name: CommitPastRead, find: commitsPastRead},
		{name: DoubleAssignment, find: doubleAssignments},
		{name: RebalanceSkip, find: rebalanceSkips},
		{name: CommittedRedelivery, find: committedRedeliveries},
		{name: UnfencedInstance, find: unfencedInstances},
	}
}

// Check returns the line of the verdict of the named checker (a zero
// CheckResult if it did not run).
func (v Verdict) Check(name string) CheckResult {
	for _, c := range v.Checks {
		if c.Name == name {
			return c
		}
	}
	return CheckResult{}
}

// gtp is a partition of a group.
type gtp struct {
	group string
	tp    tp
}

func (k gtp) String() string { return fmt.Sprintf("%s %s/%d", k.group, k.tp.topic, k.tp.partition) }

// commitRec is one partition of a commit op.
type commitRec struct {
	off     history.GroupOffset
	invoke  int64
	op      int64        // the completion, or the invoke if none came
	typ     history.Type // Info for a commit never completed
	process int
	gen     int32
	member  string
}

// accepted reports whether the coordinator said it committed.
func (c *commitRec) accepted() bool { return c.typ == history.OK && c.off.Committed() }

// mayApply reports whether the commit may have been applied: accepted,
// without an answer, or answered with an error that leaves it open.
func (c *commitRec) mayApply() bool {
	return c.accepted() || c.typ == history.Info || (c.typ == history.OK && c.off.Indefinite)
}

// fetchRec is one ok read of a group's committed offsets.
type fetchRec struct {
	group  string
	invoke int64
	op     int64
	offs   map[tp]history.GroupOffset // what it returned; a partition absent has none
}

// memberRec is one group member incarnation: its join, its process and
// the process of its assignment events.
type memberRec struct {
	group   string
	process int
	events  int
	join    int64
	// instance is the member's group.instance.id (static membership);
	// incarnations that share one are one member to the coordinator.
	instance string
	// consumer: the member joined with KIP-848's consumer protocol (its
	// generations are member epochs).
	consumer bool
}

// eventRec is one assignment op (its completion) of a member.
type eventRec struct {
	m  *memberRec
	a  *history.Assignment
	op int64
	// invoke is the assignment's invoke.
	invoke int64
}

// groupIndex is the history's consumer-group ops arranged for the group
// checkers.
type groupIndex struct {
	members  []*memberRec
	byEvents map[int]*memberRec
	commits  map[gtp][]*commitRec // in invoke order
	fetches  []*fetchRec          // in completion order
	events   []eventRec           // in history order
	keys     []gtp                // the keys of commits, sorted
	// readMarks holds, per group and partition, how far its members had
	// read after each of their polls that returned records: completions
	// in history order, with the running maximum.
	readMarks map[gtp][]readMark
	// bestAccepted is indexAccepted's.
	bestAccepted map[gtp][]*commitRec
}

// readMark: after op, the group had read up to hi (first read by by).
type readMark struct{ op, hi, by int64 }

// groups builds (once) the group view of the history.
func (ix *index) groupView() *groupIndex {
	if ix.groups != nil {
		return ix.groups
	}
	g := &groupIndex{byEvents: map[int]*memberRec{}, commits: map[gtp][]*commitRec{}, readMarks: map[gtp][]readMark{}}
	ix.groups = g
	byProcess := map[int]*memberRec{} // the member whose process it is now
	for i := range ix.h {
		op := &ix.h[i]
		switch {
		case op.F == history.FnJoin && op.Type == history.Invoke && op.Join != nil:
			m := &memberRec{group: op.Join.Group, process: op.Process, events: op.Join.Events, join: int64(i), instance: op.Join.InstanceID,
				consumer: op.Join.Protocol == history.ProtocolConsumer}
			g.members = append(g.members, m)
			g.byEvents[m.events] = m
			byProcess[m.process] = m
		case op.F == history.FnAssignment && op.Type == history.OK && op.Assignment != nil:
			if m := g.byEvents[op.Process]; m != nil {
				g.events = append(g.events, eventRec{m: m, a: op.Assignment, op: int64(i), invoke: ix.invokeOf[i]})
			}
		case op.F == history.FnCommit && op.Type == history.Invoke && op.Commit != nil:
			g.addCommit(ix, op, int64(i))
		case ix.txnGroupCommits && op.Type != history.Invoke && op.Txn != nil && op.Txn.Transactional && op.Txn.Group != "" &&
			byProcess[op.Process] != nil && byProcess[op.Process].group == op.Txn.Group:
			// A member's transaction (not one that commits offsets of a
			// group it is no member of, as the queue's txn mode does).
			g.addTxnCommit(ix, op, int64(i))
		case op.F == history.FnOffsets && op.Type == history.OK && op.Offsets != nil:
			f := &fetchRec{group: op.Offsets.Group, invoke: ix.invokeOf[i], op: int64(i), offs: map[tp]history.GroupOffset{}}
			for _, o := range op.Offsets.Offsets {
				if o.Error == "" && o.Offset >= 0 {
					f.offs[tp{o.Topic, o.Partition}] = o
				}
			}
			g.fetches = append(g.fetches, f)
		}
	}
	if ix.txnGroupCommits {
		// Transactions' commits were added at their completions.
		for _, cs := range g.commits {
			slices.SortStableFunc(cs, func(a, b *commitRec) int { return cmp.Compare(a.invoke, b.invoke) })
		}
	}
	for _, p := range ix.parts {
		m := byProcess[p.process]
		if m == nil || p.invoke < m.join || p.maxOffset < 0 {
			continue
		}
		k := gtp{m.group, p.tp}
		marks := g.readMarks[k]
		if n := len(marks); n > 0 && marks[n-1].hi >= p.maxOffset {
			continue
		}
		g.readMarks[k] = append(marks, readMark{op: p.op, hi: p.maxOffset, by: p.op})
	}
	g.indexAccepted()
	g.keys = slices.SortedFunc(maps.Keys(g.commits), func(a, b gtp) int {
		return cmp.Or(cmp.Compare(a.group, b.group), compareTP(a.tp, b.tp))
	})
	return g
}

// addCommit indexes the partitions of the commit invoked at inv: as its
// completion says, or as the invoke does if none came.
func (g *groupIndex) addCommit(ix *index, inv *history.Op, at int64) {
	done, typ := inv, history.Info
	for j := at + 1; j < int64(len(ix.h)); j++ {
		if ix.invokeOf[j] == at {
			done, typ = &ix.h[j], ix.h[j].Type
			break
		}
	}
	c := done.Commit
	if c == nil {
		c = inv.Commit
	}
	opIdx := done.Index
	for _, o := range c.Offsets {
		k := gtp{c.Group, tp{o.Topic, o.Partition}}
		g.commits[k] = append(g.commits[k], &commitRec{off: o, invoke: at, op: opIdx, typ: typ, process: inv.Process, gen: c.Generation, member: c.Member})
	}
}

// addTxnCommit indexes the offsets the transaction completed at done
// committed for its group (Opts.TxnGroupCommits): its outcome is theirs.
// The member and generation are unknown (the coordinator fenced them
// through the transactional id and KIP-447's TxnOffsetCommit fields), so
// unfenced-instance does not judge them.
func (g *groupIndex) addTxnCommit(ix *index, done *history.Op, at int64) {
	inv := ix.invokeOf[at]
	for _, o := range done.Txn.Offsets {
		k := gtp{done.Txn.Group, tp{o.Topic, o.Partition}}
		g.commits[k] = append(g.commits[k], &commitRec{off: o, invoke: inv, op: at, typ: done.Type, process: done.Process, gen: -1})
	}
}

// acceptedBefore returns, of k's commits, the accepted one with the
// highest offset whose completion came before index at (nil if none).
func (g *groupIndex) acceptedBefore(k gtp, at int64) *commitRec {
	best := g.bestAccepted[k]
	i, _ := slices.BinarySearchFunc(best, at, func(c *commitRec, at int64) int { return cmp.Compare(c.op, at) })
	if i == 0 {
		return nil
	}
	return best[i-1]
}

// indexAccepted fills bestAccepted: per partition, in completion order,
// each accepted commit that raised the highest accepted offset so far.
func (g *groupIndex) indexAccepted() {
	g.bestAccepted = map[gtp][]*commitRec{}
	for k, cs := range g.commits {
		var acc []*commitRec
		for _, c := range cs {
			if c.accepted() {
				acc = append(acc, c)
			}
		}
		slices.SortStableFunc(acc, func(a, b *commitRec) int { return cmp.Compare(a.op, b.op) })
		var best []*commitRec
		for _, c := range acc {
			if n := len(best); n == 0 || c.off.Offset > best[n-1].off.Offset {
				best = append(best, c)
			}
		}
		g.bestAccepted[k] = best
	}
}

// readTo returns the highest offset of k the group's members read in polls
// completed before index at, and the op that read it (Unknown, -1 if none).
func (g *groupIndex) readTo(k gtp, at int64) (int64, int64) {
	marks := g.readMarks[k]
	i, _ := slices.BinarySearchFunc(marks, at, func(m readMark, at int64) int { return cmp.Compare(m.op, at) })
	if i == 0 {
		return history.Unknown, -1
	}
	return marks[i-1].hi, marks[i-1].by
}

// notChecked is the note of a group checker on a history without groups.
const noGroups = "no consumer-group ops in the history"

// ownership is one member's hold of one partition: from the assignment
// that added it to the event that took it away (or the end).
type ownership struct {
	m     *memberRec
	k     gtp
	start eventRec
	end   int64 // index of the event that ended it, len(h) if none
	// parts are the member's partition reads of it with records, in
	// history order.
	parts []int
}

// ownerships returns every ownership of the history, in the order their
// assignments were recorded.
func (ix *index) ownerships() []ownership {
	g := ix.groupView()
	byProc := map[int][]int{} // process -> its partition reads with records
	for pi, p := range ix.parts {
		if len(p.pr.Records) > 0 {
			byProc[p.process] = append(byProc[p.process], pi)
		}
	}
	var out []ownership
	open := map[*memberRec]map[int32]int{} // member -> partition -> index in out
	for _, e := range g.events {
		held := open[e.m]
		if held == nil {
			held = map[int32]int{}
			open[e.m] = held
		}
		owned := map[int32]bool{}
		for _, p := range e.a.Owned {
			owned[p] = true
		}
		for p, i := range held {
			if !owned[p] {
				out[i].end = e.op
				delete(held, p)
			}
		}
		if e.a.Event != history.Assigned {
			continue
		}
		for _, p := range e.a.Changed {
			if _, ok := held[p]; ok || !owned[p] {
				continue
			}
			held[p] = len(out)
			out = append(out, ownership{m: e.m, k: gtp{e.m.group, tp{e.a.Topic, p}}, start: e, end: int64(len(ix.h))})
		}
	}
	for i := range out {
		o := &out[i]
		for _, pi := range byProc[o.m.process] {
			if p := ix.parts[pi]; p.tp == o.k.tp && p.op > o.start.op && p.op < o.end {
				o.parts = append(o.parts, pi)
			}
		}
	}
	return out
}
