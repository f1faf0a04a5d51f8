package world

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/record"
)

// replicaRecord is what the replicas of a partition must agree on for one
// record below the leader's high watermark.
type replicaRecord struct {
	offset int64
	// digest covers the batch's leader epoch, producer id and epoch,
	// transactional and control bits, and the record's key, value and
	// headers.
	digest uint64
	// timestamp is the record's; -1 in a batch whose timestamps a
	// cleaner rewrote (a tombstone's delete horizon, KIP-534), which one
	// replica's cleaner may have done and another's not yet.
	timestamp int64
}

// errPastHW ends a walk of a replica's batches at the high watermark.
var errPastHW = errors.New("past the high watermark")

// replicasAgree checks every partition of img (which metadataConverged
// found led, with every replica in sync) the way Kafka's promise to an
// ISR reads: every replica's log reaches the leader's high watermark, and
// below it every record two replicas both hold is the same record, at the
// same offset, written in the same leader epoch. A replica that holds a
// record the leader does not, or lacks one the leader holds, differs too,
// except on a compacted topic, whose replicas each run their own cleaner,
// as Kafka's do. Below the later of two replicas' log starts nothing is
// compared: retention and DeleteRecords move each log start on its own.
//
// The cheap part (every log end at or past its leader's high watermark)
// runs first for every partition, so that a cluster still catching up is
// told so without reading every log.
func (w *World) replicasAgree(img *metadata.Image) error {
	type partition struct {
		topic     string
		index     int32
		replicas  []int32
		leader    int32
		hw        int64
		compacted bool
	}
	var parts []partition
	for _, t := range img.Topics() {
		for i, p := range t.Partitions {
			lb, err := w.brokerByID(p.Leader)
			if err != nil {
				return err
			}
			_, hw, ok := lb.LogEnds(t.Name, int32(i))
			if !ok {
				return fmt.Errorf("partition %s/%d: its leader %s holds no replica", t.Name, i, w.NodeName(p.Leader))
			}
			for _, r := range p.Replicas {
				rb, err := w.brokerByID(r)
				if err != nil {
					return err
				}
				end, _, ok := rb.LogEnds(t.Name, int32(i))
				if !ok || end < hw {
					return fmt.Errorf("partition %s/%d: %s's replica ends at %d, below the high watermark %d of its leader %s", t.Name, i, w.NodeName(r), end, hw, w.NodeName(p.Leader))
				}
			}
			parts = append(parts, partition{t.Name, int32(i), p.Replicas, p.Leader, hw, strings.Contains(t.Config.CleanupPolicy, "compact")})
		}
	}
	var codecs record.Codecs
	defer codecs.Close()
	read := 0 // records of followers read
	for _, p := range parts {
		lb, _ := w.brokerByID(p.leader)
		lstart, want, err := replicaRecords(batchesOf(lb, p.topic, p.index), p.hw, &codecs)
		if err != nil {
			return fmt.Errorf("partition %s/%d on its leader %s: %w", p.topic, p.index, w.NodeName(p.leader), err)
		}
		for _, r := range p.replicas {
			if r == p.leader {
				continue
			}
			rb, _ := w.brokerByID(r)
			start, got, err := replicaRecords(batchesOf(rb, p.topic, p.index), p.hw, &codecs)
			if err != nil {
				return fmt.Errorf("partition %s/%d on %s: %w", p.topic, p.index, w.NodeName(r), err)
			}
			if at, why := compareReplicas(want, got, max(lstart, start), p.compacted); why != "" {
				return fmt.Errorf("partition %s/%d: %s's replica differs from its leader %s's at offset %d, below the high watermark %d: %s", p.topic, p.index, w.NodeName(r), w.NodeName(p.leader), at, p.hw, why)
			}
			read += len(got)
		}
	}
	w.Tracef("replicas agree below their leaders' high watermarks: %d partitions, %d records of followers read", len(parts), read)
	return nil
}

// brokerByID is the running broker of the node with this id.
func (w *World) brokerByID(id int32) (*broker.Broker, error) {
	for _, n := range w.brokers() {
		if n.id != id {
			continue
		}
		n.mu.Lock()
		b := n.b
		n.mu.Unlock()
		if b == nil {
			return nil, fmt.Errorf("%s is down", n.name)
		}
		return b, nil
	}
	return nil, fmt.Errorf("no broker has id %d", id)
}

