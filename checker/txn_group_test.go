package checker

import (
	"slices"
	"testing"

	"github.com/weir-dev/weir/history"
)

// txnCommit records a transaction of proc, completing typ, that commits
// offset o of partition 0 for group "g" (Opts.TxnGroupCommits).
func (b *hb) txnCommit(proc int, typ history.Type, o int64) int64 {
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnTxn, Txn: &history.Txn{Transactional: true, Group: "g"}})
	offs := []history.GroupOffset{{Topic: "t", Partition: 0, Offset: o, LeaderEpoch: 5, Metadata: "m"}}
	return b.add(history.Op{Process: proc, Type: typ, F: history.FnTxn, Txn: &history.Txn{Transactional: true, Group: "g", Offsets: offs}})
}

// transacted is rebalanced with the commits made inside transactions, as a
// transactional processor's members make them: member 10 reads a, b, c,
// commits 2 in a transaction and loses partition 0; member 20 reads c from
// there and commits 3 in a transaction.
func transacted(b *hb, mutate map[string]func(b *hb)) {
	do := func(step string) bool { return mutated(b, mutate, step) }
	b.send(0, "a", history.OK, 0, 0)
	b.send(0, "b", history.OK, 0, 1)
	b.send(0, "c", history.OK, 0, 2)
	b.join(10)
	b.join(20)
	b.assignment(10, "m1", 1, history.Assigned, p0, p0)
	b.poll(10, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{0, 2, "c"})
	if !do("commit") {
		b.txnCommit(10, history.OK, 2)
	}
	b.assignment(10, "m1", 1, history.Revoked, nil, p0)
	b.assignment(20, "m2", 2, history.Assigned, p0, p0)
	b.poll(20, rd{0, 2, "c"})
	b.txnCommit(20, history.OK, 3)
	b.offsets(30, gco{p: 0, o: 3, e: 5})
	b.final([]int64{3}, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{0, 2, "c"})
}

func TestTxnGroupCommits(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate map[string]func(b *hb)
		off    bool // without Opts.TxnGroupCommits
		want   []string
	}{
		{name: "clean rebalance with commits in transactions"},
		{name: "without the option the transactions' commits are not seen", off: true, want: []string{RebalanceSkip}},
		{name: "next owner skips past the offset a transaction committed", want: []string{RebalanceSkip}, mutate: map[string]func(*hb){
			"commit": func(b *hb) { b.txnCommit(10, history.OK, 1) }}},
		{name: "an aborted transaction commits nothing", want: []string{RebalanceSkip}, mutate: map[string]func(*hb){
			"commit": func(b *hb) { b.txnCommit(10, history.Fail, 2) }}},
		{name: "a transaction of unknown outcome may have committed", mutate: map[string]func(*hb){
			"commit": func(b *hb) { b.txnCommit(10, history.Info, 2) }}},
		// The offset past the read then moves back (the next owner's
		// commit) and makes the next owner's read of c a redelivery.
		{name: "a transaction of a process that is no member is not the group's", want: []string{RebalanceSkip}, mutate: map[string]func(*hb){
			"commit": func(b *hb) { b.txnCommit(40, history.OK, 2) }}},
		{name: "a transaction committed past what the group read", want: []string{NonmonotonicCommit, CommitPastRead, CommittedRedelivery}, mutate: map[string]func(*hb){
			"commit": func(b *hb) { b.txnCommit(10, history.OK, 2); b.txnCommit(10, history.OK, 4) }}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &hb{}
			transacted(b, c.mutate)
			if err := history.Validate(b.ops); err != nil {
				t.Fatal(err)
			}
			v := Check(b.ops, Opts{TxnGroupCommits: !c.off})
			var found []string
			for _, name := range GroupAnomalies() {
				r := v.Check(name)
				if r.Status == StatusFound {
					found = append(found, name)
					t.Logf("%s: %s", name, v.Anomalies[name][0].Detail)
				} else if r.Status != StatusClean && name != UnfencedInstance {
					t.Errorf("%s: %s (%s)", name, r.Status, r.Note)
				}
			}
			if !slices.Equal(found, c.want) {
				t.Errorf("found %v, want %v\n%s", found, c.want, v.Summary())
			}
		})
	}
}

// TestTxnGroupRewind: a member whose transaction did not commit consumes
// again from the committed offset (kgo's GroupTransactSession rewinds);
// with Opts.TxnGroupCommits that starts a new consumer session, so reading
// its records again is no nonmonotonic poll. A read going back without
// such a transaction still is one.
func TestTxnGroupRewind(t *testing.T) {
	build := func(between history.Type) []history.Op {
		b := &hb{}
		b.send(0, "a", history.OK, 0, 0)
		b.send(0, "b", history.OK, 0, 1)
		b.join(10)
		b.assignment(10, "m1", 1, history.Assigned, p0, p0)
		b.poll(10, rd{0, 0, "a"}, rd{0, 1, "b"})
		b.txnCommit(10, between, 2)
		b.poll(10, rd{0, 0, "a"}, rd{0, 1, "b"})
		b.final([]int64{2}, rd{0, 0, "a"}, rd{0, 1, "b"})
		return b.ops
	}
	for _, c := range []struct {
		name    string
		between history.Type
		opt     bool
		want    bool
	}{
		{"after an abort", history.Fail, true, false},
		{"after an abort, without the option", history.Fail, false, true},
		{"after a commit", history.OK, true, true},
	} {
		h := build(c.between)
		if err := history.Validate(h); err != nil {
			t.Fatal(err)
		}
		v := Check(h, Opts{TxnGroupCommits: c.opt})
		if got := v.Counts[NonmonotonicPoll] > 0; got != c.want {
			t.Errorf("%s: nonmonotonic-poll found %v, want %v\n%s", c.name, got, c.want, v.Summary())
		}
	}
}
