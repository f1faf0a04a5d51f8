package broker

// A partition leader's check with the transaction coordinator before it
// appends a transactional batch that opens a producer's transaction in the
// partition (KIP-890 part 1): the coordinator answers whether the partition
// is in the producer's ongoing transaction, at this epoch. Clients of
// transaction version 2 (Produce v12+, TxnOffsetCommit v5+) do not add
// partitions themselves: the same request then adds it. The check runs in
// the connection's reader, so the producer's pipelined batches stay in
// order; it happens once per partition per transaction.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/txncoord"
	"github.com/weir-dev/weir/env"
)

// Kafka's add.partitions.to.txn.retry.backoff.ms and .max.ms: a
// coordinator that answers CONCURRENT_TRANSACTIONS is still writing the
// markers of the producer's previous transaction, which a producer of
// transaction version 2 starts the next one right after; the leader asks
// again for a moment before it tells the producer to retry.
const (
	verifyRetryBackoff = 20 * time.Millisecond
	verifyRetryMax     = 100 * time.Millisecond
)

// verifyTxnPartition asks the coordinator of transactional id whether
// topic/partition is in producer pid's ongoing transaction at epoch (add:
// adds it if not) and returns its error code, asking again while the
// coordinator is busy ending the previous transaction (for up to
// verifyRetryMax).
func (b *Broker) verifyTxnPartition(ctx context.Context, id string, pid int64, epoch int16, topic string, partition int32, add bool) int16 {
	return retryWhileConcurrent(ctx, b.clock, func() int16 {
		return b.verifyTxnPartitionOnce(ctx, id, pid, epoch, topic, partition, add)
	})
}

// retryWhileConcurrent calls once until it answers something other than
// CONCURRENT_TRANSACTIONS or verifyRetryMax has passed, verifyRetryBackoff
// apart. The deadline is kept on the clock's monotonic time: on the wall
// clock, a reset after a jump ahead would have kept a producer's batch
// waiting, asking every 20 ms, for as long as the jump.
func retryWhileConcurrent(ctx context.Context, clock env.Clock, once func() int16) int16 {
	deadline := clock.Monotonic() + verifyRetryMax
	for {
		code := once()
		if code != kerr.ConcurrentTransactions.Code || clock.Monotonic() >= deadline {
			return code
		}
		t := clock.NewTimer(verifyRetryBackoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return code
		case <-t.C():
		}
	}
}

func (b *Broker) verifyTxnPartitionOnce(ctx context.Context, id string, pid int64, epoch int16, topic string, partition int32, add bool) int16 {
	if id == "" {
		return kerr.InvalidTxnState.Code
	}
	_, leader, code := b.txnPartitionOf(b.image(), id)
	if code != 0 {
		return code
	}
	tx := kmsg.NewAddPartitionsToTxnRequestTransaction()
	tx.TransactionalID, tx.ProducerID, tx.ProducerEpoch, tx.VerifyOnly = id, pid, epoch, !add
	rt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
	rt.Topic, rt.Partitions = topic, []int32{partition}
	tx.Topics = append(tx.Topics, rt)
	ctx, cancel := b.timeoutContext(ctx, peerRequestTimeout)
	defer cancel()
	var resp *kmsg.AddPartitionsToTxnResponse
	if leader == b.cfg.NodeID {
		w, code := b.txns.callTxn(id, func(sm *txncoord.Shard, nowMs int64, w txncoord.Waiter) txncoord.Output {
			return sm.AddPartitionsBatch(nowMs, []kmsg.AddPartitionsToTxnRequestTransaction{tx}, w)
		})
		if code != 0 {
			return code
		}
		select {
		case r := <-w.ch:
			resp = r.(*kmsg.AddPartitionsToTxnResponse)
		case <-ctx.Done():
			return kerr.RequestTimedOut.Code
		}
	} else {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.SetVersion(5)
		req.Transactions = append(req.Transactions, tx)
		r, err := b.peerRequest(ctx, leader, req)
		if err != nil {
			b.log.Debug("transaction verification failed", "transactional_id", id, "coordinator", leader, "err", err)
			return kerr.NetworkException.Code
		}
		resp = r.(*kmsg.AddPartitionsToTxnResponse)
	}
	if resp.ErrorCode != 0 {
		return resp.ErrorCode
	}
	if len(resp.Transactions) != 1 || len(resp.Transactions[0].Topics) != 1 || len(resp.Transactions[0].Topics[0].Partitions) != 1 {
		return kerr.UnknownServerError.Code
	}
	return resp.Transactions[0].Topics[0].Partitions[0].ErrorCode
}

