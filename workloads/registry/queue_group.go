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
	AbruptLeaveShare   float64 `json:"abrupt_leave_share,omitempty"`
	DowntimeNs         int64   `json:"downtime_ns,omitempty"`
	RestartEveryNs     int64   `json:"restart_every_ns,omitempty"`
	RestartGapNs       int64   `json:"restart_gap_ns,omitempty"`
	CommitChance       float64 `json:"commit_chance,omitempty"`
	OffsetsChance      float64 `json:"offsets_chance,omitempty"`
	LateCommitChance   float64 `json:"late_commit_chance,omitempty"`
	SessionTimeoutNs   int64   `json:"session_timeout_ns,omitempty"`
	RebalanceTimeoutNs int64   `json:"rebalance_timeout_ns,omitempty"`
	AssignDelayNs      int64   `json:"assign_delay_ns,omitempty"`
	Protocol           string  `json:"protocol,omitempty"`
	Static             bool    `json:"static,omitempty"`
	ZombieShare        float64 `json:"zombie_share,omitempty"`
	ZombieGapNs        int64   `json:"zombie_gap_ns,omitempty"`
	ZombieLifeNs       int64   `json:"zombie_life_ns,omitempty"`
}

func groupParamsOf(g queue.GroupConfig) *QueueGroupParams {
	if g == (queue.GroupConfig{}) {
		return nil
	}
	return &QueueGroupParams{Name: g.Name, Balancer: g.Balancer, LifetimeNs: int64(g.Lifetime), CrashShare: g.CrashShare, AbruptLeaveShare: g.AbruptLeaveShare,
		DowntimeNs: int64(g.Downtime), RestartEveryNs: int64(g.RestartEvery), RestartGapNs: int64(g.RestartGap), CommitChance: g.CommitChance, OffsetsChance: g.OffsetsChance, LateCommitChance: g.LateCommitChance,
		SessionTimeoutNs: int64(g.SessionTimeout), RebalanceTimeoutNs: int64(g.RebalanceTimeout),
		AssignDelayNs: int64(g.AssignDelay), Protocol: g.Protocol, Static: g.Static, ZombieShare: g.ZombieShare,
		ZombieGapNs: int64(g.ZombieGap), ZombieLifeNs: int64(g.ZombieLife)}
}

func (g *QueueGroupParams) config() queue.GroupConfig {
	if g == nil {
		return queue.GroupConfig{}
	}
	return queue.GroupConfig{Name: g.Name, Balancer: g.Balancer, Lifetime: time.Duration(g.LifetimeNs), CrashShare: g.CrashShare, AbruptLeaveShare: g.AbruptLeaveShare,
		Downtime: time.Duration(g.DowntimeNs), RestartEvery: time.Duration(g.RestartEveryNs), RestartGap: time.Duration(g.RestartGapNs), CommitChance: g.CommitChance, OffsetsChance: g.OffsetsChance, LateCommitChance: g.LateCommitChance,
		SessionTimeout: time.Duration(g.SessionTimeoutNs), RebalanceTimeout: time.Duration(g.RebalanceTimeoutNs),
		AssignDelay: time.Duration(g.AssignDelayNs), Protocol: g.Protocol, Static: g.Static, ZombieShare: g.ZombieShare,
		ZombieGap: time.Duration(g.ZombieGapNs), ZombieLife: time.Duration(g.ZombieLifeNs)}
}
