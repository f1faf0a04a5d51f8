package gen

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// askTimeout bounds each request of a listing to one broker, so that a
// broker cut off from the client costs the listing that long, not the
// caller's whole context.
const askTimeout = 2 * time.Second

// leaderAt is a partition's leader and leader epoch as one broker's
// metadata has them; leader -1 means it has none.
type leaderAt struct{ leader, epoch int32 }

// freshestLeaders asks every broker the client knows of for topic's
// metadata and returns, per partition, the leader in the highest leader
// epoch any of them reported.
//
// One broker's answer is not enough: a broker cut off from the controller
// keeps its last metadata image and goes on answering from it, naming
// itself leader of partitions the cluster has since moved elsewhere (KRaft
// fences such a broker but does not stop it from answering; Kafka does the
// same). Its log may end far below the new leader's, and a restore that
// believed its end would read too little (seed 68113). Only the leader
// epoch tells the images apart, and a newer one can only come from a broker
// that heard from the controller later.
func freshestLeaders(ctx context.Context, cl *kgo.Client, topic string) (map[int32]leaderAt, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)

	brokers := cl.DiscoveredBrokers()
	if len(brokers) == 0 {
		// A first request through the client teaches it the cluster's
		// brokers (kgo learns them from every metadata answer it gets).
		first, cancel := context.WithTimeout(ctx, askTimeout)
		_, _ = cl.Request(first, req)
		cancel()
		if brokers = cl.DiscoveredBrokers(); len(brokers) == 0 {
			brokers = cl.SeedBrokers()
		}
	}

	answers := make([]*kmsg.MetadataResponse, len(brokers))
	var wg sync.WaitGroup
	for i, b := range brokers {
		wg.Go(func() {
			actx, cancel := context.WithTimeout(ctx, askTimeout)
			defer cancel()
			if resp, err := b.Request(actx, req); err == nil {
				answers[i], _ = resp.(*kmsg.MetadataResponse)
			}
		})
	}
	wg.Wait()
	return mergeLeaders(topic, answers)
}

// mergeLeaders keeps, per partition of topic, the leader of the highest
// leader epoch among the answers (nil answers are brokers that did not
// answer). It fails when no answer had the topic.
func mergeLeaders(topic string, answers []*kmsg.MetadataResponse) (map[int32]leaderAt, error) {
	var leaders map[int32]leaderAt
	var lastErr error = fmt.Errorf("no broker answered metadata for %s", topic)
	for _, resp := range answers {
		if resp == nil {
			continue
		}
		for _, t := range resp.Topics {
			if t.Topic == nil || *t.Topic != topic {
				continue
			}
			if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
				lastErr = fmt.Errorf("metadata for %s: %w", topic, err)
				continue
			}
			if leaders == nil {
				leaders = map[int32]leaderAt{}
			}
			for _, p := range t.Partitions {
				if have, ok := leaders[p.Partition]; !ok || p.LeaderEpoch > have.epoch {
					leaders[p.Partition] = leaderAt{leader: p.Leader, epoch: p.LeaderEpoch}
				}
			}
		}
	}
	if leaders == nil {
		return nil, lastErr
	}
	return leaders, nil
}

// listAt lists one offset of each partition in ps (ListOffsets at
// timestamp, -2 for the log start and -1 for the end, with isolation 1
// for the last stable offset) from the leader leaders names, sending the
// leader epoch it was named in as the request's current leader epoch: a
// broker that leads in an older epoch, or no longer leads, refuses
// (UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER) instead of answering from
// its own log. Any refusal, or an answer in an older epoch, fails the
// listing; the caller lists again.
func listAt(ctx context.Context, cl *kgo.Client, topic string, leaders map[int32]leaderAt, ps []int32, timestamp int64, isolation int8) (map[int32]int64, error) {
	byLeader := map[int32][]int32{}
	for _, p := range ps {
		l, ok := leaders[p]
		if !ok || l.leader < 0 {
			return nil, fmt.Errorf("partition %d of %s has no leader", p, topic)
		}
		byLeader[l.leader] = append(byLeader[l.leader], p)
	}
	out := make(map[int32]int64, len(ps))
	for _, leader := range slices.Sorted(maps.Keys(byLeader)) {
		req := kmsg.NewPtrListOffsetsRequest()
		req.ReplicaID = -1
		req.IsolationLevel = isolation
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for _, p := range byLeader[leader] {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = p, timestamp, leaders[p].epoch
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		actx, cancel := context.WithTimeout(ctx, askTimeout)
		resp, err := cl.Broker(int(leader)).Request(actx, req)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("list offsets of %s from broker %d: %w", topic, leader, err)
		}
		if err := takeListed(resp.(*kmsg.ListOffsetsResponse), topic, leaders, out); err != nil {
			return nil, fmt.Errorf("list offsets of %s from broker %d: %w", topic, leader, err)
		}
	}
	for _, p := range ps {
		if _, ok := out[p]; !ok {
			return nil, fmt.Errorf("partition %d of %s not listed", p, topic)
		}
	}
	return out, nil
}

// takeListed adds resp's offsets of topic to out, failing on a partition
// refused or answered in an older leader epoch than leaders names.
func takeListed(resp *kmsg.ListOffsetsResponse, topic string, leaders map[int32]leaderAt, out map[int32]int64) error {
	for _, t := range resp.Topics {
		if t.Topic != topic {
			continue
		}
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("partition %d: %w", p.Partition, err)
			}
			if want := leaders[p.Partition].epoch; p.LeaderEpoch >= 0 && p.LeaderEpoch < want {
				return fmt.Errorf("partition %d answered in leader epoch %d, a broker reported %d", p.Partition, p.LeaderEpoch, want)
			}
			out[p.Partition] = p.Offset
		}
	}
	return nil
}
