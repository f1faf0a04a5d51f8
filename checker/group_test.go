package checker

import (
	"slices"
	"strings"
	"testing"

	"github.com/weir-dev/weir/history"
)

// Group builders: member processes 10, 20, ... with their events processes
// 11, 21, ...; topic "t", group "g".

func (b *hb) join(proc int) {
	j := &history.Join{Group: "g", Topics: []string{"t"}, Balancer: "range", Events: proc + 1}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnJoin, Join: j})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnJoin, Join: j})
}

func (b *hb) assignment(proc int, member string, gen int32, event string, owned, changed []int32) int64 {
	a := &history.Assignment{Group: "g", Member: member, Generation: gen, Event: event, Topic: "t", Owned: owned, Changed: changed}
	b.add(history.Op{Process: proc + 1, Type: history.Invoke, F: history.FnAssignment, Assignment: a})
	return b.add(history.Op{Process: proc + 1, Type: history.OK, F: history.FnAssignment, Assignment: a})
}

// gco is a group offset of partition p: offset o, leader epoch e, and the
// partition's answer err ("" committed).
type gco struct {
	p   int32
	o   int64
	e   int32
	err string
	ind bool // the error leaves it open whether the offset was committed
}

func groupOffsets(proc int, cs []gco, answered bool) []history.GroupOffset {
	var out []history.GroupOffset
	for _, c := range cs {
		o := history.GroupOffset{Topic: "t", Partition: c.p, Offset: c.o, LeaderEpoch: c.e, Metadata: "m"}
		if answered {
			o.Error, o.Indefinite = c.err, c.ind
		}
		out = append(out, o)
	}
	return out
}

// commit records a commit by proc completing typ.
func (b *hb) commit(proc int, gen int32, typ history.Type, cs ...gco) int64 {
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnCommit, Commit: &history.Commit{Group: "g", Member: "m", Generation: gen, Offsets: groupOffsets(proc, cs, false)}})
	return b.add(history.Op{Process: proc, Type: typ, F: history.FnCommit, Commit: &history.Commit{Group: "g", Member: "m", Generation: gen, Offsets: groupOffsets(proc, cs, typ == history.OK)}})
}

// offsets records an ok read of the committed offsets returning cs.
func (b *hb) offsets(proc int, cs ...gco) int64 {
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnOffsets, Offsets: &history.Offsets{Group: "g"}})
	return b.add(history.Op{Process: proc, Type: history.OK, F: history.FnOffsets, Offsets: &history.Offsets{Group: "g", Offsets: groupOffsets(proc, cs, true)}})
}

var p0 = []int32{0}

// mutated runs mutate's change for step in place of the step, if it has
// one, and says whether it did.
func mutated(b *hb, mutate map[string]func(b *hb), step string) bool {
	if f := mutate[step]; f != nil {
		f(b)
		return true
	}
	return false
}

// rebalanced is a clean group history to vary: member 10 owns partition 0
// in generation 1, reads a, b, c, commits 2 and leaves it; member 20 gets it
// in generation 2, reads c from the committed offset, commits 3.
func rebalanced(b *hb, mutate map[string]func(b *hb)) {
	do := func(step string) bool { return mutated(b, mutate, step) }
	b.send(0, "a", history.OK, 0, 0)
	b.send(0, "b", history.OK, 0, 1)
	b.send(0, "c", history.OK, 0, 2)
	b.join(10)
	b.join(20)
	b.assignment(10, "m1", 1, history.Assigned, p0, p0)
	b.poll(10, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{0, 2, "c"})
	if !do("commit") {
		b.commit(10, 1, history.OK, gco{p: 0, o: 2, e: 5, err: ""})
	}
	b.assignment(10, "m1", 1, history.Revoked, nil, p0)
	if !do("second owner") {
		b.assignment(20, "m2", 2, history.Assigned, p0, p0)
	}
	if !do("second read") {
		b.poll(20, rd{0, 2, "c"})
	}
	if !do("second commit") {
		b.commit(20, 2, history.OK, gco{p: 0, o: 3, e: 5, err: ""})
	}
	if !do("fetch") {
		b.offsets(30, gco{p: 0, o: 3, e: 5, err: ""})
	}
	b.final([]int64{3}, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{0, 2, "c"})
}

