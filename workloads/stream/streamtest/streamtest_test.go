package streamtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/stream"
)

// echo writes every input value to "out" and remembers what its restore
// read and which inputs it saw.
type echo struct {
	restored *[]string
	seen     *[]string
	hold     int64 // Committable holds the partition back to this offset, -1 never
}

func (e echo) Restore(_ int32, outs map[string][]*kgo.Record) {
	for _, r := range outs["out"] {
		*e.restored = append(*e.restored, string(r.Value))
	}
}

func (e echo) Process(b *stream.Batch, rs []*kgo.Record) {
	for _, r := range rs {
		*e.seen = append(*e.seen, string(r.Value))
		b.Emit("out", r.Partition, "", "out-"+string(r.Value)+"-"+b.Unique())
	}
}

func (e echo) Committable(_ int32, next int64) int64 {
	if e.hold >= 0 {
		return min(next, e.hold)
	}
	return next
}

func (echo) Drop(int32) {}

type world struct {
	c              *Cluster
	pl             *Pipeline
	restored, seen []string
	producer       *Producer
	transactional  bool
	hold           int64
	defects        stream.Defects
}

func newWorld(transactional bool, hold int64, d stream.Defects, inputs int) *world {
	w := &world{c: NewCluster(), transactional: transactional, hold: hold}
	w.pl = NewPipeline(w.c, Config{Input: "in", Partitions: 1, Outputs: []string{"out"}, Transactional: transactional, Defects: d,
		NewApp: func() stream.App { return echo{&w.restored, &w.seen, w.hold} }})
	w.producer = w.c.Producer()
	for i := range inputs {
		w.producer.Send("in", 0, "", fmt.Sprintf("v%d", i))
	}
	return w
}

// finalOut is what a final read of "out" returns, by input value.
func (w *world) finalOut(readCommitted bool) []string {
	var out []string
	for _, r := range w.c.read("out", 0, 0, readCommitted) {
		out = append(out, string(r.Value)[:len("out-v0")])
	}
	return out
}

func txnTypes(h []history.Op) []history.Type {
	var out []history.Type
	for _, op := range h {
		if op.F == history.FnTxn && op.Type != history.Invoke {
			out = append(out, op.Type)
		}
	}
	return out
}

func TestTransactionsAbortAndRewind(t *testing.T) {
	w := newWorld(true, -1, stream.Defects{}, 4)
	m := w.pl.Member()
	m.Batch(0, 2, Commit)
	m.Batch(0, 2, Abort)
	m.Batch(0, 2, Commit)
	if got := w.finalOut(true); !slices.Equal(got, []string{"out-v0", "out-v1", "out-v2", "out-v3"}) {
		t.Errorf("read_committed sees %v", got)
	}
	if got := w.finalOut(false); len(got) != 6 {
		t.Errorf("read_uncommitted sees %v, want the aborted two as well", got)
	}
	if !slices.Equal(w.seen, []string{"v0", "v1", "v2", "v3", "v2", "v3"}) {
		t.Errorf("processed %v: the abort must rewind to the committed offset", w.seen)
	}
	if len(w.restored) != 2 {
		t.Errorf("the restore after the abort read %v, want the two committed outputs", w.restored)
	}
	if got := txnTypes(w.c.Ops()); !slices.Equal(got, []history.Type{history.OK, history.Fail, history.OK}) {
		t.Errorf("txn completions %v", got)
	}
	if w.pl.Committed(0) != 4 {
		t.Errorf("committed %d, want 4", w.pl.Committed(0))
	}
}

func TestCrashedTransactionStaysOpen(t *testing.T) {
	for _, d := range []stream.Defects{{}, {ReadUncommitted: true}} {
		w := newWorld(true, -1, d, 3)
		m1 := w.pl.Member()
		m1.Batch(0, 1, Commit)
		m1.Batch(0, 2, CrashBeforeCommit)
		if m1.Batch(0, 1, Commit) != 0 {
			t.Fatal("a crashed member processed again")
		}
		m2 := w.pl.Member()
		m2.Batch(0, 5, Commit)
		// A read_committed restore waits the open transaction out; the
		// planted read_uncommitted one sees its records.
		want := 1
		if d.ReadUncommitted {
			want = 3
		}
		if len(w.restored) != want {
			t.Errorf("%+v: the takeover's restore read %v, want %d records", d, w.restored, want)
		}
		if got := w.finalOut(true); !slices.Equal(got, []string{"out-v0", "out-v1", "out-v2"}) {
			t.Errorf("%+v: read_committed sees %v", d, got)
		}
		if got := txnTypes(w.c.Ops()); !slices.Equal(got, []history.Type{history.OK, history.Info, history.OK}) {
			t.Errorf("txn completions %v", got)
		}
	}
}

func TestAtLeastOnceCommitsCommittable(t *testing.T) {
	w := newWorld(false, 1, stream.Defects{}, 3)
	m1 := w.pl.Member()
	m1.Batch(0, 3, Commit)
	if w.pl.Committed(0) != 1 {
		t.Fatalf("committed %d, want 1 (the App holds offset 1 back)", w.pl.Committed(0))
	}
	w.hold = -1
	m2 := w.pl.Member()
	m2.Batch(0, 5, Commit)
	if !slices.Equal(w.seen, []string{"v0", "v1", "v2", "v1", "v2"}) {
		t.Errorf("processed %v: the takeover must replay from the committed offset", w.seen)
	}
	if len(w.restored) != 3 {
		t.Errorf("the takeover's restore read %v", w.restored)
	}
}

func TestCommitBeforeWriteLosesACrashedBatch(t *testing.T) {
	w := newWorld(false, -1, stream.Defects{CommitBeforeWrite: true}, 2)
	m1 := w.pl.Member()
	m1.Batch(0, 2, CrashBeforeWrite)
	if w.pl.Committed(0) != 2 {
		t.Fatalf("committed %d, want 2", w.pl.Committed(0))
	}
	if n := w.pl.Member().Batch(0, 5, Commit); n != 0 {
		t.Errorf("the takeover processed %d records; the planted commit skipped them", n)
	}
}

func TestHistoryIsTheSameEveryRun(t *testing.T) {
	run := func() []history.Op {
		w := newWorld(true, -1, stream.Defects{}, 5)
		m := w.pl.Member()
		m.Batch(0, 2, Abort)
		m.Batch(0, 2, CrashBeforeCommit)
		w.pl.Finish(func(p int32, a int) string { return fmt.Sprintf("barrier|%d|%d", p, a) })
		return w.c.Ops()
	}
	a, b := run(), run()
	if err := history.Validate(a); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) || len(a) < 20 {
		t.Error("two runs of one script recorded different histories")
	}
}
