package history

import (
	"bytes"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// sample is a small history with every function and completion type.
func sample() []Op {
	start := time.Unix(1_700_000_000, 0)
	r := NewRecorder(start, fakeClock(start, 1_000))
	r.Record(Op{Process: 0, Type: Invoke, F: FnSend, Send: &Send{Client: 1, Topic: "q", Key: "k1", Value: "p0-0", Partition: Unknown, Offset: Unknown}})
	r.Record(Op{Process: 1, Type: Invoke, F: FnAssign, Assign: &Assign{Topic: "q", Partitions: []int32{0, 1}}})
	r.Record(Op{Process: 0, Type: OK, F: FnSend, Send: &Send{Client: 1, Topic: "q", Key: "k1", Value: "p0-0", Partition: 1, Offset: 0}})
	r.Record(Op{Process: 1, Type: OK, F: FnAssign, Assign: &Assign{Topic: "q", Partitions: []int32{0, 1}}})
	r.Record(Op{Process: 1, Type: Invoke, F: FnPoll})
	r.Record(Op{Process: 0, Type: Invoke, F: FnSend, Send: &Send{Client: 1, Topic: "q", Key: "k\"2\n<&>", Value: "p0-1", Partition: Unknown, Offset: Unknown}})
	r.Record(Op{Process: 1, Type: OK, F: FnPoll, Poll: &Poll{Reads: []PartitionRead{
		{Topic: "q", Partition: 0, HighWatermark: 0, LogStartOffset: 0},
		{Topic: "q", Partition: 1, HighWatermark: 1, LogStartOffset: 0, Records: []Record{{Offset: 0, Key: "k1", Value: "p0-0"}}},
	}}})
	r.Record(Op{Process: 0, Type: Info, F: FnSend, Send: &Send{Client: 1, Topic: "q", Key: "k\"2\n<&>", Value: "p0-1", Partition: Unknown, Offset: Unknown}, Error: "timeout"})
	r.Record(Op{Process: 2, Type: Invoke, F: FnSubscribe, Subscribe: &Subscribe{Topics: []string{"q"}}})
	r.Record(Op{Process: 2, Type: Fail, F: FnSubscribe, Subscribe: &Subscribe{Topics: []string{"q"}}, Error: "closed"})
	r.Record(Op{Process: 3, Type: Invoke, F: FnTxn, Txn: &Txn{Mops: []Mop{
		{F: FnSend, Send: &Send{Client: 2, Topic: "q", Key: "k", Value: "p3-0", Partition: Unknown, Offset: Unknown}},
		{F: FnSend, Send: &Send{Client: 2, Topic: "q", Key: "k", Value: "p3-1", Partition: Unknown, Offset: Unknown}},
	}}})
	r.Record(Op{Process: 3, Type: OK, F: FnTxn, Txn: &Txn{Mops: []Mop{
		{F: FnSend, Send: &Send{Client: 2, Topic: "q", Key: "k", Value: "p3-0", Partition: 0, Offset: 0}},
		{F: FnSend, Send: &Send{Client: 2, Topic: "q", Key: "k", Value: "p3-1", Partition: 0, Offset: 1}},
	}}})
	// A group member: its join, an assignment on its events process, a
	// commit and a read of the committed offsets.
	join := &Join{Group: "g", Topics: []string{"q"}, Balancer: "range", Events: 5}
	r.Record(Op{Process: 4, Type: Invoke, F: FnJoin, Join: join})
	r.Record(Op{Process: 4, Type: OK, F: FnJoin, Join: join})
	as := &Assignment{Group: "g", Member: "m-1", Generation: 3, Event: Assigned, Topic: "q", Owned: []int32{0, 1}, Changed: []int32{1}}
	r.Record(Op{Process: 5, Type: Invoke, F: FnAssignment, Assignment: as})
	r.Record(Op{Process: 5, Type: OK, F: FnAssignment, Assignment: as})
	r.Record(Op{Process: 4, Type: Invoke, F: FnCommit, Commit: &Commit{Group: "g", Member: "m-1", Generation: 3, Offsets: []GroupOffset{{Topic: "q", Partition: 1, Offset: 1, LeaderEpoch: 2, Metadata: "p4"}}}})
	r.Record(Op{Process: 4, Type: OK, F: FnCommit, Commit: &Commit{Group: "g", Member: "m-1", Generation: 3, Offsets: []GroupOffset{{Topic: "q", Partition: 1, Offset: 1, LeaderEpoch: 2, Metadata: "p4", Error: "REBALANCE_IN_PROGRESS"}}}})
	r.Record(Op{Process: 4, Type: Invoke, F: FnOffsets, Offsets: &Offsets{Group: "g"}})
	r.Record(Op{Process: 4, Type: OK, F: FnOffsets, Offsets: &Offsets{Group: "g", Offsets: []GroupOffset{{Topic: "q", Partition: 0, Offset: Unknown, LeaderEpoch: Unknown}, {Topic: "q", Partition: 1, Offset: 1, LeaderEpoch: 2, Metadata: "p4"}}}})
	r.Record(Op{Process: 9, Type: Invoke, F: FnFinal, Final: &Final{Topic: "q", Partitions: 2, Reader: 10}})
	r.Record(Op{Process: 10, Type: Invoke, F: FnPoll})
	r.Record(Op{Process: 10, Type: OK, F: FnPoll, Poll: &Poll{Reads: []PartitionRead{
		{Topic: "q", Partition: 0, HighWatermark: Unknown, LogStartOffset: Unknown, Error: "lost records", DataLoss: &DataLoss{ConsumedTo: 2, ResetTo: 0}},
	}}})
	r.Record(Op{Process: 9, Type: OK, F: FnFinal, Final: &Final{Topic: "q", Partitions: 2, Reader: 10, Marks: []FinalMark{
		{Partition: 0, LogStartOffset: 0, HighWatermark: 2, ReadTo: 2, Complete: true},
		{Partition: 1, LogStartOffset: 0, HighWatermark: 1, ReadTo: 1, Complete: true},
	}}})
	return r.Ops()
}

// fakeClock starts at start and steps by step nanoseconds per read.
func fakeClock(start time.Time, step int64) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Duration(step))
		return t
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	h := sample()
	if err := Validate(h); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Encode(&buf, h); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != len(h)+1 {
		t.Fatalf("%d lines for a header and %d ops", n, len(h))
	}
	lines := strings.SplitN(buf.String(), "\n", 3)
	if want := `{"format":"weir-history","version":7}`; lines[0] != want {
		t.Fatalf("header\n got %s\nwant %s", lines[0], want)
	}
	// Times are nanoseconds since the recorder's start.
	const want = `{"index":0,"process":0,"type":"invoke","f":"send","time":1000,"send":{"client":1,"topic":"q","key":"k1","value":"p0-0","partition":-1,"offset":-1}}`
	if lines[1] != want {
		t.Fatalf("first op\n got %s\nwant %s", lines[1], want)
	}
	got, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("round trip differs:\n got %v\nwant %v", got, h)
	}
	var again bytes.Buffer
	if err := Encode(&again, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Fatal("re-encoding gives different bytes")
	}
}

