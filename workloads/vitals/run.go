package vitals

import (
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/stream"
)

// Workload is one run of the vitals workload: Run for the safety
// phase, Finish once the cluster healed, both stream.Workload's (the
// lifecycle every pipeline workload shares).
type Workload struct {
	cfg Config
	*stream.Workload
}

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Workload, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	w := &Workload{cfg: cfg}
	// The processor's and producers' closures read the workload's own
	// copy of the configuration.
	c := &w.cfg
	w.Workload, err = stream.NewWorkload(stream.Spec{
		Client: c.Client, Topics: w.Topics(), Duration: c.Duration,
		Processor: c.processor, Producers: c.producers(), Barrier: topicBarrier(c.Topic),
	})
	return w, err
}

// Config is the configuration the run uses, defaults filled in.
func (w *Workload) Config() Config { return w.cfg }

// Topics are the topics Run creates.
func (w *Workload) Topics() []gen.Topic {
	cfg := &w.cfg
	return []gen.Topic{
		{Name: cfg.Topic, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor},
		{Name: cfg.Processed, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor},
		{Name: cfg.Alerts, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor},
	}
}

// Opts is how the run's history is judged: the queue and transaction
// anomalies on every topic and the workload's properties.
func (w *Workload) Opts() checker.Opts {
	return checker.Opts{Allowed: w.cfg.Allowed(), Properties: Properties(w.cfg), TxnGroupCommits: true}
}
