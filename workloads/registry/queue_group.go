package registry

import (
	"time"

	"github.com/weir-dev/weir/workloads/queue"
)

// QueueGroupParams are queue.GroupConfig's parameters: the consumers as
// members of one consumer group.
type QueueGroupParams struct {
	Name               string  `json:"name"`
	Balancer           string  `json:"balancer,omitempty"`
	LifetimeNs         int64   `json:"lifetime_ns,omitempty"`
	CrashShare         float64 `json:"crash_share,omitempty"`
	DowntimeNs         int64   `json:"downtime_ns,omitempty"`
	CommitChance       float64 `json:"commit_chance,omitempty"`
	OffsetsChance      float64 `json:"offsets_chance,omitempty"`
	LateCommitChance   float64 `json:"late_commit_chance,omitempty"`
	SessionTimeoutNs   int64   `json:"session_timeout_ns,omitempty"`
	RebalanceTimeoutNs int64   `json:"rebalance_timeout_ns,omitempty"`
}

func groupParamsOf(g queue.GroupConfig) *QueueGroupParams {
	if g == (queue.GroupConfig{}) {
		return nil
	}
	return &QueueGroupParams{Name: g.Name, Balancer: g.Balancer, LifetimeNs: int64(g.Lifetime), CrashShare: g.CrashShare,
		DowntimeNs: int64(g.Downtime), CommitChance: g.CommitChance, OffsetsChance: g.OffsetsChance, LateCommitChance: g.LateCommitChance,
		SessionTimeoutNs: int64(g.SessionTimeout), RebalanceTimeoutNs: int64(g.RebalanceTimeout)}
}

func (g *QueueGroupParams) config() queue.GroupConfig {
	if g == nil {
		return queue.GroupConfig{}
	}
	return queue.GroupConfig{Name: g.Name, Balancer: g.Balancer, Lifetime: time.Duration(g.LifetimeNs), CrashShare: g.CrashShare,
		Downtime: time.Duration(g.DowntimeNs), CommitChance: g.CommitChance, OffsetsChance: g.OffsetsChance, LateCommitChance: g.LateCommitChance,
		SessionTimeout: time.Duration(g.SessionTimeoutNs), RebalanceTimeout: time.Duration(g.RebalanceTimeoutNs)}
}
