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
	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/env"
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
			res, bootstrap, err := runOne(ctx, t, o.Spec, topicPrefix, progress)
			if err != nil {
				f.Finish()
				return partial(f), fmt.Errorf("%s, run %d: %w", t.Name(), run+1, err)
			}
			r := results.FromDriver(res)
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

// runOne starts the target, creates the topics, runs the driver and tears
// everything down.
func runOne(ctx context.Context, t Target, s spec.Spec, topicPrefix string, progress func(driver.Sample)) (*driver.Result, string, error) {
	topics := make([]string, s.Topics)
	for i := range topics {
		topics[i] = fmt.Sprintf("%s-t%d", topicPrefix, i)
	}
	cfg := driver.Config{Spec: s, Topics: topics, Progress: progress}
	var stop func() error
	switch t.Kind {
	case Embedded:
		addr, st, err := startEmbedded(ctx)
		if err != nil {
			return nil, "", err
		}
		cfg.Bootstrap, stop = addr, st
	case Null:
		addr, st, err := startNull(ctx, int32(s.PartitionsPerTopic))
		if err != nil {
			return nil, "", err
		}
		cfg.Bootstrap, stop = addr, st
		cfg.SkipConsumers = "the null sink does not serve Fetch"
	case External:
		cfg.Bootstrap, stop = t.Addr, func() error { return nil }
	}
	if t.Kind != Null {
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
func startEmbedded(ctx context.Context) (string, func() error, error) {
	dir, err := os.MkdirTemp("", "weir-bench-")
	if err != nil {
		return "", nil, err
	}
	cfg := broker.DefaultConfig()
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
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
