package broker

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// BenchmarkIdlePartitionMemory measures what an idle partition costs a
// broker (issue 10's goal: under 20 KB): the heap and goroutine stacks a
// topic of 2,000 partitions adds, per partition, on the simulated disk
// (so the page cache of real files is not counted). Run with -benchtime=1x.
func BenchmarkIdlePartitionMemory(b *testing.B) {
	const partitions = 2000
	for range b.N {
		cfg := DefaultConfig()
		cfg.DataDir = "/data"
		cfg.ListenAddr = "127.0.0.1:1" // never listened on: the broker registers at Open
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		br, err := Open(cfg, Deps{FS: memfs.New(), Net: env.OSNet{}, Clock: env.RealClock{}})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := br.WaitActive(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g := runtime.NumGoroutine()
		mustCreateTopic(b, br, "idle", partitions, nil)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/partitions, "heap-B/partition")
		b.ReportMetric(float64(after.StackInuse-before.StackInuse)/partitions, "stack-B/partition")
		b.ReportMetric(float64(runtime.NumGoroutine()-g)/partitions, "goroutines/partition")
		br.Close()
	}
}
