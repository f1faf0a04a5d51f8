package group

import (
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record versions written, as Kafka 3.x/4.0 writes them: the key version
// says what the record is (0-1 an offset commit, 2 group metadata; 3 and up
// are KIP-848 records, which this coordinator does not write yet).
const (
	offsetCommitKeyVersion       = 1
	offsetCommitValueVersion     = 3 // with the leader epoch
	offsetCommitValueExpireVer   = 1 // with an explicit expire timestamp (OffsetCommit v2-4 retention)
	groupMetadataKeyVersion      = 2
	groupMetadataValueVersion    = 3 // with instance ids (static members)
	maxKnownOffsetCommitValueVer = 4
	maxKnownGroupMetadataVer     = 4
)

// ErrLoaded is returned by Replay after FinishLoad.
var ErrLoaded = errors.New("group: shard already loaded")

func (s *Shard) offsetCommitRecord(group, topic string, partition int32, oc *offsetCommit) Record {
	if s.cfg.Defects.DropLeaderEpoch {
		c := *oc
		c.leaderEpoch = -1
		oc = &c
	}
	return offsetCommitRecord(group, topic, partition, oc)
}

func offsetCommitRecord(group, topic string, partition int32, oc *offsetCommit) Record {
	k := kmsg.OffsetCommitKey{Version: offsetCommitKeyVersion, Group: group, Topic: topic, Partition: partition}
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetCommitValueVersion
	v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp = oc.offset, oc.leaderEpoch, oc.metadata, oc.commitMs
	if oc.expireMs >= 0 {
		v.Version, v.ExpireTimestamp = offsetCommitValueExpireVer, oc.expireMs
	}
	return Record{Key: k.AppendTo(nil), Value: v.AppendTo(nil)}
}

func offsetTombstone(group, topic string, partition int32) Record {
	k := kmsg.OffsetCommitKey{Version: offsetCommitKeyVersion, Group: group, Topic: topic, Partition: partition}
	return Record{Key: k.AppendTo(nil)}
}

func groupMetadataRecord(g *group, nowMs int64) Record {
	k := kmsg.GroupMetadataKey{Version: groupMetadataKeyVersion, Group: g.id}
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupMetadataValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	if g.protocol != "" {
		p := g.protocol
		v.Protocol = &p
	}
	if g.leader != "" {
		l := g.leader
		v.Leader = &l
	}
	v.CurrentStateTimestamp = g.stateSinceMs
	for _, m := range g.members {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID, vm.InstanceID = m.id, m.instanceID
		vm.ClientID, vm.ClientHost = m.clientID, m.clientHost
		vm.RebalanceTimeoutMillis, vm.SessionTimeoutMillis = m.rebalanceTimeoutMs, m.sessionTimeoutMs
		vm.Subscription = m.metadataFor(g.protocol)
		if vm.Subscription == nil {
			vm.Subscription = []byte{}
		}
		vm.Assignment = m.assignment
		if vm.Assignment == nil {
			vm.Assignment = []byte{}
		}
		v.Members = append(v.Members, vm)
	}
	return Record{Key: k.AppendTo(nil), Value: v.AppendTo(nil)}
}

// emptyGroupRecord is the record of a group a join just created: its
// protocol type, generation 0, no members (Kafka's
// newEmptyGroupMetadataRecord).
func emptyGroupRecord(g *group) Record {
	k := kmsg.GroupMetadataKey{Version: groupMetadataKeyVersion, Group: g.id}
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupMetadataValueVersion
	v.ProtocolType = g.protocolType
	v.CurrentStateTimestamp = g.stateSinceMs
	return Record{Key: k.AppendTo(nil), Value: v.AppendTo(nil)}
}

func groupTombstone(group string) Record {
	k := kmsg.GroupMetadataKey{Version: groupMetadataKeyVersion, Group: group}
	return Record{Key: k.AppendTo(nil)}
}

// Replay applies one record read back from the shard's partition, in log
// order, while loading. Record types it does not know are skipped (counted
// by Skipped); a record of a known type that does not decode is an error,
// and the caller decides whether to stop loading. Replay copies what it
// keeps.
func (s *Shard) Replay(key, value []byte) error {
	if !s.loading {
		return ErrLoaded
	}
	s.replayPos++
	r := kbin.Reader{Src: key}
	version := r.Int16()
	if !r.Ok() {
		return fmt.Errorf("group: record key of %d bytes has no version", len(key))
	}
	switch version {
	case 0, 1:
		return s.replayOffset(key, value)
	case 2:
		return s.replayGroup(key, value)
	case cgMetadataKey, cgPartitionMetadataKey, cgMemberMetadataKey, cgTargetMetadataKey, cgTargetMemberKey, cgCurrentMemberKey:
		return s.replayConsumer(version, key, value)
	}
	s.skipped++
	return nil
}

// Skipped is how many records Replay did not understand.
func (s *Shard) Skipped() int { return s.skipped }

func (s *Shard) replayOffset(key, value []byte) error {
	k, oc, err := s.decodeOffset(key, value)
	if err != nil {
		return err
	}
	if oc == nil {
		if g := s.groups[k.Group]; g != nil {
			g.deleteOffset(k.Topic, k.Partition)
		}
		return nil
	}
	g := s.groups[k.Group]
	if g == nil {
		// Offsets of a group without membership: a simple group.
		g = newGroup(k.Group, -1)
		s.groups[g.id] = g
	}
	if s.cfg.Defects.LoadFirstCommit && g.offsets[k.Topic][k.Partition] != nil {
		return nil // DEFECT: a later commit of the partition is dropped
	}
	g.setOffset(k.Topic, k.Partition, oc)
	return nil
}

// decodeOffset decodes an offset commit record read back at the current
// replay position; oc is nil for a tombstone.
func (s *Shard) decodeOffset(key, value []byte) (kmsg.OffsetCommitKey, *offsetCommit, error) {
	var k kmsg.OffsetCommitKey
	if err := k.ReadFrom(key); err != nil {
		return k, nil, fmt.Errorf("group: offset commit key: %w", err)
	}
	if value == nil {
		return k, nil, nil
	}
	var v kmsg.OffsetCommitValue
	if err := v.ReadFrom(value); err != nil {
		return k, nil, fmt.Errorf("group %q: offset commit value: %w", k.Group, err)
	}
	if v.Version < 0 || v.Version > maxKnownOffsetCommitValueVer {
		return k, nil, fmt.Errorf("group %q: offset commit value version %d is unknown", k.Group, v.Version)
	}
	oc := &offsetCommit{offset: v.Offset, leaderEpoch: -1, metadata: v.Metadata, commitMs: v.CommitTimestamp, expireMs: -1, logOffset: s.replayPos}
	if v.Version >= 3 {
		oc.leaderEpoch = v.LeaderEpoch
	}
	if v.Version == 1 {
		oc.expireMs = v.ExpireTimestamp
	}
	return k, oc, nil
}

func (s *Shard) replayGroup(key, value []byte) error {
	var k kmsg.GroupMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return fmt.Errorf("group: group metadata key: %w", err)
	}
	old := s.groups[k.Group]
	if value == nil {
		// Offsets are records of their own: a group whose record was
		// deleted keeps those still live, as an offsets-only group (the
		// coordinator tombstones them first, but a log is only read here).
		delete(s.groups, k.Group)
		if old != nil && len(old.offsets) > 0 {
			g := newGroup(k.Group, -1)
			g.offsets = old.offsets
			s.groups[g.id] = g
		}
		return nil
	}
	var v kmsg.GroupMetadataValue
	if err := v.ReadFrom(value); err != nil {
		return fmt.Errorf("group %q: group metadata value: %w", k.Group, err)
	}
	if v.Version < 0 || v.Version > maxKnownGroupMetadataVer {
		return fmt.Errorf("group %q: group metadata value version %d is unknown", k.Group, v.Version)
	}
	g := newGroup(k.Group, v.CurrentStateTimestamp)
	if old != nil {
		g.offsets = old.offsets
	}
	g.protocolType, g.generation = v.ProtocolType, v.Generation
	if v.Protocol != nil {
		g.protocol = *v.Protocol
	}
	for _, vm := range v.Members {
		m := &member{
			id: vm.MemberID, instanceID: vm.InstanceID, clientID: vm.ClientID, clientHost: vm.ClientHost,
			rebalanceTimeoutMs: vm.RebalanceTimeoutMillis, sessionTimeoutMs: vm.SessionTimeoutMillis,
			protocolType: g.protocolType,
			// The value's byte fields alias the caller's buffer.
			protocols:  []protocol{{name: g.protocol, metadata: append([]byte{}, vm.Subscription...)}},
			assignment: append([]byte{}, vm.Assignment...),
		}
		if m.rebalanceTimeoutMs < 0 {
			m.rebalanceTimeoutMs = m.sessionTimeoutMs // v0 records had none
		}
		g.add(m, nil, 0)
	}
	if v.Leader != nil && g.byID[*v.Leader] != nil {
		g.leader = *v.Leader
	}
	if len(g.members) > 0 {
		g.state = Stable
	}
	s.groups[g.id] = g
	return nil
}

