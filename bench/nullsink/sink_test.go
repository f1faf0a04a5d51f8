package nullsink

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// startSink serves a Sink on a loopback port until the test ends and checks
// that Serve then returns nil.
func startSink(t *testing.T, opts Options) (*Sink, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	s := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
	})
	return s, ln.Addr().String()
}

func TestServedTable(t *testing.T) {
	for _, a := range served {
		req := kmsg.RequestForKey(a.key.Int16())
		if req == nil {
			t.Fatalf("kmsg does not know key %d", a.key)
		}
		if a.max > req.MaxVersion() {
			t.Errorf("key %d: serves v%d, kmsg knows up to v%d", a.key, a.max, req.MaxVersion())
		}
		for v := a.min; v <= a.max; v++ {
			req.SetVersion(v)
			if req.IsFlexible() != a.flexible(v) {
				t.Errorf("key %d v%d: kmsg flexible=%v, table says %v", a.key, v, req.IsFlexible(), a.flexible(v))
			}
		}
	}
}

// produceAndCheck produces n records to topic round-robin over partitions
// and checks that each partition's offsets are consecutive from 0, in
// produce order, and that the sink counted them.
func produceAndCheck(t *testing.T, s *Sink, cl *kgo.Client, topic string, partitions int32, n int) []*kgo.Record {
	t.Helper()
	ctx := context.Background()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Partition: int32(i) % partitions, Value: []byte(strconv.Itoa(i))}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	next := make([]int64, partitions)
	for i, r := range recs {
		if r.Offset != next[r.Partition] {
			t.Fatalf("record %d on partition %d: offset %d, want %d", i, r.Partition, r.Offset, next[r.Partition])
		}
		next[r.Partition]++
	}
	for p := range partitions {
		if got := s.NextOffset(topic, p); got != next[p] {
			t.Errorf("sink next offset of %s/%d = %d, want %d", topic, p, got, next[p])
		}
	}
	return recs
}

func TestKgoIdempotentAcksAll(t *testing.T) {
	s, addr := startSink(t, Options{Partitions: 3})
	for i, topic := range []string{"idem-a", "idem-b"} {
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(addr),
			kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.ProducerLinger(0),
		)
		if err != nil {
			t.Fatal(err)
		}
		recs := produceAndCheck(t, s, cl, topic, 3, 3000)
		// Each client gets its own, increasing producer ID.
		for _, r := range recs {
			if r.ProducerID != int64(i+1) || r.ProducerEpoch != 0 {
				t.Fatalf("client %d: producer id/epoch %d/%d, want %d/0", i, r.ProducerID, r.ProducerEpoch, i+1)
			}
		}
		cl.Close()
	}
}

func TestKgoAcks1(t *testing.T) {
	s, addr := startSink(t, Options{Partitions: 2})
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.RequiredAcks(kgo.LeaderAck()),
		kgo.DisableIdempotentWrite(),
		kgo.MaxProduceRequestsInflightPerBroker(1), // ordered, so offsets are
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.Lz4Compression()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := produceAndCheck(t, s, cl, "acks1", 2, 2000)
	if recs[0].ProducerID != -1 {
		t.Errorf("non-idempotent record has producer id %d", recs[0].ProducerID)
	}
	// A partition the topic does not have is refused, not invented.
	err = cl.ProduceSync(context.Background(), &kgo.Record{Topic: "acks1", Partition: 2}).FirstErr()
	if err == nil {
		t.Error("producing to partition 2 of a 2-partition topic succeeded")
	}
}

func TestKadmMetadataAndApiVersions(t *testing.T) {
	_, addr := startSink(t, Options{Partitions: 4, NodeID: 7, ClusterID: "c1"})
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()

	vs, err := adm.ApiVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 {
		t.Fatalf("ApiVersions from %d brokers, want 1", len(vs))
	}
	for _, v := range vs {
		if v.NodeID != 7 || v.Err != nil {
			t.Fatalf("ApiVersions: node %d, err %v", v.NodeID, v.Err)
		}
		n := 0
		v.EachKeySorted(func(key, lo, hi int16) {
			n++
			a := lookupAPI(key)
			if a == nil || a.min != lo || a.max != hi {
				t.Errorf("advertised key %d v%d-v%d, serves %+v", key, lo, hi, a)
			}
		})
		if n != len(served) {
			t.Errorf("advertised %d keys, serves %d", n, len(served))
		}
	}

	md, err := adm.Metadata(ctx, "m1", "m2")
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr)
	if md.Cluster != "c1" || md.Controller != 7 || len(md.Brokers) != 1 ||
		md.Brokers[0].NodeID != 7 || md.Brokers[0].Host != host || strconv.Itoa(int(md.Brokers[0].Port)) != port {
		t.Fatalf("metadata cluster %q controller %d brokers %+v", md.Cluster, md.Controller, md.Brokers)
	}
	if len(md.Topics) != 2 {
		t.Fatalf("%d topics, want 2", len(md.Topics))
	}
	for _, name := range []string{"m1", "m2"} {
		td := md.Topics[name]
		if td.Err != nil || td.ID != kadm.TopicID(topicID(name)) || len(td.Partitions) != 4 {
			t.Fatalf("topic %s: err %v id %v, %d partitions", name, td.Err, td.ID, len(td.Partitions))
		}
		for p, pd := range td.Partitions {
			if pd.Err != nil || pd.Leader != 7 || len(pd.Replicas) != 1 || pd.Replicas[0] != 7 || len(pd.ISR) != 1 {
				t.Errorf("%s/%d: %+v", name, p, pd)
			}
		}
	}
	// All topics: the two created above.
	all, err := adm.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Topics) != 2 {
		t.Errorf("all-topics metadata lists %d topics, want 2", len(all.Topics))
	}
}

