package metadata

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/weir-dev/weir/internal/checksum"
)

// A snapshot is an image written as the records that rebuild it:
//
//	"WMS1" | index u64 | term u64 | batch (see codec.go) | CRC-32C of all before
//
// The records are in a fixed order (cluster, features by name, brokers by
// id, the producer-id counter, topics by name with their configs by key
// and their partitions by index), so one image always encodes to the same
// bytes and two nodes' images can be compared by their snapshots.

var snapshotMagic = [4]byte{'W', 'M', 'S', '1'}

const snapshotHeader = 4 + 8 + 8

// EncodeSnapshot appends img's snapshot to dst.
func EncodeSnapshot(dst []byte, img *Image) []byte {
	start := len(dst)
	dst = append(dst, snapshotMagic[:]...)
	dst = binary.BigEndian.AppendUint64(dst, img.offset.Index)
	dst = binary.BigEndian.AppendUint64(dst, img.offset.Term)
	dst = EncodeBatch(dst, img.Records())
	return checksum.Append(dst, start)
}

// Records returns the records that rebuild img from an empty image.
func (img *Image) Records() []Record {
	var out []Record
	if img.clusterID != "" {
		out = append(out, &ClusterRecord{ClusterID: img.clusterID})
	}
	for _, name := range slices.Sorted(maps.Keys(img.features)) {
		out = append(out, &FeatureLevelRecord{Name: name, Level: img.features[name]})
	}
	for _, b := range img.brokerList {
		out = append(out, &RegisterBrokerRecord{
			NodeID: b.ID, Epoch: b.Epoch, IncarnationID: b.IncarnationID, Listeners: b.Listeners,
			Rack: b.Rack, Fenced: b.Fenced, InControlledShutdown: b.InControlledShutdown,
		})
	}
	if img.nextProducerID != 0 {
		out = append(out, &ProducerIDsRecord{BrokerID: -1, BrokerEpoch: -1, NextProducerID: img.nextProducerID})
	}
	for _, t := range img.topicList {
		out = append(out, &TopicRecord{Name: t.Name, ID: t.ID})
		for _, k := range slices.Sorted(maps.Keys(t.Overrides)) {
			out = append(out, &ConfigRecord{Resource: ResourceTopic, Name: t.Name, Key: k, Value: t.Overrides[k]})
		}
		for i, p := range t.Partitions {
			out = append(out, &PartitionRecord{
				TopicID: t.ID, Partition: int32(i), Replicas: p.Replicas, ISR: p.ISR,
				ELR: p.ELR, LastKnownELR: p.LastKnownELR,
				Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch,
			})
		}
	}
	return out
}

// DecodeSnapshot rebuilds an image from its snapshot, resolving configs
// with defaults. Bytes that are not exactly one snapshot fail with
// ErrCorrupt; records that do not rebuild a consistent image with
// ErrApply.
func DecodeSnapshot(b []byte, defaults *Defaults) (*Image, error) {
	body, got, stored, ok := checksum.Split(b)
	if !ok {
		return nil, corrupt("snapshot checksum %08x, stored %08x", got, stored)
	}
	if len(body) < snapshotHeader || [4]byte(body[:4]) != snapshotMagic {
		return nil, corrupt("not a metadata snapshot")
	}
	off := Offset{Index: binary.BigEndian.Uint64(body[4:]), Term: binary.BigEndian.Uint64(body[12:])}
	records, err := DecodeBatch(body[snapshotHeader:])
	if err != nil {
		return nil, err
	}
	img := Empty(defaults)
	bld := newBuilder(img)
	for i, r := range records {
		if err := bld.apply(r); err != nil {
			return nil, fmt.Errorf("snapshot record %d (%v): %w", i, r, err)
		}
	}
	// A snapshot states brokers and topics whole, so the builder's
	// lists must be built even if no record touched them.
	bld.brokersCopied, bld.topicsChanged = true, true
	return bld.finish(off), nil
}
