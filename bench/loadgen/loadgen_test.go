package loadgen

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/weir-dev/weir/bench/nullsink"
)

func startSink(t *testing.T, partitions int32) (*nullsink.Sink, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := nullsink.New(nullsink.Options{Partitions: partitions, Logf: t.Logf})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

// checkSane checks what every successful run must report.
func checkSane(t *testing.T, cfg Config, res Result) {
	t.Helper()
	if res.Errors != 0 {
		t.Errorf("%d errors", res.Errors)
	}
	if res.ElapsedSec <= 0 || res.RecordsPerSec <= 0 || res.MBPerSec <= 0 {
		t.Errorf("elapsed %v s, %v rec/s, %v MB/s", res.ElapsedSec, res.RecordsPerSec, res.MBPerSec)
	}
	if want := res.Records * int64(cfg.ValueBytes); res.ValueBytes != want {
		t.Errorf("value bytes %d, want %d", res.ValueBytes, want)
	}
	if got := res.Latency.TotalCount(); got != res.Records {
		t.Errorf("histogram holds %d latencies, want %d", got, res.Records)
	}
	if !(0 < res.LatencyP50Ms && res.LatencyP50Ms <= res.LatencyP99Ms &&
		res.LatencyP99Ms <= res.LatencyP999Ms && res.LatencyP999Ms <= res.LatencyMaxMs) {
		t.Errorf("latency percentiles not positive and ordered: %s", res)
	}
	if res.LatencyMaxMs > res.ElapsedSec*1000+1 {
		t.Errorf("max latency %v ms longer than the run (%v s)", res.LatencyMaxMs, res.ElapsedSec)
	}
}

func TestRunCountsExactly(t *testing.T) {
	s, addr := startSink(t, 1)
	cfg := Config{
		Bootstrap:  addr,
		Topic:      "exact",
		ValueBytes: 100,
		Records:    20_000,
		Acks:       "all",
		Idempotent: true,
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != cfg.Records || res.WarmupRecords != 1 {
		t.Fatalf("measured %d, warm-up %d; want %d and 1", res.Records, res.WarmupRecords, cfg.Records)
	}
	if got := s.NextOffset("exact", 0); got != cfg.Records+1 {
		t.Errorf("sink holds %d records, want %d", got, cfg.Records+1)
	}
	checkSane(t, cfg, res)
}

func TestRunPartitionsWarmupAcks1(t *testing.T) {
	s, addr := startSink(t, 3)
	cfg := Config{
		Bootstrap:   addr,
		Topic:       "rr",
		Partitions:  3,
		ValueBytes:  64,
		Records:     9_000,
		Warmup:      50 * time.Millisecond,
		Acks:        "1",
		MaxInFlight: 3,
		Compression: "lz4",
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != cfg.Records || res.WarmupRecords < 2 {
		t.Fatalf("measured %d, warm-up %d", res.Records, res.WarmupRecords)
	}
	var total int64
	for p := range int32(3) {
		n := s.NextOffset("rr", p)
		// Round-robin: measured records split evenly; warm-up adds at most
		// a third (plus one) of its records to each.
		if n < cfg.Records/3 || n > cfg.Records/3+res.WarmupRecords/3+2 {
			t.Errorf("partition %d holds %d records", p, n)
		}
		total += n
	}
	if total != cfg.Records+res.WarmupRecords {
		t.Errorf("sink holds %d records, want %d measured + %d warm-up", total, cfg.Records, res.WarmupRecords)
	}
	checkSane(t, cfg, res)
}

func TestRunDuration(t *testing.T) {
	_, addr := startSink(t, 1)
	cfg := Config{Bootstrap: addr, Topic: "dur", Duration: 200 * time.Millisecond, Acks: "0", ValueBytes: 10}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records == 0 || res.ElapsedSec < 0.2 {
		t.Fatalf("%d records in %v s", res.Records, res.ElapsedSec)
	}
	checkSane(t, cfg, res)
}

func TestRunRejectsBadConfig(t *testing.T) {
	ok := Config{Bootstrap: "127.0.0.1:1", Topic: "t", Records: 1}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no bootstrap", func(c *Config) { c.Bootstrap = "" }, "bootstrap"},
		{"no topic", func(c *Config) { c.Topic = "" }, "topic"},
		{"no amount", func(c *Config) { c.Records = 0 }, "Records"},
		{"idempotent acks 1", func(c *Config) { c.Idempotent, c.Acks = true, "1" }, "idempotence"},
		{"idempotent in-flight", func(c *Config) { c.Idempotent, c.MaxInFlight = true, 3 }, "in-flight"},
		{"bad acks", func(c *Config) { c.Acks = "2" }, "acks"},
		{"bad compression", func(c *Config) { c.Compression = "brotli" }, "compression"},
	} {
		cfg := ok
		tc.edit(&cfg)
		_, err := Run(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}
