package txncoord

import (
	"math"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerID handles an InitProducerId request with a transactional id
// (v0-5; v3+ may name the producer's current id and epoch, KIP-360, to
// keep it after an error). The first request of an id gets a new producer
// id at epoch 0; each later one bumps the epoch, which fences the older
// producer of the same id. An ongoing transaction is aborted first (with
// the epoch bumped, PrepareEpochFence) and the request answered
// CONCURRENT_TRANSACTIONS, so the producer retries once the abort is done.
// ids gives a new producer id when one is needed.
func (s *Shard) InitProducerID(nowMs int64, req *kmsg.InitProducerIDRequest, ids ProducerIDs, w Waiter) Output {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = noProducer, noProducer
	fail := func(code int16) *kmsg.InitProducerIDResponse {
		resp.ErrorCode = fencedFor(code, req.Version, 4)
		return resp
	}
	if code := s.unavailable(); code != 0 {
		return refuse(w, fail(code))
	}
	switch {
	case req.TransactionalID == nil || *req.TransactionalID == "":
		return refuse(w, fail(kerr.InvalidRequest.Code))
	case req.TransactionTimeoutMillis <= 0 || req.TransactionTimeoutMillis > s.cfg.MaxTimeoutMs:
		return refuse(w, fail(kerr.InvalidTransactionTimeout.Code))
	}
	s.begin(nowMs)
	id := *req.TransactionalID
	m := s.txns[id]
	if m == nil {
		pid, code := ids()
		if code != 0 {
			return refuse(w, fail(code))
		}
		m = &txnMeta{
			id: strings.Clone(id), producerID: pid, prevProducerID: noProducer, nextProducerID: noProducer,
			epoch: noProducer, lastEpoch: noProducer, timeoutMs: req.TransactionTimeoutMillis,
			state: Empty, partitions: map[TopicPartition]bool{}, startMs: -1, updateMs: s.now,
		}
		s.txns[m.id] = m
	}
	expected := req.Version >= 3 && req.ProducerID >= 0
	// KIP-360: a producer naming an id is fenced unless the id is new to
	// the coordinator (epoch -1), is the current one, or is the one
	// before a rotation it may not have heard of.
	if expected && m.epoch != noProducer && req.ProducerID != m.producerID &&
		!(req.ProducerID == m.prevProducerID && epochExhausted(req.ProducerEpoch)) {
		s.reply(w, fail(producerFenced))
		return s.end()
	}
	switch m.state {
	case PrepareCommit, PrepareAbort:
		s.reply(w, fail(concurrentTxns))
	case Ongoing:
		// The epoch bumped here is never handed out: the producer
		// retries and gets the one after.
		s.abort(m, true)
		s.reply(w, fail(concurrentTxns))
	case Empty, CompleteCommit, CompleteAbort:
		if code := s.bumpForInit(m, req, expected, ids); code != 0 {
			s.reply(w, fail(code))
			break
		}
		resp.ProducerID, resp.ProducerEpoch = m.producerID, m.epoch
		s.reply(w, resp)
	default:
		panic("txncoord: transactional id in state " + m.state.String())
	}
	return s.end()
}

// bumpForInit is Kafka's prepareIncrementProducerEpoch and
// prepareProducerIdRotation: a new epoch, or a new producer id once the
// epochs ran out; a retry of the last bump (the expected epoch is the one
// before it) gets the same answer again.
func (s *Shard) bumpForInit(m *txnMeta, req *kmsg.InitProducerIDRequest, expected bool, ids ProducerIDs) int16 {
	epoch, last := m.epoch, m.lastEpoch
	pid, prev := m.producerID, m.prevProducerID
	switch {
	case expected && m.epoch != noProducer && req.ProducerEpoch != m.epoch && req.ProducerEpoch == m.lastEpoch:
		// A retry of a bump whose answer was lost.
	case expected && m.epoch != noProducer && req.ProducerEpoch != m.epoch:
		return producerFenced
	case epochExhausted(m.epoch):
		next, code := ids()
		if code != 0 {
			return code
		}
		pid, prev, epoch, last = next, m.producerID, 0, noProducer
		if expected {
			last = m.epoch
		}
	default:
		epoch, last = m.epoch+1, noProducer
		if expected {
			last = m.epoch
		}
	}
	m.transition(Empty, s.now)
	m.producerID, m.prevProducerID, m.epoch, m.lastEpoch = pid, prev, epoch, last
	m.nextProducerID = noProducer
	m.timeoutMs = req.TransactionTimeoutMillis
	clear(m.partitions)
	m.startMs, m.tv2 = -1, false
	s.write(m)
	return 0
}

// check validates a producer's id and epoch against its transactional
// id's (AddPartitionsToTxn, AddOffsetsToTxn, verification).
func (s *Shard) check(id string, pid int64, epoch int16) (*txnMeta, int16) {
	m := s.txns[id]
	switch {
	case m == nil || m.producerID != pid:
		return nil, invalidMapping
	case m.epoch != epoch:
		return nil, producerFenced
	case m.state == PrepareCommit || m.state == PrepareAbort:
		return nil, concurrentTxns
	}
	return m, 0
}

// addPartitions adds tps to the producer's transaction, starting one if
// none is open (Empty or Complete*: Ongoing from now).
func (s *Shard) addPartitions(id string, pid int64, epoch int16, tps []TopicPartition) int16 {
	m, code := s.check(id, pid, epoch)
	if code != 0 {
		return code
	}
	if m.state == Ongoing {
		all := true
		for _, tp := range tps {
			all = all && m.partitions[tp]
		}
		if all {
			return 0
		}
	} else {
		m.startMs = s.now
	}
	m.transition(Ongoing, s.now)
	for _, tp := range tps {
		m.partitions[TopicPartition{Topic: strings.Clone(tp.Topic), Partition: tp.Partition}] = true
	}
	s.write(m)
	return 0
}

// verify answers whether tps are in the producer's ongoing transaction
// (KIP-890 part 1, a partition leader asking before it appends a
// transactional batch): TRANSACTION_ABORTABLE for one that is not.
func (s *Shard) verify(id string, pid int64, epoch int16, tps []TopicPartition) (int16, []int16) {
	m, code := s.check(id, pid, epoch)
	if code != 0 {
		return code, nil
	}
	codes := make([]int16, len(tps))
	for i, tp := range tps {
		if !m.partitions[tp] || m.state != Ongoing {
			codes[i] = transactionAbortable
		}
	}
	return 0, codes
}

// AddPartitions handles AddPartitionsToTxn v0-3, a client adding
// partitions to its transaction. The shell answers partitions of unknown
// topics itself (with OPERATION_NOT_ATTEMPTED for the rest, as Kafka).
func (s *Shard) AddPartitions(nowMs int64, req *kmsg.AddPartitionsToTxnRequest, w Waiter) Output {
	if code := s.unavailable(); code != 0 {
		return refuse(w, addPartitionsResponse(req, code))
	}
	s.begin(nowMs)
	var tps []TopicPartition
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			tps = append(tps, TopicPartition{Topic: t.Topic, Partition: p})
		}
	}
	code := s.addPartitions(req.TransactionalID, req.ProducerID, req.ProducerEpoch, tps)
	s.reply(w, addPartitionsResponse(req, fencedFor(code, req.Version, 2)))
	return s.end()
}

