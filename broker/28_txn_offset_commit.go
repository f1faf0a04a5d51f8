package broker

// TxnOffsetCommit v0-5: offsets a consumer-transform-producer commits
// inside its transaction, through the group coordinator (groups_txn.go):
// written to the group's __consumer_offsets partition as a transactional
// batch of the producer, pending until the transaction's marker lands
// there. v2 adds the leader epoch, v3 the member id, generation and
// instance id (KIP-447) and is flexible; v5 is transaction version 2: the
// partition is added to the transaction here (the client sends no
// AddOffsetsToTxn).
//
// Before the shard decides, the partition checks the producer: its epoch
// (INVALID_PRODUCER_EPOCH for a zombie) and, for a commit that opens the
// producer's transaction in the partition, the coordinator's word that the
// partition is in it (KIP-890 part 1, txn_verify.go). Partitions of topics
// that do not exist are answered UNKNOWN_TOPIC_OR_PARTITION here.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/txn"
)

func init() { register(28, 0, 5, handleTxnOffsetCommit) }

func handleTxnOffsetCommit(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.TxnOffsetCommitRequest)
	resp := r.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	known := *r
	known.Topics = nil
	type slot struct{ topic, partition int }
	var slots []slot
	for ti, rt := range r.Topics {
		t := b.topicByName(rt.Topic)
		st := kmsg.NewTxnOffsetCommitResponseTopic()
		st.Topic = rt.Topic
		kt := rt
		kt.Partitions = nil
		for pi, rp := range rt.Partitions {
			sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			sp.Partition = rp.Partition
			if t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.info.Partitions) {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else {
				kt.Partitions = append(kt.Partitions, rp)
				slots = append(slots, slot{ti, pi})
			}
			st.Partitions = append(st.Partitions, sp)
		}
		if len(kt.Partitions) > 0 {
			known.Topics = append(known.Topics, kt)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if len(slots) == 0 {
		return reply{resp: resp}, nil
	}
	fail := func(code int16) (reply, error) {
		for _, s := range slots {
			resp.Topics[s.topic].Partitions[s.partition].ErrorCode = code
		}
		return reply{resp: resp}, nil
	}
	cs, code := b.groups.route(r.Group)
	if code != 0 {
		return fail(code)
	}
	p := cs.p
	tv2 := r.Version >= 5
	if code := b.verifyTxnOffsets(ctx, r, p, cs.index, tv2); code != 0 {
		return fail(code)
	}
	w := newWaiter()
	code = cs.do(func(sm *group.Shard, nowMs int64) group.Output {
		// Checked under the shard's lock: nothing else writes the
		// partition until the shard's batch is appended.
		if d := p.CheckTxnCommit(r.ProducerID, r.ProducerEpoch, tv2); d.Action == txn.Reject {
			return sm.Answer(nowMs, w, group.ErrorResponse(&known, d.Err.Code))
		}
		return sm.TxnCommit(nowMs, &known, w)
	})
	if code != 0 {
		return fail(code)
	}
	return awaitReplies(req, []*waiter{w}, func(resps []kmsg.Response) kmsg.Response {
		i := 0
		for _, ct := range resps[0].(*kmsg.TxnOffsetCommitResponse).Topics {
			for _, cp := range ct.Partitions {
				s := slots[i]
				resp.Topics[s.topic].Partitions[s.partition].ErrorCode = cp.ErrorCode
				i++
			}
		}
		return resp
	}), nil
}

// verifyTxnOffsets runs the KIP-890 part 1 check for the offsets a
// transaction commits in partition index of __consumer_offsets (p), if
// they need one, asking once more when a marker voided the verification
// (verifyProduce says why); it returns the error code to answer, 0 if the
// commit may go on.
func (b *Broker) verifyTxnOffsets(ctx context.Context, r *kmsg.TxnOffsetCommitRequest, p *partition.Partition, index int32, tv2 bool) int16 {
	code, ended := b.verifyTxnWrite(ctx, p, r.TransactionalID, r.ProducerID, r.ProducerEpoch, offsetsTopic, index, tv2,
		func() (uint64, bool) { return p.NeedsVerificationOf(r.ProducerID, r.ProducerEpoch, tv2) })
	switch {
	case ended:
		code = kerr.InvalidTxnState.Code
	case code == 0:
		return 0
	}
	return produceVerificationError(code, tv2).Code
}