func TestGroupCheckers(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate map[string]func(b *hb)
		want   []string
	}{
		{name: "clean rebalance"},
		{name: "a refused commit and one without an answer are not committed", mutate: map[string]func(*hb){
			"second commit": func(b *hb) {
				b.commit(20, 1, history.OK, gco{p: 0, o: 1, e: 5, err: "ILLEGAL_GENERATION"})
				b.commit(20, 2, history.Info, gco{p: 0, o: 3, e: 5, err: ""})
			}}},
		{name: "the next owner starts where a commit answered NOT_COORDINATOR may have committed", mutate: map[string]func(*hb){
			"commit": func(b *hb) {
				b.commit(10, 1, history.OK, gco{p: 0, o: 1, e: 5})
				b.commit(10, 1, history.OK, gco{p: 0, o: 2, e: 5, err: "NOT_COORDINATOR", ind: true})
			}}},
		{name: "committed offset moves back", want: []string{NonmonotonicCommit}, mutate: map[string]func(*hb){
			"second commit": func(b *hb) { b.commit(20, 2, history.OK, gco{p: 0, o: 1, e: 5, err: ""}) },
			"fetch":         func(b *hb) { b.offsets(30, gco{p: 0, o: 1, e: 5, err: ""}) }}},
		{name: "acknowledged commit lost", want: []string{LostCommit}, mutate: map[string]func(*hb){
			"fetch": func(b *hb) { b.offsets(30) }}},
		{name: "leader epoch of a commit lost", want: []string{LostCommit}, mutate: map[string]func(*hb){
			"fetch": func(b *hb) { b.offsets(30, gco{p: 0, o: 3, e: -1, err: ""}) }}},
		{name: "committed past what the group read", want: []string{CommitPastRead}, mutate: map[string]func(*hb){
			"second commit": func(b *hb) {},
			"fetch":         func(b *hb) { b.offsets(30, gco{p: 0, o: 5, e: 5, err: ""}) }}},
		{name: "two owners in one generation", want: []string{DoubleAssignment}, mutate: map[string]func(*hb){
			"second owner": func(b *hb) { b.assignment(20, "m2", 1, history.Assigned, p0, p0) }}},
		{name: "next owner skips past the committed offset", want: []string{RebalanceSkip}, mutate: map[string]func(*hb){
			"commit":      func(b *hb) { b.commit(10, 1, history.OK, gco{p: 0, o: 1, e: 5, err: ""}) },
			"second read": func(b *hb) { b.poll(20, rd{0, 2, "c"}) }}},
		{name: "next owner reads committed records again", want: []string{CommittedRedelivery}, mutate: map[string]func(*hb){
			"second read": func(b *hb) { b.poll(20, rd{0, 1, "b"}, rd{0, 2, "c"}) }}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &hb{}
			rebalanced(b, c.mutate)
			if err := history.Validate(b.ops); err != nil {
				t.Fatal(err)
			}
			v := Check(b.ops, Opts{})
			var found []string
			for _, name := range GroupAnomalies() {
				r := v.Check(name)
				if r.Status == StatusFound {
					found = append(found, name)
					t.Logf("%s: %s", name, v.Anomalies[name][0].Detail)
				} else if r.Status != StatusClean && (name != UnfencedInstance || r.Status != StatusNotChecked) {
					// (No static member here: unfenced-instance has
					// nothing to judge.)
					t.Errorf("%s: %s (%s)", name, r.Status, r.Note)
				}
			}
			if !slices.Equal(found, c.want) {
				t.Errorf("found %v, want %v\n%s", found, c.want, v.Summary())
			}
			// The queue's checkers see nothing wrong in a member's reads
			// across a rebalance.
			for _, name := range []string{NonmonotonicPoll, PollSkip} {
				if v.Counts[name] > 0 {
					t.Errorf("%s: %s", name, v.Anomalies[name][0].Detail)
				}
			}
		})
	}
}

