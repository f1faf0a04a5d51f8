package checker

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/weir-dev/weir/history"
)

// genLog draws a partition log from a run of a correct log (appends take
// effect at increasing instants inside their intervals, reads see the log
// of an instant inside theirs), then perturbs some reads and intervals, so
// about half the logs are not linearizable.
func genLog(t *rapid.T) *partitionLog {
	l := &partitionLog{tp: tp{"t", 0}}
	n := rapid.IntRange(0, 12).Draw(t, "appends")
	var at []int64 // when each append takes effect
	off, now := int64(-1), int64(0)
	for i := range n {
		off += rapid.Int64Range(0, 2).Draw(t, "gap") // 0: two records at one offset
		if i == 0 {
			off = max(off, 0)
		}
		now += rapid.Int64Range(1, 4).Draw(t, "dt")
		at = append(at, now)
		a := &linOp{kind: linAppend, idx: i, offset: off, value: fmt.Sprint(i), op: int64(i),
			callNs: now - rapid.Int64Range(0, 6).Draw(t, "before"), retNs: now + rapid.Int64Range(0, 6).Draw(t, "after")}
		if rapid.IntRange(0, 4).Draw(t, "info") == 0 {
			a.retNs = math.MaxInt64
		}
		l.appends = append(l.appends, a)
	}
	for j := range rapid.IntRange(0, 12).Draw(t, "reads") {
		when := rapid.Int64Range(0, now+3).Draw(t, "when")
		k := 0
		for k < n && at[k] < when {
			k++
		}
		r := &linOp{kind: linRead, op: int64(100 + j), exact: true, level: k, hwm: history.Unknown, first: history.Unknown, last: history.Unknown,
			callNs: when - rapid.Int64Range(0, 6).Draw(t, "rbefore"), retNs: when + rapid.Int64Range(0, 6).Draw(t, "rafter")}
		if k > 0 && rapid.IntRange(0, 3).Draw(t, "atleast") == 0 {
			r.exact, r.level = false, rapid.IntRange(1, k).Draw(t, "floor")
		}
		switch rapid.IntRange(0, 9).Draw(t, "perturb") {
		case 0:
			r.level++
		case 1:
			r.level = max(r.level-1, 0)
		case 2:
			r.bad = "contradiction"
		case 3:
			r.retNs = r.callNs // a read that ended early
		}
		l.reads = append(l.reads, r)
	}
	if n > 0 && rapid.IntRange(0, 4).Draw(t, "shift") == 0 {
		a := l.appends[rapid.IntRange(0, n-1).Draw(t, "which")]
		a.callNs += rapid.Int64Range(0, 10).Draw(t, "late")
		a.retNs = max(a.retNs, a.callNs)
	}
	return l
}

// feasible decides l by the earliest schedule alone.
func feasible(l *partitionLog) bool {
	for i, a := range l.appends {
		if i > 0 && l.appends[i-1].offset == a.offset {
			return false
		}
	}
	chain := l.chain()
	e, _ := earliest(chain)
	for i, x := range chain {
		if e[i] > x.retNs || x.kind == linRead && (x.bad != "" || x.level > len(l.appends)) {
			return false
		}
	}
	return true
}

// TestWindowsAgree is the proof of the windowed check: porcupine on whole
// partitions, porcupine on the smallest windows the cuts allow, and the
// earliest schedule agree on every drawn log.
func TestWindowsAgree(t *testing.T) {
	legal := 0
	rapid.Check(t, func(t *rapid.T) {
		l := genLog(t)
		whole := l.check(math.MaxInt, -1, time.Time{})
		cut := l.check(1, -1, time.Time{})
		want := feasible(l)
		if whole.windows > 1 {
			t.Fatalf("whole check in %d windows", whole.windows)
		}
		if whole.result != cut.result || (whole.result == resultOK) != want {
			t.Fatalf("whole %s, in %d windows %s, earliest schedule feasible %v\nappends %v\nreads %v",
				whole.result, cut.windows, cut.result, want, l.appends, l.reads)
		}
		if want {
			legal++
		}
	})
	if legal == 0 {
		t.Fatal("no linearizable log drawn")
	}
}

// longHistory is n sequential sends of one producer to partition 0, each
// read by one consumer poll after it was acknowledged, and a final read.
func longHistory(n int) []history.Op {
	var b hb
	var all []rd
	for i := range n {
		v := fmt.Sprintf("v%d", i)
		b.send(0, v, history.OK, 0, int64(i))
		b.poll(1, rd{0, int64(i), v})
		all = append(all, rd{0, int64(i), v})
	}
	b.final([]int64{int64(n)}, all...)
	return b.ops
}

