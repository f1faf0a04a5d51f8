package broker_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env"
)

// testBroker is a broker serving on a free loopback port.
type testBroker struct {
	t    *testing.T
	cfg  broker.Config
	deps broker.Deps
	b    *broker.Broker
	addr string
	stop context.CancelFunc
	done chan error
}

func newConfig(t *testing.T) broker.Config {
	cfg := broker.DefaultConfig()
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return cfg
}

func startBroker(t *testing.T, cfg broker.Config) *testBroker {
	t.Helper()
	tb := &testBroker{t: t, cfg: cfg, deps: broker.Deps{FS: env.OSFS{}, Net: env.OSNet{}, Clock: env.RealClock{},
		Breach: func(name, detail string) { t.Errorf("invariant %s broken: %s", name, detail) }}}
	tb.start()
	t.Cleanup(tb.close)
	return tb
}

func (tb *testBroker) start() {
	tb.t.Helper()
	b, err := broker.Open(tb.cfg, tb.deps)
	if err != nil {
		tb.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := b.Listen(ctx)
	if err != nil {
		tb.t.Fatal(err)
	}
	actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer acancel()
	if err := b.WaitActive(actx); err != nil {
		tb.t.Fatal(err)
	}
	// Restarts reuse the port so clients' cached metadata stays right.
	tb.cfg.ListenAddr = ln.Addr().String()
	tb.b, tb.addr, tb.stop, tb.done = b, ln.Addr().String(), cancel, make(chan error, 1)
	go func() { tb.done <- b.Serve(ctx, ln) }()
}

func (tb *testBroker) close() {
	if tb.b == nil {
		return
	}
	tb.stop()
	if err := <-tb.done; err != nil {
		tb.t.Errorf("serve: %v", err)
	}
	if err := tb.b.Close(); err != nil {
		tb.t.Errorf("close: %v", err)
	}
	tb.b = nil
}

func (tb *testBroker) restart() {
	tb.close()
	tb.start()
}

func (tb *testBroker) client(opts ...kgo.Opt) *kgo.Client {
	tb.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(tb.addr), kgo.RetryTimeout(5 * time.Second)}, opts...)...)
	if err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Cleanup(cl.Close)
	return cl
}