// TestGroupCheckersWithoutGroups: a history without group ops is not
// judged by them, and says so.
func TestGroupCheckersWithoutGroups(t *testing.T) {
	b := &hb{}
	b.send(0, "a", history.OK, 0, 0)
	b.final([]int64{1}, rd{0, 0, "a"})
	v := Check(b.ops, Opts{})
	for _, name := range GroupAnomalies() {
		if r := v.Check(name); r.Status != StatusNotChecked || r.Note == "" {
			t.Errorf("%s: %s", name, r.Status)
		}
	}
	if !v.Valid() {
		t.Fatal(v.Summary())
	}
}

// joinStatic records the join of member process proc as instance id.
func (b *hb) joinStatic(proc int, instance string) {
	j := &history.Join{Group: "g", Topics: []string{"t"}, Balancer: "range", Events: proc + 1, InstanceID: instance}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnJoin, Join: j})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnJoin, Join: j})
}

// commitAs records a commit by proc as member, answered with err.
func (b *hb) commitAs(proc int, member string, gen int32, c gco) int64 {
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnCommit, Commit: &history.Commit{Group: "g", Member: member, Generation: gen, Offsets: groupOffsets(proc, []gco{c}, false)}})
	return b.add(history.Op{Process: proc, Type: history.OK, F: history.FnCommit, Commit: &history.Commit{Group: "g", Member: member, Generation: gen, Offsets: groupOffsets(proc, []gco{c}, true)}})
}

// TestStaticMemberCheckers: a static member's restart hands its next
// incarnation the same partitions in the same generation (not a double
// assignment), and the old incarnation, come back, must be fenced.
func TestStaticMemberCheckers(t *testing.T) {
	for _, c := range []struct {
		name       string
		zombieErr  string // the answer to the old incarnation's late commit
		otherInst  string // the second incarnation's instance id
		wantDouble bool
		want       []string
	}{
		{name: "old incarnation fenced", zombieErr: "FENCED_INSTANCE_ID", otherInst: "i"},
		{name: "old incarnation commits after the new one joined", otherInst: "i", want: []string{UnfencedInstance}},
		{name: "two dynamic-looking members of one generation", zombieErr: "UNKNOWN_MEMBER_ID", otherInst: "j", want: []string{DoubleAssignment}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &hb{}
			b.send(0, "a", history.OK, 0, 0)
			b.send(0, "b", history.OK, 0, 1)
			b.joinStatic(10, "i")
			b.assignment(10, "m1", 1, history.Assigned, p0, p0)
			b.poll(10, rd{0, 0, "a"})
			b.commitAs(10, "m1", 1, gco{p: 0, o: 1, e: 5})
			// Process 10 is cut off; its slot starts the next incarnation.
			b.joinStatic(20, c.otherInst)
			b.assignment(20, "m2", 1, history.Assigned, p0, p0)
			b.poll(20, rd{0, 1, "b"})
			b.commitAs(20, "m2", 1, gco{p: 0, o: 2, e: 5})
			b.commitAs(10, "m1", 1, gco{p: 0, o: 2, e: 5, err: c.zombieErr, ind: c.zombieErr != ""})
			b.offsets(30, gco{p: 0, o: 2, e: 5})
			b.final([]int64{2}, rd{0, 0, "a"}, rd{0, 1, "b"})
			if err := history.Validate(b.ops); err != nil {
				t.Fatal(err)
			}
			v := Check(b.ops, Opts{})
			var found []string
			for _, name := range GroupAnomalies() {
				r := v.Check(name)
				if r.Status == StatusFound {
					found = append(found, name)
					t.Logf("%s: %s", name, v.Anomalies[name][0].Detail)
				} else if r.Status != StatusClean {
					t.Errorf("%s: %s (%s)", name, r.Status, r.Note)
				}
			}
			if !slices.Equal(found, c.want) {
				t.Errorf("found %v, want %v\n%s", found, c.want, v.Summary())
			}
		})
	}
}

