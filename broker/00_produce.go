package broker

// Produce v0-12; v3-12 advertised. v0-2 carry message formats v0/v1, which
// Weir refuses per partition with UNSUPPORTED_VERSION as Kafka 4.0 does; v3+
// carries exactly one v2 record batch per partition. v5 adds the log start
// offset, v8 per-record errors and an error message, v9 is flexible, v12 is
// transaction version 2 (KIP-890 part 2: the leader adds the partition to
// the producer's transaction itself). v13 (topic ids) is not served yet.
//
// A transactional batch that opens the producer's transaction in a
// partition is first checked with the transaction coordinator (KIP-890
// part 1, txn_verify.go).
//
// acks=0 gets no response; an error closes the connection, which is Kafka's
// only way to tell such a producer. acks=1 is answered once the leader
// appended. acks=-1 is refused with NOT_ENOUGH_REPLICAS while the ISR is
// below min.insync.replicas, and otherwise answered once the leader's
// replica.Leader says the batch is committed (the high watermark covers
// it: every ISR replica has it, and with weir.fsync.acks.all, the default,
// has fsynced it, group-committed across concurrent produces), with
// NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below the minimum
// meanwhile (broker/partition: CheckProduce, AwaitAck, AckResult).

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/record"
)

func init() { registerRefusing(0, 0, 3, 12, handleProduce) }

// pendingAck is an appended batch an acks=-1 response waits for.
type pendingAck struct {
	p      *partition.Partition
	ack    *partition.AckWait
	result *kmsg.ProduceResponseTopicPartition
}

func handleProduce(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.ProduceRequest)
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	var waits []pendingAck
	if r.Acks == -1 && !b.cfg.Defects.AckBeforeFsync {
		n := 0
		for i := range r.Topics {
			n += len(r.Topics[i].Partitions)
		}
		waits = make([]pendingAck, 0, n)
	}
	resp.Topics = make([]kmsg.ProduceResponseTopic, 0, len(r.Topics))
	failed := false
	for _, rt := range r.Topics {
		t := b.topicByName(rt.Topic)
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for i, rp := range rt.Partitions {
			sp := &st.Partitions[i]
			*sp = kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = -1, -1, -1
			p, end, err := b.produceOne(ctx, r, req.version, t, rp)
			if err != nil {
				failed = true
				sp.ErrorCode = err.err.Code
				if r.Version >= 8 {
					msg := err.msg
					sp.ErrorMessage = &msg
				}
				continue
			}
			sp.BaseOffset = end.BaseOffset
			sp.LogAppendTime = end.LogAppendMs
			sp.LogStartOffset = p.StartOffset()
			// A single replica without fsync commits in the append, so
			// such acks=-1 produces have nothing to wait for.
			if r.Acks == -1 && !b.cfg.Defects.AckBeforeFsync {
				if ack, code := p.AwaitAck(end.LeaderEpoch, end.EndOffset); ack != nil {
					waits = append(waits, pendingAck{p: p, ack: ack, result: sp})
				} else {
					sp.ErrorCode = code
				}
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	if r.Acks == 0 {
		return reply{closeConn: failed}, nil
	}
	if len(waits) == 0 {
		return reply{resp: resp}, nil
	}
	timeout := time.Duration(r.TimeoutMillis) * time.Millisecond
	return reply{resp: resp, finish: func(ctx context.Context) {
		// The group commit has often covered these appends by the time
		// the writer gets here: then there is no timer to set up.
		pending := waits
		for len(pending) > 0 {
			code, done := pending[0].ack.Done()
			if !done {
				break
			}
			pending[0].result.ErrorCode = code
			pending = pending[1:]
		}
		if len(pending) == 0 {
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		timer := b.clock.AfterFunc(timeout, cancel)
		defer timer.Stop()
		for _, w := range pending {
			w.result.ErrorCode = w.p.AckResult(ctx.Done(), w.ack)
		}
	}}, nil
}

// produceOne validates and appends one partition's records.
func (b *Broker) produceOne(ctx context.Context, r *kmsg.ProduceRequest, version int16, t *topic, rp kmsg.ProduceRequestTopicPartition) (*partition.Partition, partition.AppendResult, *topicError) {
	if version < 3 {
		return nil, partition.AppendResult{}, errTopic(kerr.UnsupportedVersion, "message format v0/v1 (produce v0-2) is not supported; use a client that speaks record batch v2 (Kafka 0.11+)")
	}
	if r.Acks != 0 && r.Acks != 1 && r.Acks != -1 {
		return nil, partition.AppendResult{}, errTopic(kerr.InvalidRequiredAcks, "acks must be -1, 0 or 1, got %d", r.Acks)
	}
	p, kerrp := t.leaderPartition(rp.Partition, -1)
	if kerrp != nil {
		return nil, partition.AppendResult{}, errTopic(kerrp, "%s", leaderErrorMessage(kerrp))
	}
	if isInternalTopic(t.name()) {
		return nil, partition.AppendResult{}, errTopic(kerr.InvalidTopicException, "Cannot append to internal topic %s", t.name())
	}
	batch, err := record.Parse(rp.Records)
	switch {
	case errors.Is(err, record.ErrOldMagic):
		return nil, partition.AppendResult{}, errTopic(kerr.UnsupportedVersion, "message format v0/v1 is not supported")
	case err != nil:
		return nil, partition.AppendResult{}, errTopic(kerr.CorruptMessage, "%v", err)
	}
	if batch.Size() != len(rp.Records) {
		return nil, partition.AppendResult{}, errTopic(kerr.InvalidRecord, "produce requests must contain exactly one record batch per partition")
	}
	if err := record.ValidateProduced(&batch); err != nil {
		return nil, partition.AppendResult{}, errTopic(kerr.CorruptMessage, "%v", err)
	}
	overrides := t.overrides()
	if max := b.topicConfigInt(overrides, "max.message.bytes"); int64(batch.Size()) > max {
		return nil, partition.AppendResult{}, errTopic(kerr.MessageTooLarge, "record batch of %d bytes exceeds max.message.bytes=%d", batch.Size(), max)
	}
	if batch.IsControl() {
		return nil, partition.AppendResult{}, errTopic(kerr.InvalidRecord, "clients may not produce control batches")
	}
	if terr := b.verifyProduce(ctx, r, version, t, p, &batch); terr != nil {
		return nil, partition.AppendResult{}, terr
	}
	if kerrp, msg := p.CheckProduce(r.Acks); kerrp != nil {
		return nil, partition.AppendResult{}, errTopic(kerrp, "%s", msg)
	}
	ts, _ := b.effectiveTopicConfig(overrides, "message.timestamp.type")
	appendBatch := p.Append
	if version >= 12 {
		appendBatch = p.AppendTV2
	}
	res := appendBatch(&batch, ts == "LogAppendTime", r.Acks == -1)
	if res.Err == kerr.InvalidTxnState && version >= 12 {
		res.Err = kerr.TransactionAbortable // what KIP-890 clients abort on (txn_verify.go)
	}
	if res.Err != nil {
		var kerrp *kerr.Error
		if !errors.As(res.Err, &kerrp) {
			kerrp = kerr.UnknownServerError
		}
		msg := res.Reason
		if msg == "" {
			msg = res.Err.Error()
		}
		return nil, partition.AppendResult{}, errTopic(kerrp, "%s", msg)
	}
	return p, res, nil
}
