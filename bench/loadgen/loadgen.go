package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/internal/kopts"
)

// Config is one load run. Zero values take the defaults documented per field.
type Config struct {
	// Bootstrap is the seed broker, host:port. Required.
	Bootstrap string
	// Topic is the topic produced to. Required.
	Topic string
	// Partitions, if > 0, sends record i to partition i%Partitions (the
	// topic must have that many); 0 leaves partitioning to kgo's default
	// (sticky) partitioner over all the topic's partitions.
	Partitions int32
	// ValueBytes is the size of every record's value; default 100. Records
	// have no key and no headers.
	ValueBytes int
	// Records is the number of measured records; if 0, Duration applies.
	Records int64
	// Duration is the length of the measured phase when Records is 0.
	Duration time.Duration
	// Warmup is produced (and flushed) before measuring, not counted.
	Warmup time.Duration
	// Acks is "all" (default, also "-1"), "1" or "0".
	Acks string
	// Idempotent enables the idempotent producer; it needs Acks "all".
	Idempotent bool
	// Linger is kgo's ProducerLinger; 0 sends as soon as possible.
	Linger time.Duration
	// MaxInFlight is the number of produce requests in flight per broker,
	// only when Idempotent is off (kgo fixes it at 5 otherwise); 0 keeps
	// kgo's default of 1.
	MaxInFlight int
	// Compression is "none" (default), "gzip", "snappy", "lz4" or "zstd".
	Compression string
	// MaxBufferedRecords bounds unacknowledged records in kgo; 0 keeps
	// kgo's default (10000).
	MaxBufferedRecords int
	// Opts are extra kgo options, applied last (for example a Dialer).
	Opts []kgo.Opt
}

// Result is what a run measured. Rates are over Elapsed, the time from the
// first measured Produce call to the last measured acknowledgement.
type Result struct {
	Records       int64   `json:"records"` // acknowledged without error
	Errors        int64   `json:"errors"`  // promises with an error
	ValueBytes    int64   `json:"value_bytes"`
	ElapsedSec    float64 `json:"elapsed_sec"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"` // value bytes, 10^6 per second
	LatencyP50Ms  float64 `json:"latency_p50_ms"`
	LatencyP99Ms  float64 `json:"latency_p99_ms"`
	LatencyP999Ms float64 `json:"latency_p999_ms"`
	LatencyMaxMs  float64 `json:"latency_max_ms"`
	WarmupRecords int64   `json:"warmup_records"` // including the first, synchronous one

	// Latency holds every measured, successful record's latency in ns.
	Latency *hdrhistogram.Histogram `json:"-"`
}

func (r Result) String() string {
	return fmt.Sprintf("%d records in %.2fs: %.0f rec/s, %.1f MB/s, latency ms p50 %.3f p99 %.3f p99.9 %.3f max %.3f, %d errors",
		r.Records, r.ElapsedSec, r.RecordsPerSec, r.MBPerSec,
		r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyP999Ms, r.LatencyMaxMs, r.Errors)
}

const latencyNsMax = int64(60 * time.Second)

func (cfg *Config) normalize() error {
	if cfg.Bootstrap == "" {
		return errors.New("loadgen: no bootstrap address")
	}
	if cfg.Topic == "" {
		return errors.New("loadgen: no topic")
	}
	if cfg.Partitions < 0 {
		return fmt.Errorf("loadgen: %d partitions", cfg.Partitions)
	}
	if cfg.ValueBytes < 0 {
		return fmt.Errorf("loadgen: value size %d", cfg.ValueBytes)
	}
	if cfg.ValueBytes == 0 {
		cfg.ValueBytes = 100
	}
	if cfg.Records < 0 || cfg.Records == 0 && cfg.Duration <= 0 {
		return errors.New("loadgen: need Records > 0 or Duration > 0")
	}
	if cfg.Warmup < 0 || cfg.Linger < 0 || cfg.MaxInFlight < 0 || cfg.MaxBufferedRecords < 0 {
		return errors.New("loadgen: negative warm-up, linger, in-flight or buffer limit")
	}
	if cfg.Acks == "" || cfg.Acks == "-1" {
		cfg.Acks = "all"
	}
	if cfg.Acks != "all" && cfg.Acks != "1" && cfg.Acks != "0" {
		return fmt.Errorf("loadgen: acks %q, want all, 1 or 0", cfg.Acks)
	}
	if cfg.Idempotent && cfg.Acks != "all" {
		return fmt.Errorf("loadgen: idempotence needs acks=all, not %s", cfg.Acks)
	}
	if cfg.Idempotent && cfg.MaxInFlight > 0 {
		return errors.New("loadgen: max in-flight is fixed by kgo for an idempotent producer")
	}
	if cfg.Compression == "" {
		cfg.Compression = "none"
	}
	return nil
}

func (cfg *Config) kgoOpts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Bootstrap),
		kgo.ProducerLinger(cfg.Linger),
	}
	switch cfg.Acks {
	case "all":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
	}
	if !cfg.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
		if cfg.MaxInFlight > 0 {
			opts = append(opts, kgo.MaxProduceRequestsInflightPerBroker(cfg.MaxInFlight))
		}
	}
	codec, err := kopts.Compression(cfg.Compression)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if cfg.Partitions > 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	if cfg.MaxBufferedRecords > 0 {
		opts = append(opts, kgo.MaxBufferedRecords(cfg.MaxBufferedRecords))
	}
	return append(opts, cfg.Opts...), nil
}