// commitAsErr records a commit by proc as member, refused with err (an
// error that leaves it open whether it was committed).
func (b *hb) commitAsErr(proc int, member string, gen int32, c gco, err string) int64 {
	c.err, c.ind = err, true
	return b.commitAs(proc, member, gen, c)
}

// TestUnfencedInstanceOrder: which of a static member's ids is the newer
// is what the history shows, not the order of their first assignment
// reports. Seed 40055: the coordinator no longer knew process 12's member
// id (UNKNOWN_MEMBER_ID), its client joined again under a new one and
// committed under it before its callbacks reported the new assignment
// (kgo holds them while the member's batch blocks rebalances); the
// checker took the old id's report for the instance's current holder and
// the new id's accepted commit for a replaced member's.
func TestUnfencedInstanceOrder(t *testing.T) {
	for _, c := range []struct {
		name  string
		steps func(b *hb)
		found bool
	}{
		{name: "a client's new member id commits before its first report (seed 40055)", steps: func(b *hb) {
			b.assignment(10, "m1", 1, history.Assigned, p0, p0)
			b.poll(10, rd{0, 0, "a"})
			b.commitAsErr(10, "m1", 1, gco{p: 0, o: 1, e: 5}, "UNKNOWN_MEMBER_ID")
			b.assignment(10, "m1", 1, history.Revoked, p0, nil)
			b.commitAs(10, "m2", 3, gco{p: 0, o: 1, e: 5})
			b.assignment(10, "m2", 3, history.Revoked, nil, p0)
			b.assignment(10, "m2", 3, history.Assigned, nil, nil)
		}},
		{name: "a client commits under its old id after its new one reported", found: true, steps: func(b *hb) {
			b.assignment(10, "m1", 1, history.Assigned, p0, p0)
			b.poll(10, rd{0, 0, "a"})
			b.assignment(10, "m1", 1, history.Lost, nil, p0)
			b.assignment(10, "m2", 3, history.Assigned, p0, p0)
			b.commitAs(10, "m1", 1, gco{p: 0, o: 1, e: 5})
		}},
		{name: "the new id commits, then the old one", found: true, steps: func(b *hb) {
			b.assignment(10, "m1", 1, history.Assigned, p0, p0)
			b.poll(10, rd{0, 0, "a"})
			b.commitAs(10, "m2", 3, gco{p: 0, o: 1, e: 5})
			b.assignment(10, "m2", 3, history.Assigned, p0, p0)
			b.commitAs(10, "m1", 1, gco{p: 0, o: 1, e: 5})
		}},
		{name: "an old incarnation's id used before the next one started", found: true, steps: func(b *hb) {
			b.assignment(10, "m1", 1, history.Assigned, p0, p0)
			b.poll(10, rd{0, 0, "a"})
			b.joinStatic(20, "i")
			b.assignment(20, "m2", 1, history.Assigned, p0, p0)
			b.commitAs(10, "m1", 1, gco{p: 0, o: 1, e: 5})
		}},
		{name: "an old incarnation takes the instance back after the next one left (seed 62065)", steps: func(b *hb) {
			// KIP-848: once m2 left (member epoch -2), the instance
			// goes to the next member to join, here the old process's
			// client under its old id, at a later generation.
			b.assignment(10, "m1", 1, history.Assigned, p0, p0)
			b.poll(10, rd{0, 0, "a"})
			b.joinStatic(20, "i")
			b.assignment(20, "m2", 7, history.Assigned, p0, p0)
			b.assignment(20, "m2", 7, history.Revoked, nil, p0)
			b.assignment(10, "m1", 9, history.Assigned, p0, p0)
			b.commitAs(10, "m1", 9, gco{p: 0, o: 1, e: 5})
		}},
		{name: "an old incarnation assigned again while the next one still holds", found: true, steps: func(b *hb) {
			b.assignment(10, "m1", 1, history.Assigned, p0, p0)
			b.poll(10, rd{0, 0, "a"})
			b.joinStatic(20, "i")
			b.assignment(20, "m2", 7, history.Assigned, p0, p0)
			b.assignment(10, "m1", 9, history.Assigned, p0, p0)
			b.commitAs(10, "m1", 9, gco{p: 0, o: 1, e: 5})
		}},
		{name: "an old incarnation commits before it took the instance back", found: true, steps: func(b *hb) {
			b.assignment(10, "m1", 1, history.Assigned, p0, p0)
			b.poll(10, rd{0, 0, "a"})
			b.joinStatic(20, "i")
			b.assignment(20, "m2", 7, history.Assigned, p0, p0)
			b.assignment(20, "m2", 7, history.Revoked, nil, p0)
			b.commitAs(10, "m1", 1, gco{p: 0, o: 1, e: 5})
			b.assignment(10, "m1", 9, history.Assigned, p0, p0)
		}},
		{name: "an old incarnation's id first seen after the next one started", steps: func(b *hb) {
			// Process 10 joined again under m3 (the coordinator had
			// dropped m1): whether before or after m2 took the instance,
			// the history cannot tell, so the commit is not judged.
			b.assignment(10, "m1", 1, history.Assigned, p0, p0)
			b.poll(10, rd{0, 0, "a"})
			b.joinStatic(20, "i")
			b.assignment(20, "m2", 1, history.Assigned, p0, p0)
			b.commitAs(10, "m3", 2, gco{p: 0, o: 1, e: 5})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &hb{}
			b.send(0, "a", history.OK, 0, 0)
			b.joinStatic(10, "i")
			c.steps(b)
			b.final([]int64{1}, rd{0, 0, "a"})
			if err := history.Validate(b.ops); err != nil {
				t.Fatal(err)
			}
			v := Check(b.ops, Opts{})
			r := v.Check(UnfencedInstance)
			switch {
			case c.found && r.Status != StatusFound:
				t.Fatalf("unfenced-instance %s, want found\n%s", r.Status, v.Summary())
			case !c.found && r.Status != StatusClean:
				t.Fatalf("unfenced-instance %s, want clean\n%s", r.Status, v.Summary())
			}
			if c.found {
				t.Log(v.Anomalies[UnfencedInstance][0].Detail)
			}
		})
	}
}

