package txncoord

import (
	"regexp"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Describe handles the transactional ids of a DescribeTransactions request
// (v0) that live in this shard; the answer is a DescribeTransactionsResponse
// with their states, in the order given.
func (s *Shard) Describe(nowMs int64, ids []string, w Waiter) Output {
	resp := kmsg.NewPtrDescribeTransactionsResponse()
	if code := s.unavailable(); code != 0 {
		for _, id := range ids {
			resp.TransactionStates = append(resp.TransactionStates, describeError(id, code))
		}
		return refuse(w, resp)
	}
	s.begin(nowMs)
	for _, id := range ids {
		m := s.txns[id]
		switch {
		case id == "":
			resp.TransactionStates = append(resp.TransactionStates, describeError(id, kerr.InvalidRequest.Code))
		case m == nil:
			resp.TransactionStates = append(resp.TransactionStates, describeError(id, kerr.TransactionalIDNotFound.Code))
		default:
			resp.TransactionStates = append(resp.TransactionStates, describe(m))
		}
	}
	s.reply(w, resp)
	return s.end()
}

func describeError(id string, code int16) kmsg.DescribeTransactionsResponseTransactionState {
	st := kmsg.NewDescribeTransactionsResponseTransactionState()
	st.TransactionalID, st.ErrorCode = strings.Clone(id), code
	st.ProducerID, st.ProducerEpoch, st.StartTimestamp = noProducer, noProducer, -1
	return st
}

func describe(m *txnMeta) kmsg.DescribeTransactionsResponseTransactionState {
	st := kmsg.NewDescribeTransactionsResponseTransactionState()
	st.TransactionalID, st.State = m.id, m.state.String()
	st.TimeoutMillis, st.StartTimestamp = m.timeoutMs, m.startMs
	st.ProducerID, st.ProducerEpoch = m.producerID, m.epoch
	for _, tp := range m.sortedPartitions() {
		if n := len(st.Topics); n > 0 && st.Topics[n-1].Topic == tp.Topic {
			st.Topics[n-1].Partitions = append(st.Topics[n-1].Partitions, tp.Partition)
			continue
		}
		t := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
		t.Topic, t.Partitions = tp.Topic, []int32{tp.Partition}
		st.Topics = append(st.Topics, t)
	}
	return st
}

// List handles a ListTransactions request (v0-2) for this shard: the
// transactional ids matching every filter given (states, producer ids,
// v1 running longer than DurationFilterMillis, v2 ids matching
// TransactionalIDPattern, a regular expression the shell has compiled:
// pattern nil for none). State names it does not know go in
// UnknownStateFilters and match nothing.
func (s *Shard) List(nowMs int64, req *kmsg.ListTransactionsRequest, pattern *regexp.Regexp, w Waiter) Output {
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	if code := s.unavailable(); code != 0 {
		resp.ErrorCode = code
		return refuse(w, resp)
	}
	s.begin(nowMs)
	states := map[State]bool{}
	for _, name := range req.StateFilters {
		if st, ok := ParseState(name); ok {
			states[st] = true
		} else {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, strings.Clone(name))
		}
	}
	for _, id := range s.sortedIDs() {
		m := s.txns[id]
		switch {
		case len(req.StateFilters) > 0 && !states[m.state]:
			continue
		case len(req.ProducerIDFilters) > 0 && !slices.Contains(req.ProducerIDFilters, m.producerID):
			continue
		case req.Version >= 1 && req.DurationFilterMillis >= 0 && (m.startMs < 0 || s.now-m.startMs < req.DurationFilterMillis || !running(m)):
			continue
		case pattern != nil && !pattern.MatchString(id):
			continue
		}
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = m.id, m.producerID, m.state.String()
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	s.reply(w, resp)
	return s.end()
}

// running: the transaction has started and not completed.
func running(m *txnMeta) bool {
	return m.state == Ongoing || m.state == PrepareCommit || m.state == PrepareAbort
}
