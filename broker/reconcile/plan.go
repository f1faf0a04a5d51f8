package reconcile

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"

	"github.com/weir-dev/weir/broker/metadata"
)

// Node is the broker the plan is for: its id and the incarnation it
// registered with.
type Node struct {
	ID          int32
	Incarnation [16]byte
}

// Replica is a partition replica the broker holds open, with the topic
// config overrides it was opened (or last reconfigured) with.
type Replica struct {
	Topic     string
	TopicID   metadata.TopicID
	Partition int32
	Overrides map[string]string
}

// Role is what a replica does in the image.
type Role int

const (
	// Wait: neither lead nor follow; keep the log as it is.
	Wait Role = iota
	// Lead: this node is the partition's leader.
	Lead
	// Follow: fetch from the leader at Step.LeaderAddr.
	Follow
)

func (r Role) String() string {
	switch r {
	case Lead:
		return "lead"
	case Follow:
		return "follow"
	}
	return "wait"
}

// Step is one replica the image places on the node.
type Step struct {
	Topic     *metadata.Topic
	Partition *metadata.Partition
	Index     int32
	// Open: the node does not hold this replica yet (or holds one of an
	// older topic of the same name, which is removed).
	Open bool
	// Reconfigure: the node holds it with other config overrides.
	Reconfigure bool
	Role        Role
	// LeaderAddr is the leader's first listener, for Follow.
	LeaderAddr string
	// Why says why a replica waits.
	Why string
}

// Plan is what the node must do to match an image.
type Plan struct {
	// Active: the image has the node's incarnation registered and
	// unfenced, so it may lead and follow.
	Active bool
	Steps  []Step
	// Remove are held replicas the image does not place on the node.
	Remove []Replica
}

// Decide plans how node, holding held, matches img.
func Decide(node Node, held []Replica, img *metadata.Image) Plan {
	plan := Plan{Active: Active(node, img)}
	type key struct {
		topic string
		index int32
	}
	holding := make(map[key]Replica, len(held))
	for _, r := range held {
		holding[key{r.Topic, r.Partition}] = r
	}
	kept := make(map[key]bool, len(held))
	for _, t := range img.Topics() {
		for i, p := range t.Partitions {
			if !slices.Contains(p.Replicas, node.ID) {
				continue
			}
			k := key{t.Name, int32(i)}
			h, ok := holding[k]
			ok = ok && h.TopicID == t.ID
			kept[k] = ok
			s := Step{Topic: t, Partition: p, Index: int32(i), Open: !ok}
			s.Reconfigure = ok && !maps.Equal(h.Overrides, t.Overrides)
			s.Role, s.LeaderAddr, s.Why = role(node, img, p, plan.Active)
			plan.Steps = append(plan.Steps, s)
		}
	}
	for _, r := range held {
		if !kept[key{r.Topic, r.Partition}] {
			plan.Remove = append(plan.Remove, r)
		}
	}
	slices.SortFunc(plan.Remove, func(a, b Replica) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
	return plan
}

// Active reports whether img has node's current incarnation registered
// and unfenced.
func Active(node Node, img *metadata.Image) bool {
	b, ok := img.Broker(node.ID)
	return ok && b.IncarnationID == node.Incarnation && !b.Fenced
}

// role decides what the node's replica of p does.
func role(node Node, img *metadata.Image, p *metadata.Partition, active bool) (Role, string, string) {
	switch {
	case !active:
		return Wait, "", "this incarnation is not registered and unfenced"
	case p.Leader == node.ID:
		return Lead, "", ""
	case p.Leader < 0:
		return Wait, "", "no leader"
	}
	b, ok := img.Broker(p.Leader)
	if !ok || len(b.Listeners) == 0 {
		return Wait, "", fmt.Sprintf("leader %d has no listener in the image", p.Leader)
	}
	l := b.Listeners[0]
	return Follow, net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port))), ""
}