// rawConn is a client connection that speaks through kmsg's formatter.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
	f  *kmsg.RequestFormatter
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc), f: kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw"))}
}

func (c *rawConn) write(reqs ...[]byte) {
	c.t.Helper()
	var all []byte
	for _, r := range reqs {
		all = append(all, r...)
	}
	if _, err := c.nc.Write(all); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) request(req kmsg.Request, corr int32) []byte {
	return c.f.AppendRequest(nil, req, corr)
}

// read reads one response frame into resp (whose version is set), checking
// the correlation ID and the response header version.
func (c *rawConn) read(corr int32, resp kmsg.Response) {
	c.t.Helper()
	frame, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("reading response %d: %v", corr, err)
	}
	r := kbin.Reader{Src: frame}
	if got := r.Int32(); got != corr {
		c.t.Fatalf("response correlation id %d, want %d", got, corr)
	}
	if resp.IsFlexible() && resp.Key() != kmsg.ApiVersions.Int16() {
		kmsg.SkipTags(&r)
	}
	if err := resp.ReadFrom(r.Src); err != nil {
		c.t.Fatalf("response %d: %v", corr, err)
	}
}

func (c *rawConn) readFrame() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.br, size[:]); err != nil {
		return nil, err
	}
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c.br, frame)
	return frame, err
}

