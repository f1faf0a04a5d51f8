package payments

import (
	"context"
	"sync"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/stream"
)

// Workload is one run of the payments workload: Run for the safety
// phase, Finish once the cluster healed.
type Workload struct {
	cfg   Config
	procs *gen.Procs
	ids   *gen.Counter
}

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Workload, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	return &Workload{cfg: cfg, procs: &gen.Procs{}, ids: &gen.Counter{}}, nil
}

// Config is the configuration the run uses, defaults filled in.
func (w *Workload) Config() Config { return w.cfg }

// Topics are the topics Run creates, with their configs. The state topic
// is compacted, but not while the run can still see it: compaction drops
// older balances, which the history holds as acknowledged writes the
// final read must find.
func (w *Workload) Topics() []gen.Topic {
	cfg := &w.cfg
	policy, lag := "compact", "86400000"
	compacted := map[string]*string{"cleanup.policy": &policy, "min.compaction.lag.ms": &lag}
	return []gen.Topic{
		{Name: cfg.Topic, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor},
		{Name: cfg.Ledger, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor},
		{Name: cfg.Balances, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor, Configs: compacted},
		{Name: cfg.Alerts, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor},
	}
}

// Run creates the topics, then runs the producers and the processing
// application until cfg.Duration passes or ctx ends. The error is a
// harness error; what the clients saw is in the history.
func (w *Workload) Run(ctx context.Context, rec *history.Recorder) error {
	cfg := &w.cfg
	if err := gen.CreateTopics(ctx, cfg.Client, w.Topics()...); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	proc, err := stream.New(cfg.processor(w.procs, w.ids), rec)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		proc.Run(ctx)
	}()
	err = produce(ctx, cfg, rec, w.procs, w.ids)
	cancel()
	wg.Wait()
	return err
}

// Finish ends the run once the cluster healed: a barrier to every input
// partition, the processing until it answered them, then the final reads
// of the commands and (read_committed) of every output.
func (w *Workload) Finish(ctx context.Context, rec *history.Recorder) error {
	cfg := &w.cfg
	return stream.Drain{
		Processor: cfg.processor(w.procs, w.ids),
		Barrier:   topicBarrier(cfg.Topic),
		Finals: []gen.FinalTarget{
			{Topic: cfg.Topic, Partitions: cfg.Partitions},
			{Topic: cfg.Ledger, Partitions: cfg.Partitions, ReadCommitted: true},
			{Topic: cfg.Balances, Partitions: cfg.Partitions, ReadCommitted: true},
			{Topic: cfg.Alerts, Partitions: cfg.Partitions, ReadCommitted: true},
		},
	}.Run(ctx, rec)
}

// Opts is how the run's history is judged: the queue and transaction
// anomalies on every topic and the workload's properties.
func (w *Workload) Opts() checker.Opts {
	return checker.Opts{Allowed: w.cfg.Allowed(), Properties: Properties(w.cfg)}
}
