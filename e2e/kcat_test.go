package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kcatRecord is one line of `kcat -C -f '%k|%s|%p|%o\n'`.
type kcatRecord struct {
	key, value string
	partition  int32
	offset     int64
}

func parseKcat(t *testing.T, out string) []kcatRecord {
	t.Helper()
	var recs []kcatRecord
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		f := strings.Split(l, "|")
		if len(f) != 4 {
			t.Fatalf("kcat line %q: want key|value|partition|offset", l)
		}
		p, err1 := strconv.ParseInt(f[2], 10, 32)
		o, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("kcat line %q: bad partition or offset", l)
		}
		recs = append(recs, kcatRecord{f[0], f[1], int32(p), o})
	}
	return recs
}

// TestKcat drives the broker with kcat (librdkafka): metadata listing,
// keyed produce and consume, and records crossing between kcat and franz-go
// in both directions.
func TestKcat(t *testing.T) {
	t.Parallel()
	kcat := needKcat(t)
	s := startServer(t)
	s.createTopic(t, "events", 3, nil)
	s.createTopic(t, "from-franz", 2, nil)

	r := run(t, "", nil, kcat, "-b", s.addr, "-L")
	if r.code != 0 {
		t.Fatalf("kcat -L: %s", r)
	}
	for _, want := range []string{
		fmt.Sprintf("Metadata for all topics (from broker 1: %s/1):\n", s.addr),
		" 1 brokers:\n",
		fmt.Sprintf("  broker 1 at %s (controller)\n", s.addr),
		" 2 topics:\n",
		"  topic \"events\" with 3 partitions:\n" +
			"    partition 0, leader 1, replicas: 1, isrs: 1\n" +
			"    partition 1, leader 1, replicas: 1, isrs: 1\n" +
			"    partition 2, leader 1, replicas: 1, isrs: 1\n",
		"  topic \"from-franz\" with 2 partitions:\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("kcat -L output lacks %q:\n%s", want, r.stdout)
		}
	}

	// kcat -P with keys: 40 lines over 4 keys.
	var in strings.Builder
	want := map[string][]string{}
	for i := range 40 {
		k := fmt.Sprintf("device-%d", i%4)
		v := fmt.Sprintf("reading-%02d", i)
		fmt.Fprintf(&in, "%s:%s\n", k, v)
		want[k] = append(want[k], v)
	}
	r = run(t, in.String(), nil, kcat, "-P", "-b", s.addr, "-t", "events", "-K:", "-X", "acks=all")
	if r.code != 0 {
		t.Fatalf("kcat -P: %s", r)
	}
	r = run(t, "", nil, kcat, "-C", "-b", s.addr, "-t", "events", "-o", "beginning", "-e", "-q", "-f", `%k|%s|%p|%o\n`)
	if r.code != 0 {
		t.Fatalf("kcat -C: %s", r)
	}
	recs := parseKcat(t, r.stdout)
	if len(recs) != 40 {
		t.Fatalf("kcat -C read %d records, want 40:\n%s", len(recs), r.stdout)
	}
	keyPartition := map[string]int32{}
	got := map[string][]string{}
	next := map[int32]int64{}
	for _, rec := range recs {
		if p, ok := keyPartition[rec.key]; ok && p != rec.partition {
			t.Errorf("key %s on partitions %d and %d", rec.key, p, rec.partition)
		}
		keyPartition[rec.key] = rec.partition
		if rec.offset != next[rec.partition] {
			t.Errorf("partition %d: offset %d, want %d", rec.partition, rec.offset, next[rec.partition])
		}
		next[rec.partition] = rec.offset + 1
		got[rec.key] = append(got[rec.key], rec.value)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("per key, kcat read %v, want %v", got, want)
	}

	// kcat -> franz-go: the same records, partitions and offsets.
	fromKcat := s.readAll(t, "events")
	n := 0
	for p, rs := range fromKcat {
		for _, rec := range rs {
			n++
			if keyPartition[string(rec.Key)] != p {
				t.Errorf("franz-go read key %s on partition %d, kcat on %d", rec.Key, p, keyPartition[string(rec.Key)])
			}
		}
	}
	if n != 40 {
		t.Errorf("franz-go read %d records of kcat's 40", n)
	}
	for _, rec := range recs {
		rs := fromKcat[rec.partition]
		if rec.offset >= int64(len(rs)) || string(rs[rec.offset].Value) != rec.value || rs[rec.offset].Offset != rec.offset {
			t.Errorf("kcat saw %s at %d/%d; franz-go has something else there", rec.value, rec.partition, rec.offset)
		}
	}

	// franz-go -> kcat: explicit partitions, so the offsets are known.
	cl := s.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx := testCtx(t)
	for i := range 10 {
		rec := &kgo.Record{Topic: "from-franz", Partition: int32(i % 2), Key: []byte(fmt.Sprintf("fk%d", i)), Value: []byte(fmt.Sprintf("fv%d", i))}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatalf("franz-go produce: %v", err)
		}
		if rec.Offset != int64(i/2) {
			t.Fatalf("franz-go record %d acknowledged at offset %d, want %d", i, rec.Offset, i/2)
		}
	}
	r = run(t, "", nil, kcat, "-C", "-b", s.addr, "-t", "from-franz", "-o", "beginning", "-e", "-q", "-f", `%k|%s|%p|%o\n`)
	if r.code != 0 {
		t.Fatalf("kcat -C from-franz: %s", r)
	}
	recs = parseKcat(t, r.stdout)
	if len(recs) != 10 {
		t.Fatalf("kcat read %d of franz-go's 10 records:\n%s", len(recs), r.stdout)
	}
	for _, rec := range recs {
		i, err := strconv.Atoi(strings.TrimPrefix(rec.key, "fk"))
		if err != nil || rec.value != fmt.Sprintf("fv%d", i) || rec.partition != int32(i%2) || rec.offset != int64(i/2) {
			t.Errorf("kcat read %+v; franz-go wrote fk%d=fv%d at %d/%d", rec, i, i, i%2, i/2)
		}
	}
}