// joinConsumer records the join of member process proc with the consumer
// protocol (KIP-848: its generations are member epochs).
func (b *hb) joinConsumer(proc int) {
	j := &history.Join{Group: "g", Topics: []string{"t"}, Balancer: "range", Events: proc + 1, Protocol: history.ProtocolConsumer}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnJoin, Join: j})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnJoin, Join: j})
}

// TestConsumerProtocolDoubleAssignment: under the consumer protocol two
// owners of a partition report it at different member epochs, so the
// witness is the order of the events: the next owner reported it assigned
// before the previous one revoked it, and the previous one was then moved
// to a later epoch (it was still a member: the coordinator had neither its
// release nor removed it). Seed 4 of group-848-assign-unreleased has this
// shape and the epoch check alone missed it. An old owner whose revoke is
// followed by a loss, or by nothing (it closed), may have been fenced
// before the partition moved: not a witness.
func TestConsumerProtocolDoubleAssignment(t *testing.T) {
	p01 := []int32{0, 1}
	p1 := []int32{1}
	for _, c := range []struct {
		name  string
		steps func(b *hb)
		found bool
	}{
		{name: "assigned after the owner revoked", steps: func(b *hb) {
			b.assignment(10, "m1", 1, history.Assigned, p01, p01)
			b.assignment(10, "m1", 1, history.Revoked, p1, p0)
			b.assignment(20, "m2", 2, history.Assigned, p0, p0)
			b.assignment(10, "m1", 2, history.Revoked, nil, p1)
		}},
		{name: "assigned before the owner revoked", found: true, steps: func(b *hb) {
			b.assignment(10, "m1", 1, history.Assigned, p01, p01)
			b.assignment(20, "m2", 2, history.Assigned, p0, p0)
			b.assignment(10, "m1", 1, history.Revoked, p1, p0)
			b.assignment(10, "m1", 1, history.Assigned, p1, nil) // kgo's empty assign after a revoke
			b.assignment(10, "m1", 3, history.Revoked, nil, p1)
		}},
		{name: "the owner fenced while it revoked", steps: func(b *hb) {
			b.assignment(10, "m1", 1, history.Assigned, p01, p01)
			b.assignment(20, "m2", 2, history.Assigned, p0, p0)
			b.assignment(10, "m1", 1, history.Revoked, p1, p0)
			b.assignment(10, "m1", 1, history.Lost, nil, p1)
			b.assignment(10, "m1", 4, history.Assigned, p1, p1) // joined again, same member id
		}},
		{name: "the owner revoked as it closed", steps: func(b *hb) {
			b.assignment(10, "m1", 1, history.Assigned, p01, p01)
			b.assignment(20, "m2", 2, history.Assigned, p0, p0)
			b.assignment(10, "m1", 1, history.Revoked, nil, p01)
		}},
		{name: "the owner lost it", steps: func(b *hb) {
			b.assignment(10, "m1", 1, history.Assigned, p01, p01)
			b.assignment(20, "m2", 2, history.Assigned, p0, p0)
			b.assignment(10, "m1", 1, history.Lost, nil, p01)
			b.assignment(10, "m1", 3, history.Assigned, p1, p1)
		}},
		{name: "the owner joined again under a new member id", steps: func(b *hb) {
			b.assignment(10, "m1", 1, history.Assigned, p01, p01)
			b.assignment(20, "m2", 2, history.Assigned, p0, p0)
			b.assignment(10, "m3", 4, history.Revoked, p1, p0)
			b.assignment(10, "m3", 6, history.Revoked, nil, p1)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &hb{}
			b.send(0, "a", history.OK, 0, 0)
			b.joinConsumer(10)
			b.joinConsumer(20)
			c.steps(b)
			b.final([]int64{1, 0}, rd{0, 0, "a"})
			if err := history.Validate(b.ops); err != nil {
				t.Fatal(err)
			}
			v := Check(b.ops, Opts{})
			r := v.Check(DoubleAssignment)
			switch {
			case c.found && r.Status != StatusFound:
				t.Fatalf("double-assignment %s, want found\n%s", r.Status, v.Summary())
			case !c.found && r.Status != StatusClean:
				t.Fatalf("double-assignment %s, want clean\n%s", r.Status, v.Summary())
			case c.found:
				t.Log(v.Anomalies[DoubleAssignment][0].Detail)
				if n := v.Counts[DoubleAssignment]; n != 1 {
					t.Fatalf("%d witnesses, want 1 (partition 0 only)", n)
				}
			}
		})
	}
}

