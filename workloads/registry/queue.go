package registry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/queue"
)

// QueueParams are the queue workload's parameters: queue.Config without
// what the run's Env gives (the brokers, dialers, randomness).
// QueueParamsOf and Config convert; a test keeps them covering every field
// of queue.Config.
type QueueParams struct {
	Topic             string            `json:"topic"`
	Partitions        int32             `json:"partitions"`
	ReplicationFactor int16             `json:"replication_factor"`
	TopicConfigs      map[string]string `json:"topic_configs,omitempty"`
	Producers         int               `json:"producers"`
	InFlight          int               `json:"in_flight"`
	Consumers         int               `json:"consumers"`
	SendsPerProducer  int               `json:"sends_per_producer,omitempty"`
	Rate              float64           `json:"rate"` // per producer client, per second
	DurationNs        int64             `json:"duration_ns"`
	Keys              int               `json:"keys"`
	UnkeyedShare      float64           `json:"unkeyed_share,omitempty"`
	LingerNs          int64             `json:"linger_ns,omitempty"`
	// Acks is "all" (acks=-1, the default when empty) or "leader" (acks=1).
	Acks               string  `json:"acks,omitempty"`
	DisableIdempotence bool    `json:"disable_idempotence,omitempty"`
	ReassignChance     float64 `json:"reassign_chance,omitempty"`
	OpTimeoutNs        int64   `json:"op_timeout_ns,omitempty"`
	PollTimeoutNs      int64   `json:"poll_timeout_ns,omitempty"`
	PollIntervalNs     int64   `json:"poll_interval_ns,omitempty"`
	// Txn, when set, is the transactional mode (queue.TxnConfig).
	Txn *QueueTxnParams `json:"txn,omitempty"`
	// Group, when set, runs the consumers as members of one consumer
	// group (queue.GroupConfig).
	Group *QueueGroupParams `json:"group,omitempty"`
	// Compacted, when set, adds a compacted topic (queue.CompactedConfig).
	Compacted *QueueCompactedParams `json:"compacted,omitempty"`
}

// QueueCompactedParams are queue.CompactedConfig's parameters.
type QueueCompactedParams struct {
	Topic          string            `json:"topic,omitempty"`
	Partitions     int32             `json:"partitions,omitempty"`
	TopicConfigs   map[string]string `json:"topic_configs,omitempty"`
	Processes      int               `json:"processes,omitempty"`
	Rate           float64           `json:"rate,omitempty"`
	Keys           int               `json:"keys,omitempty"`
	TombstoneShare float64           `json:"tombstone_share,omitempty"`
	ReassignChance float64           `json:"reassign_chance,omitempty"`
}

func compactedParamsOf(c *queue.CompactedConfig) *QueueCompactedParams {
	if c == nil {
		return nil
	}
	p := QueueCompactedParams(*c)
	return &p
}

func (p *QueueCompactedParams) config() *queue.CompactedConfig {
	if p == nil {
		return nil
	}
	c := queue.CompactedConfig(*p)
	return &c
}

// QueueTxnParams are queue.TxnConfig's parameters.
type QueueTxnParams struct {
	Processes   int     `json:"processes,omitempty"`
	MaxSends    int     `json:"max_sends,omitempty"`
	AbortChance float64 `json:"abort_chance,omitempty"`
	TimeoutNs   int64   `json:"timeout_ns,omitempty"`
}

// The values of QueueParams.Acks.
const (
	AcksAll    = "all"
	AcksLeader = "leader"
)

// QueueParamsOf is cfg's parameters (the simulator builds its queue
// configuration from the world's parameters, then runs it through here).
func QueueParamsOf(cfg queue.Config) QueueParams {
	acks := AcksAll
	if cfg.Acks == queue.AcksLeader {
		acks = AcksLeader
	}
	return QueueParams{
		Topic: cfg.Topic, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor, TopicConfigs: cfg.TopicConfigs,
		Producers: cfg.Producers, InFlight: cfg.InFlight, Consumers: cfg.Consumers,
		SendsPerProducer: cfg.SendsPerProducer, Rate: cfg.Rate, DurationNs: int64(cfg.Duration), Keys: cfg.Keys,
		UnkeyedShare: cfg.UnkeyedShare, LingerNs: int64(cfg.Linger), Acks: acks, DisableIdempotence: cfg.DisableIdempotence,
		ReassignChance: cfg.ReassignChance, OpTimeoutNs: int64(cfg.OpTimeout), PollTimeoutNs: int64(cfg.PollTimeout),
		PollIntervalNs: int64(cfg.PollInterval), Txn: txnParamsOf(cfg.Txn), Group: groupParamsOf(cfg.Group),
		Compacted: compactedParamsOf(cfg.Compacted),
	}
}

