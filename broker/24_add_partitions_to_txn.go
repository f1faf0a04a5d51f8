package broker

// AddPartitionsToTxn v0-5. v0-3 come from clients: one transaction whose
// partitions join it (v2 answers PRODUCER_FENCED where older versions get
// INVALID_PRODUCER_EPOCH, v3 is flexible). v4+ come from brokers (KIP-890):
// several transactions, each either verify-only (part 1: a partition leader
// asks whether a transactional produce belongs to the ongoing transaction)
// or adding (part 2: the leader of a partition a Produce v12+ client wrote
// to adds it); v5 adds TRANSACTION_ABORTABLE. Each transaction goes to the
// coordinator of its id; the answer waits until the coordinator's records
// are durable.
//
// A v0-3 request naming a partition that does not exist is refused whole,
// as Kafka does: UNKNOWN_TOPIC_OR_PARTITION for those,
// OPERATION_NOT_ATTEMPTED for the rest.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/txncoord"
)

func init() { register(24, 0, 5, handleAddPartitionsToTxn) }

func handleAddPartitionsToTxn(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.AddPartitionsToTxnRequest)
	if r.Version >= 4 {
		return b.addPartitionsBatch(req, r), nil
	}
	resp := r.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	unknown := false
	for _, rt := range r.Topics {
		st := kmsg.NewAddPartitionsToTxnResponseTopic()
		st.Topic = rt.Topic
		t := b.topicByName(rt.Topic)
		for _, p := range rt.Partitions {
			sp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			sp.Partition, sp.ErrorCode = p, kerr.OperationNotAttempted.Code
			if t == nil || p < 0 || int(p) >= len(t.info.Partitions) || isInternalTopic(rt.Topic) {
				sp.ErrorCode, unknown = kerr.UnknownTopicOrPartition.Code, true
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if unknown {
		return reply{resp: resp}, nil
	}
	w, code := b.txns.callTxn(r.TransactionalID, func(sm *txncoord.Shard, nowMs int64, w txncoord.Waiter) txncoord.Output {
		return sm.AddPartitions(nowMs, r, w)
	})
	if code != 0 {
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				resp.Topics[i].Partitions[j].ErrorCode = code
			}
		}
		return reply{resp: resp}, nil
	}
	return awaitTxnReply(req, w), nil
}

// addPartitionsBatch serves a v4+ request: its transactions, grouped by
// the shard of their id here, each shard answering for its own.
func (b *Broker) addPartitionsBatch(req *request, r *kmsg.AddPartitionsToTxnRequest) reply {
	resp := r.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	resp.Transactions = make([]kmsg.AddPartitionsToTxnResponseTransaction, len(r.Transactions))
	byShard := map[*txnShard][]int{}
	var order []*txnShard
	for i, t := range r.Transactions {
		cs, code := b.txns.route(t.TransactionalID)
		if code != 0 {
			resp.Transactions[i] = txnResultError(t, code)
			continue
		}
		if byShard[cs] == nil {
			order = append(order, cs)
		}
		byShard[cs] = append(byShard[cs], i)
	}
	var ws []*waiter
	var slots [][]int
	for _, cs := range order {
		idx := byShard[cs]
		txns := make([]kmsg.AddPartitionsToTxnRequestTransaction, len(idx))
		for k, i := range idx {
			txns[k] = r.Transactions[i]
		}
		w := newWaiter()
		if code := cs.do(func(sm *txncoord.Shard, nowMs int64) txncoord.Output { return sm.AddPartitionsBatch(nowMs, txns, w) }); code != 0 {
			for _, i := range idx {
				resp.Transactions[i] = txnResultError(r.Transactions[i], code)
			}
			continue
		}
		ws, slots = append(ws, w), append(slots, idx)
	}
	if len(ws) == 0 {
		return reply{resp: resp}
	}
	return awaitTxnReplies(req, ws, func(resps []kmsg.Response) kmsg.Response {
		for k, sr := range resps {
			for j, i := range slots[k] {
				resp.Transactions[i] = sr.(*kmsg.AddPartitionsToTxnResponse).Transactions[j]
			}
		}
		return resp
	})
}

// txnResultError is one transaction's result failing with code.
func txnResultError(t kmsg.AddPartitionsToTxnRequestTransaction, code int16) kmsg.AddPartitionsToTxnResponseTransaction {
	out := kmsg.NewAddPartitionsToTxnResponseTransaction()
	out.TransactionalID = t.TransactionalID
	for _, rt := range t.Topics {
		ot := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
		ot.Topic = rt.Topic
		for _, p := range rt.Partitions {
			op := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
			op.Partition, op.ErrorCode = p, code
			ot.Partitions = append(ot.Partitions, op)
		}
		out.Topics = append(out.Topics, ot)
	}
	return out
}