// joinConsumerStatic records the join of member process proc with the
// consumer protocol as instance id.
func (b *hb) joinConsumerStatic(proc int, instance string) {
	j := &history.Join{Group: "g", Topics: []string{"t"}, Balancer: "cooperative-sticky", Events: proc + 1, Protocol: history.ProtocolConsumer, InstanceID: instance}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnJoin, Join: j})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnJoin, Join: j})
}

// TestConsumerProtocolLateAssignment: the events of group
// clicks-sessionizer in seed 34052 (clickstream, consumer protocol, static
// members, faults all). Member B (process 10 here) owns partitions 0-1 at
// epoch 5; its poll loop then hangs for 10 s (kgo's BlockRebalanceOnPoll
// holds its callbacks), and meanwhile the coordinator moves it to epoch 7
// with partitions 0-2, removes it, and gives them all to member A (process
// 20) at epoch 9. B's callbacks then report the epoch-7 assignment, which
// overlaps A's in time, and B's loss 38 ms later; A revokes partition 2 to
// B's next member id at epoch 10. Condition 3 of consumerOverlaps tells
// this late report (epoch 7, below A's 9) from the coordinator giving the
// partition to B at or after A's epoch while A still owns it: the planted
// defects, which must still be found.
func TestConsumerProtocolLateAssignment(t *testing.T) {
	p012, p01, p2 := []int32{0, 1, 2}, []int32{0, 1}, []int32{2}
	for _, c := range []struct {
		name   string
		bEpoch int32 // B's epoch as it reports partition 2 assigned
		aGain  int32 // A's epoch as it reports partitions 0-2 assigned
		found  int   // witnesses
		// revokes: B's late ownership ends with a revoke and B moves on
		// to epoch 10 as the same member, not with a loss: the coordinator
		// gave A the partitions (epoch 9) while B still owned them: partitions
		// 0-1 from epoch 5 and partition 2 from the late epoch 7.
		revokes bool
		prefix  string // the witness naming partition 2's double owner
	}{
		{name: "seed 34052: the assignment of a removed member learned late", bEpoch: 7, aGain: 9},
		{name: "planted: the late learner not removed, A given its partitions", bEpoch: 7, aGain: 9, revokes: true, found: 3, prefix: "group g: t/2 assigned to member A"},
		// In one epoch the first witness finds partitions 0-2 too.
		{name: "planted: B given the partition at A's epoch", bEpoch: 9, aGain: 9, found: 4},
		{name: "planted: B given the partition at a later epoch", bEpoch: 10, aGain: 9, found: 1},
		{name: "planted: B below A's current epoch but above its assignment's", bEpoch: 7, aGain: 6, found: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &hb{}
			b.send(0, "a", history.OK, 0, 0)
			b.joinConsumerStatic(10, "i0")
			b.assignment(10, "B", 5, history.Assigned, p012, p012)
			b.joinConsumerStatic(20, "i1")
			b.assignment(10, "B", 5, history.Revoked, p01, p2)
			b.assignment(10, "B", 5, history.Assigned, p01, nil)
			b.assignment(20, "A", c.aGain-1, history.Assigned, nil, nil)
			b.assignment(20, "A", c.aGain, history.Assigned, p012, p012)
			if c.aGain < 9 {
				b.assignment(20, "A", 9, history.Assigned, p012, nil) // moved on, keeping them
			}
			b.assignment(10, "B", c.bEpoch, history.Revoked, p01, nil)
			b.assignment(10, "B", c.bEpoch, history.Assigned, p012, p2)
			next := "C" // B's next member id
			if c.revokes {
				next = "B"
				b.assignment(10, "B", c.bEpoch, history.Revoked, nil, p012)
				b.assignment(10, "B", c.bEpoch, history.Assigned, nil, nil)
			} else {
				b.assignment(10, "B", c.bEpoch, history.Lost, nil, p012)
			}
			b.assignment(10, next, 10, history.Assigned, nil, nil)
			b.assignment(20, "A", 9, history.Revoked, p01, p2)
			b.assignment(20, "A", 9, history.Assigned, p01, nil)
			b.assignment(20, "A", 10, history.Revoked, nil, p01)
			b.assignment(10, next, 10, history.Assigned, p2, p2)
			b.final([]int64{1, 0, 0}, rd{0, 0, "a"})
			if err := history.Validate(b.ops); err != nil {
				t.Fatal(err)
			}
			v := Check(b.ops, Opts{})
			r := v.Check(DoubleAssignment)
			switch {
			case c.found > 0 && r.Status != StatusFound:
				t.Fatalf("double-assignment %s, want found\n%s", r.Status, v.Summary())
			case c.found == 0 && r.Status != StatusClean:
				t.Fatalf("double-assignment %s, want clean\n%s", r.Status, v.Summary())
			}
			prefix := "group g: t/2 assigned to member B"
			if c.prefix != "" {
				prefix = c.prefix
			}
			overlap := false
			for _, w := range v.Anomalies[DoubleAssignment] {
				t.Log(w.Detail)
				overlap = overlap || strings.HasPrefix(w.Detail, prefix)
			}
			if n := v.Counts[DoubleAssignment]; n != c.found || overlap != (c.found > 0) {
				t.Fatalf("%d witnesses (B's assignment of partition 2 among them: %v), want %d", n, overlap, c.found)
			}
		})
	}
}
