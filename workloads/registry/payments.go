package registry

import (
	"math/rand/v2"
	"time"

	"github.com/weir-dev/weir/workloads/payments"
)

// PaymentsParams are the payments workload's parameters: its Config (the
// fields with JSON names) and its topics' min.insync.replicas.
type PaymentsParams struct {
	payments.Config
	MinInsync int `json:"min_insync_replicas,omitempty"`
}

func paymentsEntry() Entry {
	return entry("payments", "deposits, withdrawals and transfers applied by a transactional processor to a ledger and compacted balances, with fraud alerts (exactly once, conservation, negative balances, fraud windows, read_committed)",
		drawPayments, buildPayments).withProcessingGroup()
}

// drawPayments draws a payments run from payments.Draw; the simulator
// gets tens of commands a second per producer, and processing members
// that live long enough to get through a rebalance.
func drawPayments(rng *rand.Rand, c Cluster) PaymentsParams {
	cfg := payments.Draw(rng)
	cfg.Topic, cfg.Ledger = "payments"+c.TopicSuffix, "ledger"+c.TopicSuffix
	cfg.Balances, cfg.Alerts = "balances"+c.TopicSuffix, "fraud-alerts"+c.TopicSuffix
	cfg.ReplicationFactor, cfg.Duration = max(c.ReplicationFactor, 1), c.Duration
	cfg.Lifetime = max(cfg.Lifetime, 8*time.Second)
	if c.Simulated {
		cfg.Rate = pick(rng, 10.0, 25, 50)
	}
	return PaymentsParams{Config: cfg, MinInsync: c.MinInsync}
}

func buildPayments(p PaymentsParams, env Env) (Workload, error) {
	cfg := p.Config
	cfg.Client, cfg.Rand = env.client(paymentsHost), env.rand()
	w, err := payments.New(cfg)
	if err != nil {
		return nil, err
	}
	return shaped(w, env, paymentsHost, p.MinInsync), nil
}

// paymentsHost is the host every payments client dials from in the
// simulator.
const paymentsHost = "payments"
