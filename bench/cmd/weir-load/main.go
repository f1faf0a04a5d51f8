// Command weir-load runs one producer load (package bench/loadgen) and prints
// one human line and one JSON line with the results.
//
//	weir-load --bootstrap 127.0.0.1:9095 --topic bench --partitions 1 \
//	    --value-bytes 100 --acks all --idempotent --linger 0 --duration 10s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/weir-dev/weir/bench/loadgen"
)

func main() {
	var cfg loadgen.Config
	flag.StringVar(&cfg.Bootstrap, "bootstrap", "127.0.0.1:9095", "seed broker host:port")
	flag.StringVar(&cfg.Topic, "topic", "weir-bench", "topic")
	partitions := flag.Int("partitions", 0, "round-robin over partitions 0..N-1 (0: kgo's sticky partitioner)")
	flag.IntVar(&cfg.ValueBytes, "value-bytes", 100, "value size in bytes")
	flag.Int64Var(&cfg.Records, "records", 0, "measured records (0: use --duration)")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured duration when --records is 0")
	flag.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "warm-up before measuring")
	flag.StringVar(&cfg.Acks, "acks", "all", "acks: all, 1 or 0")
	flag.BoolVar(&cfg.Idempotent, "idempotent", true, "idempotent producer (needs --acks all)")
	flag.DurationVar(&cfg.Linger, "linger", 0, "producer linger")
	flag.IntVar(&cfg.MaxInFlight, "max-inflight", 0, "produce requests in flight per broker, non-idempotent only (0: kgo default)")
	flag.StringVar(&cfg.Compression, "compression", "none", "none, gzip, snappy, lz4 or zstd")
	flag.IntVar(&cfg.MaxBufferedRecords, "max-buffered", 0, "max unacknowledged records in kgo (0: kgo default)")
	flag.Parse()
	cfg.Partitions = int32(*partitions)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	res, err := loadgen.Run(ctx, cfg)
	fmt.Println(res)
	line, jerr := json.Marshal(struct {
		Config configJSON     `json:"config"`
		Result loadgen.Result `json:"result"`
		Error  string         `json:"error,omitempty"`
	}{configOf(cfg), res, errString(err)})
	if jerr != nil {
		fmt.Fprintln(os.Stderr, "weir-load:", jerr)
		os.Exit(1)
	}
	fmt.Println(string(line))
	if err != nil {
		fmt.Fprintln(os.Stderr, "weir-load:", err)
		os.Exit(1)
	}
}

// configJSON is the run's parameters as printed next to its results.
type configJSON struct {
	Bootstrap          string  `json:"bootstrap"`
	Topic              string  `json:"topic"`
	Partitions         int32   `json:"partitions"`
	ValueBytes         int     `json:"value_bytes"`
	Records            int64   `json:"records"`
	DurationSec        float64 `json:"duration_sec"`
	WarmupSec          float64 `json:"warmup_sec"`
	Acks               string  `json:"acks"`
	Idempotent         bool    `json:"idempotent"`
	LingerMs           float64 `json:"linger_ms"`
	MaxInFlight        int     `json:"max_inflight"`
	Compression        string  `json:"compression"`
	MaxBufferedRecords int     `json:"max_buffered_records"`
}

func configOf(c loadgen.Config) configJSON {
	return configJSON{
		Bootstrap: c.Bootstrap, Topic: c.Topic, Partitions: c.Partitions,
		ValueBytes: c.ValueBytes, Records: c.Records,
		DurationSec: c.Duration.Seconds(), WarmupSec: c.Warmup.Seconds(),
		Acks: c.Acks, Idempotent: c.Idempotent,
		LingerMs:    float64(c.Linger) / float64(time.Millisecond),
		MaxInFlight: c.MaxInFlight, Compression: c.Compression,
		MaxBufferedRecords: c.MaxBufferedRecords,
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
