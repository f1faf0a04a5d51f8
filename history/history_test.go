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
	r := NewRecorder(fakeClock(1_000))
	r.Record(Op{Process: 0, Type: Invoke, F: FnSend, Send: &Send{Topic: "q", Key: "k1", Value: "p0-0", Partition: Unknown, Offset: Unknown}})
	r.Record(Op{Process: 1, Type: Invoke, F: FnAssign, Assign: &Assign{Topic: "q", Partitions: []int32{0, 1}}})
	r.Record(Op{Process: 0, Type: OK, F: FnSend, Send: &Send{Topic: "q", Key: "k1", Value: "p0-0", Partition: 1, Offset: 0}})
	r.Record(Op{Process: 1, Type: OK, F: FnAssign, Assign: &Assign{Topic: "q", Partitions: []int32{0, 1}}})
	r.Record(Op{Process: 1, Type: Invoke, F: FnPoll})
	r.Record(Op{Process: 0, Type: Invoke, F: FnSend, Send: &Send{Topic: "q", Key: "k\"2\n<&>", Value: "p0-1", Partition: Unknown, Offset: Unknown}})
	r.Record(Op{Process: 1, Type: OK, F: FnPoll, Poll: &Poll{Reads: []PartitionRead{{Topic: "q", Partition: 1, Records: []Record{{Offset: 0, Key: "k1", Value: "p0-0"}}}}}})
	r.Record(Op{Process: 0, Type: Info, F: FnSend, Send: &Send{Topic: "q", Key: "k\"2\n<&>", Value: "p0-1", Partition: Unknown, Offset: Unknown}, Error: "timeout"})
	r.Record(Op{Process: 2, Type: Invoke, F: FnSubscribe, Subscribe: &Subscribe{Topics: []string{"q"}}})
	r.Record(Op{Process: 2, Type: Fail, F: FnSubscribe, Subscribe: &Subscribe{Topics: []string{"q"}}, Error: "closed"})
	r.Record(Op{Process: 9, Type: Invoke, F: FnFinal, Final: &Final{Topic: "q"}})
	r.Record(Op{Process: 9, Type: OK, F: FnFinal, Final: &Final{Topic: "q", HighWatermarks: []PartitionMark{{0, 0}, {1, 1}}}})
	return r.Ops()
}

func fakeClock(step int64) func() time.Time {
	var mu sync.Mutex
	t := int64(1_700_000_000_000_000_000)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t += step
		return time.Unix(0, t)
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
	if n := strings.Count(buf.String(), "\n"); n != len(h) {
		t.Fatalf("%d lines for %d ops", n, len(h))
	}
	first := strings.SplitN(buf.String(), "\n", 2)[0]
	const want = `{"index":0,"process":0,"type":"invoke","f":"send","time":1700000000000001000,"send":{"topic":"q","key":"k1","value":"p0-0","partition":-1,"offset":-1}}`
	if first != want {
		t.Fatalf("first line\n got %s\nwant %s", first, want)
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
	for name, in := range map[string]string{
		"unknown field":   `{"index":0,"process":0,"type":"invoke","f":"poll","time":1,"bogus":1}`,
		"bad type":        `{"index":0,"process":0,"type":"maybe","f":"poll","time":1}`,
		"unknown f":       `{"index":0,"process":0,"type":"invoke","f":"dance","time":1}`,
		"f/value":         `{"index":0,"process":0,"type":"invoke","f":"poll","time":1,"send":{"topic":"q","key":"k","value":"v","partition":-1,"offset":-1}}`,
		"ok send no pos":  `{"index":0,"process":0,"type":"ok","f":"send","time":1,"send":{"topic":"q","key":"k","value":"v","partition":-1,"offset":-1}}`,
		"two values":      `{"index":0,"process":0,"type":"invoke","f":"poll","time":1} {"index":1}`,
		"not json":        `{"index":`,
		"send no payload": `{"index":0,"process":0,"type":"invoke","f":"send","time":1}`,
	} {
		if _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("%s: decoded %s", name, in)
		}
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
	// An invoke left open is an unknown outcome, not an error.
	if err := Validate(h[:len(h)-1]); err != nil {
		t.Errorf("open invoke at the end: %v", err)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	r := NewRecorder(nil)
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

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	if err := Encode(&buf, sample()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"index":0}`))
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
