package driver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/bench/spec"
	"github.com/weir-dev/weir/internal/kopts"
)

// TimestampHeader is the record header carrying the intended send time.
const TimestampHeader = "weir-bench-ts"

// Config is one run.
type Config struct {
	Spec spec.Spec
	// Bootstrap is the seed broker, host:port.
	Bootstrap string
	// Topics are the spec.Topics topic names to use; they must exist (or
	// be auto-created) with spec.PartitionsPerTopic partitions.
	Topics []string
	// SkipConsumers, if not empty, is why the spec's consumers do not run
	// (the target cannot serve Fetch); it is copied to the Result.
	SkipConsumers string
	// DrainTimeout bounds the wait, after the producers flushed, for the
	// consumers to see every acknowledged record; default 10 s.
	DrainTimeout time.Duration
	// FlushTimeout bounds the producers' final flush; default 30 s.
	FlushTimeout time.Duration
	// Progress, if not nil, receives every per-second sample as it is taken.
	Progress func(Sample)
	// Opts are extra kgo options for every client, applied last.
	Opts []kgo.Opt
}

// Phase of a sample.
const (
	PhaseWarmup  = "warmup"
	PhaseMeasure = "measure"
	PhaseDrain   = "drain"
)

// Sample is one interval (about a second) of the run.
type Sample struct {
	// Sec is the end of the interval, in seconds since the run started.
	Sec float64 `json:"sec"`
	// Phase is the phase of the interval's midpoint.
	Phase string `json:"phase"`
	// Per second over the interval, every record (measured or not).
	ProducedRecordsPerSec float64 `json:"produced_records_per_sec"`
	ProducedMBPerSec      float64 `json:"produced_mb_per_sec"`
	ConsumedRecordsPerSec float64 `json:"consumed_records_per_sec"`
	// Total is the run's planned length (warm-up + duration) in seconds,
	// for progress displays.
	TotalSec float64 `json:"-"`
}

// Result is what a run measured. Rates are over the measured window: from
// its start to the last acknowledgement (consumption) of a measured record.
type Result struct {
	Start           time.Time
	ProducedRecords int64
	ProducedBytes   int64
	ProduceErrors   int64
	ProduceSec      float64
	ConsumedRecords int64
	ConsumedBytes   int64
	ConsumeSec      float64
	// ConsumersSkipped is Config.SkipConsumers, or "spec has no consumers".
	ConsumersSkipped string
	// Publish is the latency from the intended send time (corrected for
	// coordinated omission), PublishService from the actual Produce call,
	// EndToEnd from the intended send time to the consumer (nil when
	// consumers were skipped). Nanoseconds.
	Publish, PublishService, EndToEnd *hdrhistogram.Histogram
	Series                            []Sample
}

// RecordsPerSec and the like derive rates; 0 when nothing was measured.
func (r *Result) ProducedRecordsPerSec() float64 { return rate(r.ProducedRecords, r.ProduceSec) }
func (r *Result) ProducedMBPerSec() float64      { return rate(r.ProducedBytes, r.ProduceSec) / 1e6 }
func (r *Result) ConsumedRecordsPerSec() float64 { return rate(r.ConsumedRecords, r.ConsumeSec) }
func (r *Result) ConsumedMBPerSec() float64      { return rate(r.ConsumedBytes, r.ConsumeSec) / 1e6 }

func rate(n int64, sec float64) float64 {
	if sec <= 0 {
		return 0
	}
	return float64(n) / sec
}

// counters are the run-wide running totals the sampler reads.
type counters struct {
	produced, producedBytes, consumed atomic.Int64
}