func (tb *testBroker) createTopic(name string, partitions int32, configs map[string]*string) {
	tb.t.Helper()
	adm := kadm.NewClient(tb.client())
	resp, err := adm.CreateTopic(context.Background(), partitions, 1, configs, name)
	if err != nil || resp.Err != nil {
		tb.t.Fatalf("create topic %s: %v %v", name, err, resp.Err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// consumeAll reads partition 0.. of topic from the start until it has n records.
func consumeAll(t *testing.T, tb *testBroker, topic string, n int) []*kgo.Record {
	t.Helper()
	cl := tb.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := ctxT(t)
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), n, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

func TestProduceConsumeAndRestart(t *testing.T) {
	for _, acks := range []struct {
		name string
		opt  kgo.Acks
	}{{"acks=all", kgo.AllISRAcks()}, {"acks=1", kgo.LeaderAck()}} {
		t.Run(acks.name, func(t *testing.T) {
			tb := startBroker(t, newConfig(t))
			tb.createTopic("orders", 3, nil)
			opts := []kgo.Opt{kgo.RequiredAcks(acks.opt)}
			if acks.name == "acks=1" {
				opts = append(opts, kgo.DisableIdempotentWrite())
			}
			cl := tb.client(opts...)
			ctx := ctxT(t)
			const n = 300
			sent := map[string]*kgo.Record{}
			for i := 0; i < n; i++ {
				r := &kgo.Record{Topic: "orders", Key: []byte("customer-" + strconv.Itoa(i%7)), Value: []byte(fmt.Sprintf("order-%d", i))}
				if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
					t.Fatal(err)
				}
				sent[string(r.Value)] = r
			}
			check := func(got []*kgo.Record) {
				t.Helper()
				if len(got) != n {
					t.Fatalf("got %d records, want %d", len(got), n)
				}
				partOfKey := map[string]int32{}
				for _, r := range got {
					s, ok := sent[string(r.Value)]
					if !ok {
						t.Fatalf("unexpected record %q", r.Value)
					}
					if s.Partition != r.Partition || s.Offset != r.Offset || !bytes.Equal(s.Key, r.Key) {
						t.Fatalf("record %q: sent to %d@%d, read at %d@%d", r.Value, s.Partition, s.Offset, r.Partition, r.Offset)
					}
					if p, ok := partOfKey[string(r.Key)]; ok && p != r.Partition {
						t.Fatalf("key %q on partitions %d and %d", r.Key, p, r.Partition)
					}
					partOfKey[string(r.Key)] = r.Partition
				}
			}
			check(consumeAll(t, tb, "orders", n))
			tb.restart()
			check(consumeAll(t, tb, "orders", n))
		})
	}
}

func TestTopicAdmin(t *testing.T) {
	tb := startBroker(t, newConfig(t))
	adm := kadm.NewClient(tb.client())
	ctx := ctxT(t)

	retention := "3600000"
	resp, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{"retention.ms": &retention}, "payments")
	if err != nil || resp.Err != nil {
		t.Fatal(err, resp.Err)
	}
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "payments"); !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("second create: %v, want TOPIC_ALREADY_EXISTS", err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 3, nil, "replicated"); !errors.Is(r.Err, kerr.InvalidReplicationFactor) {
		t.Fatalf("rf=3: %v", r.Err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 1, nil, "bad/name"); !errors.Is(r.Err, kerr.InvalidTopicException) {
		t.Fatalf("bad name: %v", r.Err)
	}
	bogus := "forever"
	if r, _ := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": &bogus}, "badcfg"); !errors.Is(r.Err, kerr.InvalidConfig) {
		t.Fatalf("bad config: %v", r.Err)
	}

	rcs, err := adm.DescribeTopicConfigs(ctx, "payments")
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := rcs.On("payments", nil)
	got := map[string]string{}
	for _, c := range rc.Configs {
		got[c.Key] = c.MaybeValue()
	}
	if got["retention.ms"] != "3600000" || got["segment.bytes"] != "1073741824" || got["cleanup.policy"] != "delete" {
		t.Fatalf("configs %v", got)
	}

	segBytes := "1048576"
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "segment.bytes", Value: &segBytes}, {Op: kadm.DeleteConfig, Name: "retention.ms"}}, "payments"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreatePartitions(ctx, 2, "payments"); err != nil {
		t.Fatal(err)
	}
	if r, _ := adm.UpdatePartitions(ctx, 1, "payments"); r["payments"].Err == nil {
		t.Fatal("shrinking partitions succeeded")
	}

	tb.restart()
	adm = kadm.NewClient(tb.client())
	details, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := details["payments"]; len(d.Partitions) != 4 {
		t.Fatalf("after restart payments has %d partitions, want 4", len(d.Partitions))
	}
	rcs, _ = adm.DescribeTopicConfigs(ctx, "payments")
	rc, _ = rcs.On("payments", nil)
	for _, c := range rc.Configs {
		if c.Key == "segment.bytes" && c.MaybeValue() != "1048576" {
			t.Fatalf("segment.bytes after restart %q", c.MaybeValue())
		}
		if c.Key == "retention.ms" && c.MaybeValue() != "604800000" {
			t.Fatalf("retention.ms after delete+restart %q", c.MaybeValue())
		}
	}
	dr, err := adm.DeleteTopics(ctx, "payments")
	if err != nil || dr["payments"].Err != nil {
		t.Fatal(err, dr["payments"].Err)
	}
	dr, _ = adm.DeleteTopics(ctx, "payments")
	if !errors.Is(dr["payments"].Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("second delete: %v", dr["payments"].Err)
	}
	tb.restart()
	adm = kadm.NewClient(tb.client())
	details, _ = adm.ListTopics(ctx)
	if _, ok := details["payments"]; ok {
		t.Fatal("deleted topic came back after restart")
	}
}

func TestAutoCreateTopics(t *testing.T) {
	cfg := newConfig(t)
	cfg.NumPartitions = 2
	tb := startBroker(t, cfg)
	cl := tb.client(kgo.AllowAutoTopicCreation())
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "auto", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	details, err := kadm.NewClient(cl).ListTopics(ctxT(t), "auto")
	if err != nil || len(details["auto"].Partitions) != 2 {
		t.Fatalf("auto-created topic: %v %+v", err, details["auto"])
	}

	cfg = newConfig(t)
	cfg.AutoCreateTopics = false
	tb = startBroker(t, cfg)
	cl = tb.client(kgo.AllowAutoTopicCreation(), kgo.RecordDeliveryTimeout(2*time.Second))
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "auto", Value: []byte("x")}).FirstErr(); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("produce to missing topic with auto-create off: %v", err)
	}
}

