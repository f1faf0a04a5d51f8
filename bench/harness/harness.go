// Package harness runs a benchmark spec against one or more targets, in
// turn and with the same client settings, and assembles results.json.
//
// Targets:
//   - "embedded": an in-process Weir broker (broker.Open on the real file
//     system and network) on a fresh temporary data directory, listening
//     on 127.0.0.1 at a free port; removed after the run.
//   - "null": bench/nullsink in process: it answers Produce and stores
//     nothing, the ceiling of this client on this machine. It does not
//     serve Fetch, so consumers are skipped and the reason recorded.
//   - "external=HOST:PORT" (or "external" with a default bootstrap): any
//     Kafka-compatible cluster. Topics are created with CreateTopics and
//     deleted afterwards (best effort).
//
// Every run gets fresh topics (and, for in-process targets, a fresh
// broker). With Repeat > 1 the targets alternate (A B A B ...), so slow
// drift of the machine affects them alike.
//
// A workload spec (spec.Workload set) runs its workload through package
// bench/workload instead of the driver, on embedded and external targets
// (the null target serves neither groups nor transactions): topics get
// min(3, brokers) replicas (the spec's replication_factor if set) and
// min.insync.replicas min(2, replicas), as `weir workload run` makes them,
// under names carrying a suffix unique to the run; on an external cluster
// the topics and groups whose names contain it are deleted afterwards
// (best effort).
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/bench/driver"
	"github.com/weir-dev/weir/bench/nullsink"
	"github.com/weir-dev/weir/bench/results"
	"github.com/weir-dev/weir/bench/spec"
	"github.com/weir-dev/weir/bench/workload"
	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/workloads/registry"
)

// Target kinds.
const (
	Embedded = "embedded"
	Null     = "null"
	External = "external"
)

// Target is one parsed --targets entry.
type Target struct {
	Kind string
	Addr string // external only
}

// Name is the target's name in results: embedded, null or external=ADDR.
func (t Target) Name() string {
	if t.Kind == External {
		return External + "=" + t.Addr
	}
	return t.Kind
}

// ParseTargets parses a comma-separated list: embedded, null,
// external=HOST:PORT, or external alone (then bootstrap is its address).
// An empty list is "embedded", or "external" when bootstrap is set.
func ParseTargets(list, bootstrap string) ([]Target, error) {
	if strings.TrimSpace(list) == "" {
		if bootstrap != "" {
			list = External
		} else {
			list = Embedded
		}
	}
	var out []Target
	seen := map[string]bool{}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		kind, addr, hasAddr := strings.Cut(f, "=")
		var t Target
		switch {
		case (kind == Embedded || kind == "weir") && !hasAddr:
			t = Target{Kind: Embedded}
		case kind == Null && !hasAddr:
			t = Target{Kind: Null}
		case kind == External:
			if !hasAddr {
				addr = bootstrap
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return nil, fmt.Errorf("target %q: want external=HOST:PORT (or --bootstrap)", f)
			}
			t = Target{Kind: External, Addr: addr}
		default:
			return nil, fmt.Errorf("unknown target %q: want embedded, null or external=HOST:PORT", f)
		}
		if seen[t.Name()] {
			return nil, fmt.Errorf("target %s given twice", t.Name())
		}
		seen[t.Name()] = true
		out = append(out, t)
	}
	return out, nil
}

// Options is one `weir bench` invocation.
type Options struct {
	Spec    spec.Spec
	Targets []Target
	// Repeat is the number of runs per target; default 1.
	Repeat int
	// Command is recorded in results.json.
	Command string
	// Progress, if not nil, receives every per-second sample.
	Progress func(target string, run, runs int, s driver.Sample)
	// Logf, if not nil, receives one line per run started and finished.
	Logf func(format string, args ...any)
	// Embedded, if not nil, adjusts the embedded broker's configuration
	// (tests).
	Embedded func(*broker.Config)
}

