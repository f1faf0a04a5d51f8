package checker

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/weir-dev/weir/history"
)

// hb builds synthetic histories; every helper records an invoke and its
// completion, so the result passes history.Validate.
type hb struct{ ops []history.Op }

func (b *hb) add(op history.Op) int64 {
	op.Index, op.Time = int64(len(b.ops)), int64(len(b.ops))
	b.ops = append(b.ops, op)
	return op.Index
}

// send records a send of value by proc ending typ; p and o matter for ok.
func (b *hb) send(proc int, value string, typ history.Type, p int32, o int64) int64 {
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnSend, Send: &history.Send{Topic: "t", Key: "k", Value: value, Partition: -1, Offset: -1}})
	s := &history.Send{Topic: "t", Key: "k", Value: value, Partition: -1, Offset: -1}
	if typ == history.OK {
		s.Partition, s.Offset = p, o
	}
	return b.add(history.Op{Process: proc, Type: typ, F: history.FnSend, Send: s, Error: map[bool]string{true: "err"}[typ != history.OK]})
}

func (b *hb) openSend(proc int, value string) {
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnSend, Send: &history.Send{Topic: "t", Key: "k", Value: value, Partition: -1, Offset: -1}})
}

type rd struct {
	p int32
	o int64
	v string
}

// poll records an ok poll by proc returning rs, grouped by partition in the
// order given.
func (b *hb) poll(proc int, rs ...rd) int64 {
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnPoll})
	var p history.Poll
	for _, r := range rs {
		n := len(p.Reads)
		if n == 0 || p.Reads[n-1].Partition != r.p {
			p.Reads = append(p.Reads, history.PartitionRead{Topic: "t", Partition: r.p})
			n++
		}
		p.Reads[n-1].Records = append(p.Reads[n-1].Records, history.Record{Offset: r.o, Key: "k", Value: r.v})
	}
	return b.add(history.Op{Process: proc, Type: history.OK, F: history.FnPoll, Poll: &p})
}

func (b *hb) assign(proc int, ps ...int32) {
	a := &history.Assign{Topic: "t", Partitions: ps}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnAssign, Assign: a})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnAssign, Assign: a})
}