// produceVerificationError is what a producer is told when the
// verification of its batch failed with code, as Kafka maps it: a fenced
// epoch is INVALID_PRODUCER_EPOCH (which producers handle here); a
// partition not in the transaction is TRANSACTION_ABORTABLE for clients
// that know it (Produce v12+, TxnOffsetCommit v5+) and INVALID_TXN_STATE
// for older ones; a coordinator that could not answer is
// NOT_ENOUGH_REPLICAS, which every producer retries without refreshing
// its metadata.
func produceVerificationError(code int16, newClient bool) *kerr.Error {
	switch code {
	case kerr.ProducerFenced.Code:
		return kerr.InvalidProducerEpoch
	case kerr.TransactionAbortable.Code:
		if newClient {
			return kerr.TransactionAbortable
		}
		return kerr.InvalidTxnState
	case kerr.ConcurrentTransactions.Code, kerr.NetworkException.Code, kerr.RequestTimedOut.Code,
		kerr.CoordinatorLoadInProgress.Code, kerr.CoordinatorNotAvailable.Code, kerr.NotCoordinator.Code:
		return kerr.NotEnoughReplicas
	}
	if e, ok := kerr.ErrorForCode(code).(*kerr.Error); ok {
		return e
	}
	return kerr.UnknownServerError
}

// verifyProduce runs the KIP-890 part 1 check for a produced batch, if it
// needs one: nil means the batch may go to the append, whose own check
// refuses it if a marker voided the verification meanwhile. A
// verification that a marker voided while it was asked is asked once more:
// the marker may have ended the producer's previous transaction (one of
// transaction version 1, which keeps the epoch), and the new answer tells
// whether the batch's own transaction is still on.
func (b *Broker) verifyProduce(ctx context.Context, r *kmsg.ProduceRequest, version int16, t *topic, p *partition.Partition, batch *record.Batch) *topicError {
	if !batch.IsTransactional() {
		return nil
	}
	if r.TransactionID == nil || *r.TransactionID == "" {
		return errTopic(kerr.InvalidTxnState, "a transactional batch needs the request's transactional id")
	}
	tv2 := version >= 12
	code, ended := b.verifyTxnWrite(ctx, p, *r.TransactionID, batch.ProducerID, batch.ProducerEpoch, t.name(), p.Index(), tv2,
		func() (uint64, bool) { return p.NeedsVerification(batch, tv2) })
	switch {
	case ended:
		e := produceVerificationError(kerr.TransactionAbortable.Code, tv2)
		return errTopic(e, "the producer's transaction ended while this batch was verified")
	case code != 0:
		e := produceVerificationError(code, tv2)
		return errTopic(e, "transaction verification with the coordinator failed: %s", kerr.ErrorForCode(code))
	}
	return nil
}

// verifyTxnWrite asks the coordinator whether the producer's open
// transaction has the partition, for as long as p says the write needs it
// (needs starts a verification and returns its token). A marker that
// voided a confirmed verification ended the transaction it confirmed;
// the producer may have begun its next one meanwhile, so the coordinator
// is asked once more, about that one, and never a third time. It returns
// the coordinator's code if it refused, ended if the transaction ended
// under both verifications, and 0, false once the write may go on.
func (b *Broker) verifyTxnWrite(ctx context.Context, p *partition.Partition, txnID string, pid int64, epoch int16, topic string, index int32, tv2 bool, needs func() (uint64, bool)) (code int16, ended bool) {
	for attempt := 0; attempt < 2; attempt++ {
		token, needed := needs()
		if !needed {
			return 0, false
		}
		c := b.verifyTxnPartition(ctx, txnID, pid, epoch, topic, index, tv2)
		if p.Verified(pid, token, c == 0) {
			return 0, false
		}
		if c != 0 {
			return c, false
		}
	}
	return 0, true
}
