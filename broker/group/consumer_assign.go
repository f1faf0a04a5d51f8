package group

import (
	"sort"
)

// Server-side assignors of consumer groups: "uniform" (the default, as in
// Kafka 4.0) and "range". An assignor maps each member to the partitions
// of its target assignment; it sees every member's subscribed topics
// (resolved against the subscription metadata) and the previous target.
// Assignors decide only from their inputs, in sorted orders, so the same
// group always gets the same assignment.

const (
	uniformAssignor = "uniform"
	rangeAssignor   = "range"
)

// knownAssignor reports whether the coordinator has an assignor by name.
func knownAssignor(name string) bool { return name == uniformAssignor || name == rangeAssignor }

// assignSpec is what an assignor is given.
type assignSpec struct {
	members  []assignMember // sorted by member id
	topics   map[TopicID]int32
	previous map[string]partitions
}

type assignMember struct {
	id         string
	instanceID *string
	topics     []TopicID // sorted, each in spec.topics
}

func runAssignor(name string, spec assignSpec) map[string]partitions {
	if name == rangeAssignor {
		return assignRange(spec)
	}
	return assignUniform(spec)
}

// assignRange gives each member, for each topic it subscribes to, a
// contiguous range of the topic's partitions: members in order (static
// members first, by instance id, then the others by member id), the
// first partitions%members of them one partition more. Members subscribed
// to the same topics get the same partition numbers of each
// (co-partitioning), as Kafka's range assignor does.
func assignRange(spec assignSpec) map[string]partitions {
	members := append([]assignMember(nil), spec.members...)
	sort.SliceStable(members, func(i, j int) bool {
		a, b := members[i].instanceID, members[j].instanceID
		switch {
		case a != nil && b != nil:
			return *a < *b
		case a != nil || b != nil:
			return a != nil
		}
		return members[i].id < members[j].id
	})
	subscribers := map[TopicID]int{}
	for _, m := range members {
		for _, t := range m.topics {
			subscribers[t]++
		}
	}
	next := map[TopicID]int32{} // the next partition to hand out
	served := map[TopicID]int{} // members given a range so far
	out := map[string]partitions{}
	for _, m := range members {
		p := partitions{}
		for _, t := range m.topics {
			n, k := spec.topics[t], int32(subscribers[t])
			quota := n / k
			if int32(served[t]) < n%k {
				quota++
			}
			served[t]++
			for x := next[t]; x < next[t]+quota; x++ {
				p.add(t, x)
			}
			next[t] += quota
		}
		out[m.id] = p
	}
	return out
}

// assignUniform spreads the subscribed partitions evenly and stickily:
// each member keeps what its previous target gave it (if it still
// subscribes to the topic), free partitions go to the eligible member with
// the fewest, and then partitions move, one at a time, from a member to an
// eligible one with at least two fewer until no such move exists. Members
// with the same subscriptions end up within one partition of each other,
// and a partition moves only when balance needs it.
func assignUniform(spec assignSpec) map[string]partitions {
	eligible := map[TopicID][]string{}
	for _, m := range spec.members {
		for _, t := range m.topics {
			eligible[t] = append(eligible[t], m.id)
		}
	}
	out := map[string]partitions{}
	count := map[string]int{}
	taken := map[topicPartition]bool{}
	for _, m := range spec.members {
		out[m.id] = partitions{}
		for _, t := range m.topics {
			for _, x := range spec.previous[m.id][t] {
				tp := topicPartition{t, x}
				if x < spec.topics[t] && !taken[tp] {
					out[m.id].add(t, x)
					taken[tp] = true
					count[m.id]++
				}
			}
		}
	}
	fewest := func(ids []string, except string) string {
		best := ""
		for _, id := range ids {
			if id != except && (best == "" || count[id] < count[best]) {
				best = id
			}
		}
		return best
	}
	for _, t := range sortedTopicIDs(eligible) {
		for x := int32(0); x < spec.topics[t]; x++ {
			if taken[topicPartition{t, x}] {
				continue
			}
			id := fewest(eligible[t], "")
			out[id].add(t, x)
			count[id]++
		}
	}
	for moved := true; moved; {
		moved = false
		for _, from := range byCountDesc(spec.members, count) {
			if moved = moveOne(out, count, eligible, from, fewest); moved {
				break
			}
		}
	}
	return out
}

// moveOne moves one partition of from (its last one that can go) to an
// eligible member with at least two fewer; false if none can move.
func moveOne(out map[string]partitions, count map[string]int, eligible map[TopicID][]string, from string, fewest func([]string, string) string) bool {
	topics := out[from].sortedTopics()
	for i := len(topics) - 1; i >= 0; i-- {
		t := topics[i]
		to := fewest(eligible[t], from)
		if to == "" || count[from]-count[to] < 2 {
			continue
		}
		ps := out[from][t]
		x := ps[len(ps)-1]
		if len(ps) == 1 {
			delete(out[from], t)
		} else {
			out[from][t] = ps[:len(ps)-1]
		}
		out[to].add(t, x)
		count[from]--
		count[to]++
		return true
	}
	return false
}

func byCountDesc(members []assignMember, count map[string]int) []string {
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.id
	}
	sort.SliceStable(ids, func(i, j int) bool { return count[ids[i]] > count[ids[j]] })
	return ids
}

func sortedTopicIDs[V any](m map[TopicID]V) []TopicID {
	ids := make([]TopicID, 0, len(m))
	for t := range m {
		ids = append(ids, t)
	}
	sort.Slice(ids, func(i, j int) bool { return string(ids[i][:]) < string(ids[j][:]) })
	return ids
}
