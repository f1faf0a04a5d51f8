package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
)

// runPython runs testdata/<script> with /usr/bin/python3 and decodes the JSON
// it prints on stdout into out.
func runPython(t *testing.T, script string, out any, args ...string) {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, "", []string{"PYTHONDONTWRITEBYTECODE=1"}, pythonBin, append([]string{path}, args...)...)
	if r.code != 0 {
		t.Fatalf("%s: %s", script, r)
	}
	if err := json.Unmarshal([]byte(r.stdout), out); err != nil {
		t.Fatalf("%s: output is not the expected JSON: %v\n%s", script, err, r)
	}
}

type pyOffset struct {
	I         int   `json:"i"`
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

type pyTour struct {
	Sent     []pyOffset `json:"sent"`
	Keyed    []pyOffset `json:"keyed"`
	Consumed []struct {
		Partition int32   `json:"partition"`
		Offset    int64   `json:"offset"`
		Key       *string `json:"key"`
		Value     struct {
			I    int    `json:"i"`
			Kind string `json:"kind"`
		} `json:"value"`
	} `json:"consumed"`
	Partitions map[string]struct {
		Beginning int64  `json:"beginning"`
		End       int64  `json:"end"`
		ForTime0  *int64 `json:"for_time_0"`
	} `json:"partitions"`
}

// TestKafkaPython runs kafka-python's tutorial code: a KafkaProducer with a
// JSON value_serializer sends dicts, a group-less KafkaConsumer with
// auto_offset_reset='earliest' reads every one back at the offset its send
// reported; keyed sends all land on one partition, in order.
func TestKafkaPython(t *testing.T) {
	t.Parallel()
	needPython(t, "kafka")
	s := startServer(t)
	s.createTopic(t, "tutorial", 3, nil)

	const n, keyed = 60, 20
	var out pyTour
	runPython(t, "kafka_python_tour.py", &out, s.addr, "tutorial", strconv.Itoa(n), strconv.Itoa(keyed))

	if len(out.Sent) != n || len(out.Keyed) != keyed {
		t.Fatalf("kafka-python got %d+%d send results, want %d+%d", len(out.Sent), len(out.Keyed), n, keyed)
	}
	at := map[string]string{} // "partition/offset" -> "kind/i" as acknowledged
	for _, kind := range []struct {
		name string
		acks []pyOffset
	}{{"plain", out.Sent}, {"keyed", out.Keyed}} {
		for _, a := range kind.acks {
			pos := fmt.Sprintf("%d/%d", a.Partition, a.Offset)
			if prev, dup := at[pos]; dup {
				t.Errorf("%s %d and %s were both acknowledged at %s", kind.name, a.I, prev, pos)
			}
			at[pos] = fmt.Sprintf("%s/%d", kind.name, a.I)
		}
	}
	keyedPartition := out.Keyed[0].Partition
	for i, a := range out.Keyed {
		if a.Partition != keyedPartition {
			t.Errorf("keyed send %d on partition %d, send 0 on %d: one key must map to one partition", i, a.Partition, keyedPartition)
		}
		if i > 0 && a.Offset <= out.Keyed[i-1].Offset {
			t.Errorf("keyed send %d at offset %d, not after send %d at %d", i, a.Offset, i-1, out.Keyed[i-1].Offset)
		}
	}

	if len(out.Consumed) != n+keyed {
		t.Fatalf("KafkaConsumer read %d records, want %d", len(out.Consumed), n+keyed)
	}
	next := map[int32]int64{}
	for _, c := range out.Consumed {
		pos := fmt.Sprintf("%d/%d", c.Partition, c.Offset)
		if got := fmt.Sprintf("%s/%d", c.Value.Kind, c.Value.I); at[pos] != got {
			t.Errorf("at %s KafkaConsumer read %s, the producer was told %q", pos, got, at[pos])
		}
		wantKey := c.Value.Kind == "keyed"
		if (c.Key != nil) != wantKey || (wantKey && *c.Key != "user-42") {
			t.Errorf("at %s: key %v for a %s record", pos, c.Key, c.Value.Kind)
		}
		if c.Offset != next[c.Partition] {
			t.Errorf("partition %d: read offset %d, want %d (dense from 0)", c.Partition, c.Offset, next[c.Partition])
		}
		next[c.Partition] = c.Offset + 1
	}

	// beginning_offsets, end_offsets and offsets_for_times agree with what
	// was read.
	if len(out.Partitions) != 3 {
		t.Errorf("partitions_for_topic: %d partitions, want 3", len(out.Partitions))
	}
	for p, o := range out.Partitions {
		pn, _ := strconv.Atoi(p)
		end := next[int32(pn)]
		var wantForTime *int64
		if end > 0 {
			wantForTime = new(int64)
		}
		if o.Beginning != 0 || o.End != end || (o.ForTime0 == nil) != (wantForTime == nil) || (o.ForTime0 != nil && *o.ForTime0 != 0) {
			t.Errorf("partition %s: beginning %d end %d offsets_for_times(0) %v; want 0, %d and %v", p, o.Beginning, o.End, o.ForTime0, end, wantForTime)
		}
	}
}

type confluentRecord struct {
	Key       string  `json:"key"`
	Value     string  `json:"value"`
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Error     *string `json:"error"`
}

// TestConfluentKafka produces with an idempotent confluent-kafka Producer,
// checking every delivery callback (no errors, dense offsets), and reads it
// all back with Consumer.assign().
func TestConfluentKafka(t *testing.T) {
	t.Parallel()
	needPython(t, "confluent_kafka")
	s := startServer(t)
	const partitions, n = 3, 300
	s.createTopic(t, "confluent", partitions, nil)

	var out struct {
		Delivered  []confluentRecord   `json:"delivered"`
		Consumed   []confluentRecord   `json:"consumed"`
		Watermarks map[string][2]int64 `json:"watermarks"`
	}
	runPython(t, "confluent_tour.py", &out, s.addr, "confluent", strconv.Itoa(partitions), strconv.Itoa(n))

	if len(out.Delivered) != n {
		t.Fatalf("%d delivery reports, want %d", len(out.Delivered), n)
	}
	at := map[string]confluentRecord{}
	keyPartition := map[string]int32{}
	for _, d := range out.Delivered {
		if d.Error != nil {
			t.Errorf("delivery of %s failed: %s", d.Value, *d.Error)
			continue
		}
		pos := fmt.Sprintf("%d/%d", d.Partition, d.Offset)
		if prev, dup := at[pos]; dup {
			t.Errorf("%s and %s both delivered at %s", prev.Value, d.Value, pos)
		}
		at[pos] = d
		if p, ok := keyPartition[d.Key]; ok && p != d.Partition {
			t.Errorf("key %s delivered to partitions %d and %d", d.Key, p, d.Partition)
		}
		keyPartition[d.Key] = d.Partition
	}
	perPartition := map[int32]int64{}
	for _, d := range at {
		perPartition[d.Partition]++
	}
	for pos, d := range at {
		if d.Offset >= perPartition[d.Partition] {
			t.Errorf("delivered at %s but partition %d has only %d records: offsets are not dense", pos, d.Partition, perPartition[d.Partition])
		}
	}

	if len(out.Consumed) != n {
		t.Fatalf("assign() consumer read %d records, want %d", len(out.Consumed), n)
	}
	for _, c := range out.Consumed {
		pos := fmt.Sprintf("%d/%d", c.Partition, c.Offset)
		d, ok := at[pos]
		if !ok || d.Key != c.Key || d.Value != c.Value {
			t.Errorf("read %s=%s at %s; delivery report there: %+v", c.Key, c.Value, pos, d)
		}
	}
	for p := range int32(partitions) {
		w, ok := out.Watermarks[strconv.Itoa(int(p))]
		if !ok || w != [2]int64{0, perPartition[p]} {
			t.Errorf("partition %d: watermarks %v, want [0 %d]", p, w, perPartition[p])
		}
	}
}
