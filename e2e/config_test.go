package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metadataAutoCreate asks for topic with AllowAutoTopicCreation, as a
// producer does, and returns the topic's error and partition count.
func metadataAutoCreate(t *testing.T, s *server, topic string) (error, int) {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	req.AllowAutoTopicCreation = true
	resp, err := req.RequestWith(testCtx(t), s.client(t))
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	if len(resp.Topics) != 1 {
		t.Fatalf("metadata for %s: %d topics in the answer", topic, len(resp.Topics))
	}
	return kerr.ErrorForCode(resp.Topics[0].ErrorCode), len(resp.Topics[0].Partitions)
}

// TestServerProperties starts the broker with a server.properties file and
// checks the effect of each key: the partition count of a topic created
// without one, auto-creation refused, topic defaults in DescribeConfigs,
// segments rolled at log.segment.bytes (and read back whole although the
// page cache behind the last MiB was dropped), message.max.bytes enforced,
// and an unknown key that only warns.
func TestServerProperties(t *testing.T) {
	t.Parallel()
	props := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(props, []byte(`# copied from a Kafka install
num.partitions=4
auto.create.topics.enable=false
log.segment.bytes=1048576
log.retention.hours=48
zookeeper.connect=localhost:2181
message.max.bytes=200000
weir.log.drop.behind.bytes=1048576
weir.log.background.sync.nice=10
`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--config", props)

	// The unknown key is a warning naming it, and the broker serves anyway.
	// The broker may accept connections before the copy of its stderr into
	// the buffer has caught up, so wait for the line a little.
	var warning string
	for deadline := time.Now().Add(10 * time.Second); warning == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, l := range strings.Split(s.stderr.String(), "\n") {
			if strings.Contains(l, "zookeeper.connect") {
				warning = l
			}
		}
	}
	if !strings.Contains(warning, "level=WARN") || !strings.Contains(warning, "line 6") {
		t.Errorf("want a WARN line naming zookeeper.connect and its line number; stderr:\n%s", s.stderr.String())
	}

	// auto.create.topics.enable=false: a producer's metadata request does
	// not create the topic.
	if err, n := metadataAutoCreate(t, s, "ghost"); err != kerr.UnknownTopicOrPartition || n != 0 {
		t.Errorf("metadata with auto-create for a missing topic: %v with %d partitions, want UNKNOWN_TOPIC_OR_PARTITION", err, n)
	}
	bs := "--bootstrap-server=" + s.addr
	if r := mustWeir(t, "", "topics", "list", bs); r.stdout != "" {
		t.Errorf("topics after a refused auto-create: %q", r.stdout)
	}

	// num.partitions: a topic created without a count gets 4.
	mustWeir(t, "", "topics", "create", bs, "--topic", "defaults")
	r := mustWeir(t, "", "topics", "describe", bs, "--topic", "defaults")
	if !strings.Contains(r.stdout, "\tPartitionCount: 4\t") || strings.Count(r.stdout, "\tPartition: ") != 4 {
		t.Errorf("describe: want 4 partitions:\n%s", r.stdout)
	}

	// Topic defaults: DescribeConfigs reports them as static broker config.
	rcs, err := s.admin(t).DescribeTopicConfigs(testCtx(t), "defaults")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("defaults", nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe configs: %v %v", err, rc.Err)
	}
	want := map[string]struct {
		value  string
		source kmsg.ConfigSource
	}{
		"segment.bytes":     {"1048576", kmsg.ConfigSourceStaticBrokerConfig},
		"retention.ms":      {"172800000", kmsg.ConfigSourceStaticBrokerConfig},
		"cleanup.policy":    {"delete", kmsg.ConfigSourceDefaultConfig},
		"max.message.bytes": {"200000", kmsg.ConfigSourceStaticBrokerConfig},
	}
	for _, c := range rc.Configs {
		w, ok := want[c.Key]
		if !ok {
			continue
		}
		delete(want, c.Key)
		if c.MaybeValue() != w.value || c.Source != w.source {
			t.Errorf("config %s = %s (source %v), want %s (source %v)", c.Key, c.MaybeValue(), c.Source, w.value, w.source)
		}
	}
	for k := range want {
		t.Errorf("DescribeConfigs does not list %s", k)
	}
	bcs, err := s.admin(t).DescribeBrokerConfigs(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bcs.On("1", nil)
	if err != nil || bc.Err != nil {
		t.Fatalf("describe broker configs: %v %v", err, bc.Err)
	}
	wantBroker := map[string]string{"num.partitions": "4", "auto.create.topics.enable": "false", "log.segment.bytes": "1048576", "log.retention.ms": "172800000", "weir.log.drop.behind.bytes": "1048576", "weir.log.background.sync.nice": "10"}
	for _, c := range bc.Configs {
		if w, ok := wantBroker[c.Key]; ok {
			if c.MaybeValue() != w {
				t.Errorf("broker config %s = %s, want %s", c.Key, c.MaybeValue(), w)
			}
			delete(wantBroker, c.Key)
		}
	}
	for k := range wantBroker {
		t.Errorf("broker DescribeConfigs does not list %s", k)
	}

	// log.segment.bytes: 3.5 MB on one partition rolls at least 3 segments,
	// and reading across them gives every record back in order.
	// Uncompressed: franz-go compresses with snappy by default, which would
	// shrink the repeated bytes far below a segment.
	// Batches of at most 100 kB stay under message.max.bytes.
	cl := s.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerBatchMaxBytes(100_000))
	var recs []*kgo.Record
	for i := range 350 {
		v := []byte(fmt.Sprintf("%05d-%s", i, strings.Repeat("x", 10<<10)))
		recs = append(recs, &kgo.Record{Topic: "defaults", Partition: 0, Value: v})
	}
	if err := cl.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// message.max.bytes: a larger batch (the client allows 1 MB) is refused
	// by the broker with MESSAGE_TOO_LARGE and nothing is appended.
	big := &kgo.Record{Topic: "defaults", Partition: 1, Value: make([]byte, 300000)}
	if err := s.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordRetries(0)).
		ProduceSync(testCtx(t), big).FirstErr(); !errors.Is(err, kerr.MessageTooLarge) {
		t.Errorf("a 300000-byte record with message.max.bytes=200000: %v, want MESSAGE_TOO_LARGE", err)
	}
	if n := len(s.readAll(t, "defaults")[1]); n != 0 {
		t.Errorf("partition 1 has %d records after a refused produce", n)
	}

	segs, err := filepath.Glob(filepath.Join(s.dataDir, "defaults-0", "*.log"))
	if err != nil || len(segs) < 3 {
		t.Errorf("after 3.5 MB with log.segment.bytes=1048576: segments %v, want at least 3", segs)
	}
	got := s.readAll(t, "defaults")[0]
	if len(got) != len(recs) {
		t.Fatalf("read %d records across segments, wrote %d", len(got), len(recs))
	}
	for i, r := range got {
		if r.Offset != int64(i) || string(r.Value[:5]) != fmt.Sprintf("%05d", i) {
			t.Fatalf("record %d: offset %d value %.5s", i, r.Offset, r.Value)
		}
	}
}