func txnParamsOf(t *queue.TxnConfig) *QueueTxnParams {
	if t == nil {
		return nil
	}
	return &QueueTxnParams{Processes: t.Processes, MaxSends: t.MaxSends, AbortChance: t.AbortChance, TimeoutNs: int64(t.Timeout)}
}

func (t *QueueTxnParams) config() *queue.TxnConfig {
	if t == nil {
		return nil
	}
	return &queue.TxnConfig{Processes: t.Processes, MaxSends: t.MaxSends, AbortChance: t.AbortChance, Timeout: time.Duration(t.TimeoutNs)}
}

// Config is the queue.Config of p, without Env's fields.
func (p QueueParams) Config() (queue.Config, error) {
	var acks queue.Acks
	switch p.Acks {
	case "", AcksAll:
		acks = queue.AcksAll
	case AcksLeader:
		acks = queue.AcksLeader
	default:
		return queue.Config{}, fmt.Errorf("queue: acks %q: want %q or %q", p.Acks, AcksAll, AcksLeader)
	}
	return queue.Config{
		Topic: p.Topic, Partitions: p.Partitions, ReplicationFactor: p.ReplicationFactor, TopicConfigs: p.TopicConfigs,
		Producers: p.Producers, InFlight: p.InFlight, Consumers: p.Consumers,
		SendsPerProducer: p.SendsPerProducer, Rate: p.Rate, Duration: time.Duration(p.DurationNs), Keys: p.Keys,
		UnkeyedShare: p.UnkeyedShare, Linger: time.Duration(p.LingerNs), Acks: acks, DisableIdempotence: p.DisableIdempotence,
		ReassignChance: p.ReassignChance, OpTimeout: time.Duration(p.OpTimeoutNs), PollTimeout: time.Duration(p.PollTimeoutNs),
		PollInterval: time.Duration(p.PollIntervalNs), Txn: p.Txn.config(), Group: p.Group.config(),
		Compacted: p.Compacted.config(),
	}, nil
}

func queueEntry() Entry {
	e := entry("queue", "Jepsen's Kafka queue: unique values sent by pipelined idempotent producers, polled by consumers, read back at the end",
		drawQueue, buildQueue)
	e.DefaultsWithoutParams = true
	return e
}

// drawQueue draws a queue run. The simulator draws its queue with the
// world's parameters (cmd/weir-sim) and uses this only beside them; a real
// cluster gets a few thousand sends a second.
func drawQueue(rng *rand.Rand, c Cluster) QueueParams {
	p := QueueParams{
		Topic:             "queue" + c.TopicSuffix,
		Partitions:        2 + rng.Int32N(5),
		ReplicationFactor: max(c.ReplicationFactor, 1),
		Producers:         1 + rng.IntN(3),
		InFlight:          4 + rng.IntN(13),
		Consumers:         1 + rng.IntN(2),
		Rate:              pick(rng, 100.0, 200, 300, 500),
		DurationNs:        int64(c.Duration),
		Keys:              4 + rng.IntN(29),
		LingerNs:          int64(time.Duration(1+rng.IntN(5)) * time.Millisecond),
		// A consumer that assigns anew reads from the log start again.
		ReassignChance: 0.002,
		PollIntervalNs: int64(10 * time.Millisecond),
	}
	if c.Simulated {
		p.Rate = pick(rng, 50.0, 100, 200)
		p.PollIntervalNs = int64(20 * time.Millisecond)
		p.ReassignChance = 0.0002
	}
	if c.MinInsync > 0 {
		p.TopicConfigs = map[string]string{"min.insync.replicas": fmt.Sprint(c.MinInsync)}
	}
	return p
}

func buildQueue(p QueueParams, env Env) (Workload, error) {
	cfg, err := p.Config()
	if err != nil {
		return nil, err
	}
	cfg.Bootstrap, cfg.Dialer, cfg.Rand = env.Bootstrap, env.Dialer, env.rand()
	if env.HostDialer != nil {
		cfg.HostDialer = env.HostDialer
	}
	return &queueWorkload{cfg: cfg}, nil
}

// queueWorkload runs package queue's functions.
type queueWorkload struct{ cfg queue.Config }

func (q *queueWorkload) Setup(ctx context.Context) error { return queue.CreateTopic(ctx, q.cfg) }

func (q *queueWorkload) Run(ctx context.Context, rec *history.Recorder) error {
	return queue.Run(ctx, q.cfg, rec)
}

func (q *queueWorkload) Finish(ctx context.Context, rec *history.Recorder) error {
	return queue.FinalReads(ctx, q.cfg, rec)
}

func (q *queueWorkload) Opts() checker.Opts { return checker.Opts{Allowed: q.cfg.Allowed()} }

func (q *queueWorkload) Hosts() []string { return q.cfg.ClientHosts() }