// expectClosed checks that the sink closed the connection without answering.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	frame, err := c.readFrame()
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		c.t.Fatalf("after an unserved request: frame of %d bytes, err %v; want the connection closed", len(frame), err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// batch returns one v2 record batch of n records with valueBytes values.
func batch(n, valueBytes int) []byte {
	var recs []byte
	for i := range n {
		r := kmsg.Record{OffsetDelta: int32(i), Value: make([]byte, valueBytes)}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // Length 0 encodes in 1 byte
		recs = r.AppendTo(recs)
	}
	b := kmsg.RecordBatch{
		Magic:           2,
		Length:          int32(49 + len(recs)),
		LastOffsetDelta: int32(n - 1),
		ProducerID:      -1,
		ProducerEpoch:   -1,
		FirstSequence:   -1,
		NumRecords:      int32(n),
		Records:         recs,
	}
	b.CRC = int32(crc32.Checksum(b.AppendTo(nil)[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b.AppendTo(nil)
}

func produceRequest(version, acks int16, topic string, partition int32, records []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version = version
	req.Acks = acks
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rt.TopicID = topicID(topic)
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// Pipelined requests are answered in order, acks=0 is not answered, and
// flexible and non-flexible headers both work.
func TestPipelinedInOrder(t *testing.T) {
	s, addr := startSink(t, Options{Partitions: 1})
	c := dialRaw(t, addr)

	meta := kmsg.NewPtrMetadataRequest()
	meta.Version = 12
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("pipe")
	meta.Topics = append(meta.Topics, mt)
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	av.ClientSoftwareName, av.ClientSoftwareVersion = "raw", "1"

	c.write(
		c.request(meta, 1),
		c.request(produceRequest(7, 0, "pipe", 0, batch(5, 10)), 2), // acks=0: no answer
		c.request(av, 3),
		c.request(produceRequest(9, 1, "pipe", 0, batch(3, 10)), 4),
		c.request(produceRequest(13, -1, "pipe", 0, append(batch(2, 10), batch(4, 10)...)), 5),
	)
	mresp := kmsg.NewPtrMetadataResponse()
	mresp.Version = 12
	c.read(1, mresp)
	if len(mresp.Topics) != 1 || mresp.Topics[0].ErrorCode != 0 || len(mresp.Topics[0].Partitions) != 1 {
		t.Fatalf("metadata: %+v", mresp.Topics)
	}
	aresp := kmsg.NewPtrApiVersionsResponse()
	aresp.Version = 3
	c.read(3, aresp)
	if aresp.ErrorCode != 0 || len(aresp.ApiKeys) != len(served) {
		t.Fatalf("ApiVersions v3: error %d, %d keys", aresp.ErrorCode, len(aresp.ApiKeys))
	}
	for _, want := range []struct {
		corr    int32
		version int16
		base    int64
	}{{4, 9, 5}, {5, 13, 8}} {
		presp := kmsg.NewPtrProduceResponse()
		presp.Version = want.version
		c.read(want.corr, presp)
		if len(presp.Topics) != 1 || len(presp.Topics[0].Partitions) != 1 {
			t.Fatalf("produce v%d response: %+v", want.version, presp.Topics)
		}
		p := presp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.BaseOffset != want.base {
			t.Errorf("produce v%d: error %d base offset %d, want 0 and %d", want.version, p.ErrorCode, p.BaseOffset, want.base)
		}
	}
	if got := s.NextOffset("pipe", 0); got != 14 {
		t.Errorf("next offset %d, want 14 (5+3+2+4)", got)
	}
}

func TestProduceErrors(t *testing.T) {
	_, addr := startSink(t, Options{Partitions: 1})
	c := dialRaw(t, addr)
	old := kmsg.RecordBatch{Magic: 1, Length: 49}
	for i, tc := range []struct {
		name      string
		partition int32
		records   []byte
		code      int16
	}{
		{"unknown partition", 1, batch(1, 1), kerr.UnknownTopicOrPartition.Code},
		{"no records", 0, nil, kerr.InvalidRecord.Code},
		{"truncated batch", 0, batch(2, 10)[:70], kerr.CorruptMessage.Code},
		{"message format v1", 0, old.AppendTo(nil), kerr.UnsupportedForMessageFormat.Code},
	} {
		corr := int32(i)
		c.write(c.request(produceRequest(9, -1, "errs", tc.partition, tc.records), corr))
		resp := kmsg.NewPtrProduceResponse()
		resp.Version = 9
		c.read(corr, resp)
		if got := resp.Topics[0].Partitions[0]; got.ErrorCode != tc.code || got.BaseOffset != -1 {
			t.Errorf("%s: error %d base %d, want %d and -1", tc.name, got.ErrorCode, got.BaseOffset, tc.code)
		}
	}
}

// An ApiVersions request at a version the sink does not serve is answered
// like Kafka does it: UNSUPPORTED_VERSION, v0 body, v0 header, served list.
func TestApiVersionsUnsupportedVersion(t *testing.T) {
	_, addr := startSink(t, Options{})
	c := dialRaw(t, addr)
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 5 // kmsg knows it, the sink serves up to v4
	c.write(c.request(req, 42))
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	c.read(42, resp)
	if resp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("error code %d, want UNSUPPORTED_VERSION", resp.ErrorCode)
	}
	if len(resp.ApiKeys) != len(served) {
		t.Fatalf("%d keys, want %d", len(resp.ApiKeys), len(served))
	}
	for _, k := range resp.ApiKeys {
		if a := lookupAPI(k.ApiKey); a == nil || a.min != k.MinVersion || a.max != k.MaxVersion {
			t.Errorf("key %d v%d-v%d", k.ApiKey, k.MinVersion, k.MaxVersion)
		}
	}
	// Versions kmsg has never heard of too; the connection stays usable.
	req.Version = 77
	c.write(c.request(req, 43))
	c.read(43, resp)
	if resp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("v77: error code %d", resp.ErrorCode)
	}
	req.Version = 4
	c.write(c.request(req, 44))
	resp = kmsg.NewPtrApiVersionsResponse()
	resp.Version = 4
	c.read(44, resp)
	if resp.ErrorCode != 0 {
		t.Fatalf("v4 after v77: error code %d", resp.ErrorCode)
	}
}

// unknownRequest is a request with a key no Kafka API uses.
type unknownRequest struct{ kmsg.ApiVersionsRequest }

func (*unknownRequest) Key() int16 { return 9999 }

func TestUnservedRequestsCloseTheConnection(t *testing.T) {
	_, addr := startSink(t, Options{})
	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version = 12
	oldProduce := produceRequest(2, -1, "t", 0, batch(1, 1))
	newMeta := kmsg.NewPtrMetadataRequest()
	newMeta.Version = 14
	for _, tc := range []struct {
		name string
		req  kmsg.Request
	}{
		{"unknown key", &unknownRequest{kmsg.NewApiVersionsRequest()}},
		{"known but unserved key", fetch},
		{"produce below v3", oldProduce},
		{"metadata above v13", newMeta},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.write(c.request(tc.req, 1))
			c.expectClosed()
		})
	}
	// An oversized frame also closes the connection.
	c := dialRaw(t, addr)
	c.write([]byte{0x7f, 0xff, 0xff, 0xff, 0, 18, 0, 0})
	c.expectClosed()
}
