package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// BenchmarkProduceRequest handles one pre-encoded Produce v9 frame end to
// end as a connection does: decode and handler (conn.handleFrame, which
// appends to the log), the finish step (acks=-1 waits for the high
// watermark, so for the group-committed fsync when FsyncAcksAll is on) and
// the response encoding of the writer. Requests hold one batch of
// non-idempotent records, so every iteration appends (no duplicate
// detection); the partition's log is emptied outside the timer every 256
// MiB. -benchmem shows allocations per request: they must not grow with
// the records in it (compare the 100B and 1KiB cases, which hold 16 KiB of
// values each).
//
// On "memfs" the log is in memory; on "disk" it is in a temp dir, so
// acks=-1 with fsync pays a real fdatasync per request (no concurrent
// produces to share it with).
func BenchmarkProduceRequest(b *testing.B) {
	kinds := []struct {
		name string
		fs   func(b *testing.B) (env.FS, string)
	}{
		{"memfs", func(*testing.B) (env.FS, string) { return memfs.New(), "/data" }},
		{"disk", func(b *testing.B) (env.FS, string) { return env.OSFS{}, b.TempDir() }},
	}
	cases := []struct {
		name  string
		acks  int16
		fsync bool
	}{
		{"acks=1", 1, true},
		{"acks=all/fsync", -1, true},
		{"acks=all/no-fsync", -1, false},
	}
	for _, k := range kinds {
		for _, c := range cases {
			for _, valueSize := range []int{100, 1024} {
				b.Run(fmt.Sprintf("%s/%s/%dB-records", k.name, c.name, valueSize), func(b *testing.B) {
					fs, dir := k.fs(b)
					benchProduce(b, fs, dir, c.acks, c.fsync, valueSize)
				})
			}
		}
	}
}

// benchBroker opens a broker with one topic "bench" of one partition.
func benchBroker(b *testing.B, fs env.FS, dir string, fsync bool) (*Broker, *partition.Partition) {
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.FsyncAcksAll = fsync
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	br, err := Open(cfg, Deps{FS: fs, Net: env.OSNet{}, Clock: env.RealClock{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	mustCreateTopic(b, br, "bench", 1, nil)
	return br, br.topicByName("bench").partition(0)
}

// produceFrame encodes a Produce v9 request body (no size prefix) of one
// batch of batchBytes of values of non-idempotent records of valueSize
// bytes; it returns the body and the number of records.
func produceFrame(acks int16, valueSize, batchBytes int) ([]byte, int) {
	value := make([]byte, valueSize)
	values := make([][]byte, batchBytes/valueSize)
	for i := range values {
		values[i] = value
	}
	batch := recordtest.Batch(recordtest.Options{}, values...)
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	req.Acks = acks
	req.TimeoutMillis = 30000
	req.Topics = []kmsg.ProduceRequestTopic{{Topic: "bench", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batch}}}}
	frame := binary.BigEndian.AppendUint16(nil, 0) // Produce
	frame = binary.BigEndian.AppendUint16(frame, 9)
	frame = binary.BigEndian.AppendUint32(frame, 1) // correlation id
	frame = binary.BigEndian.AppendUint16(frame, 5)
	frame = append(frame, "bench"...)
	frame = append(frame, 0) // header tags
	frame = req.AppendTo(frame)
	return frame, len(values)
}

func benchProduce(b *testing.B, fs env.FS, dir string, acks int16, fsync bool, valueSize int) {
	br, p := benchBroker(b, fs, dir, fsync)
	frame, records := produceFrame(acks, valueSize, 16<<10)
	batchBytes := records * valueSize

	cc := &conn{b: br, remote: "bench"}
	ctx := context.Background()
	body := make([]byte, len(frame))
	var out []byte
	b.SetBytes(int64(batchBytes))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		// The handler writes the base offset into the request's batch;
		// a fresh copy keeps the frame as a client sent it.
		copy(body, frame)
		rep, err := cc.handleFrame(ctx, body)
		if err != nil {
			b.Fatal(err)
		}
		if rep.finish != nil {
			rep.finish(ctx)
		}
		out = appendReply(out[:0], &rep)
		if pr := rep.resp.(*kmsg.ProduceResponse); pr.Topics[0].Partitions[0].ErrorCode != 0 {
			b.Fatalf("produce error %d", pr.Topics[0].Partitions[0].ErrorCode)
		}
		if p.Size() > 256<<20 {
			b.StopTimer()
			if err := p.ReplicaLog().TruncateFullyAndStartAt(p.EndOffset()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(records), "records/op")
}

// BenchmarkProduceConn runs a connection's reader and writer goroutines
// (serveConn) over an in-memory pipe, acks=1, log in a temp dir, in two
// shapes: 16 KiB batches with up to 5 requests in flight, as an idempotent
// kgo producer has, and 512 KiB batches one at a time, as a non-idempotent
// kgo producer (one request in flight) sends at full speed, where ns/op is
// the broker's turnaround of a request. cpu-ns/op is the CPU the process
// used per request. Unlike BenchmarkProduceRequest it
// includes reading each frame into its buffer, so -benchmem shows whether
// request buffers are reused.
func BenchmarkProduceConn(b *testing.B) {
	shapes := []struct {
		batchBytes, inFlight int
	}{{16 << 10, 5}, {512 << 10, 1}}
	for _, shape := range shapes {
		for _, valueSize := range []int{100, 1024} {
			b.Run(fmt.Sprintf("%dKiB-batches/%d-in-flight/%dB-records", shape.batchBytes>>10, shape.inFlight, valueSize), func(b *testing.B) {
				benchProduceConn(b, valueSize, shape.batchBytes, shape.inFlight)
			})
		}
	}
}

func benchProduceConn(b *testing.B, valueSize, batchBytes, inFlight int) {
	br, p := benchBroker(b, env.OSFS{}, b.TempDir(), true)
	body, records := produceFrame(1, valueSize, batchBytes)
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	frame = append(frame, body...)
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		br.serveConn(server)
		close(done)
	}()
	tokens := make(chan struct{}, inFlight)
	readErr := make(chan error, 1)
	go func() {
		r := bufio.NewReader(client)
		var size [4]byte
		var resp []byte
		for range b.N {
			if _, err := io.ReadFull(r, size[:]); err != nil {
				readErr <- err
				return
			}
			n := binary.BigEndian.Uint32(size[:])
			if cap(resp) < int(n) {
				resp = make([]byte, n)
			}
			if _, err := io.ReadFull(r, resp[:n]); err != nil {
				readErr <- err
				return
			}
			<-tokens
		}
		readErr <- nil
	}()
	b.SetBytes(int64(records * valueSize))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for range b.N {
		tokens <- struct{}{}
		if _, err := client.Write(frame); err != nil {
			b.Fatal(err)
		}
		if p.Size() > 256<<20 {
			// Appends are in order with the writes; emptying
			// the log here races only with appends, which hold
			// the partition's lock too.
			if err := p.ReplicaLog().TruncateFullyAndStartAt(p.EndOffset()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := <-readErr; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	// CPU of the whole process (broker and the pipe's client end, which
	// only reads responses): steadier than wall time on a shared machine,
	// and what a producer on the same cores loses to the broker.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(records), "records/op")
	client.Close()
	<-done
}