// FinishLoad ends loading: endOffset is the partition's log end (and all
// of it is durable), where the shard's next batch goes. Groups come back
// Empty or Stable, as the last record left them; every member's session
// restarts now, so members that died with the old coordinator expire.
func (s *Shard) FinishLoad(nowMs int64, endOffset int64) Output {
	return s.FinishLoadDurable(nowMs, endOffset, endOffset)
}

// FinishLoadDurable is FinishLoad for a log durable only up to durable
// (its high watermark, below endOffset on a leader whose followers have
// not caught up): the state loaded from the records beyond it is not
// durable yet, so answers wait, as for the shard's own records, until
// Durable reports endOffset.
func (s *Shard) FinishLoadDurable(nowMs int64, endOffset, durable int64) Output {
	if nowMs > s.now {
		s.now = nowMs
	}
	s.loading = false
	s.nextOffset, s.durable = endOffset, min(durable, endOffset)
	for _, id := range s.sortedGroupIDs() {
		g := s.groups[id]
		if g.stateSinceMs < 0 {
			g.stateSinceMs = s.now
		}
		if g.cg != nil {
			s.finishConsumerLoad(g)
			continue
		}
		g.computeSubscribed()
		for _, m := range g.members {
			s.rescheduleSession(g, m, int64(m.sessionTimeoutMs))
		}
	}
	s.scheduleOffsetExpiry()
	return Output{}
}