func TestDecodeRejects(t *testing.T) {
	const hd = `{"format":"weir-history","version":2}` + "\n"
	for name, in := range map[string]string{
		"no header":          `{"index":0,"process":0,"type":"invoke","f":"poll","time":1}`,
		"empty":              "",
		"old version":        `{"format":"weir-history","version":1}`,
		"newer version":      `{"format":"weir-history","version":8}`,
		"negative commit":    hd + `{"index":0,"process":0,"type":"invoke","f":"txn","time":1,"txn":{"transactional":true,"mops":[],"commit_time":-5}}`,
		"other format":       `{"format":"jepsen","version":2}`,
		"unknown field":      hd + `{"index":0,"process":0,"type":"invoke","f":"poll","time":1,"bogus":1}`,
		"bad type":           hd + `{"index":0,"process":0,"type":"maybe","f":"poll","time":1}`,
		"unknown f":          hd + `{"index":0,"process":0,"type":"invoke","f":"dance","time":1}`,
		"negative time":      hd + `{"index":0,"process":0,"type":"invoke","f":"poll","time":-1}`,
		"f/value":            hd + `{"index":0,"process":0,"type":"invoke","f":"poll","time":1,"send":{"client":1,"topic":"q","key":"k","value":"v","partition":-1,"offset":-1}}`,
		"ok send no pos":     hd + `{"index":0,"process":0,"type":"ok","f":"send","time":1,"send":{"client":1,"topic":"q","key":"k","value":"v","partition":-1,"offset":-1}}`,
		"two values":         hd + `{"index":0,"process":0,"type":"invoke","f":"poll","time":1} {"index":1}`,
		"not json":           hd + `{"index":`,
		"send no payload":    hd + `{"index":0,"process":0,"type":"invoke","f":"send","time":1}`,
		"final no payload":   hd + `{"index":0,"process":0,"type":"invoke","f":"final","time":1}`,
		"txn mop mismatch":   hd + `{"index":0,"process":0,"type":"invoke","f":"txn","time":1,"txn":{"mops":[{"f":"send"}]}}`,
		"ok txn unacked":     hd + `{"index":0,"process":0,"type":"ok","f":"txn","time":1,"txn":{"mops":[{"f":"send","send":{"client":1,"topic":"q","key":"k","value":"v","partition":-1,"offset":-1}}]}}`,
		"epoch -1":           hd + `{"index":0,"process":0,"type":"ok","f":"poll","time":1,"poll":{"reads":[{"topic":"q","partition":0,"high_watermark":1,"log_start_offset":0,"records":null,"leader_epoch":-1}]}}`,
		"epochs unsorted":    hd + `{"index":0,"process":0,"type":"ok","f":"poll","time":1,"poll":{"reads":[{"topic":"q","partition":0,"high_watermark":1,"log_start_offset":0,"records":null,"epochs":[{"epoch":2,"offset":0},{"epoch":1,"offset":3}]}]}}`,
		"watermark -2":       hd + `{"index":0,"process":0,"type":"ok","f":"poll","time":1,"poll":{"reads":[{"topic":"q","partition":0,"high_watermark":-2,"log_start_offset":0,"records":null}]}}`,
		"mark contradicts":   hd + `{"index":0,"process":0,"type":"info","f":"final","time":1,"final":{"topic":"q","partitions":1,"marks":[{"partition":0,"log_start_offset":0,"high_watermark":5,"read_to":3,"complete":true}]}}`,
		"ok final short":     hd + `{"index":0,"process":0,"type":"ok","f":"final","time":1,"final":{"topic":"q","partitions":2,"marks":[{"partition":0,"log_start_offset":0,"high_watermark":5,"read_to":5,"complete":true}]}}`,
		"final partitions":   hd + `{"index":0,"process":0,"type":"invoke","f":"final","time":1,"final":{"topic":"q","partitions":2147483647,"reader":1}}`,
		"join no group":      hd + `{"index":0,"process":0,"type":"invoke","f":"join","time":1,"join":{"group":"","topics":["q"],"events":1}}`,
		"commit no payload":  hd + `{"index":0,"process":0,"type":"invoke","f":"commit","time":1}`,
		"bad event":          hd + `{"index":0,"process":0,"type":"invoke","f":"assignment","time":1,"assignment":{"group":"g","member":"m","generation":1,"event":"stolen","topic":"q","owned":[],"changed":[]}}`,
		"owned unsorted":     hd + `{"index":0,"process":0,"type":"invoke","f":"assignment","time":1,"assignment":{"group":"g","member":"m","generation":1,"event":"assigned","topic":"q","owned":[1,0],"changed":[]}}`,
		"offset -2":          hd + `{"index":0,"process":0,"type":"ok","f":"offsets","time":1,"offsets":{"group":"g","offsets":[{"topic":"q","partition":0,"offset":-2,"leader_epoch":0}]}}`,
		"ok final, one part": hd + `{"index":0,"process":0,"type":"ok","f":"final","time":1,"final":{"topic":"q","partitions":1,"marks":[{"partition":0,"log_start_offset":0,"high_watermark":5,"read_to":3,"complete":false}]}}`,
	} {
		if _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("%s: decoded %s", name, in)
		}
	}
}

