package broker

// OffsetFetch v1-10 (v0, removed in Kafka 4.0, is not served). v2 fetches
// every committed offset of a group when the topic list is null and adds
// a top-level error, v3 throttling, v5 the leader epoch, v6 is flexible,
// v7 asks for stable offsets (always stable here: no transactions), v8
// batches groups, v9 names the member of a KIP-848 group, v10 names topics
// by id.
//
// Each group is asked of its coordinator shard; a batch spanning shards
// is answered once every shard has answered.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
)

func init() { register(9, 1, 10, handleOffsetFetch) }

func handleOffsetFetch(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.OffsetFetchRequest)
	groups := r.Groups
	if r.Version < 8 {
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group = r.Group
		if r.Topics != nil {
			g.Topics = []kmsg.OffsetFetchRequestGroupTopic{}
		}
		for _, t := range r.Topics {
			g.Topics = append(g.Topics, kmsg.OffsetFetchRequestGroupTopic{Topic: t.Topic, Partitions: t.Partitions})
		}
		groups = []kmsg.OffsetFetchRequestGroup{g}
	}
	byID := r.Version >= 10
	// The coordinator knows topics by name: name the ones asked by id.
	asked := make([]kmsg.OffsetFetchRequestGroup, len(groups))
	for i, g := range groups {
		asked[i] = g
		if !byID || g.Topics == nil {
			continue
		}
		asked[i].Topics = nil
		for _, t := range g.Topics {
			if tp := b.topicByID(t.TopicID); tp != nil {
				t.Topic = tp.name()
			}
			asked[i].Topics = append(asked[i].Topics, t)
		}
	}
	ids := make([]string, len(asked))
	for i, g := range asked {
		ids[i] = g.Group
	}
	calls, failed := b.groups.fanOut(ids, func(sm *group.Shard, nowMs int64, w group.Waiter, idx []int) group.Output {
		sub := kmsg.NewPtrOffsetFetchRequest()
		// RequireStable travels with the groups (KIP-447): without it a
		// consumer taking over starts from the offset before a
		// transaction whose commit is decided but whose marker has not
		// reached the group's partition yet (seed 33068).
		sub.Version, sub.RequireStable = r.Version, r.RequireStable
		for _, i := range idx {
			sub.Groups = append(sub.Groups, asked[i])
		}
		return sm.FetchOffsets(nowMs, sub, w)
	})
	return awaitReplies(req, waitersOf(calls), func(resps []kmsg.Response) kmsg.Response {
		answers := make([]kmsg.OffsetFetchResponseGroup, len(asked))
		for i, code := range failed {
			answers[i] = kmsg.NewOffsetFetchResponseGroup()
			answers[i].Group, answers[i].ErrorCode = asked[i].Group, code
		}
		for k, c := range calls {
			for j, i := range c.idx {
				answers[i] = resps[k].(*kmsg.OffsetFetchResponse).Groups[j]
			}
		}
		if byID {
			b.nameTopicIDs(answers, asked)
		}
		return offsetFetchResponse(r, answers)
	}), nil
}

// nameTopicIDs fills the topic ids of a v10 answer: those asked for are
// echoed; a fetch of everything names the topics that still exist.
func (b *Broker) nameTopicIDs(answers []kmsg.OffsetFetchResponseGroup, asked []kmsg.OffsetFetchRequestGroup) {
	for i := range answers {
		if asked[i].Topics != nil {
			for j := range answers[i].Topics {
				if j < len(asked[i].Topics) {
					answers[i].Topics[j].TopicID = asked[i].Topics[j].TopicID
				}
			}
			continue
		}
		kept := answers[i].Topics[:0]
		for _, t := range answers[i].Topics {
			if tp := b.topicByName(t.Topic); tp != nil {
				t.TopicID = tp.id()
				kept = append(kept, t)
			}
		}
		answers[i].Topics = kept
	}
}

// offsetFetchResponse shapes the groups' answers for the request's
// version: v8+ as they are, v2-7 as top-level topics and error, v1 with
// the error on every partition.
func offsetFetchResponse(r *kmsg.OffsetFetchRequest, answers []kmsg.OffsetFetchResponseGroup) *kmsg.OffsetFetchResponse {
	resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
	if r.Version >= 8 {
		resp.Groups = answers
		return resp
	}
	g := answers[0]
	if r.Version >= 2 {
		resp.ErrorCode = g.ErrorCode
	}
	if g.ErrorCode != 0 && r.Version < 2 {
		// v1 has no group error: every partition asked carries it.
		for _, t := range r.Topics {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.Offset, rp.ErrorCode = p, -1, g.ErrorCode
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	for _, t := range g.Topics {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
