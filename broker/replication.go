package broker

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/reconcile"
	"github.com/weir-dev/weir/broker/replica"
)

// Replication: each local replica's role (leader, follower or neither)
// and the state machines behind it are broker/partition's, as
// docs/ARCHITECTURE.md ("Replication (broker/replica): how the broker uses
// it") describes; the broker hands each replica its role from every image
// (roleOf, reconcile.go) and runs the broker-wide parts
// (replication_alter.go): the fetchers, the sender of ISR changes and the
// leaders' periodic ISR check.

// roleOf reads a step of the reconciler's plan as a replica.Assignment.
// Replicas on brokers that are fenced, shutting down or not registered
// are ineligible: they may not join the ISR, nor hold back the high
// watermark unless already in it.
func (b *Broker) roleOf(img *metadata.Image, st reconcile.Step, active bool) partition.Role {
	pi := st.Partition
	r := partition.Role{
		Active:     active,
		MinInsync:  max(int(st.Topic.Config.MinInsyncReplicas), 1),
		LeaderAddr: st.LeaderAddr,
		Assignment: replica.Assignment{
			Leader: pi.Leader, LeaderEpoch: pi.LeaderEpoch, PartitionEpoch: pi.PartitionEpoch,
			Replicas: pi.Replicas, ISR: pi.ISR,
		},
	}
	for _, id := range pi.Replicas {
		if br, ok := img.Broker(id); !ok || !br.Active() {
			r.Assignment.Ineligible = append(r.Assignment.Ineligible, id)
		}
	}
	return r
}

// activeBrokers counts the brokers of img that may hold new replicas.
func activeBrokers(img *metadata.Image) int {
	return len(slices.DeleteFunc(slices.Clone(img.Brokers()), func(b *metadata.Broker) bool { return !b.Active() }))
}

// fetchReplicaID is the fetching replica's broker id, or -1 for a
// consumer: the replica state (v15+) or the replica id before it.
func fetchReplicaID(r *kmsg.FetchRequest) int32 {
	if r.Version >= 15 {
		return r.ReplicaState.ID
	}
	return r.ReplicaID
}
