package broker

// DescribeTransactions v0: the state of transactional ids (state, producer
// id and epoch, timeout, start time, partitions), each answered by the
// shard of its __transaction_state partition here; an id another broker
// coordinates is NOT_COORDINATOR (admin clients ask each id's coordinator).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/txncoord"
)

func init() { register(65, 0, 0, handleDescribeTransactions) }

func handleDescribeTransactions(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.DescribeTransactionsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	resp.TransactionStates = make([]kmsg.DescribeTransactionsResponseTransactionState, len(r.TransactionalIDs))
	byShard := map[*txnShard][]int{}
	var order []*txnShard
	for i, id := range r.TransactionalIDs {
		cs, code := b.txns.route(id)
		if code != 0 {
			resp.TransactionStates[i] = describeTxnError(id, code)
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
		ids := make([]string, len(idx))
		for k, i := range idx {
			ids[k] = r.TransactionalIDs[i]
		}
		w := newWaiter()
		if code := cs.do(func(sm *txncoord.Shard, nowMs int64) txncoord.Output { return sm.Describe(nowMs, ids, w) }); code != 0 {
			for _, i := range idx {
				resp.TransactionStates[i] = describeTxnError(r.TransactionalIDs[i], code)
			}
			continue
		}
		ws, slots = append(ws, w), append(slots, idx)
	}
	if len(ws) == 0 {
		return reply{resp: resp}, nil
	}
	return awaitTxnReplies(req, ws, func(resps []kmsg.Response) kmsg.Response {
		for k, sr := range resps {
			for j, i := range slots[k] {
				resp.TransactionStates[i] = sr.(*kmsg.DescribeTransactionsResponse).TransactionStates[j]
			}
		}
		return resp
	}), nil
}

func describeTxnError(id string, code int16) kmsg.DescribeTransactionsResponseTransactionState {
	st := kmsg.NewDescribeTransactionsResponseTransactionState()
	st.TransactionalID, st.ErrorCode = id, code
	st.ProducerID, st.ProducerEpoch, st.StartTimestamp = -1, -1, -1
	return st
}
