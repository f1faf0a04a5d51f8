package workload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/weir-dev/weir/bench/driver"
	"github.com/weir-dev/weir/bench/spec"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/reports/pipeline"
	"github.com/weir-dev/weir/workloads/registry"
)

// Streams of the seed, as `weir workload run` draws them (package
// realrun): the parameters, and the workload's run.
const (
	streamParams = 0x7765_6972_7061_7261 // "weirpara"
	streamRun    = 0x7765_6972_7275_6e00 // "weirrun\0" + the workload's index (0)
)

// Config is one run.
type Config struct {
	// Spec has Workload set.
	Spec spec.Spec
	// Bootstrap is the seed broker, host:port.
	Bootstrap string
	// ReplicationFactor and MinInsync of the workload's topics (the
	// spec's replication_factor, when set, takes the place of the first).
	ReplicationFactor int16
	MinInsync         int
	// TopicSuffix is appended to every topic and group name; unique per
	// run on a shared cluster.
	TopicSuffix string
	// Progress, if not nil, receives a sample about every second.
	Progress func(driver.Sample)
	// SetupTimeout bounds creating the topics (default 1m), FinishTimeout
	// the final drain and reads (default 2m).
	SetupTimeout, FinishTimeout time.Duration
}

// Result is what a run measured: the benchmark's common fields in Bench,
// the workload's own beside them.
type Result struct {
	Bench *driver.Result
	// Params are the workload's parameters as run.
	Params        json.RawMessage
	Input, Output string
	// Definition says what an end-to-end sample measures.
	Definition string
	// Unprocessed counts acknowledged input records with no committed
	// output in the final reads (the whole run).
	Unprocessed int
	// Alerts are the alert delays of the readings acknowledged in the
	// measured window (vitals; nil otherwise), AlertBound the bound the
	// workload's checker holds them to.
	Alerts     *hdrhistogram.Histogram
	AlertBound time.Duration
}

// Length is how long the workload's safety phase runs for s.
func Length(s spec.Spec) time.Duration {
	return s.Warmup.D() + s.Duration.D() + s.Workload.Cooldown.D()
}

// Params returns the parameters s's workload runs with on c: Draw's for
// the seed, overlaid by the spec's. It builds the workload (no I/O) to
// check them, and refuses a workload with no processing stage to measure.
func Params(s spec.Spec, c registry.Cluster) (json.RawMessage, error) {
	w := s.Workload
	if w == nil {
		return nil, errors.New("not a workload spec")
	}
	e, err := registry.Lookup(w.Name)
	if err != nil {
		return nil, fmt.Errorf("workload.name: %w", err)
	}
	drawn, err := e.Draw(rand.New(rand.NewPCG(w.Seed, streamParams)), c)
	if err != nil {
		return nil, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(drawn, &merged); err != nil {
		return nil, fmt.Errorf("workload %s: its parameters are not a JSON object: %w", w.Name, err)
	}
	over, err := w.ParamsJSON()
	if err != nil {
		return nil, err
	}
	var given map[string]json.RawMessage
	if err := json.Unmarshal(over, &given); err != nil {
		return nil, err
	}
	for k, v := range given {
		merged[k] = v
	}
	params, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	if _, err := e.Build(params, registry.Env{}); err != nil {
		return nil, fmt.Errorf("workload.params: %w", err)
	}
	if _, err := shape(w.Name, params); err != nil {
		return nil, err
	}
	return params, nil
}

// shape is the pipeline of the named workload run with params, measured
// on an empty history: its topics and definitions.
func shape(name string, params json.RawMessage) (pipeline.Measure, error) {
	ms, err := measureAll(name, params, nil)
	if err != nil {
		return pipeline.Measure{}, err
	}
	if len(ms) != 1 {
		return pipeline.Measure{}, fmt.Errorf("workload %s has no processing stage to measure (want one of clickstream, payments, vitals)", name)
	}
	return ms[0], nil
}

func measureAll(name string, params json.RawMessage, ops []history.Op) ([]pipeline.Measure, error) {
	rp, err := json.Marshal(registry.RunParams{Workload: name, WorkloadParams: map[string]json.RawMessage{name: params}})
	if err != nil {
		return nil, err
	}
	return pipeline.Read(rp, ops)
}

// Run runs cfg.Spec's workload and measures it. It returns an error (and
// what was measured, when the run got that far) if the workload cannot be
// built or set up, ctx ends, or the drain or final reads did not finish.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	s := cfg.Spec
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Workload == nil {
		return nil, errors.New("workload: not a workload spec")
	}
	if cfg.SetupTimeout <= 0 {
		cfg.SetupTimeout = time.Minute
	}
	if cfg.FinishTimeout <= 0 {
		cfg.FinishTimeout = 2 * time.Minute
	}
	rf := cfg.ReplicationFactor
	if s.ReplicationFactor > 0 {
		rf = int16(s.ReplicationFactor)
	}
	c := registry.Cluster{ReplicationFactor: max(rf, 1), MinInsync: min(cfg.MinInsync, int(max(rf, 1))),
		Duration: Length(s), TopicSuffix: cfg.TopicSuffix}
	params, err := Params(s, c)
	if err != nil {
		return nil, err
	}
	sh, err := shape(s.Workload.Name, params)
	if err != nil {
		return nil, err
	}
	e, err := registry.Lookup(s.Workload.Name)
	if err != nil {
		return nil, err
	}
	w, err := e.Build(params, registry.Env{Bootstrap: []string{cfg.Bootstrap},
		Rand: rand.New(rand.NewPCG(s.Workload.Seed, streamRun))})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, cfg.SetupTimeout)
	err = w.Setup(sctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("workload %s: %w", s.Workload.Name, err)
	}

	start := time.Now()
	rec := history.NewRecorder(start, nil)
	live := &liveCounter{rec: rec, input: sh.Input, output: sh.Output}
	pctx, stopProgress := context.WithCancel(ctx)
	var pwg sync.WaitGroup
	if cfg.Progress != nil {
		pwg.Go(func() { live.run(pctx, start, s, cfg.Progress) })
	}
	var errs []error
	if err := w.Run(ctx, rec); err != nil {
		errs = append(errs, fmt.Errorf("workload %s: %w", s.Workload.Name, err))
	}
	live.setDrain()
	if ctx.Err() == nil && len(errs) == 0 {
		fctx, cancel := context.WithTimeout(ctx, cfg.FinishTimeout)
		if err := w.Finish(fctx, rec); err != nil {
			errs = append(errs, fmt.Errorf("workload %s: final drain and reads: %w", s.Workload.Name, err))
		}
		cancel()
	}
	stopProgress()
	pwg.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	ops := rec.Ops()
	ms, err := measureAll(s.Workload.Name, params, ops)
	if err != nil {
		return nil, fmt.Errorf("workload %s: measuring the history: %w", s.Workload.Name, err)
	}
	if len(ms) != 1 {
		return nil, fmt.Errorf("workload %s: the history measured as %d pipelines, want 1", s.Workload.Name, len(ms))
	}
	res := measure(ops, ms[0], window{from: s.Warmup.D(), to: s.Warmup.D() + s.Duration.D()}, Length(s))
	res.Bench.Start = start
	res.Params = params
	return res, nil
}