// Loading reports whether the shard still waits for FinishLoad.
func (s *Shard) Loading() bool { return s.loading }

// Dump describes every group and its offsets, one line each, sorted: for
// tests and debugging.
func (s *Shard) Dump() string {
	var b strings.Builder
	for _, id := range s.sortedGroupIDs() {
		g := s.groups[id]
		if g.cg != nil {
			b.WriteString(g.id + " consumer\n")
			g.cg.dump(&b, g.cg.topicName)
		} else {
			b.WriteString(g.String())
			b.WriteByte('\n')
		}
		for _, m := range g.members {
			fmt.Fprintf(&b, "  member %s client=%s session=%d rebalance=%d", m.id, m.clientID, m.sessionTimeoutMs, m.rebalanceTimeoutMs)
			if m.instanceID != nil {
				fmt.Fprintf(&b, " instance=%s", *m.instanceID)
			}
			if len(m.assignment) > 0 {
				fmt.Fprintf(&b, " assignment=%q", m.assignment)
			}
			b.WriteByte('\n')
		}
		for _, t := range g.sortedTopics() {
			for _, p := range sortedPartitions(g.offsets[t]) {
				oc := g.offsets[t][p]
				fmt.Fprintf(&b, "  offset %s/%d=%d epoch=%d", t, p, oc.offset, oc.leaderEpoch)
				if oc.metadata != "" {
					fmt.Fprintf(&b, " metadata=%q", oc.metadata)
				}
				if oc.expireMs >= 0 {
					fmt.Fprintf(&b, " expire=%d", oc.expireMs)
				}
				b.WriteByte('\n')
			}
		}
	}
	for _, line := range s.dumpPending() {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}