// Run runs cfg.Spec and returns its measurements. It returns an error (and
// whatever was measured) if a client cannot be created, ctx ends, the flush
// fails or any measured record failed.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	s := cfg.Spec
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Topics) != s.Topics {
		return nil, fmt.Errorf("driver: %d topic names for %d topics", len(cfg.Topics), s.Topics)
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = 30 * time.Second
	}
	popts, err := producerOpts(&cfg)
	if err != nil {
		return nil, err
	}

	// Create every client and connect it before the clock starts.
	var clients []*kgo.Client
	defer func() {
		for _, cl := range clients {
			cl.Close()
		}
	}()
	prods := make([]*producer, s.Producers)
	for i := range prods {
		cl, err := kgo.NewClient(popts...)
		if err != nil {
			return nil, fmt.Errorf("driver: producer: %w", err)
		}
		clients = append(clients, cl)
		prods[i] = newProducer(i, &s, cl, cfg.Topics)
	}
	res := &Result{ConsumersSkipped: cfg.SkipConsumers}
	if res.ConsumersSkipped == "" && s.Consumers == 0 {
		res.ConsumersSkipped = "spec has no consumers"
	}
	var cons []*consumer
	if res.ConsumersSkipped == "" {
		assign := assignPartitions(cfg.Topics, int32(s.PartitionsPerTopic), s.Consumers)
		for _, a := range assign {
			opts := []kgo.Opt{kgo.SeedBrokers(cfg.Bootstrap), kgo.ConsumePartitions(a), kgo.FetchMaxWait(500 * time.Millisecond)}
			cl, err := kgo.NewClient(append(opts, cfg.Opts...)...)
			if err != nil {
				return nil, fmt.Errorf("driver: consumer: %w", err)
			}
			clients = append(clients, cl)
			cons = append(cons, &consumer{cl: cl, hist: NewHistogram()})
		}
	}
	for _, cl := range clients {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := cl.Ping(pctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("driver: connect to %s: %w", cfg.Bootstrap, err)
		}
	}

	start := time.Now().Add(10 * time.Millisecond)
	win := window{from: start.Add(s.Warmup.D()), to: start.Add(s.Warmup.D() + s.Duration.D())}
	res.Start = start
	var cnt counters

	// Consumers first: they read from offset 0, so nothing is missed.
	cctx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()
	var cwg sync.WaitGroup
	for _, c := range cons {
		c.win = win
		cwg.Go(func() { c.run(cctx, &cnt) })
	}

	sampler := newSampler(start, win, &cnt, cfg.Progress)
	sctx, stopSampler := context.WithCancel(ctx)
	var swg sync.WaitGroup
	swg.Go(func() { sampler.run(sctx) })

	var pwg sync.WaitGroup
	perRate := s.ProducerRate / float64(s.Producers)
	for i, p := range prods {
		p.stats = newPubStats(win)
		// Interleave the producers' schedules.
		pstart := start
		if perRate > 0 {
			pstart = start.Add(time.Duration(float64(i) * 1e9 / s.ProducerRate))
		}
		p.cnt = &cnt
		pwg.Go(func() { p.run(ctx, pstart, perRate, win.to) })
	}
	pwg.Wait()
	sampler.setPhase(PhaseDrain)

	var errs []error
	fctx, cancel := context.WithTimeout(ctx, cfg.FlushTimeout)
	for _, p := range prods {
		if err := p.cl.Flush(fctx); err != nil {
			errs = append(errs, fmt.Errorf("driver: flush: %w", err))
		}
	}
	cancel()

	// Merge the producers' measurements.
	res.Publish, res.PublishService = NewHistogram(), NewHistogram()
	var lastAck time.Time
	var produced int64
	for _, p := range prods {
		st := p.stats
		st.mu.Lock()
		res.Publish.Merge(st.corrected)
		res.PublishService.Merge(st.service)
		res.ProducedRecords += st.records
		res.ProducedBytes += st.bytes
		res.ProduceErrors += st.errs
		if st.lastAck.After(lastAck) {
			lastAck = st.lastAck
		}
		if st.firstErr != nil {
			errs = append(errs, fmt.Errorf("driver: %d records failed, first: %w", st.errs, st.firstErr))
		}
		st.mu.Unlock()
		produced += p.acked.Load()
	}
	if !lastAck.IsZero() {
		res.ProduceSec = lastAck.Sub(win.from).Seconds()
	}

	if len(cons) > 0 {
		// Wait for the consumers to catch up with every acknowledged record.
		deadline := time.Now().Add(cfg.DrainTimeout)
		tick := time.NewTicker(10 * time.Millisecond)
		for cnt.consumed.Load() < produced && time.Now().Before(deadline) && ctx.Err() == nil {
			<-tick.C
		}
		tick.Stop()
		stopConsumers()
		cwg.Wait()
		res.EndToEnd = NewHistogram()
		var last time.Time
		for _, c := range cons {
			res.EndToEnd.Merge(c.hist)
			res.ConsumedRecords += c.records
			res.ConsumedBytes += c.bytes
			if c.last.After(last) {
				last = c.last
			}
		}
		if !last.IsZero() {
			res.ConsumeSec = last.Sub(win.from).Seconds()
		}
		if got := cnt.consumed.Load(); got < produced {
			errs = append(errs, fmt.Errorf("driver: consumers saw %d of %d acknowledged records within %v", got, produced, cfg.DrainTimeout))
		}
	}
	stopSampler()
	swg.Wait()
	res.Series = sampler.series()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

func producerOpts(cfg *Config) ([]kgo.Opt, error) {
	s := &cfg.Spec
	opts := []kgo.Opt{kgo.SeedBrokers(cfg.Bootstrap), kgo.ProducerLinger(s.Linger.D())}
	switch s.Acks {
	case "all":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
	}
	if !s.IsIdempotent() {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	codec, err := kopts.Compression(s.Compression)
	if err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if s.BatchMaxBytes > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(int32(s.BatchMaxBytes)))
	}
	if s.MaxBufferedRecords > 0 {
		opts = append(opts, kgo.MaxBufferedRecords(s.MaxBufferedRecords))
	}
	return append(opts, cfg.Opts...), nil
}