// rawRequest sends one request on a fresh connection and decodes the answer.
func rawRequest(t *testing.T, addr string, req kmsg.Request) kmsg.Response {
	t.Helper()
	resp, err := rawConn{t: t, addr: addr}.Request(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// rawConn implements kmsg.Requestor with a bare TCP connection, so tests can
// send exactly the bytes they want.
type rawConn struct {
	t    *testing.T
	addr string
}

func (rc rawConn) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	c, err := net.Dial("tcp", rc.addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	body := frameRequest(req, 7)
	if _, err := c.Write(body); err != nil {
		return nil, err
	}
	return readResponse(c, req)
}

// frameRequest encodes a request with a v1/v2 header and its size prefix.
func frameRequest(req kmsg.Request, corr int32) []byte {
	b := make([]byte, 4, 64)
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(req.GetVersion()))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 4)
	b = append(b, "test"...)
	if req.IsFlexible() {
		b = append(b, 0)
	}
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func readResponse(c net.Conn, req kmsg.Request) (kmsg.Response, error) {
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	if corr := int32(binary.BigEndian.Uint32(buf)); corr != 7 {
		return nil, fmt.Errorf("correlation id %d", corr)
	}
	buf = buf[4:]
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && resp.Key() != 18 {
		buf = buf[1:] // empty header tags
	}
	return resp, resp.ReadFrom(buf)
}

func produceRaw(t *testing.T, tb *testBroker, topic string, partition int32, acks int16, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	req.Acks, req.TimeoutMillis = acks, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := rawRequest(t, tb.addr, req).(*kmsg.ProduceResponse)
	return resp.Topics[0].Partitions[0]
}

func TestProduceValidation(t *testing.T) {
	cfg := newConfig(t)
	tb := startBroker(t, cfg)
	small := "200"
	tb.createTopic("t", 1, nil)
	tb.createTopic("small", 1, map[string]*string{"max.message.bytes": &small})
	good := func() []byte { return recordtest.Batch(recordtest.Options{}, []byte("hello")) }

	cases := []struct {
		name  string
		topic string
		part  int32
		raw   []byte
		want  *kerr.Error
	}{
		{"good", "t", 0, good(), nil},
		{"bad crc", "t", 0, func() []byte { b := good(); b[len(b)-1] ^= 0xff; return b }(), kerr.CorruptMessage},
		{"magic 1", "t", 0, func() []byte { b := good(); b[16] = 1; return b }(), kerr.UnsupportedVersion},
		{"truncated", "t", 0, good()[:40], kerr.CorruptMessage},
		{"two batches", "t", 0, append(good(), good()...), kerr.InvalidRecord},
		{"too large", "small", 0, recordtest.Batch(recordtest.Options{}, make([]byte, 300)), kerr.MessageTooLarge},
		{"unknown topic", "nope", 0, good(), kerr.UnknownTopicOrPartition},
		{"unknown partition", "t", 5, good(), kerr.UnknownTopicOrPartition},
	}
	for _, c := range cases {
		got := produceRaw(t, tb, c.topic, c.part, -1, c.raw)
		if err := kerr.ErrorForCode(got.ErrorCode); !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
	// Only the good batch is in the log: the next offset is 1.
	if got := produceRaw(t, tb, "t", 0, 1, good()); got.ErrorCode != 0 || got.BaseOffset != 1 {
		t.Fatalf("after rejected batches the next append got offset %d err %d, want 1", got.BaseOffset, got.ErrorCode)
	}
}

func TestIdempotentRetryGetsOriginalOffset(t *testing.T) {
	tb := startBroker(t, newConfig(t))
	tb.createTopic("t", 1, nil)
	init := rawRequest(t, tb.addr, kmsg.NewPtrInitProducerIDRequest()).(*kmsg.InitProducerIDResponse)
	if init.ErrorCode != 0 || init.ProducerID < 0 {
		t.Fatalf("init producer id: %+v", init)
	}
	batch := func(seq int32, vals ...string) []byte {
		var bs [][]byte
		for _, v := range vals {
			bs = append(bs, []byte(v))
		}
		return recordtest.Batch(recordtest.Options{Idempotent: true, ProducerID: init.ProducerID, BaseSequence: seq}, bs...)
	}
	first := produceRaw(t, tb, "t", 0, -1, batch(0, "a", "b"))
	second := produceRaw(t, tb, "t", 0, -1, batch(2, "c"))
	retry := produceRaw(t, tb, "t", 0, -1, batch(0, "a", "b"))
	if first.BaseOffset != 0 || second.BaseOffset != 2 || retry.BaseOffset != 0 || retry.ErrorCode != 0 {
		t.Fatalf("offsets first=%d second=%d retry=%d (err %d)", first.BaseOffset, second.BaseOffset, retry.BaseOffset, retry.ErrorCode)
	}
	if gap := produceRaw(t, tb, "t", 0, -1, batch(7, "x")); gap.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("sequence gap: error %d", gap.ErrorCode)
	}
	// Producer state survives a restart: the retry is still recognised.
	tb.restart()
	if retry := produceRaw(t, tb, "t", 0, -1, batch(2, "c")); retry.BaseOffset != 2 || retry.ErrorCode != 0 {
		t.Fatalf("retry after restart: offset %d err %d", retry.BaseOffset, retry.ErrorCode)
	}
	if next := produceRaw(t, tb, "t", 0, -1, batch(3, "d")); next.BaseOffset != 3 {
		t.Fatalf("next after restart: offset %d err %d", next.BaseOffset, next.ErrorCode)
	}
	again := rawRequest(t, tb.addr, kmsg.NewPtrInitProducerIDRequest()).(*kmsg.InitProducerIDResponse)
	if again.ProducerID <= init.ProducerID {
		t.Fatalf("producer id reused after restart: %d then %d", init.ProducerID, again.ProducerID)
	}
}

func TestListOffsets(t *testing.T) {
	tb := startBroker(t, newConfig(t))
	tb.createTopic("t", 1, nil)
	for i, ts := range []int64{1000, 2000, 3000} {
		if r := produceRaw(t, tb, "t", 0, -1, recordtest.Batch(recordtest.Options{TimestampMs: ts}, []byte("a"), []byte("b"))); r.BaseOffset != int64(2*i) {
			t.Fatalf("offset %d", r.BaseOffset)
		}
	}
	adm := kadm.NewClient(tb.client())
	ctx := ctxT(t)
	check := func(name string, lo kadm.ListedOffsets, err error, want int64) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := lo.Lookup("t", 0)
		if got.Err != nil || got.Offset != want {
			t.Errorf("%s: offset %d err %v, want %d", name, got.Offset, got.Err, want)
		}
	}
	lo, err := adm.ListStartOffsets(ctx, "t")
	check("earliest", lo, err, 0)
	lo, err = adm.ListEndOffsets(ctx, "t")
	check("latest", lo, err, 6)
	lo, err = adm.ListOffsetsAfterMilli(ctx, 2000, "t")
	check("at 2000", lo, err, 2)
	lo, err = adm.ListOffsetsAfterMilli(ctx, 2001, "t")
	check("after 2001", lo, err, 3)
	lo, err = adm.ListOffsetsAfterMilli(ctx, 9999, "t")
	check("past the end", lo, err, 6) // kadm maps "none" to the end offset
}