// Run runs every target Repeat times and returns the results. A failed run
// stops everything: its error is returned with the results gathered so far
// (nil if none).
func Run(ctx context.Context, o Options) (*results.File, error) {
	if err := o.Spec.Validate(); err != nil {
		return nil, err
	}
	if len(o.Targets) == 0 {
		return nil, errors.New("no targets")
	}
	if o.Repeat <= 0 {
		o.Repeat = 1
	}
	if err := checkWorkload(o); err != nil {
		return nil, err
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	commit, dirty := results.Commit()
	f := &results.File{
		SchemaVersion: results.SchemaVersion,
		CreatedAt:     time.Now().UTC().Truncate(time.Second),
		Command:       o.Command,
		Machine:       results.ThisMachine(),
		Commit:        commit,
		CommitDirty:   dirty,
		Spec:          o.Spec,
	}
	for _, t := range o.Targets {
		f.Targets = append(f.Targets, results.Target{Name: t.Name()})
	}
	stamp := time.Now().Format("20060102-150405")
	for run := range o.Repeat {
		for i, t := range o.Targets {
			logf("%s: run %d/%d of %s", t.Name(), run+1, o.Repeat, o.Spec.Name)
			var progress func(driver.Sample)
			if o.Progress != nil {
				progress = func(s driver.Sample) { o.Progress(t.Name(), run+1, o.Repeat, s) }
			}
			topicPrefix := fmt.Sprintf("weir-bench-%s-%s-r%d", o.Spec.Name, stamp, run+1)
			r, bootstrap, err := runOne(ctx, t, o, topicPrefix, progress)
			if err != nil {
				f.Finish()
				return partial(f), fmt.Errorf("%s, run %d: %w", t.Name(), run+1, err)
			}
			tg := &f.Targets[i]
			tg.Bootstrap, tg.ConsumersSkipped = bootstrap, r.ConsumersSkipped
			tg.Runs = append(tg.Runs, r)
			logf("%s: run %d/%d: %.0f records/s produced, %.0f consumed, publish p99 %.3f ms",
				t.Name(), run+1, o.Repeat, r.ProducedRecordsPerSec, r.ConsumedRecordsPerSec, r.PublishLatency.P99)
		}
	}
	f.Finish()
	return f, nil
}

// partial drops targets without runs; nil if none has any.
func partial(f *results.File) *results.File {
	var ts []results.Target
	for _, t := range f.Targets {
		if len(t.Runs) > 0 {
			ts = append(ts, t)
		}
	}
	if len(ts) == 0 {
		return nil
	}
	f.Targets = ts
	f.Finish()
	return f
}

// checkWorkload refuses a workload spec the targets cannot run or whose
// parameters do not build, before any target starts.
func checkWorkload(o Options) error {
	if o.Spec.Workload == nil {
		return nil
	}
	for _, t := range o.Targets {
		if t.Kind == Null {
			return fmt.Errorf("target null: a workload spec needs consumer groups and transactions, which the null sink does not serve")
		}
	}
	_, err := workload.Params(o.Spec, registry.Cluster{ReplicationFactor: 1, Duration: workload.Length(o.Spec), TopicSuffix: "-check"})
	return err
}

// runOne starts the target, runs the spec against it and tears everything
// down.
func runOne(ctx context.Context, t Target, o Options, topicPrefix string, progress func(driver.Sample)) (results.Run, string, error) {
	if o.Spec.Workload != nil {
		return runWorkload(ctx, t, o, topicPrefix, progress)
	}
	res, bootstrap, err := runDriver(ctx, t, o, topicPrefix, progress)
	if err != nil {
		return results.Run{}, bootstrap, err
	}
	return results.FromDriver(res), bootstrap, nil
}

// start starts an in-process target (a no-op for an external one) and
// returns its bootstrap address and how to stop it.
func start(ctx context.Context, t Target, o Options) (string, func() error, error) {
	switch t.Kind {
	case Embedded:
		return startEmbedded(ctx, o.Embedded)
	case Null:
		return startNull(ctx, int32(o.Spec.PartitionsPerTopic))
	}
	return t.Addr, func() error { return nil }, nil
}

// runDriver runs a spec that describes its records with the driver.
func runDriver(ctx context.Context, t Target, o Options, topicPrefix string, progress func(driver.Sample)) (*driver.Result, string, error) {
	s := o.Spec
	topics := make([]string, s.Topics)
	for i := range topics {
		topics[i] = fmt.Sprintf("%s-t%d", topicPrefix, i)
	}
	cfg := driver.Config{Spec: s, Topics: topics, Progress: progress}
	addr, stop, err := start(ctx, t, o)
	if err != nil {
		return nil, "", err
	}
	cfg.Bootstrap = addr
	if t.Kind == Null {
		cfg.SkipConsumers = "the null sink does not serve Fetch"
	} else {
		del, err := createTopics(ctx, cfg.Bootstrap, topics, s)
		if err != nil {
			return nil, "", errors.Join(err, stop())
		}
		if t.Kind == External {
			stop = del
		}
	}
	res, err := driver.Run(ctx, cfg)
	return res, cfg.Bootstrap, errors.Join(err, stop())
}

// runWorkload runs a workload spec with package bench/workload.
func runWorkload(ctx context.Context, t Target, o Options, topicPrefix string, progress func(driver.Sample)) (results.Run, string, error) {
	addr, stop, err := start(ctx, t, o)
	if err != nil {
		return results.Run{}, "", err
	}
	brokers, err := countBrokers(ctx, addr)
	if err != nil {
		return results.Run{}, addr, errors.Join(err, stop())
	}
	rf := int16(min(3, brokers))
	suffix := "-" + topicPrefix
	res, err := workload.Run(ctx, workload.Config{
		Spec: o.Spec, Bootstrap: addr, ReplicationFactor: rf, MinInsync: min(2, int(rf)),
		TopicSuffix: suffix, Progress: progress,
	})
	if t.Kind == External {
		err = errors.Join(err, deleteSuffixed(addr, suffix))
	}
	if err = errors.Join(err, stop()); err != nil {
		return results.Run{}, addr, err
	}
	r := results.FromDriver(res.Bench)
	r.Workload = &results.WorkloadRun{
		Name: o.Spec.Workload.Name, Params: res.Params, InputTopic: res.Input, OutputTopic: res.Output,
		Definition: res.Definition, Unprocessed: res.Unprocessed,
		AlertBoundMs: float64(res.AlertBound) / 1e6,
	}
	if res.Alerts != nil {
		l := results.LatencyOf(res.Alerts)
		r.Workload.AlertLatency = &l
	}
	return r, addr, nil
}

// countBrokers asks the cluster at addr how many brokers it has.
func countBrokers(ctx context.Context, addr string) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	bs, err := kadm.NewClient(cl).ListBrokers(cctx)
	if err != nil {
		return 0, fmt.Errorf("cannot reach a cluster at %s: %w", addr, err)
	}
	if len(bs) == 0 {
		return 0, fmt.Errorf("the cluster at %s lists no brokers", addr)
	}
	return len(bs), nil
}

