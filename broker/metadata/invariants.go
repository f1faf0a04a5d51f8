package metadata

import (
	"fmt"
	"slices"
)

// CheckImage verifies the rules every image the controller builds keeps:
// for every partition, replicas are distinct, the ISR is a subset of the
// replicas without duplicates, the leader is NoLeader or a member of the
// ISR, and epochs are not negative.
func CheckImage(img *Image) error {
	for _, t := range img.topicList {
		for i, p := range t.Partitions {
			if err := CheckPartition(p); err != nil {
				return fmt.Errorf("%s/%d: %w", t.Name, i, err)
			}
		}
	}
	return nil
}

// CheckPartition verifies one partition's rules (see CheckImage).
func CheckPartition(p *Partition) error {
	if hasDuplicates(p.Replicas) {
		return fmt.Errorf("replicas %v repeat a broker", p.Replicas)
	}
	if hasDuplicates(p.ISR) {
		return fmt.Errorf("isr %v repeats a broker", p.ISR)
	}
	for _, r := range p.ISR {
		if !slices.Contains(p.Replicas, r) {
			return fmt.Errorf("isr %v is not a subset of replicas %v", p.ISR, p.Replicas)
		}
	}
	if p.Leader != NoLeader && !slices.Contains(p.ISR, p.Leader) {
		return fmt.Errorf("leader %d is not in isr %v", p.Leader, p.ISR)
	}
	if p.LeaderEpoch < 0 || p.PartitionEpoch < 0 {
		return fmt.Errorf("negative epoch: leader epoch %d, partition epoch %d", p.LeaderEpoch, p.PartitionEpoch)
	}
	return nil
}

// CheckTransition verifies what may change from one image to a later one:
// the offset grows, a partition that exists in both keeps or raises its
// epochs, a leader change raises the leader epoch, any change of leader,
// ISR, replicas or ELR raises the partition epoch, a broker's epoch never
// falls, and the next producer id never falls.
func CheckTransition(old, next *Image) error {
	if next.offset.Index < old.offset.Index || next.offset.Term < old.offset.Term {
		return fmt.Errorf("offset went back from %+v to %+v", old.offset, next.offset)
	}
	if next.nextProducerID < old.nextProducerID {
		return fmt.Errorf("next producer id went back from %d to %d", old.nextProducerID, next.nextProducerID)
	}
	for id, ob := range old.brokers {
		if nb, ok := next.brokers[id]; ok && nb.Epoch < ob.Epoch {
			return fmt.Errorf("broker %d epoch went back from %d to %d", id, ob.Epoch, nb.Epoch)
		}
	}
	for id, ot := range old.byID {
		nt, ok := next.byID[id]
		if !ok || nt == ot {
			continue
		}
		for i, op := range ot.Partitions {
			if i >= len(nt.Partitions) {
				return fmt.Errorf("%s lost partition %d", nt.Name, i)
			}
			if err := CheckPartitionTransition(op, nt.Partitions[i]); err != nil {
				return fmt.Errorf("%s/%d: %w", nt.Name, i, err)
			}
		}
	}
	return nil
}

// CheckPartitionTransition verifies one partition's change (see
// CheckTransition).
func CheckPartitionTransition(op, np *Partition) error {
	if op == np {
		return nil
	}
	if np.LeaderEpoch < op.LeaderEpoch || np.PartitionEpoch < op.PartitionEpoch {
		return fmt.Errorf("epochs went back: leader epoch %d->%d, partition epoch %d->%d",
			op.LeaderEpoch, np.LeaderEpoch, op.PartitionEpoch, np.PartitionEpoch)
	}
	if np.Leader != op.Leader && np.LeaderEpoch == op.LeaderEpoch {
		return fmt.Errorf("leader changed %d->%d in leader epoch %d", op.Leader, np.Leader, np.LeaderEpoch)
	}
	changed := np.Leader != op.Leader || !slices.Equal(np.ISR, op.ISR) ||
		!slices.Equal(np.Replicas, op.Replicas) || !slices.Equal(np.ELR, op.ELR)
	if changed && np.PartitionEpoch == op.PartitionEpoch {
		return fmt.Errorf("partition changed (leader %d->%d, isr %v->%v) in partition epoch %d",
			op.Leader, np.Leader, op.ISR, np.ISR, np.PartitionEpoch)
	}
	return nil
}

func hasDuplicates(s []int32) bool {
	for i := range s {
		if slices.Contains(s[i+1:], s[i]) {
			return true
		}
	}
	return false
}

// CheckLeaderRequests verifies, for an entry's records applied to img (the
// image right before them), that every change a leader asked for
// (PartitionChangeRecord.Request) replaces the state its request named:
// the requester is a registered broker at the broker epoch it named, it
// leads the partition, and the partition is at the leader epoch and the
// partition epoch it named. The controller fences AlterPartition by
// exactly these (KIP-497); a change it accepted from a stale partition
// epoch was computed from an ISR that no longer holds, and overwrites the
// changes made since (a broker the controller removed comes back).
// Records without a Request are not judged. Records are taken in order,
// so a change sees what the records before it in the entry did; a record
// that does not apply ends the check (Apply reports it).
func CheckLeaderRequests(img *Image, records []Record) error {
	b := newBuilder(img)
	for _, r := range records {
		if c, ok := r.(*PartitionChangeRecord); ok && c.Request != nil {
			if err := checkLeaderRequest(b.img, c); err != nil {
				return err
			}
		}
		if b.apply(r) != nil {
			return nil
		}
	}
	return nil
}

func checkLeaderRequest(img *Image, c *PartitionChangeRecord) error {
	q := c.Request
	p, ok := img.Partition(c.TopicID, c.Partition)
	if !ok {
		return nil // Apply refuses the record
	}
	name := c.TopicID.String()
	if t, ok := img.TopicByID(c.TopicID); ok {
		name = t.Name
	}
	where := fmt.Sprintf("%s/%d: broker %d's ISR change to %v (partition epoch %d)", name, c.Partition, q.BrokerID, c.ISR, c.PartitionEpoch)
	switch br, ok := img.Broker(q.BrokerID); {
	case !ok || br.Epoch != q.BrokerEpoch:
		return fmt.Errorf("%s at broker epoch %d was accepted; the broker's epoch is %d", where, q.BrokerEpoch, brokerEpoch(br))
	case p.Leader != q.BrokerID:
		return fmt.Errorf("%s was accepted; the leader is %d", where, p.Leader)
	case p.LeaderEpoch != q.LeaderEpoch:
		return fmt.Errorf("%s in leader epoch %d was accepted in leader epoch %d", where, q.LeaderEpoch, p.LeaderEpoch)
	case p.PartitionEpoch != q.PartitionEpoch:
		return fmt.Errorf("%s was computed from partition epoch %d and accepted at partition epoch %d (ISR %v): a stale ISR change", where, q.PartitionEpoch, p.PartitionEpoch, p.ISR)
	}
	return nil
}

func brokerEpoch(br *Broker) int64 {
	if br == nil {
		return -1
	}
	return br.Epoch
}
