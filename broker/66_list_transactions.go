package broker

// ListTransactions v0-2: the transactional ids this broker coordinates
// (admin clients ask every broker and merge), filtered by state, producer
// id, v1 how long they have run (DurationFilterMillis) and v2 a regular
// expression over the ids (INVALID_REGULAR_EXPRESSION if it does not
// compile; Go's syntax, close to Java's for what ids need).

import (
	"context"
	"regexp"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/txncoord"
)

func init() { register(66, 0, 2, handleListTransactions) }

func handleListTransactions(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.ListTransactionsRequest)
	resp := r.ResponseKind().(*kmsg.ListTransactionsResponse)
	var pattern *regexp.Regexp
	if r.Version >= 2 && r.TransactionalIDPattern != nil && *r.TransactionalIDPattern != "" {
		re, err := regexp.Compile(*r.TransactionalIDPattern)
		if err != nil {
			resp.ErrorCode = kerr.InvalidRegularExpression.Code
			return reply{resp: resp}, nil
		}
		pattern = re
	}
	for _, name := range r.StateFilters {
		if _, ok := txncoord.ParseState(name); !ok {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, name)
		}
	}
	var ws []*waiter
	for _, cs := range b.txns.allShards() {
		w := newWaiter()
		if code := cs.do(func(sm *txncoord.Shard, nowMs int64) txncoord.Output { return sm.List(nowMs, r, pattern, w) }); code != 0 {
			if code != kerr.NotCoordinator.Code {
				resp.ErrorCode = code
			}
			continue
		}
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		return reply{resp: resp}, nil
	}
	return awaitTxnReplies(req, ws, func(resps []kmsg.Response) kmsg.Response {
		for _, sr := range resps {
			lr := sr.(*kmsg.ListTransactionsResponse)
			resp.TransactionStates = append(resp.TransactionStates, lr.TransactionStates...)
		}
		slices.SortFunc(resp.TransactionStates, func(a, b kmsg.ListTransactionsResponseTransactionState) int {
			switch {
			case a.TransactionalID < b.TransactionalID:
				return -1
			case a.TransactionalID > b.TransactionalID:
				return 1
			}
			return 0
		})
		return resp
	}), nil
}