// TestDecodeVersion2 reads a history of version 2: the fields version 3
// added are optional.
func TestDecodeVersion2(t *testing.T) {
	in := `{"format":"weir-history","version":2}` + "\n" +
		`{"index":0,"process":0,"type":"invoke","f":"assign","time":1,"assign":{"topic":"q","partitions":[0]}}` + "\n" +
		`{"index":1,"process":0,"type":"ok","f":"assign","time":2,"assign":{"topic":"q","partitions":[0]}}` + "\n"
	h, err := Decode(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[1].Assign == nil || h[1].Assign.ReadCommitted {
		t.Fatalf("decoded %v", h)
	}
	v3 := strings.Replace(in, `"partitions":[0]}}`+"\n"+`{"index":1`, `"partitions":[0],"read_committed":true}}`+"\n"+`{"index":1`, 1)
	v3 = strings.Replace(v3, `"version":2`, `"version":3`, 1)
	h, err = Decode(strings.NewReader(v3))
	if err != nil {
		t.Fatal(err)
	}
	if !h[0].Assign.ReadCommitted {
		t.Fatalf("read_committed lost: %v", h[0].Assign)
	}
}

func TestValidate(t *testing.T) {
	h := sample()
	bad := func(name string, mutate func(h []Op) []Op) {
		t.Helper()
		c := append([]Op(nil), h...)
		if err := Validate(mutate(c)); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
	bad("index gap", func(h []Op) []Op { return append(h[:3], h[4:]...) })
	bad("time backwards", func(h []Op) []Op { h[5].Time = h[4].Time - 1; return h })
	bad("double invoke", func(h []Op) []Op { h[2].Type = Invoke; return h })
	bad("orphan completion", func(h []Op) []Op { h[0].Process = 7; return h })
	bad("wrong function", func(h []Op) []Op {
		h[3].F, h[3].Assign, h[3].Subscribe = FnSubscribe, nil, &Subscribe{Topics: []string{"q"}}
		return h
	})
	// An invoke left open at the end is an unknown outcome, not an error.
	if err := Validate(h[:len(h)-1]); err != nil {
		t.Errorf("open invoke at the end: %v", err)
	}
}

func TestOpAccessors(t *testing.T) {
	h := sample()
	if s := h[10].Sends(); len(s) != 2 || s[1].Value != "p3-1" {
		t.Errorf("txn sends %v", s)
	}
	if r := h[6].Reads(); len(r) != 2 || r[1].Records[0].Value != "p0-0" {
		t.Errorf("poll reads %v", r)
	}
	if got, want := h[6].String(), "6 p1 ok poll q/0 hwm 0 q/1@0..0(1) hwm 1"; got != want {
		t.Errorf("String\n got %s\nwant %s", got, want)
	}
	if got := Seconds(1_500_000_000); got != 1.5 {
		t.Errorf("Seconds = %v", got)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	r := NewRecorder(time.Now(), nil)
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				r.Record(Op{Process: w, Type: Invoke, F: FnPoll})
				r.Record(Op{Process: w, Type: OK, F: FnPoll, Poll: &Poll{}})
			}
		}()
	}
	wg.Wait()
	h := r.Ops()
	if len(h) != workers*each*2 || r.Len() != len(h) {
		t.Fatalf("%d ops, want %d", len(h), workers*each*2)
	}
	if err := Validate(h); err != nil {
		t.Fatal(err)
	}
}

func TestRecorderTimesSinceStart(t *testing.T) {
	start := time.Unix(100, 0)
	now := start.Add(3 * time.Second)
	r := NewRecorder(start, func() time.Time { return now })
	if op := r.Record(Op{Process: 0, Type: Invoke, F: FnPoll}); op.Time != 3e9 {
		t.Fatalf("time %d, want 3e9", op.Time)
	}
	now = start.Add(time.Second) // a wall clock stepped back
	if op := r.Record(Op{Process: 0, Type: OK, F: FnPoll, Poll: &Poll{}}); op.Time != 3e9 {
		t.Fatalf("time %d after the clock stepped back, want 3e9", op.Time)
	}
	if !r.Start().Equal(start) {
		t.Fatal("Start")
	}
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	if err := Encode(&buf, sample()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"format":"weir-history","version":2}` + "\n" + `{"index":0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Decode(bytes.NewReader(b))
		if err != nil {
			return
		}
		// Whatever decodes re-encodes and decodes to the same history.
		var out bytes.Buffer
		if err := Encode(&out, h); err != nil {
			t.Fatal(err)
		}
		h2, err := Decode(&out)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(h, h2) {
			t.Fatalf("unstable: %v vs %v", h, h2)
		}
	})
}
