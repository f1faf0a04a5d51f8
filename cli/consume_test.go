package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"
)

// seedRecords writes records with fixed timestamps straight through kgo, so
// that consume output (timestamps included) is exact.
func seedRecords(t *testing.T, bootstrap string, rs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func TestConsumePrintProperties(t *testing.T) {
	bs := cluster(t, 1, "p")
	ts := func(ms int64) time.Time { return time.UnixMilli(ms) }
	seedRecords(t, bs,
		&kgo.Record{Topic: "p", Key: []byte("k1"), Value: []byte("v1"), Timestamp: ts(1700000000000),
			Headers: []kgo.RecordHeader{{Key: "h1", Value: []byte("a")}, {Key: "h2", Value: []byte("b")}}},
		&kgo.Record{Topic: "p", Value: []byte("v2"), Timestamp: ts(1700000000001)},
		&kgo.Record{Topic: "p", Key: []byte("k3"), Timestamp: ts(1700000000002), // tombstone: null value
			Headers: []kgo.RecordHeader{{Key: "n"}}},
	)
	for _, tc := range []struct {
		props []string
		want  string
	}{
		{nil, "v1\nv2\nnull\n"},
		{[]string{"print.key=true"}, "k1\tv1\nnull\tv2\nk3\tnull\n"},
		{
			[]string{"print.timestamp=true", "print.partition=true", "print.offset=true", "print.key=true"},
			"CreateTime:1700000000000\tPartition:0\tOffset:0\tk1\tv1\n" +
				"CreateTime:1700000000001\tPartition:0\tOffset:1\tnull\tv2\n" +
				"CreateTime:1700000000002\tPartition:0\tOffset:2\tk3\tnull\n",
		},
		{[]string{"print.headers=true"}, "h1:a,h2:b\tv1\nNO_HEADERS\tv2\nn:null\tnull\n"},
		{[]string{"print.offset=true", "print.value=false"}, "Offset:0\nOffset:1\nOffset:2\n"},
		{
			[]string{"print.key=true", "print.headers=true", "key.separator=|", "null.literal=NULL", "headers.separator=;", "headers.key.separator=="},
			"h1=a;h2=b|k1|v1\nNO_HEADERS|NULL|v2\nn=NULL|k3|NULL\n",
		},
	} {
		t.Run(strings.Join(tc.props, ","), func(t *testing.T) {
			args := []string{"--bootstrap-server", bs, "--topic", "p", "--from-beginning", "--max-messages", "3"}
			for _, p := range tc.props {
				args = append(args, "--property", p)
			}
			r := run(t, Consume, "", args...)
			r.want(t, ExitOK, tc.want)
			if r.stderr != "Processed a total of 3 messages\n" {
				t.Fatalf("stderr %q", r.stderr)
			}
		})
	}
}

// TestProduceConsumeRoundTrip writes lines with headers and keys through
// produce and reads them back through consume with the matching print
// properties: every codec and acks level must give the input back.
func TestProduceConsumeRoundTrip(t *testing.T) {
	bs := cluster(t, 1, "rt")
	lines := "trace:1,src:web\tuser-1\tclicked buy\n" +
		"trace:2\tuser-2\t{\"amount\": 10}\n" +
		"\tuser-3\tno headers here\n" +
		"trace:4\t\tempty key\n"
	want := strings.Replace(lines, "\tuser-3", "NO_HEADERS\tuser-3", 1)
	offset := 0
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		for _, acks := range []string{"all", "1", "0"} {
			t.Run(codec+"/acks="+acks, func(t *testing.T) {
				run(t, Produce, lines, "--bootstrap-server", bs, "--topic", "rt", "--compression", codec, "--acks", acks,
					"--property", "parse.key=true", "--property", "parse.headers=true", "--linger-ms", "5", "--batch-size", "16384").
					want(t, ExitOK, "")
				// acks=0 gets no answer: the records may still be on their way.
				r := run(t, Consume, "", "--bootstrap-server", bs, "--topic", "rt", "--partition", "0", "--offset", fmt.Sprint(offset),
					"--max-messages", "4", "--property", "print.headers=true", "--property", "print.key=true")
				r.want(t, ExitOK, want)
				offset += 4
			})
		}
	}
}