// assignPartitions splits every topic's partitions between n consumers,
// round robin over (topic, partition) pairs.
func assignPartitions(topics []string, partitions int32, n int) []map[string]map[int32]kgo.Offset {
	out := make([]map[string]map[int32]kgo.Offset, n)
	for i := range out {
		out[i] = map[string]map[int32]kgo.Offset{}
	}
	i := 0
	for _, t := range topics {
		for p := range partitions {
			m := out[i%n]
			if m[t] == nil {
				m[t] = map[int32]kgo.Offset{}
			}
			m[t][p] = kgo.NewOffset().AtStart()
			i++
		}
	}
	return out
}

// producer is one kgo client and the goroutine that feeds it.
type producer struct {
	idx    int
	spec   *spec.Spec
	cl     *kgo.Client
	topics []string
	value  []byte
	rng    *rand.Rand
	stats  *pubStats
	acked  atomic.Int64 // every acknowledged record, measured or not
	cnt    *counters

	// free holds records whose promise has run, guarded by stats.mu;
	// local is owned by the producing goroutine.
	free, local []*kgo.Record
}

func newProducer(idx int, s *spec.Spec, cl *kgo.Client, topics []string) *producer {
	var seed [32]byte
	binary.BigEndian.PutUint64(seed[:], uint64(idx)+1)
	p := &producer{idx: idx, spec: s, cl: cl, topics: topics,
		value: make([]byte, s.MessageSize), rng: rand.New(rand.NewChaCha8(seed))}
	if s.Payload == "fixed" {
		for i := range p.value {
			p.value[i] = byte('a' + i%26)
		}
	} else {
		for i := 0; i < len(p.value); i += 8 {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], p.rng.Uint64())
			copy(p.value[i:], b[:])
		}
	}
	return p
}

func (p *producer) get() *kgo.Record {
	if len(p.local) == 0 {
		p.stats.mu.Lock()
		p.local, p.free = p.free, p.local[:0]
		p.stats.mu.Unlock()
	}
	if n := len(p.local); n > 0 {
		r := p.local[n-1]
		p.local = p.local[:n-1]
		return r
	}
	r := &kgo.Record{Value: p.value, Headers: []kgo.RecordHeader{{Key: TimestampHeader, Value: make([]byte, 8)}}}
	if p.spec.KeyDistribution != "none" {
		r.Key = make([]byte, 8)
	}
	return r
}

func (p *producer) promise(r *kgo.Record, err error) {
	now := time.Now()
	intended := time.Unix(0, int64(binary.BigEndian.Uint64(r.Headers[0].Value)))
	st := p.stats
	st.mu.Lock()
	if err != nil {
		if st.win.holds(intended) {
			st.errs++
			if st.firstErr == nil {
				st.firstErr = err
			}
		}
	} else {
		st.ack(intended, r.Timestamp, now, len(r.Value))
	}
	p.free = append(p.free, r)
	st.mu.Unlock()
	if err == nil {
		p.acked.Add(1)
		p.cnt.produced.Add(1)
		p.cnt.producedBytes.Add(int64(len(r.Value)))
	}
}

func (p *producer) run(ctx context.Context, start time.Time, rate float64, end time.Time) {

	ntopics := int64(len(p.topics))
	stop := func() bool { return ctx.Err() != nil }
	pace(realClock{}, start, rate, end, stop, func(k int64, intended time.Time) {
		r := p.get()
		r.Topic = p.topics[k%ntopics]
		r.Partition = 0
		switch p.spec.KeyDistribution {
		case "random":
			binary.BigEndian.PutUint64(r.Key, p.rng.Uint64())
		case "round_robin":
			binary.BigEndian.PutUint64(r.Key, uint64((k*int64(p.spec.Producers)+int64(p.idx))%int64(p.spec.KeyCount)))
		}
		binary.BigEndian.PutUint64(r.Headers[0].Value, uint64(intended.UnixNano()))
		r.Timestamp = time.Now()
		p.cl.Produce(ctx, r, p.promise)
	})
}

// consumer is one kgo client reading its share of the partitions.
type consumer struct {
	cl   *kgo.Client
	win  window
	hist *hdrhistogram.Histogram
	// Measured records only; owned by run until it returns.
	records, bytes int64
	last           time.Time
}

func (c *consumer) run(ctx context.Context, cnt *counters) {
	for {
		fs := c.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		var n int64
		fs.EachRecord(func(r *kgo.Record) {
			n++
			for _, h := range r.Headers {
				if h.Key != TimestampHeader || len(h.Value) != 8 {
					continue
				}
				intended := time.Unix(0, int64(binary.BigEndian.Uint64(h.Value)))
				if c.win.holds(intended) {
					recordNs(c.hist, now.Sub(intended))
					c.records++
					c.bytes += int64(len(r.Value))
					c.last = now
				}
				break
			}
		})
		cnt.consumed.Add(n)
	}
}
