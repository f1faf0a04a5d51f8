package registry

import (
	"math/rand/v2"
	"time"

	"github.com/weir-dev/weir/workloads/vitals"
)

// VitalsParams are the vitals workload's parameters: its Config (the
// fields with JSON names) and its topics' min.insync.replicas.
type VitalsParams struct {
	vitals.Config
	MinInsync int `json:"min_insync_replicas,omitempty"`
}

func vitalsEntry() Entry {
	return entry("vitals", "heart-rate and SpO2 readings with late arrivals; a transactional monitor raises threshold and trend alerts (every breach alerted once, alert latency, event order, no alert for an unacknowledged reading)",
		drawVitals, buildVitals).withProcessingGroup()
}

// drawVitals draws a vitals run from vitals.Draw; the simulator gets tens
// of readings a second per producer, and monitor members that live long
// enough to get through a rebalance. The alert bound covers the safety
// phase: a partition or a crash may hold alerts back for all of it.
func drawVitals(rng *rand.Rand, c Cluster) VitalsParams {
	cfg := vitals.Draw(rng)
	cfg.Topic, cfg.Processed, cfg.Alerts = "vitals"+c.TopicSuffix, "vitals-processed"+c.TopicSuffix, "vitals-alerts"+c.TopicSuffix
	cfg.ReplicationFactor, cfg.Duration = max(c.ReplicationFactor, 1), c.Duration
	cfg.Lifetime = max(cfg.Lifetime, 8*time.Second)
	cfg.AlertBound = max(cfg.AlertBound, c.Duration+time.Minute)
	if c.Simulated {
		cfg.Rate = pick(rng, 10.0, 25, 50)
	}
	return VitalsParams{Config: cfg, MinInsync: c.MinInsync}
}

func buildVitals(p VitalsParams, env Env) (Workload, error) {
	cfg := p.Config
	cfg.Client, cfg.Rand = env.client(vitalsHost), env.rand()
	w, err := vitals.New(cfg)
	if err != nil {
		return nil, err
	}
	return shaped(w, env, vitalsHost, p.MinInsync), nil
}

// vitalsHost is the host every vitals client dials from in the simulator.
const vitalsHost = "vitals"