func TestLinearizabilityCutsLongHistories(t *testing.T) {
	v := Check(longHistory(2000), Opts{})
	if v.Outcome != Valid || len(v.Linearizability) != 1 {
		t.Fatalf("%s\n%+v", v.Summary(), v.Linearizability)
	}
	r := v.Linearizability[0]
	if r.Result != resultOK || r.Appends != 2000 || r.Reads != 2002 || r.Windows < 4000/minWindowOps-2 {
		t.Fatalf("partition result %+v: want ok in about %d windows", r, 4000/minWindowOps)
	}
}

func TestVisualizationOfAFailingPartition(t *testing.T) {
	h := longHistory(300)
	// A stale read in the middle: a poll that says the log ended at 10
	// after 150 records were acknowledged.
	mid := 150 * 4
	h[mid+3].Poll.Reads[0].Records = nil
	h[mid+3].Poll.Reads[0].HighWatermark = 10
	dir := t.TempDir()
	v := Check(h, Opts{VisualizationPath: func(topic string, p int32) string {
		return filepath.Join(dir, fmt.Sprintf("%s-%d.html", topic, p))
	}})
	if v.Counts[Nonlinearizable] != 1 {
		t.Fatalf("%s", v.Summary())
	}
	r := v.Linearizability[0]
	b, err := os.ReadFile(filepath.Join(dir, "t-0.html"))
	if err != nil || r.Visualization != "t-0.html" {
		t.Fatalf("visualization %q: %v", r.Visualization, err)
	}
	if !strings.Contains(string(b), "read hwm 10") || !strings.Contains(v.Anomalies[Nonlinearizable][0].Detail, "read hwm 10") {
		t.Fatalf("the visualisation or the witness does not show the stale read: %s", v.Anomalies[Nonlinearizable][0].Detail)
	}
}

// deposedRead is seed 35006's shape: a is acknowledged at t/0@0 in leader
// epoch 2 (the final read returns it with that epoch), then a poll of
// another client that the broker answered in leader epoch readEpoch (nil:
// unknown) shows the high watermark at 0; appendEpochs says whether the
// final read carried the epochs of what it returned.
func deposedRead(readEpoch *int32, appendEpochs bool) []history.Op {
	var b hb
	b.send(0, "a", history.OK, 0, 0)
	b.assign(2, 0)
	i := b.pollH(2, map[int32]int64{0: 0})
	b.ops[i].Poll.Reads[0].LeaderEpoch = readEpoch
	i = b.final([]int64{1}, rd{0, 0, "a"})
	if appendEpochs {
		b.ops[i-1].Poll.Reads[0].Epochs = []history.EpochStart{{Epoch: 2, Offset: 0}}
		b.ops[i-1].Poll.Reads[0].LeaderEpoch = new(int32(2))
	}
	return b.ops
}

// A read below an acknowledged append is a stale read, not linearizable,
// unless the leader that answered it may have been deposed before that
// append: Kafka lets a leader cut off from the metadata quorum answer a
// client whose metadata came from it (seed 35006). The same read answered
// by the leader of the append's epoch, or with an epoch the history does
// not know, is a regression of the high watermark, and still found.
func TestStaleReadOfADeposedLeader(t *testing.T) {
	for _, c := range []struct {
		name         string
		readEpoch    *int32
		appendEpochs bool
		want         int
		detail       string
	}{
		{name: "answered in an earlier epoch", readEpoch: new(int32(1)), appendEpochs: true, want: 0},
		{name: "answered in the append's epoch", readEpoch: new(int32(2)), appendEpochs: true, want: 1,
			detail: "op 1 (append a @0) completed at 0.002000s, but it can only take effect after op 5 (read hwm 0)"},
		{name: "answered in a later epoch", readEpoch: new(int32(3)), appendEpochs: true, want: 1},
		{name: "the read's epoch unknown", appendEpochs: true, want: 1},
		{name: "the append's epoch unknown", readEpoch: new(int32(1)), want: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := Check(deposedRead(c.readEpoch, c.appendEpochs), Opts{})
			if v.Counts[Nonlinearizable] != c.want {
				t.Fatalf("nonlinearizable ×%d, want ×%d: %s", v.Counts[Nonlinearizable], c.want, v.Summary())
			}
			if c.want == 0 && v.Outcome != Valid {
				t.Fatalf("outcome %s, want valid: %s", v.Outcome, v.Summary())
			}
			if c.detail != "" && !strings.Contains(v.Anomalies[Nonlinearizable][0].Detail, c.detail) {
				t.Fatalf("witness %q lacks %q", v.Anomalies[Nonlinearizable][0].Detail, c.detail)
			}
		})
	}
}