// TestKcatOffsetsHeadersAndTail covers what kcat users reach for next:
// headers (-H, %h), the last N records (-o -N), offsets by timestamp (-Q)
// and a live tail that receives records produced after it started waiting.
func TestKcatOffsetsHeadersAndTail(t *testing.T) {
	t.Parallel()
	kcat := needKcat(t)
	s := startServer(t)
	s.createTopic(t, "times", 1, nil)
	s.createTopic(t, "live", 1, nil)

	// Ten records with known CreateTimes an hour ago, 1 s apart, from
	// franz-go, then two with headers and the current time from kcat.
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	cl := s.client(t)
	for i := range 10 {
		rec := &kgo.Record{Topic: "times", Value: []byte(fmt.Sprintf("t%d", i)), Timestamp: base.Add(time.Duration(i) * time.Second)}
		if err := cl.ProduceSync(testCtx(t), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	r := run(t, "a:1\nb:2\n", nil, kcat, "-P", "-b", s.addr, "-t", "times", "-K:", "-H", "src=kcat", "-H", "n=1")
	if r.code != 0 {
		t.Fatalf("kcat -P -H: %s", r)
	}
	r = run(t, "", nil, kcat, "-C", "-b", s.addr, "-t", "times", "-o", "beginning", "-e", "-q", "-f", `%o|%k|%s|%h|%T\n`)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 12 {
		t.Fatalf("kcat -C: want 12 lines, got %s", r)
	}
	for i := range 10 {
		want := fmt.Sprintf("%d||t%d||%d", i, i, base.Add(time.Duration(i)*time.Second).UnixMilli())
		if lines[i] != want {
			t.Errorf("line %d: %q, want %q", i, lines[i], want)
		}
	}
	if !strings.HasPrefix(lines[10], "10|a|1|src=kcat,n=1|") || !strings.HasPrefix(lines[11], "11|b|2|src=kcat,n=1|") {
		t.Errorf("kcat's headers did not round-trip: %q, %q", lines[10], lines[11])
	}

	// The last two records: -o -2 (ListOffsets latest, minus 2).
	r = run(t, "", nil, kcat, "-C", "-b", s.addr, "-t", "times", "-o", "-2", "-e", "-q", "-f", `%o|%s|%h\n`)
	if r.code != 0 || r.stdout != "10|1|src=kcat,n=1\n11|2|src=kcat,n=1\n" {
		t.Errorf("kcat -o -2: want offsets 10 and 11; got %s", r)
	}

	// Offsets by timestamp: the first record at or after the time; -1 when
	// every record is older.
	for _, q := range []struct {
		ts   time.Time
		want int64
	}{
		{base.Add(-time.Minute), 0},
		{base, 0},
		{base.Add(2500 * time.Millisecond), 3},
		{base.Add(9 * time.Second), 9},
		{base.Add(30 * time.Minute), 10},
		{time.Now().Add(time.Hour), -1},
	} {
		arg := fmt.Sprintf("times:0:%d", q.ts.UnixMilli())
		r = run(t, "", nil, kcat, "-Q", "-b", s.addr, "-t", arg)
		if want := fmt.Sprintf("times [0] offset %d\n", q.want); r.code != 0 || r.stdout != want {
			t.Errorf("kcat -Q -t %s: want %q; got %s", arg, want, r)
		}
	}

	// A live tail: kcat waits on an empty topic; records produced while it
	// waits reach it and it exits after -c 3.
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	tail := exec.CommandContext(ctx, kcat, "-C", "-b", s.addr, "-t", "live", "-o", "beginning", "-c", "3", "-q", "-f", `%o|%s\n`)
	var out, errb bytes.Buffer
	tail.Stdout, tail.Stderr = &out, &errb
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	// Give kcat time to reach its fetch wait; the assertions hold either way.
	time.Sleep(300 * time.Millisecond)
	for i := range 3 {
		if err := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: "live", Value: []byte(fmt.Sprintf("live%d", i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := tail.Wait(); err != nil || out.String() != "0|live0\n1|live1\n2|live2\n" {
		t.Errorf("kcat tail: %v; stdout %q stderr %q", err, out.String(), errb.String())
	}
}