// TestAutoCreateDefault is the contrast to TestServerProperties: without a
// config file a producer's metadata request creates the topic, with one
// partition.
func TestAutoCreateDefault(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	if err, n := metadataAutoCreate(t, s, "auto"); err != nil || n != 1 {
		t.Fatalf("metadata with auto-create: %v with %d partitions, want the topic with 1", err, n)
	}
	if r := mustWeir(t, "", "topics", "list", "--bootstrap-server", s.addr); r.stdout != "auto\n" {
		t.Fatalf("topics list: %q", r.stdout)
	}
}

// TestServeBadCommandLine checks what a user sees for a wrong command line:
// usage and exit 2 for an unknown flag, and one clear line and exit 1 for a
// data dir of another node or a bad config file.
func TestServeBadCommandLine(t *testing.T) {
	t.Parallel()

	r := weir(t, "", "serve", "--bogus")
	if r.code != 2 || !strings.Contains(r.stderr, "flag provided but not defined: -bogus") || !strings.Contains(r.stderr, "usage: weir serve") || !strings.Contains(r.stderr, "-data-dir") {
		t.Errorf("weir serve --bogus: want exit 2 with the error and the usage; got %s", r)
	}
	r = weir(t, "", "serve", "--data-dir", t.TempDir(), "stray")
	if r.code != 2 || r.stderr != "weir serve: unexpected argument \"stray\"\n" {
		t.Errorf("weir serve stray: %s", r)
	}

	// A data dir made by node 1, then started as node 2.
	s := startServer(t)
	if code := s.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
	r = weir(t, "", "serve", "--listen", freePort(t), "--data-dir", s.dataDir, "--node-id", "2")
	want := fmt.Sprintf("weir serve: data dir %s belongs to node 1, not node 2\n", s.dataDir)
	if r.code != 1 || r.stderr != want {
		t.Errorf("node 2 on node 1's data dir: want exit 1 and %q; got %s", want, r)
	}
	// The dir still belongs to node 1: it starts again.
	s.start()
	if code := s.stop(); code != 0 {
		t.Fatalf("SIGTERM after restart: exit %d", code)
	}

	missing := filepath.Join(t.TempDir(), "nope.properties")
	r = weir(t, "", "serve", "--config", missing, "--data-dir", t.TempDir())
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, missing) {
		t.Errorf("missing config file: want exit 1 and one line naming it; got %s", r)
	}
	bad := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(bad, []byte("num.partitions=4\nnum.partitions=zero\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = weir(t, "", "serve", "--config", bad, "--data-dir", t.TempDir())
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "line 2") || !strings.Contains(r.stderr, "num.partitions") {
		t.Errorf("bad value in config: want exit 1 and one line naming line 2 and the key; got %s", r)
	}
}