// final records an ok final read with the high watermarks hwm[i] of partition i.
func (b *hb) final(proc int, hwm ...int64) int64 {
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnFinal, Final: &history.Final{Topic: "t"}})
	f := &history.Final{Topic: "t"}
	for p, h := range hwm {
		f.HighWatermarks = append(f.HighWatermarks, history.PartitionMark{Partition: int32(p), Offset: h})
	}
	return b.add(history.Op{Process: proc, Type: history.OK, F: history.FnFinal, Final: f})
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(b *hb)
		want  map[string]int // anomaly -> witnesses
		// detail must appear in the first witness of each anomaly wanted.
		detail map[string]string
		opts   Opts
		valid  bool // only consulted when want is non-empty
		unseen int
	}{
		{name: "empty", build: func(b *hb) {}},
		{name: "acked sends read in order", build: func(b *hb) {
			b.send(0, "a", history.OK, 0, 0)
			b.send(0, "b", history.OK, 0, 1)
			b.send(1, "c", history.OK, 1, 0)
			b.poll(2, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{1, 0, "c"})
			b.poll(3, rd{0, 0, "a"})
			b.poll(3, rd{0, 1, "b"})
			b.final(4, 2, 1)
		}},
		{name: "unseen tail is not lost", unseen: 1, build: func(b *hb) {
			b.send(0, "a", history.OK, 0, 0)
			b.send(0, "b", history.OK, 0, 1)
			b.poll(2, rd{0, 0, "a"})
		}},
		{name: "info and open sends may appear or not", build: func(b *hb) {
			b.send(0, "a", history.Info, 0, 0)
			b.send(1, "b", history.Info, 0, 0)
			b.openSend(3, "c")
			b.send(4, "d", history.OK, 0, 1)
			b.poll(2, rd{0, 0, "a"}, rd{0, 1, "d"}, rd{0, 2, "c"})
			b.final(9, 3)
		}},
		{name: "failed send never read", build: func(b *hb) {
			b.send(0, "a", history.Fail, 0, 0)
			b.send(0, "b", history.OK, 0, 0)
			b.poll(2, rd{0, 0, "b"})
		}},
		{name: "gaps nobody read into are not skips", build: func(b *hb) {
			b.send(0, "a", history.OK, 0, 0)
			b.send(0, "b", history.OK, 0, 2)
			b.poll(2, rd{0, 0, "a"}, rd{0, 2, "b"})
		}},
		{name: "reassign reads from the start again", build: func(b *hb) {
			b.send(0, "a", history.OK, 0, 0)
			b.send(0, "b", history.OK, 0, 1)
			b.assign(2, 0)
			b.poll(2, rd{0, 0, "a"}, rd{0, 1, "b"})
			b.assign(2, 0)
			b.poll(2, rd{0, 0, "a"})
			b.poll(2, rd{0, 1, "b"})
		}},

		{name: "lost: never read, later offset read", want: map[string]int{LostWrite: 1},
			detail: map[string]string{LostWrite: "send b (op 3) acknowledged at t/0@1: never read; op 7 read the later offset 2"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.send(0, "b", history.OK, 0, 1)
				b.send(0, "c", history.OK, 0, 2)
				b.poll(2, rd{0, 0, "a"}, rd{0, 2, "c"})
			}},
		{name: "lost: beyond the final high watermark", want: map[string]int{LostWrite: 1},
			detail: map[string]string{LostWrite: "beyond the final high watermark 1"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.send(0, "b", history.OK, 0, 1)
				b.poll(9, rd{0, 0, "a"})
				b.final(9, 1)
			}},
		{name: "lost: the final read missed it", want: map[string]int{LostWrite: 1},
			detail: map[string]string{LostWrite: "the final read to high watermark 2"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.send(0, "b", history.OK, 0, 1)
				b.poll(9, rd{0, 0, "a"})
				b.final(9, 2)
			}},
		{name: "lost: offset read holding another value", want: map[string]int{LostWrite: 1},
			detail: map[string]string{LostWrite: "op 5 read x there"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.send(1, "x", history.Info, 0, 0)
				b.poll(2, rd{0, 0, "x"}, rd{0, 1, "y"})
			}},
		{name: "lost: allowed", opts: Opts{Allowed: []string{LostWrite}}, valid: true, want: map[string]int{LostWrite: 1},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.poll(2, rd{0, 1, "b"})
			}},
		{name: "lost: witnesses capped", opts: Opts{MaxWitnesses: 1}, want: map[string]int{LostWrite: 3},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.send(0, "b", history.OK, 0, 1)
				b.send(0, "c", history.OK, 0, 2)
				b.final(9, 3)
			}},
		{name: "duplicate", want: map[string]int{Duplicate: 1},
			detail: map[string]string{Duplicate: "value a read at 2 positions: t/0@0 (op 3), t/0@2 (op 5)"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.poll(2, rd{0, 0, "a"})
				b.poll(2, rd{0, 2, "a"})
			}},
		{name: "inconsistent offsets", want: map[string]int{InconsistentOffsets: 1},
			detail: map[string]string{InconsistentOffsets: "t/1@4 read holding 2 values: a (op 5), b (op 7)"},
			build: func(b *hb) {
				b.send(0, "a", history.Info, 0, 0)
				b.send(1, "b", history.Info, 0, 0)
				b.poll(2, rd{1, 4, "a"})
				b.poll(3, rd{1, 4, "b"})
			}},
		{name: "aborted read", want: map[string]int{AbortedRead: 1},
			detail: map[string]string{AbortedRead: "send a failed (op 1: err) but op 3 read it at t/0@0"},
			build: func(b *hb) {
				b.send(0, "a", history.Fail, 0, 0)
				b.poll(2, rd{0, 0, "a"})
			}},
		{name: "nonmonotonic poll", want: map[string]int{NonmonotonicPoll: 1},
			detail: map[string]string{NonmonotonicPoll: "process 2 read t/0@1 (op 5) then t/0@0 (op 7)"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.send(0, "b", history.OK, 0, 1)
				b.poll(2, rd{0, 0, "a"}, rd{0, 1, "b"})
				b.poll(2, rd{0, 0, "a"})
			}},
		{name: "poll skip", want: map[string]int{PollSkip: 1},
			detail: map[string]string{PollSkip: "process 3 read t/0@0 (op 9) then t/0@2 (op 9), skipping t/0@1=b that op 7 read"},
			build: func(b *hb) {
				b.send(0, "a", history.OK, 0, 0)
				b.send(0, "b", history.OK, 0, 1)
				b.send(0, "c", history.OK, 0, 2)
				b.poll(2, rd{0, 0, "a"}, rd{0, 1, "b"}, rd{0, 2, "c"})
				b.poll(3, rd{0, 0, "a"}, rd{0, 2, "c"})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b hb
			tc.build(&b)
			if err := history.Validate(b.ops); err != nil {
				t.Fatalf("test history: %v", err)
			}
			v := Check(b.ops, tc.opts)
			wantValid := len(tc.want) == 0 || tc.valid
			if v.Valid != wantValid {
				t.Errorf("valid = %v, want %v\n%s", v.Valid, wantValid, v.Summary())
			}
			for _, name := range Anomalies() {
				if got := v.Counts[name]; got != tc.want[name] {
					t.Errorf("%s: %d witnesses, want %d: %+v", name, got, tc.want[name], v.Anomalies[name])
				}
				if d, ok := tc.detail[name]; ok && (len(v.Anomalies[name]) == 0 || !strings.Contains(v.Anomalies[name][0].Detail, d)) {
					t.Errorf("%s: witness %+v does not say %q", name, v.Anomalies[name], d)
				}
			}
			if tc.opts.MaxWitnesses > 0 {
				for name, ws := range v.Anomalies {
					if len(ws) > tc.opts.MaxWitnesses {
						t.Errorf("%s: %d witnesses kept, max %d", name, len(ws), tc.opts.MaxWitnesses)
					}
				}
			}
			if v.Stats.Unseen != tc.unseen {
				t.Errorf("unseen = %d, want %d", v.Stats.Unseen, tc.unseen)
			}
		})
	}
}

