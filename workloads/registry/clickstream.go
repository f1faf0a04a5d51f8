package registry

import (
	"math/rand/v2"
	"time"

	"github.com/weir-dev/weir/workloads/clickstream"
)

// ClickstreamParams are the clickstream workload's parameters: its Config
// (the fields with JSON names) and its topics' min.insync.replicas.
type ClickstreamParams struct {
	clickstream.Config
	MinInsync int `json:"min_insync_replicas,omitempty"`
}

func clickstreamEntry() Entry {
	return entry("clickstream", "page views and clicks keyed by user; a consumer group rebuilds sessions into an output topic (ordering, loss, double counts, session windows)",
		drawClickstream, buildClickstream).withProcessingGroup()
}

// drawClickstream draws a clickstream run: a real cluster gets a few
// hundred events a second, the simulator tens.
func drawClickstream(rng *rand.Rand, c Cluster) ClickstreamParams {
	cfg := clickstream.Config{
		Topic:             "clicks" + c.TopicSuffix,
		Output:            "sessions" + c.TopicSuffix,
		Partitions:        1 + rng.Int32N(4),
		ReplicationFactor: max(c.ReplicationFactor, 1),
		Producers:         1 + rng.IntN(3),
		InFlight:          2 + rng.IntN(7),
		Rate:              pick(rng, 50.0, 100, 200),
		Users:             10 + rng.IntN(51),
		Skew:              pick(rng, 0.01, 0.5, 0.8, 1.2),
		Gap:               time.Duration(200+rng.IntN(801)) * time.Millisecond,
		Members:           2 + rng.IntN(2), // at least two: a rebalance moves partitions between live members
		CrashShare:        rng.Float64() / 2,
		CrashChance:       pick(rng, 0.0, 0.01, 0.05),
		Duration:          c.Duration,
	}
	cfg.Jitter = cfg.Gap / 4
	// Members come and go a few times a run, each living long enough to
	// get through a rebalance (the first one of an empty group waits
	// group.initial.rebalance.delay.ms, 3s) and process; on a third of
	// the seeds they stay the whole run.
	cfg.Lifetime = max(c.Duration/time.Duration(2+rng.IntN(5)), 8*time.Second)
	if rng.IntN(3) == 0 {
		cfg.Lifetime = 0
	}
	if c.Simulated {
		cfg.Rate = pick(rng, 20.0, 50, 100)
	}
	return ClickstreamParams{Config: cfg, MinInsync: c.MinInsync}
}

func buildClickstream(p ClickstreamParams, env Env) (Workload, error) {
	cfg := p.Config
	cfg.Client, cfg.Rand = env.client(clickstreamHost), env.rand()
	w, err := clickstream.New(cfg)
	if err != nil {
		return nil, err
	}
	return shaped(w, env, clickstreamHost, p.MinInsync), nil
}

// clickstreamHost is the host every clickstream client dials from in the
// simulator (its producers and its processing members share it).
const clickstreamHost = "clickstream"