// batchWalk calls fn on every batch of a replica in offset order, until
// fn returns an error.
type batchWalk func(fn func(*record.Batch) error) error

// batchesOf walks broker b's replica of a partition.
func batchesOf(b *broker.Broker, topic string, index int32) batchWalk {
	return func(fn func(*record.Batch) error) error {
		_, err := b.ReplicaBatches(topic, index, fn)
		return err
	}
}

// replicaRecords reads a replica below hw: the offset of its first batch
// (-1 when it has none) and its records in offset order.
func replicaRecords(walk batchWalk, hw int64, codecs *record.Codecs) (start int64, out []replicaRecord, err error) {
	start = -1
	var buf []byte
	err = walk(func(bt *record.Batch) error {
		if start < 0 {
			start = bt.FirstOffset
		}
		if bt.FirstOffset >= hw {
			return errPastHW
		}
		data, err := bt.RecordsData(codecs, buf[:0], 1<<30)
		if err != nil {
			return fmt.Errorf("batch at %d: %w", bt.FirstOffset, err)
		}
		if bt.Compression() != record.CodecNone {
			buf = data
		}
		for rest := data; len(rest) > 0; {
			var r record.Record
			if r, rest, err = record.NextRecord(rest); err != nil {
				return fmt.Errorf("batch at %d: %w", bt.FirstOffset, err)
			}
			if off := bt.FirstOffset + int64(r.OffsetDelta); off < hw {
				out = append(out, recordOf(bt, &r, off))
			}
		}
		return nil
	})
	if errors.Is(err, errPastHW) {
		err = nil
	}
	return start, out, err
}

// recordOf is what replicas must agree on of record r at offset off of
// batch bt.
func recordOf(bt *record.Batch, r *record.Record, off int64) replicaRecord {
	h := fnv.New64a()
	var head [15]byte
	binary.BigEndian.PutUint32(head[0:], uint32(bt.PartitionLeaderEpoch))
	binary.BigEndian.PutUint64(head[4:], uint64(bt.ProducerID))
	binary.BigEndian.PutUint16(head[12:], uint16(bt.ProducerEpoch))
	head[14] = byte(bt.Attributes & (record.TransactionalBit | record.ControlBit))
	h.Write(head[:])
	for _, field := range [][]byte{r.Key, r.Value, r.Headers} {
		var n [9]byte // a null field is not an empty one
		k := binary.PutVarint(n[:], int64(len(field)))
		if field == nil {
			k = binary.PutVarint(n[:], -1)
		}
		h.Write(n[:k])
		h.Write(field)
	}
	ts := bt.FirstTimestamp + r.TimestampDelta
	if bt.Attributes&record.DeleteHorizonBit != 0 {
		ts = -1
	}
	return replicaRecord{offset: off, digest: h.Sum64(), timestamp: ts}
}

// compareReplicas walks a leader's records (want) and a follower's (got),
// both in offset order, from offset from, and returns the first offset
// where they differ and why; why is "" when they agree. On a compacted
// topic an offset only one of them holds is not a difference.
func compareReplicas(want, got []replicaRecord, from int64, compacted bool) (at int64, why string) {
	i, j := 0, 0
	for i < len(want) && want[i].offset < from {
		i++
	}
	for j < len(got) && got[j].offset < from {
		j++
	}
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || (i < len(want) && want[i].offset < got[j].offset):
			if !compacted {
				return want[i].offset, "the leader holds a record there that the replica lacks"
			}
			i++
		case i == len(want) || got[j].offset < want[i].offset:
			if !compacted {
				return got[j].offset, "the replica holds a record there that the leader lacks"
			}
			j++
		default:
			a, b := want[i], got[j]
			switch {
			case a.digest != b.digest:
				return a.offset, "different records (key, value, headers, producer or leader epoch)"
			case a.timestamp >= 0 && b.timestamp >= 0 && a.timestamp != b.timestamp:
				return a.offset, fmt.Sprintf("timestamp %d, the leader's %d", b.timestamp, a.timestamp)
			}
			i, j = i+1, j+1
		}
	}
	return 0, ""
}
