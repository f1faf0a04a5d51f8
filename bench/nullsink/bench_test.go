package nullsink

import (
	"bytes"
	"io"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkNullSinkProduce measures the sink's work per Produce request:
// header and body decoding, batch-header walk, offset bookkeeping, response
// encoding and the (discarded) write. One request carries one batch of
// records to one partition, like kgo at linger 0 with one partition.
//
//	go test ./bench/nullsink -run '^$' -bench NullSinkProduce -benchmem
func BenchmarkNullSinkProduce(b *testing.B) {
	for _, size := range []struct{ records, valueBytes int }{{1, 100}, {100, 100}, {1000, 100}, {100, 1024}} {
		name := strconv.Itoa(size.records) + "x" + strconv.Itoa(size.valueBytes) + "B"
		b.Run(name, func(b *testing.B) {
			s := New(Options{Partitions: 1})
			s.topicByName("bench") // as after Metadata
			c := newConn(s, bytes.NewReader(nil), io.Discard, "127.0.0.1", 9092)
			req := produceRequest(13, -1, "bench", 0, batch(size.records, size.valueBytes))
			frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("kgo")).AppendRequest(nil, req, 1)[4:]
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.handle(frame); err != nil {
					b.Fatal(err)
				}
				if err := c.maybeFlush(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size.records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			if got, want := s.NextOffset("bench", 0), int64(size.records)*int64(b.N); got < want {
				b.Fatalf("next offset %d, want at least %d", got, want)
			}
		})
	}
}