// murmur2 is Kafka's Utils.murmur2, transcribed from the Java client.
func murmur2(data []byte) int32 {
	const m = 0x5bd1e995
	h := uint32(0x9747b28c) ^ uint32(len(data))
	n4 := len(data) / 4
	for i := range n4 {
		k := uint32(data[i*4]) | uint32(data[i*4+1])<<8 | uint32(data[i*4+2])<<16 | uint32(data[i*4+3])<<24
		k *= m
		k ^= k >> 24
		k *= m
		h *= m
		h ^= k
	}
	tail := data[n4*4:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// javaPartition is BuiltInPartitioner.partitionForKey: toPositive(murmur2) % n.
func javaPartition(key []byte, n int) int {
	return int(uint32(murmur2(key))&0x7fffffff) % n
}

func TestMurmur2MatchesKafka(t *testing.T) {
	// Kafka's own test vectors (clients/.../common/utils/UtilsTest.testMurmur2).
	for key, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := murmur2([]byte(key)); got != want {
			t.Errorf("murmur2(%q) = %d, Kafka says %d", key, got, want)
		}
	}
}

// TestKeyedRecordsLandWhereKafkaPuts checks, end to end, that produce puts
// each keyed record on the partition the Java client would pick for a
// 3-partition topic.
func TestKeyedRecordsLandWhereKafkaPuts(t *testing.T) {
	// Expected partitions, from Kafka's murmur2 vectors above (e.g. "21":
	// toPositive(-973932308) = 1173551340, % 3 = 0) and javaPartition.
	known := map[string]int{
		"21": 0, "foobar": 0, "abc": 0,
		"a-little-bit-long-string": 2, "a-little-bit-longer-string": 2,
		// murmur2("user-4") = 2067937567, % 3 = 1; "user-8": toPositive(-1644747527) = 502736121, % 3 = 0.
		"user-1": 2, "user-4": 1, "user-5": 1, "user-8": 0,
	}
	kgoPart := kgo.StickyKeyPartitioner(nil).ForTopic("keyed")
	var stdin strings.Builder
	for key, want := range known {
		if got := javaPartition([]byte(key), 3); got != want {
			t.Fatalf("javaPartition(%q) = %d, table says %d", key, got, want)
		}
		if got := kgoPart.Partition(&kgo.Record{Key: []byte(key)}, 3); got != want {
			t.Fatalf("kgo partitioner puts %q on %d, Kafka on %d", key, got, want)
		}
		fmt.Fprintf(&stdin, "%s\tvalue-of-%s\n", key, key)
	}

	bs := cluster(t, 3, "keyed")
	run(t, Produce, stdin.String(), "--bootstrap-server", bs, "--topic", "keyed", "--property", "parse.key=true").want(t, ExitOK, "")
	r := run(t, Consume, "", "--bootstrap-server", bs, "--topic", "keyed", "--from-beginning", "--max-messages", fmt.Sprint(len(known)),
		"--property", "print.partition=true", "--property", "print.key=true")
	if r.code != ExitOK {
		t.Fatalf("consume: exit %d: %s", r.code, r.stderr)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		var p int
		var key, value string
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("bad line %q", line)
		}
		fmt.Sscanf(f[0], "Partition:%d", &p)
		key, value = f[1], f[2]
		if want, ok := known[key]; !ok || p != want || value != "value-of-"+key {
			t.Errorf("%q landed on partition %d, Kafka puts it on %d", line, p, want)
		}
		seen[key] = true
	}
	if len(seen) != len(known) {
		t.Fatalf("read back %d keys, wrote %d:\n%s", len(seen), len(known), r.stdout)
	}
}

func TestProducePinnedPartition(t *testing.T) {
	bs := cluster(t, 3, "pin")
	run(t, Produce, "21\ta\nuser-1\tb\nuser-2\tc\n", "--bootstrap-server", bs, "--topic", "pin", "--partition", "2",
		"--property", "parse.key=true").want(t, ExitOK, "")
	run(t, Consume, "", "--bootstrap-server", bs, "--topic", "pin", "--partition", "2", "--offset", "earliest",
		"--max-messages", "3", "--property", "print.partition=true").
		want(t, ExitOK, "Partition:2\ta\nPartition:2\tb\nPartition:2\tc\n")
}