func TestFetchLongPollWakesOnProduce(t *testing.T) {
	tb := startBroker(t, newConfig(t))
	tb.createTopic("t", 1, nil)
	cl := tb.client(kgo.ConsumeTopics("t"), kgo.FetchMaxWait(30*time.Second))
	got := make(chan []*kgo.Record, 1)
	go func() { got <- cl.PollFetches(ctxT(t)).Records() }()
	time.Sleep(200 * time.Millisecond) // let the fetch park
	produceRaw(t, tb, "t", 0, -1, recordtest.Batch(recordtest.Options{}, []byte("wake")))
	select {
	case recs := <-got:
		if len(recs) != 1 || string(recs[0].Value) != "wake" {
			t.Fatalf("got %v", recs)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("a parked fetch was not woken by the produce (max wait is 30s)")
	}
}

func TestBadFramesCloseOnlyThatConnection(t *testing.T) {
	cfg := newConfig(t)
	cfg.SocketRequestMaxBytes = 1 << 16
	tb := startBroker(t, cfg)
	tb.createTopic("t", 1, nil)
	frames := map[string][]byte{
		"oversize":         binary.BigEndian.AppendUint32(nil, 1<<20),
		"tiny":             binary.BigEndian.AppendUint32(nil, 2),
		"unknown api key":  append(binary.BigEndian.AppendUint32(nil, 10), 0x7f, 0x7f, 0, 0, 0, 0, 0, 1, 0xff, 0xff),
		"garbage metadata": append(binary.BigEndian.AppendUint32(nil, 14), 0, 3, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef),
	}
	for name, frame := range frames {
		c, err := net.Dial("tcp", tb.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(frame)
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("%s: connection answered %d bytes instead of closing", name, n)
		}
		c.Close()
	}
	// A truncated frame: the client hangs up mid-request.
	c, _ := net.Dial("tcp", tb.addr)
	c.Write(append(binary.BigEndian.AppendUint32(nil, 100), 0, 3))
	c.Close()
	// The broker still serves everyone else.
	if r := produceRaw(t, tb, "t", 0, -1, recordtest.Batch(recordtest.Options{}, []byte("ok"))); r.ErrorCode != 0 {
		t.Fatalf("produce after bad frames: %d", r.ErrorCode)
	}
}

func TestUnsupportedVersions(t *testing.T) {
	tb := startBroker(t, newConfig(t))
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(4)
	resp := rawRequest(t, tb.addr, req).(*kmsg.ApiVersionsResponse)
	keys := map[int16]kmsg.ApiVersionsResponseApiKey{}
	for _, k := range resp.ApiKeys {
		keys[k.ApiKey] = k
	}
	if resp.ErrorCode != 0 || keys[0].MinVersion != 3 || keys[1].MaxVersion < 12 || len(keys) < 12 {
		t.Fatalf("api versions: err %d keys %+v", resp.ErrorCode, keys)
	}
	// A client asking for a newer ApiVersions gets UNSUPPORTED_VERSION in a
	// v0 body that lists what the broker speaks.
	c, _ := net.Dial("tcp", tb.addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	newer := kmsg.NewPtrApiVersionsRequest()
	newer.SetVersion(9)
	frame := frameRequest(newer, 7)
	// Claim a version the broker does not know.
	binary.BigEndian.PutUint16(frame[6:], 9)
	c.Write(frame)
	v0 := kmsg.NewPtrApiVersionsRequest()
	v0.SetVersion(0)
	got, err := readResponse(c, v0)
	if err != nil {
		t.Fatal(err)
	}
	if av := got.(*kmsg.ApiVersionsResponse); av.ErrorCode != kerr.UnsupportedVersion.Code || len(av.ApiKeys) != len(resp.ApiKeys) {
		t.Fatalf("newer ApiVersions answered %+v", av)
	}
	// Produce v2 (message format v1) is refused per partition.
	pr := kmsg.NewPtrProduceRequest()
	pr.SetVersion(2)
	pr.Acks, pr.TimeoutMillis = 1, 1000
	pr.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: []byte{1}}}}}
	presp := rawRequest(t, tb.addr, pr).(*kmsg.ProduceResponse)
	if presp.Topics[0].Partitions[0].ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("produce v2: %+v", presp.Topics[0].Partitions[0])
	}
	// FindCoordinator of a share group answers with an error code and a
	// message, not a closed connection; a transaction's and a group's name
	// this broker.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.SetVersion(4)
	fc.CoordinatorType = 2
	fc.CoordinatorKeys = []string{"share"}
	fresp := rawRequest(t, tb.addr, fc).(*kmsg.FindCoordinatorResponse)
	if len(fresp.Coordinators) != 1 || fresp.Coordinators[0].ErrorCode != kerr.InvalidRequest.Code || fresp.Coordinators[0].ErrorMessage == nil {
		t.Fatalf("find share coordinator: %+v", fresp)
	}
	fc.CoordinatorType = 1
	fc.CoordinatorKeys = []string{"txn"}
	fresp = rawRequest(t, tb.addr, fc).(*kmsg.FindCoordinatorResponse)
	if len(fresp.Coordinators) != 1 || fresp.Coordinators[0].ErrorCode != 0 || fresp.Coordinators[0].NodeID != 1 {
		t.Fatalf("find transaction coordinator: %+v", fresp)
	}
	fc.CoordinatorType = 0
	fc.CoordinatorKeys = []string{"g"}
	fresp = rawRequest(t, tb.addr, fc).(*kmsg.FindCoordinatorResponse)
	if len(fresp.Coordinators) != 1 || fresp.Coordinators[0].ErrorCode != 0 || fresp.Coordinators[0].NodeID != 1 {
		t.Fatalf("find group coordinator: %+v", fresp)
	}
}