func addPartitionsResponse(req *kmsg.AddPartitionsToTxnRequest, code int16) *kmsg.AddPartitionsToTxnResponse {
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = strings.Clone(t.Topic)
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// AddPartitionsBatch handles the transactions of an AddPartitionsToTxn
// v4+ request (from partition leaders) that live in this shard:
// VerifyOnly ones are verified (KIP-890 part 1), the others added, as the
// leader of a partition produced to with Produce v12+ does for a
// transaction version 2 client (KIP-890 part 2). The answer is an
// AddPartitionsToTxnResponse with one result per transaction, in order.
func (s *Shard) AddPartitionsBatch(nowMs int64, txns []kmsg.AddPartitionsToTxnRequestTransaction, w Waiter) Output {
	resp := kmsg.NewPtrAddPartitionsToTxnResponse()
	resp.Version = 5
	if code := s.unavailable(); code != 0 {
		for _, t := range txns {
			resp.Transactions = append(resp.Transactions, batchResult(t, code, nil))
		}
		return refuse(w, resp)
	}
	s.begin(nowMs)
	for _, t := range txns {
		var tps []TopicPartition
		for _, rt := range t.Topics {
			for _, p := range rt.Partitions {
				tps = append(tps, TopicPartition{Topic: rt.Topic, Partition: p})
			}
		}
		if t.VerifyOnly {
			code, codes := s.verify(t.TransactionalID, t.ProducerID, t.ProducerEpoch, tps)
			resp.Transactions = append(resp.Transactions, batchResult(t, code, codes))
			continue
		}
		code := s.addPartitions(t.TransactionalID, t.ProducerID, t.ProducerEpoch, tps)
		resp.Transactions = append(resp.Transactions, batchResult(t, code, nil))
	}
	s.reply(w, resp)
	return s.end()
}

// batchResult is one transaction's result: code for every partition, or
// codes one by one.
func batchResult(t kmsg.AddPartitionsToTxnRequestTransaction, code int16, codes []int16) kmsg.AddPartitionsToTxnResponseTransaction {
	out := kmsg.NewAddPartitionsToTxnResponseTransaction()
	out.TransactionalID = strings.Clone(t.TransactionalID)
	i := 0
	for _, rt := range t.Topics {
		ot := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
		ot.Topic = strings.Clone(rt.Topic)
		for _, p := range rt.Partitions {
			op := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
			op.Partition, op.ErrorCode = p, code
			if codes != nil {
				op.ErrorCode = codes[i]
			}
			i++
			ot.Partitions = append(ot.Partitions, op)
		}
		out.Topics = append(out.Topics, ot)
	}
	return out
}

// AddOffsets handles AddOffsetsToTxn (v0-4): the __consumer_offsets
// partition of the group (offsetsPartition, which the shell computes) joins
// the transaction, so that its TxnOffsetCommit is ended by the same
// markers.
func (s *Shard) AddOffsets(nowMs int64, req *kmsg.AddOffsetsToTxnRequest, offsetsTopic string, offsetsPartition int32, w Waiter) Output {
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	if code := s.unavailable(); code != 0 {
		resp.ErrorCode = code
		return refuse(w, resp)
	}
	s.begin(nowMs)
	tp := TopicPartition{Topic: offsetsTopic, Partition: offsetsPartition}
	resp.ErrorCode = fencedFor(s.addPartitions(req.TransactionalID, req.ProducerID, req.ProducerEpoch, []TopicPartition{tp}), req.Version, 2)
	s.reply(w, resp)
	return s.end()
}

// EndTxn handles EndTxn (v0-5): commit or abort the producer's transaction.
// The answer waits for the prepare record; the markers are written after
// it (Output.Markers, released once it is durable). From v5 the client
// speaks transaction version 2 (KIP-890 part 2): the epoch is bumped at
// the end and the answer carries the producer id and epoch for the next
// transaction, so that a late EndTxn or a late marker of this transaction
// can never apply to the next one.
func (s *Shard) EndTxn(nowMs int64, req *kmsg.EndTxnRequest, ids ProducerIDs, w Waiter) Output {
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ProducerID, resp.ProducerEpoch = noProducer, noProducer
	if code := s.unavailable(); code != 0 {
		resp.ErrorCode = code
		return refuse(w, resp)
	}
	if req.TransactionalID == "" {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return refuse(w, resp)
	}
	s.begin(nowMs)
	tv2 := req.Version >= 5 && s.cfg.TV2 && !s.cfg.Defects.NoEpochBump
	var code int16
	if tv2 {
		code = s.endTxnTV2(req, ids, resp)
	} else {
		code = s.endTxnTV1(req)
	}
	resp.ErrorCode = fencedFor(code, req.Version, 2)
	if code != 0 {
		resp.ProducerID, resp.ProducerEpoch = noProducer, noProducer
	}
	s.reply(w, resp)
	return s.end()
}

// endTxnTV1 is Kafka's endTransactionWithTV1: the epoch must be the
// producer's current one, and a retry of a completed end is answered
// success.
func (s *Shard) endTxnTV1(req *kmsg.EndTxnRequest) int16 {
	m := s.txns[req.TransactionalID]
	switch {
	case m == nil || m.producerID != req.ProducerID:
		return invalidMapping
	case req.ProducerEpoch != m.epoch:
		return producerFenced
	}
	switch m.state {
	case Ongoing:
		s.prepare(m, req.Commit, false, noProducer, false)
		return 0
	case CompleteCommit, CompleteAbort:
		if (m.state == CompleteCommit) == req.Commit {
			return 0
		}
	case PrepareCommit, PrepareAbort:
		if (m.state == PrepareCommit) == req.Commit {
			return concurrentTxns
		}
	}
	return invalidTxnState
}

// endTxnTV2 is Kafka's endTransaction under transaction version 2: the
// request's epoch tells a new end (the current epoch) from a retry of the
// last one (the epoch before its bump); an abort may end a transaction
// with no partition (the client is unsure whether it started one).
func (s *Shard) endTxnTV2(req *kmsg.EndTxnRequest, ids ProducerIDs, resp *kmsg.EndTxnResponse) int16 {
	m := s.txns[req.TransactionalID]
	if m == nil {
		return invalidMapping
	}
	epoch := req.ProducerEpoch
	retryOnOverflow := m.prevProducerID == req.ProducerID && epoch == math.MaxInt16-1 && m.epoch == 0
	retryOnBump := int32(m.epoch) == int32(epoch)+1
	var valid bool
	switch m.state {
	case Ongoing, Empty:
		valid = epoch == m.epoch
	case PrepareCommit, PrepareAbort:
		// Kafka fences the current epoch here too; Weir tells the
		// producer, which already has the new epoch, to retry once the
		// markers are written (an epoch older than both is still fenced).
		valid = retryOnBump || epoch == m.epoch
	case CompleteCommit, CompleteAbort:
		valid = retryOnBump || retryOnOverflow || epoch == m.epoch
	}
	retry := retryOnBump || retryOnOverflow
	switch {
	case m.producerID != req.ProducerID && !retryOnOverflow:
		return invalidMapping
	case !valid:
		return producerFenced
	}
	done := func() int16 {
		resp.ProducerID, resp.ProducerEpoch = m.producerID, m.epoch
		return 0
	}
	switch m.state {
	case Ongoing:
		return s.prepareTV2(m, req.Commit, false, ids, resp)
	case CompleteCommit:
		switch {
		case req.Commit && retry:
			return done()
		case !req.Commit && !retry:
			return s.prepareTV2(m, false, true, ids, resp)
		}
	case CompleteAbort:
		switch {
		case !req.Commit && retry:
			return done()
		case !req.Commit:
			return s.prepareTV2(m, false, true, ids, resp)
		}
	case PrepareCommit, PrepareAbort:
		if (m.state == PrepareCommit) == req.Commit || !retry {
			return concurrentTxns
		}
	case Empty:
		if !req.Commit {
			return s.prepareTV2(m, false, true, ids, resp)
		}
	}
	return invalidTxnState
}

// prepareTV2 ends m's transaction with an epoch bump, taking a new
// producer id for after it if the epoch runs out, and answers with the id
// and epoch the producer continues with.
func (s *Shard) prepareTV2(m *txnMeta, commit, noPartitions bool, ids ProducerIDs, resp *kmsg.EndTxnResponse) int16 {
	next := int64(noProducer)
	if epochExhausted(m.epoch) {
		var code int16
		if next, code = ids(); code != 0 {
			return code
		}
	}
	s.prepare(m, commit, true, next, noPartitions)
	resp.ProducerID, resp.ProducerEpoch = m.producerID, m.epoch
	if next != noProducer {
		resp.ProducerID, resp.ProducerEpoch = next, 0
	}
	return 0
}

// prepare decides the end of m's transaction (Kafka's
// prepareAbortOrCommit): PrepareCommit or PrepareAbort, durable before its
// markers go out. tv2 bumps the epoch (the markers carry the new one);
// next is the producer id to continue with when the epoch ran out.
// noPartitions: an abort of a transaction with none, which starts now.
func (s *Shard) prepare(m *txnMeta, commit, tv2 bool, next int64, noPartitions bool) {
	to := PrepareAbort
	if commit {
		to = PrepareCommit
	}
	m.transition(to, s.now)
	if tv2 && m.epoch < math.MaxInt16 {
		m.lastEpoch, m.epoch = m.epoch, m.epoch+1
		m.nextProducerID = next
	}
	m.tv2 = tv2
	if noPartitions {
		m.startMs = s.now
	}
	s.write(m)
	s.markers = append(s.markers, MarkerJob{
		TransactionalID: m.id, ProducerID: m.producerID, ProducerEpoch: m.epoch,
		Commit: commit, CoordinatorEpoch: s.coordEpoch, TV2: tv2, Partitions: m.sortedPartitions(),
	})
}

// abort is the coordinator's own abort of an ongoing transaction (its
// timeout, or a new producer's InitProducerId): the epoch is bumped first
// (PrepareEpochFence), so the old producer is fenced, then the abort is
// prepared; under transaction version 2 it bumps the epoch once more, as
// Kafka's does.
func (s *Shard) abort(m *txnMeta, fence bool) {
	if fence {
		m.transition(PrepareEpochFence, s.now)
		// Clients never get past MaxInt16-1 (epochExhausted), so there
		// is always one more to fence with; a loaded record at the
		// maximum keeps its epoch rather than wrap.
		if m.epoch < math.MaxInt16 {
			m.epoch++
		}
		m.lastEpoch = noProducer
	}
	tv2 := s.cfg.TV2 && !s.cfg.Defects.NoEpochBump
	next := int64(noProducer)
	if tv2 && epochExhausted(m.epoch) {
		// No id can be asked for here; end at the last epoch instead.
		tv2 = false
	}
	s.prepare(m, false, tv2, next, false)
}

// MarkersWritten reports that every marker of job is written (each
// partition's leader answered once it was durable): the transaction
// completes (CompleteCommit or CompleteAbort). A job that no longer
// matches the transaction (already completed, or a later one) is ignored.
func (s *Shard) MarkersWritten(nowMs int64, job MarkerJob) Output {
	if s.unavailable() != 0 {
		return Output{}
	}
	s.begin(nowMs)
	m := s.txns[job.TransactionalID]
	want := PrepareAbort
	if job.Commit {
		want = PrepareCommit
	}
	if m == nil || m.state != want || m.producerID != job.ProducerID || m.epoch != job.ProducerEpoch {
		return s.end()
	}
	to := CompleteAbort
	if job.Commit {
		to = CompleteCommit
	}
	m.transition(to, s.now)
	if m.tv2 && m.nextProducerID != noProducer {
		m.prevProducerID, m.producerID = m.producerID, m.nextProducerID
		m.epoch, m.nextProducerID = 0, noProducer
	}
	clear(m.partitions)
	s.write(m)
	return s.end()
}

// Tick tells the shard the time is nowMs: ongoing transactions past their
// timeout are aborted by the coordinator, and transactional ids idle past
// transactional.id.expiration.ms are removed.
func (s *Shard) Tick(nowMs int64) Output {
	if s.unavailable() != 0 {
		return Output{}
	}
	s.begin(nowMs)
	for _, id := range s.sortedIDs() {
		m := s.txns[id]
		switch {
		case m.state == Ongoing && s.now >= m.startMs+int64(m.timeoutMs):
			s.abort(m, true)
		case expirable(m) && s.now >= m.updateMs+s.cfg.IDExpirationMs:
			m.transition(Dead, s.now)
			s.emit(tombstone(m.id))
			delete(s.txns, id)
		}
	}
	return s.end()
}

func expirable(m *txnMeta) bool {
	return m.state == Empty || m.state == CompleteCommit || m.state == CompleteAbort
}

// NextDeadline is when Tick has something to do; ok is false when nothing
// is scheduled.
func (s *Shard) NextDeadline() (atMs int64, ok bool) {
	if s.unavailable() != 0 {
		return 0, false
	}
	for _, m := range s.txns {
		var at int64
		switch {
		case m.state == Ongoing:
			at = m.startMs + int64(m.timeoutMs)
		case expirable(m):
			at = m.updateMs + s.cfg.IDExpirationMs
		default:
			continue
		}
		if !ok || at < atMs {
			atMs, ok = at, true
		}
	}
	return atMs, ok
}

// unavailable is what a shard that cannot serve answers with, or 0.
func (s *Shard) unavailable() int16 {
	switch {
	case s.unloaded:
		return notCoordinator
	case s.loading:
		return kerr.CoordinatorLoadInProgress.Code
	}
	return 0
}
