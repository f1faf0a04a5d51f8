package controller

import (
	"slices"

	"github.com/weir-dev/weir/broker/metadata"
)

// batch collects the records of one decision and shows their effect on
// brokers and partitions to the rest of that decision, without building
// an image per record: fencing two brokers in one tick must elect
// leaders that are neither.
type batch struct {
	img     *metadata.Image
	records []metadata.Record
	brokers map[int32]*metadata.Broker
	parts   map[partKey]*metadata.Partition
	changes map[partKey]int // index in records of a partition's change
}

type partKey struct {
	id    metadata.TopicID
	index int32
}

func newBatch(img *metadata.Image) *batch {
	return &batch{img: img, brokers: map[int32]*metadata.Broker{}, parts: map[partKey]*metadata.Partition{}, changes: map[partKey]int{}}
}

func (b *batch) add(r ...metadata.Record) { b.records = append(b.records, r...) }

func (b *batch) broker(id int32) (*metadata.Broker, bool) {
	if br, ok := b.brokers[id]; ok {
		return br, true
	}
	return b.img.Broker(id)
}

// active reports whether id may lead or join an ISR.
func (b *batch) active(id int32) bool {
	br, ok := b.broker(id)
	return ok && br.Active()
}

// updateBroker records a broker's state after a record of this batch.
func (b *batch) updateBroker(id int32, f func(*metadata.Broker)) {
	br, ok := b.broker(id)
	if !ok {
		return
	}
	c := *br
	f(&c)
	b.brokers[id] = &c
}

func (b *batch) partition(id metadata.TopicID, index int32) *metadata.Partition {
	if p, ok := b.parts[partKey{id, index}]; ok {
		return p
	}
	p, _ := b.img.Partition(id, index)
	return p
}

// forEachPartition visits every partition in topic-name, index order, as
// changed so far by the batch.
func (b *batch) forEachPartition(f func(t *metadata.Topic, index int32, p *metadata.Partition)) {
	for _, t := range b.img.Topics() {
		for i := range t.Partitions {
			f(t, int32(i), b.partition(t.ID, int32(i)))
		}
	}
}

// change makes a partition's leader and ISR leader and isr, raising the
// epochs as Kafka does: a leader change raises the leader epoch, any
// change the partition epoch. A decision writes at most one record per
// partition: a second change of the same partition in one batch rewrites
// the first record, with epochs counted from the image, so fencing two
// brokers in one tick raises an epoch once. No change, no record.
func (c *Controller) change(b *batch, id metadata.TopicID, index int32, leader int32, isr []int32) *metadata.Partition {
	key := partKey{id, index}
	orig, _ := b.img.Partition(id, index)
	cur := b.partition(id, index)
	if leader == cur.Leader && slices.Equal(isr, cur.ISR) {
		return cur
	}
	next := *orig
	next.Leader, next.ISR = leader, slices.Clone(isr)
	next.PartitionEpoch++
	r := &metadata.PartitionChangeRecord{TopicID: id, Partition: index, Leader: metadata.NoLeaderChange}
	if leader != orig.Leader {
		r.Leader = leader
		if !c.cfg.Defects.ReuseLeaderEpoch {
			next.LeaderEpoch++
		}
	}
	if !slices.Equal(isr, orig.ISR) {
		r.ISR = next.ISR
	}
	r.LeaderEpoch, r.PartitionEpoch = next.LeaderEpoch, next.PartitionEpoch
	b.parts[key] = &next
	if i, ok := b.changes[key]; ok {
		b.records[i] = r
	} else {
		b.changes[key] = len(b.records)
		b.add(r)
	}
	return &next
}

// requested marks this batch's change of a partition as the one its
// leader asked for with q (AlterPartition). A request that changed
// nothing wrote no record, and there is nothing to mark.
func (b *batch) requested(id metadata.TopicID, index int32, q *metadata.LeaderRequest) {
	if i, ok := b.changes[partKey{id, index}]; ok {
		b.records[i].(*metadata.PartitionChangeRecord).Request = q
	}
}

// electFrom picks a leader for p among isr, in replica order (the
// preferred replica first), skipping inactive brokers and exclude. With
// unclean, and no ISR member available, any active replica will do; its
// ISR then becomes just itself. It returns NoLeader when nobody can lead.
func electFrom(b *batch, p *metadata.Partition, isr []int32, exclude int32, unclean bool) (leader int32, newISR []int32) {
	for _, r := range p.Replicas {
		if r != exclude && slices.Contains(isr, r) && b.active(r) {
			return r, isr
		}
	}
	if unclean {
		for _, r := range p.Replicas {
			if r != exclude && b.active(r) {
				return r, []int32{r}
			}
		}
	}
	return metadata.NoLeader, isr
}

// unclean reports whether t's partitions may elect from outside the ISR:
// its unclean.leader.election.enable, or the ElectOutsideISR defect.
func (c *Controller) unclean(t *metadata.Topic) bool {
	return t.Config.UncleanLeaderElectionEnable || c.cfg.Defects.ElectOutsideISR // DEFECT when only the latter
}

// removeFromPartitions takes a broker that is being fenced or shut down out
// of leadership and ISRs: it leaves every ISR it is not the last member
// of, and every partition it leads gets the next ISR member as leader, or
// no leader. The last ISR member stays in the ISR so that it can lead
// again when it returns (clean election).
func (c *Controller) removeFromPartitions(b *batch, id int32) {
	b.forEachPartition(func(t *metadata.Topic, index int32, p *metadata.Partition) {
		if p.Leader != id && !slices.Contains(p.ISR, id) {
			return
		}
		isr := p.ISR
		if len(isr) > 1 && slices.Contains(isr, id) {
			isr = slices.DeleteFunc(slices.Clone(isr), func(r int32) bool { return r == id })
		}
		leader := p.Leader
		if leader == id {
			leader, isr = electFrom(b, p, isr, id, c.unclean(t))
		}
		c.change(b, t.ID, index, leader, isr)
	})
}

// electOffline elects leaders for partitions that have none, after a
// broker became active.
func (c *Controller) electOffline(b *batch) {
	b.forEachPartition(func(t *metadata.Topic, index int32, p *metadata.Partition) {
		if p.HasLeader() {
			return
		}
		leader, isr := electFrom(b, p, p.ISR, metadata.NoLeader, c.unclean(t))
		if leader != metadata.NoLeader {
			c.change(b, t.ID, index, leader, isr)
		}
	})
}
