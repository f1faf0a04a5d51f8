package e2e

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzGoIdempotent produces with franz-go the way it runs by default
// (idempotent, acks=all), once per compression codec, many records in
// flight, and reads everything back: every acknowledged record is at its
// acknowledged offset with its key, value and headers, and offsets are dense.
func TestFranzGoIdempotent(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const partitions, perCodec = 4, 400
	s.createTopic(t, "franz", partitions, nil)
	ctx := testCtx(t)

	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{
		{"none", kgo.NoCompression()},
		{"gzip", kgo.GzipCompression()},
		{"snappy", kgo.SnappyCompression()},
		{"lz4", kgo.Lz4Compression()},
		{"zstd", kgo.ZstdCompression()},
	}
	type ack struct {
		key, value string
		header     string
	}
	var (
		mu    sync.Mutex
		acked = map[int32]map[int64]ack{}
		pids  = map[int64]string{}
	)
	for p := range int32(partitions) {
		acked[p] = map[int64]ack{}
	}
	for _, c := range codecs {
		cl := s.client(t, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchCompression(c.codec), kgo.ProducerLinger(0))
		var wg sync.WaitGroup
		for i := range perCodec {
			rec := &kgo.Record{
				Topic:   "franz",
				Key:     []byte(fmt.Sprintf("%s-key-%d", c.name, i%13)),
				Value:   bytes.Repeat([]byte(fmt.Sprintf("%s-value-%04d;", c.name, i)), 1+i%5),
				Headers: []kgo.RecordHeader{{Key: "codec", Value: []byte(c.name)}},
			}
			wg.Add(1)
			cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					t.Errorf("%s: produce %s: %v", c.name, r.Value, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if prev, dup := acked[r.Partition][r.Offset]; dup {
					t.Errorf("%s and %s both acknowledged at %d/%d", prev.value, r.Value, r.Partition, r.Offset)
				}
				acked[r.Partition][r.Offset] = ack{string(r.Key), string(r.Value), c.name}
			})
		}
		wg.Wait()
		pid, epoch, err := cl.ProducerID(ctx)
		if err != nil || pid < 0 {
			t.Fatalf("%s: producer is not idempotent: id %d epoch %d err %v", c.name, pid, epoch, err)
		}
		if prev, ok := pids[pid]; ok {
			t.Errorf("producer id %d handed to both the %s and %s producers", pid, prev, c.name)
		}
		pids[pid] = c.name
	}

	total := 0
	for p, m := range acked {
		for off := range m {
			if off < 0 || off >= int64(len(m)) {
				t.Errorf("partition %d: offset %d acknowledged among %d records: not dense from 0", p, off, len(m))
			}
		}
		total += len(m)
	}
	if total != len(codecs)*perCodec {
		t.Fatalf("%d records acknowledged, want %d", total, len(codecs)*perCodec)
	}

	got := s.readAll(t, "franz")
	read := 0
	for _, recs := range got {
		read += len(recs)
	}
	if read != total {
		t.Errorf("read %d records back, %d were acknowledged", read, total)
	}
	for p, recs := range got {
		if len(recs) != len(acked[p]) {
			t.Errorf("partition %d: read %d records, %d were acknowledged", p, len(recs), len(acked[p]))
		}
		for i, r := range recs {
			a, ok := acked[p][r.Offset]
			if r.Offset != int64(i) || !ok {
				t.Errorf("partition %d: record %d is at offset %d (acknowledged: %v)", p, i, r.Offset, ok)
				continue
			}
			if string(r.Key) != a.key || string(r.Value) != a.value || len(r.Headers) != 1 || r.Headers[0].Key != "codec" || string(r.Headers[0].Value) != a.header {
				t.Errorf("%d/%d: read key %q value %.30q headers %v, acknowledged %q %.30q codec=%s", p, r.Offset, r.Key, r.Value, r.Headers, a.key, a.value, a.header)
			}
		}
	}
}