func TestConsumeStops(t *testing.T) {
	bs := cluster(t, 1, "s")
	run(t, Produce, "a\nb\nc\nd\ne\n", "--bootstrap-server", bs, "--topic", "s").want(t, ExitOK, "")
	b := "--bootstrap-server=" + bs

	r := run(t, Consume, "", b, "--topic", "s", "--from-beginning", "--max-messages", "3")
	r.want(t, ExitOK, "a\nb\nc\n")
	if r.stderr != "Processed a total of 3 messages\n" {
		t.Fatalf("stderr %q", r.stderr)
	}

	start := time.Now()
	r = run(t, Consume, "", b, "--topic", "s", "--from-beginning", "--timeout-ms", "1000")
	r.want(t, ExitOK, "a\nb\nc\nd\ne\n")
	if r.stderr != "Processed a total of 5 messages\n" {
		t.Fatalf("stderr %q", r.stderr)
	}
	if d := time.Since(start); d < time.Second || d > 6*time.Second {
		t.Fatalf("--timeout-ms 1000 returned after %v", d)
	}

	// Without --from-beginning only new records are read.
	run(t, Consume, "", b, "--topic", "s", "--timeout-ms", "200").want(t, ExitOK, "")
	run(t, Consume, "", b, "--topic", "s", "--partition", "0", "--offset", "3", "--max-messages", "2",
		"--property", "print.offset=true").want(t, ExitOK, "Offset:3\td\nOffset:4\te\n")
	run(t, Consume, "", b, "--topic", "s", "--partition", "0", "--offset", "latest", "--timeout-ms", "200").want(t, ExitOK, "")
}

// TestConsumeUntilInterrupted: without a stop flag consume runs until the
// context ends (SIGINT in the binary) and then exits 0 with the count.
func TestConsumeUntilInterrupted(t *testing.T) {
	bs := cluster(t, 1, "i")
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	out := newSignalWriter()
	var errb bytes.Buffer
	done := make(chan int)
	go func() {
		done <- Consume(ctx, []string{"--bootstrap-server", bs, "--topic", "i", "--from-beginning"}, nil, out, &errb)
	}()
	seedRecords(t, bs, &kgo.Record{Topic: "i", Value: []byte("one")}, &kgo.Record{Topic: "i", Value: []byte("two")})
	out.waitFor(t, "one\ntwo\n")
	cancel()
	if code := <-done; code != ExitOK || out.String() != "one\ntwo\n" || errb.String() != "Processed a total of 2 messages\n" {
		t.Fatalf("exit %d stdout %q stderr %q", code, out.String(), errb.String())
	}
}

func TestConsumeGroupCommits(t *testing.T) {
	bs := cluster(t, 1, "g")
	run(t, Produce, "a\nb\nc\n", "--bootstrap-server", bs, "--topic", "g").want(t, ExitOK, "")
	args := []string{"--bootstrap-server", bs, "--topic", "g", "--group", "readers", "--from-beginning"}
	run(t, Consume, "", append(args, "--max-messages", "2")...).want(t, ExitOK, "a\nb\n")
	// The group resumes after what it printed.
	run(t, Consume, "", append(args, "--timeout-ms", "1500")...).want(t, ExitOK, "c\n")
}

func TestConsumeErrors(t *testing.T) {
	bs := cluster(t, 2, "e")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing topic", nil, ExitUsage, "weir consume: missing --topic"},
		{"offset without partition", []string{"--topic", "e", "--offset", "3"}, ExitUsage, "weir consume: --offset needs --partition"},
		{"bad offset", []string{"--topic", "e", "--partition", "0", "--offset", "first"}, ExitUsage, `weir consume: --offset "first"`},
		{"offset and from-beginning", []string{"--topic", "e", "--partition", "0", "--offset", "1", "--from-beginning"}, ExitUsage, "weir consume: --offset and --from-beginning"},
		{"group and partition", []string{"--topic", "e", "--partition", "0", "--group", "g"}, ExitUsage, "weir consume: --partition cannot be used with --group"},
		{"unknown topic", []string{"--topic", "nope"}, ExitError, `weir consume: topic "nope" does not exist`},
		{"no such partition", []string{"--topic", "e", "--partition", "2"}, ExitError, `weir consume: topic "e" has 2 partitions; there is no partition 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, Consume, "", append(tc.args, "--bootstrap-server", bs)...).wantErr(t, tc.code, tc.msg)
		})
	}
	addr := deadAddr(t)
	run(t, Consume, "", "--bootstrap-server", addr, "--topic", "e", "--timeout-ms", "200").
		wantErr(t, ExitError, "weir consume: cannot reach bootstrap server "+addr)
}

// TestConsumeGroupUnsupported: against a broker without the group APIs (Weir
// before its group coordinator), --group fails with one clear line.
func TestConsumeGroupUnsupported(t *testing.T) {
	v := kversion.Stable()
	for _, key := range []int16{8, 9, 10, 11, 12, 13, 14, 68} { // commit/fetch offsets, coordinator, join..sync, heartbeat v2
		v.SetMaxKeyVersion(key, -1)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "g"), kfake.MaxVersions(v))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run(t, Consume, "", "--bootstrap-server", strings.Join(c.ListenAddrs(), ","), "--topic", "g", "--group", "x", "--timeout-ms", "5000").
		wantErr(t, ExitError, `weir consume: group "x": unable to join group session`)
}
