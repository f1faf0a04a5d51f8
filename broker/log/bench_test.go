package log

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/record"
)

// benchBatch returns a ~16 KiB batch of records of valueSize bytes.
func benchBatch(valueSize int) []byte {
	return batch(16<<10/(valueSize+10), valueSize, 0)
}

// BenchmarkAppend measures the steady append path (no fsync): it should not
// allocate. The log is emptied outside the timer every 256 MiB so the
// benchmark does not fill the disk (or memory, on memfs); rolls at 64 MiB
// stay in the timed path, amortized.
func BenchmarkAppend(b *testing.B) {
	for _, k := range fsKinds() {
		for _, valueSize := range []int{1024, 100} {
			b.Run(fmt.Sprintf("%s/%dB-records", k.name, valueSize), func(b *testing.B) {
				fs, dir := k.newDir(b)
				l := mustOpen(b, fs, dir, Config{SegmentBytes: 64 << 20})
				defer l.Close()
				raw := benchBatch(valueSize)
				b.SetBytes(int64(len(raw)))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if _, err := l.Append(raw); err != nil {
						b.Fatal(err)
					}
					if l.Size() > 256<<20 {
						b.StopTimer()
						if err := l.TruncateFullyAndStartAt(l.EndOffset()); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
				}
			})
		}
	}
}

// BenchmarkRead measures sequential fetches of 1 MiB and of one 16 KiB
// batch from a 64 MiB log, CRC checks included.
func BenchmarkRead(b *testing.B) {
	for _, k := range fsKinds() {
		for _, maxBytes := range []int{1 << 20, 16 << 10} {
			b.Run(fmt.Sprintf("%s/max%dKiB", k.name, maxBytes>>10), func(b *testing.B) {
				fs, dir := k.newDir(b)
				l := mustOpen(b, fs, dir, Config{})
				defer l.Close()
				raw := benchBatch(1024)
				for l.Size() < 64<<20 {
					if _, err := l.Append(raw); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(maxBytes))
				b.ReportAllocs()
				b.ResetTimer()
				offset := int64(0)
				for range b.N {
					got, err := l.Read(offset, maxBytes)
					if err != nil {
						b.Fatal(err)
					}
					if len(got) == 0 {
						offset = 0
						continue
					}
					// Next fetch starts after the last batch returned.
					for len(got) > 0 {
						n, _ := record.PeekSize(got)
						offset = int64(be64(got)) + int64(be32(got[hdrLastOffsetDelta:])) + 1
						got = got[n:]
					}
				}
			})
		}
	}
}

func be64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// BenchmarkClean measures the cleaner: one pass over a 64 MiB log of 8 MiB
// segments holding 16 KiB batches of keyed records over 10,000 keys (so
// most records are superseded), uncompressed and in two codecs. MB/s is
// the log bytes (as stored, compressed or not) a pass maps and rewrites per
// second; the log is rebuilt outside the timer before each pass.
func BenchmarkClean(b *testing.B) {
	for _, k := range fsKinds() {
		for _, codec := range []int8{record.CodecNone, record.CodecLZ4, record.CodecZstd} {
			for _, valueSize := range []int{100, 1024} {
				b.Run(fmt.Sprintf("%s/codec%d/%dB-values", k.name, codec, valueSize), func(b *testing.B) {
					benchClean(b, k, codec, valueSize)
				})
			}
		}
	}
}

func benchClean(b *testing.B, k fsKind, codec int8, valueSize int) {
	const logBytes, keys = 64 << 20, 10000
	cfg := Config{SegmentBytes: 8 << 20}
	value := make([]byte, valueSize)
	for i := range value {
		value[i] = byte(i*31 + i/7) // compressible, but not trivially
	}
	perBatch := 16 << 10 / (valueSize + 20)
	var codecs record.Codecs
	defer codecs.Close()
	var size, records int64
	for i := range b.N {
		b.StopTimer()
		fs, dir := k.newDir(b)
		l := mustOpen(b, fs, dir, cfg)
		n := 0
		for l.Size() < logBytes {
			var recs []byte
			for j := range perBatch {
				r := kmsg.Record{OffsetDelta: int32(j), Key: fmt.Appendf(nil, "key-%05d", (n*7919)%keys), Value: value}
				r.Length = int32(len(r.AppendTo(nil)) - 1)
				recs = r.AppendTo(recs)
				n++
			}
			h := record.BatchHeader{PartitionLeaderEpoch: -1, Attributes: int16(codec), LastOffsetDelta: int32(perBatch - 1), ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1}
			raw, err := record.AppendBatch(nil, &codecs, h, recs, int32(perBatch))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := l.Append(raw); err != nil {
				b.Fatal(err)
			}
		}
		size = l.Size()
		runtime.GC() // the build's garbage is not the cleaner's to collect
		b.StartTimer()
		st, err := l.Clean(context.Background(), CleanConfig{MaxOffset: math.MaxInt64})
		b.StopTimer()
		if err != nil || !st.Ran {
			b.Fatalf("pass %+v: %v", st, err)
		}
		records += st.RecordsRead
		if i == 0 {
			b.ReportMetric(float64(st.BytesOut)/float64(st.BytesIn), "out/in")
		}
		l.Close()
		b.StartTimer()
	}
	b.SetBytes(size)
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