func TestVerdictJSONDeterministic(t *testing.T) {
	var b hb
	b.send(0, "a", history.OK, 0, 0)
	b.send(0, "b", history.Fail, 0, 1)
	b.poll(2, rd{0, 1, "b"}, rd{0, 2, "a"})
	b.poll(3, rd{0, 1, "c"})
	b.poll(4, rd{0, 0, "a"})
	b.send(0, "d", history.OK, 1, 0)
	b.poll(4, rd{1, 1, "e"})
	var first []byte
	for i := range 20 {
		v := Check(b.ops, Opts{})
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = out
			for _, name := range []string{LostWrite, Duplicate, InconsistentOffsets, AbortedRead} {
				if v.Counts[name] == 0 {
					t.Errorf("no %s in %s", name, v.Summary())
				}
			}
			// Keys sorted: aborted-read before duplicate before inconsistent-offsets.
			s := string(out)
			if !(strings.Index(s, `"aborted-read"`) < strings.Index(s, `"duplicate"`) &&
				strings.Index(s, `"duplicate"`) < strings.Index(s, `"inconsistent-offsets"`)) {
				t.Errorf("anomaly keys not sorted: %s", s)
			}
			var back Verdict
			if err := json.Unmarshal(out, &back); err != nil || back.Valid || len(back.Anomalies[LostWrite]) != 1 {
				t.Errorf("decode verdict: %v %+v", err, back)
			}
		} else if !bytes.Equal(out, first) {
			t.Fatalf("verdict encoding differs between runs:\n%s\n%s", first, out)
		}
	}
}