// deleteSuffixed deletes the topics and groups whose names contain
// suffix (best effort: a cluster that refuses keeps them, and the error
// is not the run's).
func deleteSuffixed(addr, suffix string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return nil
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if groups, err := adm.ListGroups(ctx); err == nil {
		var names []string
		for _, g := range groups.Groups() {
			if strings.Contains(g, suffix) {
				names = append(names, g)
			}
		}
		_, _ = adm.DeleteGroups(ctx, names...)
	}
	if topics, err := adm.ListTopics(ctx); err == nil {
		var names []string
		for _, tp := range topics.Names() {
			if strings.Contains(tp, suffix) {
				names = append(names, tp)
			}
		}
		_, _ = adm.DeleteTopics(ctx, names...)
	}
	return nil
}

// createTopics creates the topics and returns a function deleting them.
func createTopics(ctx context.Context, bootstrap string, topics []string, s spec.Spec) (func() error, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	rf := int16(s.ReplicationFactor)
	if rf == 0 {
		rf = -1
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopics(cctx, int32(s.PartitionsPerTopic), rf, nil, topics...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("create topics on %s: %w", bootstrap, err)
	}
	return func() error {
		defer cl.Close()
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := adm.DeleteTopics(dctx, topics...) // best effort
		_ = err
		return nil
	}, nil
}

// startEmbedded starts a Weir broker on a temporary data directory.
func startEmbedded(ctx context.Context, adjust func(*broker.Config)) (string, func() error, error) {
	dir, err := os.MkdirTemp("", "weir-bench-")
	if err != nil {
		return "", nil, err
	}
	cfg := broker.DefaultConfig()
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if adjust != nil {
		adjust(&cfg)
	}
	b, err := broker.Open(cfg, broker.Deps{FS: env.OSFS{}, Net: env.OSNet{}, Clock: env.RealClock{}})
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("embedded broker: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	ln, err := b.Listen(sctx)
	if err != nil {
		cancel()
		b.Close()
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("embedded broker: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Serve(sctx, ln) }()
	return b.Addr(), func() error {
		cancel()
		serveErr := <-done
		closeErr := b.Close()
		return errors.Join(serveErr, closeErr, os.RemoveAll(dir))
	}, nil
}

// startNull starts a null sink whose topics have the given partitions.
func startNull(ctx context.Context, partitions int32) (string, func() error, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- nullsink.Serve(sctx, ln, nullsink.Options{Partitions: partitions}) }()
	return ln.Addr().String(), func() error {
		cancel()
		return <-done
	}, nil
}
