package broker

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/replica/fetcher"
)

// The broker-wide parts of replication: the fetchers (one per leader
// broker), the sender of ISR changes to the controller, and the leaders'
// periodic ISR check.

// startReplication creates the fetchers and starts the sender and the
// ticker; they end with the broker's context (stopServing waits for them).
func (b *Broker) startReplication() {
	b.fetchers = fetcher.NewManager(b.ctx, fetcher.Config{
		LocalID:     b.cfg.NodeID,
		BrokerEpoch: -1,
		Net:         b.net,
		Clock:       b.clock,
		MaxWait:     b.cfg.ReplicaFetchWaitMax,
		BackoffMax:  b.cfg.ReplicaFetchBackoff,
		Follower:    replica.FollowerConfig{TruncateOnFetch: true, Defects: b.cfg.Defects.Replica},
		OnError:     b.replicaFailed,
		Logger:      b.log.With("component", "replica-fetcher"),
	})
	b.alters = &alterSender{b: b, pending: map[*partition.Partition]alterItem{}, wake: make(chan struct{}, 1)}
	b.wg.Add(2)
	go b.alters.run()
	go b.runReplicaTicker()
}

// runReplicaTicker runs every leader's ISR check each half of
// replica.lag.time.max.ms, as Kafka's isr-expiration task does.
func (b *Broker) runReplicaTicker() {
	defer b.wg.Done()
	interval := max(b.cfg.ReplicaLagTimeMax/2, time.Millisecond)
	for {
		t := b.clock.NewTimer(interval)
		select {
		case <-b.ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		b.mu.RLock()
		ps := b.localPartitions()
		b.mu.RUnlock()
		for _, p := range ps {
			p.Tick()
		}
	}
}

// alterPartitionBackoff is the pause before an ISR change the controller
// did not take (unreachable, a stale registration, a refusal) is handed
// back to its leader, which may propose it again.
const alterPartitionBackoff = 500 * time.Millisecond

// alterSender sends the leaders' ISR changes (replica.Update.Propose) to
// the controller, through the metadata quorum like any controller request,
// as Kafka's AlterPartitionManager does: one AlterPartition request in
// flight per broker, carrying the newest proposal of every partition
// queued meanwhile; each answer goes back to the Leader that proposed it
// (AlterPartitionDone), unless the partition has another Leader since.
type alterSender struct {
	b       *Broker
	mu      sync.Mutex
	pending map[*partition.Partition]alterItem
	wake    chan struct{} // capacity 1
}

type alterItem struct {
	leader   *replica.Leader
	proposal replica.AlterPartition
}

// Propose queues a proposal of l, the Leader of p (partition.AlterProposer).
// Called with p's lock held: it only queues.
func (s *alterSender) Propose(p *partition.Partition, l *replica.Leader, prop replica.AlterPartition) {
	s.mu.Lock()
	s.pending[p] = alterItem{leader: l, proposal: prop}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *alterSender) run() {
	b := s.b
	defer b.wg.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-s.wake:
		}
		s.mu.Lock()
		batch := s.pending
		s.pending = map[*partition.Partition]alterItem{}
		s.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		parts := slices.SortedFunc(maps.Keys(batch), comparePartitions)
		results, ok := s.send(parts, batch)
		if !ok {
			// Not answered, or refused: give the controller (or this
			// broker's registration) time before the leaders retry.
			b.sleep(alterPartitionBackoff)
		}
		now := b.replicaTime.Now()
		for _, p := range parts {
			p.AlterPartitionDone(batch[p].leader, results[p], now)
		}
	}
}

// comparePartitions orders partitions by topic name and index.
func comparePartitions(a, b *partition.Partition) int {
	if c := strings.Compare(a.Topic(), b.Topic()); c != 0 {
		return c
	}
	return cmp.Compare(a.Index(), b.Index())
}

// send submits one AlterPartition for the partitions of batch, in the
// order of parts, and returns each one's result; ok is false when any
// partition was not accepted.
func (s *alterSender) send(parts []*partition.Partition, batch map[*partition.Partition]alterItem) (map[*partition.Partition]replica.AlterPartitionResult, bool) {
	b := s.b
	results := make(map[*partition.Partition]replica.AlterPartitionResult, len(batch))
	fail := func(code int16) (map[*partition.Partition]replica.AlterPartitionResult, bool) {
		for _, p := range parts {
			results[p] = replica.AlterPartitionResult{ID: batch[p].proposal.ID, Err: code}
		}
		return results, false
	}
	epoch := b.session.brokerEpoch()
	if epoch < 0 {
		return fail(kerr.StaleBrokerEpoch.Code)
	}
	req := kmsg.NewPtrAlterPartitionRequest()
	req.SetVersion(2) // topics by id, the ISR as broker ids
	req.BrokerID, req.BrokerEpoch = b.cfg.NodeID, epoch
	type key struct {
		id    [16]byte
		index int32
	}
	byKey := map[key]*partition.Partition{}
	for _, p := range parts {
		it := batch[p]
		id := p.TopicID()
		byKey[key{id, p.Index()}] = p
		i := slices.IndexFunc(req.Topics, func(t kmsg.AlterPartitionRequestTopic) bool { return t.TopicID == id })
		if i < 0 {
			t := kmsg.NewAlterPartitionRequestTopic()
			t.TopicID = id
			req.Topics = append(req.Topics, t)
			i = len(req.Topics) - 1
		}
		rp := kmsg.NewAlterPartitionRequestTopicPartition()
		rp.Partition, rp.LeaderEpoch, rp.PartitionEpoch = p.Index(), it.proposal.LeaderEpoch, it.proposal.PartitionEpoch
		rp.NewISR = it.proposal.ISR
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	ctx, cancel := context.WithTimeout(b.ctx, defaultAdminTimeout)
	defer cancel()
	resp, terr := b.submit(ctx, req)
	if terr != nil {
		b.log.Debug("AlterPartition not answered", "err", terr.msg)
		return fail(terr.err.Code)
	}
	r := resp.(*kmsg.AlterPartitionResponse)
	if r.ErrorCode != 0 {
		b.log.Info("AlterPartition refused", "err", kerr.ErrorForCode(r.ErrorCode))
		return fail(r.ErrorCode)
	}
	ok := true
	for _, t := range r.Topics {
		for _, rp := range t.Partitions {
			p := byKey[key{t.TopidID, rp.Partition}] // kmsg spells it TopidID
			if p == nil {
				continue
			}
			results[p] = replica.AlterPartitionResult{
				ID: batch[p].proposal.ID, Err: rp.ErrorCode,
				LeaderEpoch: rp.LeaderEpoch, PartitionEpoch: rp.PartitionEpoch, ISR: rp.ISR,
			}
			if rp.ErrorCode != 0 {
				ok = false
				b.log.Info("ISR change refused", "topic", p.Topic(), "partition", p.Index(), "isr", batch[p].proposal.ISR, "err", kerr.ErrorForCode(rp.ErrorCode))
			} else {
				b.log.Info("ISR changed", "topic", p.Topic(), "partition", p.Index(), "isr", rp.ISR, "partition_epoch", rp.PartitionEpoch)
			}
		}
	}
	for _, p := range parts {
		it := batch[p]
		if _, answered := results[p]; !answered {
			results[p] = replica.AlterPartitionResult{ID: it.proposal.ID, Err: kerr.UnknownServerError.Code}
			ok = false
		}
	}
	return results, ok
}