// run is the state shared between the producing goroutine and kgo's promise
// goroutine.
type run struct {
	mu       sync.Mutex
	free     []*kgo.Record // records whose promise has run
	acked    int64
	errs     int64
	firstErr error
	lastAck  time.Time
	hist     *hdrhistogram.Histogram

	// Owned by the producing goroutine.
	local []*kgo.Record
	topic string
	value []byte
}

// promise is kgo's callback for every record; it must not block.
func (rn *run) promise(r *kgo.Record, err error) {
	now := time.Now()
	latencyNs := now.Sub(r.Timestamp).Nanoseconds()
	rn.mu.Lock()
	if err != nil {
		rn.errs++
		if rn.firstErr == nil {
			rn.firstErr = err
		}
	} else {
		rn.acked++
		rn.hist.RecordValue(min(max(latencyNs, 1), latencyNsMax)) // in range: cannot fail
	}
	rn.lastAck = now
	rn.free = append(rn.free, r)
	rn.mu.Unlock()
}

// get returns a record whose promise has run, or a new one. It takes the
// whole free list at once so that the lock is taken once per many records.
func (rn *run) get() *kgo.Record {
	if len(rn.local) == 0 {
		rn.mu.Lock()
		rn.local, rn.free = rn.free, rn.local[:0]
		rn.mu.Unlock()
	}
	if n := len(rn.local); n > 0 {
		r := rn.local[n-1]
		rn.local = rn.local[:n-1]
		return r
	}
	return &kgo.Record{Topic: rn.topic, Value: rn.value}
}

// reset clears the counters; only when no record is outstanding.
func (rn *run) reset() {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.acked, rn.errs, rn.firstErr = 0, 0, nil
	rn.lastAck = time.Time{}
	rn.hist.Reset()
}

// produce produces records until n are sent (n > 0) or until the deadline
// (n == 0), or ctx ends, and returns how many it sent.
func (rn *run) produce(ctx context.Context, cl *kgo.Client, partitions int32, n int64, deadline time.Time) int64 {
	var i int64
	for ; n == 0 || i < n; i++ {
		now := time.Now()
		if n == 0 && !now.Before(deadline) {
			break
		}
		if i&1023 == 0 && ctx.Err() != nil {
			break
		}
		r := rn.get()
		if partitions > 0 {
			r.Partition = int32(i % int64(partitions))
		}
		r.Timestamp = now
		cl.Produce(ctx, r, rn.promise)
	}
	return i
}

// Run produces as cfg says and returns what it measured. It returns an
// error, with the partial Result, if the configuration is invalid, the
// client fails, ctx ends, or any measured record failed.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.normalize(); err != nil {
		return Result{}, err
	}
	opts, err := cfg.kgoOpts()
	if err != nil {
		return Result{}, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: %w", err)
	}
	defer cl.Close()

	rn := &run{
		topic: cfg.Topic,
		value: make([]byte, cfg.ValueBytes),
		hist:  hdrhistogram.New(1, latencyNsMax, 3),
	}
	for i := range rn.value {
		rn.value[i] = byte('a' + i%26)
	}

	// Connect, load metadata and a producer ID before anything is timed.
	first := &kgo.Record{Topic: cfg.Topic, Value: rn.value, Timestamp: time.Now()}
	if err := cl.ProduceSync(ctx, first).FirstErr(); err != nil {
		return Result{}, fmt.Errorf("loadgen: first record: %w", err)
	}
	res := Result{WarmupRecords: 1}
	if cfg.Warmup > 0 {
		res.WarmupRecords += rn.produce(ctx, cl, cfg.Partitions, 0, time.Now().Add(cfg.Warmup))
		if err := cl.Flush(ctx); err != nil {
			return res, fmt.Errorf("loadgen: warm-up: %w", err)
		}
	}
	rn.reset()

	start := time.Now()
	rn.produce(ctx, cl, cfg.Partitions, cfg.Records, start.Add(cfg.Duration))
	flushErr := cl.Flush(ctx)

	rn.mu.Lock()
	defer rn.mu.Unlock()
	end := rn.lastAck
	if end.IsZero() || flushErr != nil {
		end = time.Now()
	}
	elapsed := end.Sub(start).Seconds()
	res.Records, res.Errors = rn.acked, rn.errs
	res.ValueBytes = rn.acked * int64(cfg.ValueBytes)
	res.ElapsedSec = elapsed
	if elapsed > 0 {
		res.RecordsPerSec = float64(res.Records) / elapsed
		res.MBPerSec = float64(res.ValueBytes) / 1e6 / elapsed
	}
	h := rn.hist
	res.LatencyP50Ms = nsToMs(h.ValueAtQuantile(50))
	res.LatencyP99Ms = nsToMs(h.ValueAtQuantile(99))
	res.LatencyP999Ms = nsToMs(h.ValueAtQuantile(99.9))
	res.LatencyMaxMs = nsToMs(h.Max())
	res.Latency = h

	switch {
	case flushErr != nil:
		return res, fmt.Errorf("loadgen: %w", flushErr)
	case rn.firstErr != nil:
		return res, fmt.Errorf("loadgen: %d of %d records failed, first: %w", rn.errs, rn.errs+rn.acked, rn.firstErr)
	}
	return res, nil
}

func nsToMs(ns int64) float64 { return float64(ns) / 1e6 }
