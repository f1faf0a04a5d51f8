package record_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
)

var codecs = []int8{record.CodecNone, record.CodecGzip, record.CodecSnappy, record.CodecLZ4, record.CodecZstd}

// payload is compressible but not trivially so, and spans several xerial
// blocks.
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/100)
	}
	return b
}

// TestCompressRoundTrip: what Codecs compresses, Codecs and franz-go's own
// decompressor (what consumers run) both decompress to the input.
func TestCompressRoundTrip(t *testing.T) {
	var c record.Codecs
	defer c.Close()
	kgoDec := kgo.DefaultDecompressor()
	for _, codec := range codecs {
		for _, n := range []int{0, 1, 1000, 100 << 10} {
			t.Run(fmt.Sprintf("codec%d/%d", codec, n), func(t *testing.T) {
				in := payload(n)
				z, err := c.Compress(codec, []byte("prefix"), in)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(z, []byte("prefix")) {
					t.Fatal("Compress did not append to dst")
				}
				z = z[len("prefix"):]
				out, err := c.Decompress(codec, nil, z, n+1)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, in) {
					t.Fatalf("round trip changed %d bytes into %d", n, len(out))
				}
				if codec != record.CodecNone && n > 0 {
					out, err := kgoDec.Decompress(z, kgo.CompressionCodecType(codec))
					if err != nil || !bytes.Equal(out, in) {
						t.Fatalf("franz-go reads it back as %d bytes, err %v", len(out), err)
					}
				}
			})
		}
	}
}

// TestDecompressWhatClientsWrite: batches franz-go compresses (raw snappy,
// not xerial, among them) are read back.
func TestDecompressWhatClientsWrite(t *testing.T) {
	var c record.Codecs
	defer c.Close()
	in := payload(70 << 10)
	for _, cc := range []kgo.CompressionCodec{kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()} {
		comp, err := kgo.DefaultCompressor(cc)
		if err != nil {
			t.Fatal(err)
		}
		z, codec := comp.Compress(new(bytes.Buffer), in)
		out, err := c.Decompress(int8(codec), nil, z, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("codec %d: %d bytes back, err %v", codec, len(out), err)
		}
	}
}

// TestDecompressLimit: a batch that inflates past the limit is refused,
// whatever the codec, rather than allocated.
func TestDecompressLimit(t *testing.T) {
	var c record.Codecs
	defer c.Close()
	in := make([]byte, 1<<20) // zeroes: a bomb in miniature
	for _, codec := range codecs {
		z, err := c.Compress(codec, nil, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Decompress(codec, nil, z, len(in)-1); !errors.Is(err, record.ErrTooLarge) {
			t.Fatalf("codec %d: %v, want ErrTooLarge", codec, err)
		}
		if _, err := c.Decompress(codec, nil, z, len(in)); err != nil {
			t.Fatalf("codec %d at the limit: %v", codec, err)
		}
	}
}

func TestDecompressCorrupt(t *testing.T) {
	var c record.Codecs
	defer c.Close()
	for _, codec := range codecs[1:] {
		if _, err := c.Decompress(codec, nil, []byte("not compressed at all, really"), 1<<20); !errors.Is(err, record.ErrCorrupt) {
			t.Fatalf("codec %d: %v, want ErrCorrupt", codec, err)
		}
	}
}

// TestKeyedBatchRecords: every codec's batch parses, and its records read
// back with NextRecord as kmsg reads them: keys, values, nulls, deltas.
func TestKeyedBatchRecords(t *testing.T) {
	kvs := []recordtest.KV{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b")}, {Value: []byte("keyless")}, {Key: []byte{}, Value: []byte{}}}
	var c record.Codecs
	defer c.Close()
	for _, codec := range codecs {
		raw := recordtest.Keyed(recordtest.Options{TimestampMs: 500, Compression: codec}, kvs...)
		b, err := record.Parse(raw)
		if err != nil {
			t.Fatalf("codec %d: %v", codec, err)
		}
		if err := record.ValidateProduced(&b); err != nil {
			t.Fatalf("codec %d: %v", codec, err)
		}
		data, err := b.RecordsData(&c, nil, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for i, kv := range kvs {
			var r record.Record
			r, data, err = record.NextRecord(data)
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			var kr kmsg.Record
			if err := kr.ReadFrom(r.Raw); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(r.Key, kv.Key) || (r.Key == nil) != (kv.Key == nil) || !bytes.Equal(r.Value, kv.Value) ||
				r.IsTombstone() != (kv.Value == nil) || r.HasKey() != (kv.Key != nil) {
				t.Fatalf("record %d: key %q value %q", i, r.Key, r.Value)
			}
			if r.OffsetDelta != int32(i) || r.TimestampDelta != int64(i) || kr.OffsetDelta != r.OffsetDelta {
				t.Fatalf("record %d deltas %d %d", i, r.OffsetDelta, r.TimestampDelta)
			}
		}
		if len(data) != 0 {
			t.Fatalf("%d bytes after the last record", len(data))
		}
	}
}

// TestAppendWithTimestampDelta re-encodes only the timestamp delta.
func TestAppendWithTimestampDelta(t *testing.T) {
	raw := recordtest.Keyed(recordtest.Options{}, recordtest.KV{Key: []byte("k"), Value: []byte("v")})
	b, _ := record.Parse(raw)
	r, _, err := record.NextRecord(b.Records)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []int64{0, -1, -86400000, 1 << 40} {
		out, err := record.AppendWithTimestampDelta([]byte("x"), &r, d)
		if err != nil {
			t.Fatal(err)
		}
		got, rest, err := record.NextRecord(out[1:])
		if err != nil || len(rest) != 0 {
			t.Fatalf("delta %d: %v, %d bytes left", d, err, len(rest))
		}
		if got.TimestampDelta != d || string(got.Key) != "k" || string(got.Value) != "v" || got.OffsetDelta != 0 {
			t.Fatalf("delta %d: got %+v", d, got)
		}
	}
}

func FuzzNextRecord(f *testing.F) {
	b, _ := record.Parse(recordtest.Keyed(recordtest.Options{}, recordtest.KV{Key: []byte("k"), Value: []byte("v")}, recordtest.KV{Key: []byte("t")}))
	f.Add(b.Records)
	f.Fuzz(func(t *testing.T, data []byte) {
		for len(data) > 0 {
			r, rest, err := record.NextRecord(data)
			if err != nil {
				return
			}
			if len(r.Raw) == 0 || len(rest) >= len(data) {
				t.Fatalf("no progress: %d of %d", len(rest), len(data))
			}
			if !bytes.Equal(data[:len(r.Raw)], r.Raw) {
				t.Fatal("Raw is not the record's prefix")
			}
			data = rest
		}
	})
}

func FuzzDecompress(f *testing.F) {
	var c record.Codecs
	defer c.Close()
	for _, codec := range codecs {
		z, _ := c.Compress(codec, nil, payload(3000))
		f.Add(codec, z)
	}
	f.Fuzz(func(t *testing.T, codec int8, data []byte) {
		out, err := c.Decompress(codec, nil, data, 1<<16)
		if err == nil && len(out) > 1<<16 {
			t.Fatalf("%d bytes past the limit", len(out))
		}
	})
}
