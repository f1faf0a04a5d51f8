package group

import (
	"errors"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kbin"
)

// The __consumer_offsets records of consumer groups, in Kafka's formats
// (group-coordinator/src/main/resources/common/message/ConsumerGroup*.json
// of Kafka 4.0). kmsg has no types for them, so they are encoded here with
// kbin's primitives, field by field as the schemas say: a key is its
// version (the record type, 3 to 8) and non-flexible strings; a value is
// version 0 of a flexible struct (compact strings and arrays, tagged
// fields, which are written empty and skipped when read).
const (
	cgMetadataKey          = 3 // ConsumerGroupMetadata: the group epoch
	cgPartitionMetadataKey = 4 // ConsumerGroupPartitionMetadata: subscription metadata
	cgMemberMetadataKey    = 5 // ConsumerGroupMemberMetadata: a member's subscription
	cgTargetMetadataKey    = 6 // ConsumerGroupTargetAssignmentMetadata: the assignment epoch
	cgTargetMemberKey      = 7 // ConsumerGroupTargetAssignmentMember: a member's target
	cgCurrentMemberKey     = 8 // ConsumerGroupCurrentMemberAssignment: a member's current state
	cgRegexKey             = 16
	cgValueVersion         = 0
)

func cgKey(version int16, group string, member *string) []byte {
	b := kbin.AppendInt16(nil, version)
	b = kbin.AppendString(b, group)
	if member != nil {
		b = kbin.AppendString(b, *member)
	}
	return b
}

func cgValue() []byte { return kbin.AppendInt16(nil, cgValueVersion) }

func noTags(b []byte) []byte { return kbin.AppendUvarint(b, 0) }

func groupEpochRecord(group string, epoch int32) Record {
	v := kbin.AppendInt32(cgValue(), epoch)
	return Record{Key: cgKey(cgMetadataKey, group, nil), Value: noTags(v)}
}

func partitionMetadataRecord(group string, sub map[string]subscribedTopic) Record {
	names := make([]string, 0, len(sub))
	for n := range sub {
		names = append(names, n)
	}
	sort.Strings(names)
	v := kbin.AppendCompactArrayLen(cgValue(), len(names))
	for _, n := range names {
		v = kbin.AppendUuid(v, sub[n].id)
		v = kbin.AppendCompactString(v, n)
		v = kbin.AppendInt32(v, sub[n].partitions)
		v = kbin.AppendCompactArrayLen(v, 0) // PartitionMetadata (racks): unused since 4.0
		v = noTags(v)
	}
	return Record{Key: cgKey(cgPartitionMetadataKey, group, nil), Value: noTags(v)}
}

func memberMetadataRecord(group string, m *consumerMember) Record {
	v := kbin.AppendCompactNullableString(cgValue(), m.instanceID)
	v = kbin.AppendCompactNullableString(v, m.rackID)
	v = kbin.AppendCompactString(v, m.clientID)
	v = kbin.AppendCompactString(v, m.clientHost)
	v = kbin.AppendCompactArrayLen(v, len(m.topicNames))
	for _, t := range m.topicNames {
		v = kbin.AppendCompactString(v, t)
	}
	v = kbin.AppendCompactNullableString(v, m.topicRegex)
	v = kbin.AppendInt32(v, m.rebalanceMs)
	v = kbin.AppendCompactNullableString(v, m.serverAssignor)
	id := m.id
	return Record{Key: cgKey(cgMemberMetadataKey, group, &id), Value: noTags(v)}
}

func targetEpochRecord(group string, epoch int32) Record {
	v := kbin.AppendInt32(cgValue(), epoch)
	return Record{Key: cgKey(cgTargetMetadataKey, group, nil), Value: noTags(v)}
}

func targetMemberRecord(group, member string, p partitions) Record {
	v := appendTopicPartitions(cgValue(), p)
	return Record{Key: cgKey(cgTargetMemberKey, group, &member), Value: noTags(v)}
}

func currentAssignmentRecord(group string, m *consumerMember) Record {
	v := kbin.AppendInt32(cgValue(), m.epoch)
	v = kbin.AppendInt32(v, m.previousEpoch)
	v = kbin.AppendInt8(v, int8(m.state))
	v = appendTopicPartitions(v, m.assigned)
	v = appendTopicPartitions(v, m.revoking)
	id := m.id
	return Record{Key: cgKey(cgCurrentMemberKey, group, &id), Value: noTags(v)}
}

func appendTopicPartitions(b []byte, p partitions) []byte {
	topics := p.sortedTopics()
	b = kbin.AppendCompactArrayLen(b, len(topics))
	for _, t := range topics {
		b = kbin.AppendUuid(b, t)
		b = kbin.AppendCompactArrayLen(b, len(p[t]))
		for _, x := range p[t] {
			b = kbin.AppendInt32(b, x)
		}
		b = noTags(b)
	}
	return b
}

func currentAssignmentTombstone(group, member string) Record {
	return Record{Key: cgKey(cgCurrentMemberKey, group, &member)}
}

func targetMemberTombstone(group, member string) Record {
	return Record{Key: cgKey(cgTargetMemberKey, group, &member)}
}

func memberMetadataTombstone(group, member string) Record {
	return Record{Key: cgKey(cgMemberMetadataKey, group, &member)}
}

// consumerGroupTombstones deletes a consumer group, in Kafka's order.
func consumerGroupTombstones(group string, cg *consumerGroup) []Record {
	var out []Record
	ids := cg.memberIDs()
	for _, id := range ids {
		out = append(out, currentAssignmentTombstone(group, id))
	}
	for _, id := range ids {
		out = append(out, targetMemberTombstone(group, id))
	}
	out = append(out, Record{Key: cgKey(cgTargetMetadataKey, group, nil)})
	for _, id := range ids {
		out = append(out, memberMetadataTombstone(group, id))
	}
	out = append(out, Record{Key: cgKey(cgPartitionMetadataKey, group, nil)})
	out = append(out, Record{Key: cgKey(cgMetadataKey, group, nil)})
	return out
}

// cgReader reads a record with kbin, remembering the first failure.
type cgReader struct{ kbin.Reader }

func (r *cgReader) skipTags() {
	n := r.Uvarint()
	for i := uint32(0); i < n && r.Ok(); i++ {
		r.Uvarint()
		r.Span(int(r.Uvarint()))
	}
}

// count reads a compact array length, refusing null and lengths the
// remaining bytes cannot hold (each element takes at least one byte).
func (r *cgReader) count() int {
	n := r.CompactArrayLen()
	if n < 0 || int(n) > len(r.Src) {
		r.Span(len(r.Src) + 1) // fails the reader
		return 0
	}
	return int(n)
}

func (r *cgReader) topicPartitions() partitions {
	p := partitions{}
	n := r.count()
	for i := 0; i < n && r.Ok(); i++ {
		t := r.Uuid()
		k := r.count()
		for j := 0; j < k && r.Ok(); j++ {
			p.add(t, r.Int32())
		}
		r.skipTags()
	}
	return p
}

var errTrailing = errors.New("trailing bytes")

// done checks the value was read whole.
func (r *cgReader) done() error {
	r.skipTags()
	if !r.Ok() {
		return errors.New("truncated or malformed")
	}
	if len(r.Src) != 0 {
		return errTrailing
	}
	return nil
}

// replayConsumer applies one consumer group record (key types 3-8).
func (s *Shard) replayConsumer(version int16, key, value []byte) error {
	kr := cgReader{kbin.Reader{Src: key}}
	kr.Int16()
	groupID := kr.String()
	var memberID string
	if version == cgMemberMetadataKey || version == cgTargetMemberKey || version == cgCurrentMemberKey {
		memberID = kr.String()
	}
	if !kr.Ok() || len(kr.Src) != 0 {
		return fmt.Errorf("group: consumer group record key (type %d) is malformed", version)
	}
	if value == nil {
		s.replayConsumerTombstone(version, groupID, memberID)
		return nil
	}
	r := cgReader{kbin.Reader{Src: value}}
	if v := r.Int16(); r.Ok() && v != cgValueVersion {
		return fmt.Errorf("group %q: consumer group record (type %d) value version %d is unknown", groupID, version, v)
	}
	cg := s.replayConsumerGroup(groupID)
	var apply func()
	switch version {
	case cgMetadataKey:
		epoch := r.Int32()
		apply = func() { cg.epoch = epoch }
	case cgPartitionMetadataKey:
		sub := map[string]subscribedTopic{}
		n := r.count()
		for i := 0; i < n && r.Ok(); i++ {
			id := r.Uuid()
			name := r.CompactString()
			parts := r.Int32()
			racks := r.count()
			for j := 0; j < racks && r.Ok(); j++ {
				r.Int32()
				for k, nr := 0, r.count(); k < nr && r.Ok(); k++ {
					r.CompactString()
				}
				r.skipTags()
			}
			r.skipTags()
			sub[name] = subscribedTopic{id: id, partitions: parts}
		}
		apply = func() { cg.setSubscription(sub) }
	case cgMemberMetadataKey:
		var m consumerMember
		m.instanceID = r.CompactNullableString()
		m.rackID = r.CompactNullableString()
		m.clientID = r.CompactString()
		m.clientHost = r.CompactString()
		n := r.count()
		for i := 0; i < n && r.Ok(); i++ {
			m.topicNames = append(m.topicNames, r.CompactString())
		}
		sort.Strings(m.topicNames)
		m.topicRegex = r.CompactNullableString()
		m.rebalanceMs = r.Int32()
		m.serverAssignor = r.CompactNullableString()
		apply = func() {
			cur := replayMember(cg, memberID)
			m.id, m.epoch, m.previousEpoch, m.state, m.assigned, m.revoking = cur.id, cur.epoch, cur.previousEpoch, cur.state, cur.assigned, cur.revoking
			*cur = m
			if m.instanceID != nil {
				cg.static[*m.instanceID] = m.id
			}
		}
	case cgTargetMetadataKey:
		epoch := r.Int32()
		apply = func() { cg.assignmentEpoch = epoch }
	case cgTargetMemberKey:
		p := r.topicPartitions()
		apply = func() { cg.target[memberID] = p }
	case cgCurrentMemberKey:
		epoch, prev, state := r.Int32(), r.Int32(), memberState(r.Int8())
		assigned, revoking := r.topicPartitions(), r.topicPartitions()
		apply = func() {
			m := replayMember(cg, memberID)
			m.epoch, m.previousEpoch, m.state, m.assigned, m.revoking = epoch, prev, state, assigned, revoking
		}
	}
	if err := r.done(); err != nil {
		return fmt.Errorf("group %q: consumer group record (type %d): %w", groupID, version, err)
	}
	apply()
	return nil
}

// replayConsumerGroup finds or makes the consumer group a record is for.
// A group known as classic (its offsets) becomes a consumer group: Kafka
// deleted its classic record before writing these.
func (s *Shard) replayConsumerGroup(id string) *consumerGroup {
	g := s.groups[id]
	if g == nil {
		g = newGroup(id, -1)
		s.groups[id] = g
	}
	if g.cg == nil {
		offsets := g.offsets
		*g = *newGroup(id, -1)
		g.offsets = offsets
		g.protocolType = consumerProtocolType
		g.cg = newConsumerGroup()
	}
	return g.cg
}

func replayMember(cg *consumerGroup, id string) *consumerMember {
	m := cg.members[id]
	if m == nil {
		m = &consumerMember{id: id, rebalanceMs: -1, assigned: partitions{}, revoking: partitions{}}
		cg.members[id] = m
	}
	return m
}

func (s *Shard) replayConsumerTombstone(version int16, groupID, memberID string) {
	g := s.groups[groupID]
	if g == nil || g.cg == nil {
		return
	}
	cg := g.cg
	switch version {
	case cgMetadataKey:
		// The group is gone; offsets are records of their own and stay.
		if len(g.offsets) == 0 {
			delete(s.groups, groupID)
			return
		}
		offsets := g.offsets
		*g = *newGroup(groupID, -1)
		g.offsets = offsets
	case cgPartitionMetadataKey:
		cg.subscription = map[string]subscribedTopic{}
	case cgMemberMetadataKey:
		if m := cg.members[memberID]; m != nil {
			if m.instanceID != nil && cg.static[*m.instanceID] == memberID {
				delete(cg.static, *m.instanceID)
			}
			delete(cg.members, memberID)
		}
	case cgTargetMetadataKey:
		cg.assignmentEpoch = 0
	case cgTargetMemberKey:
		delete(cg.target, memberID)
	case cgCurrentMemberKey:
		if m := cg.members[memberID]; m != nil {
			m.epoch, m.previousEpoch, m.state, m.assigned, m.revoking = 0, 0, memberStable, partitions{}, partitions{}
		}
	}
}

// finishConsumerLoad rebuilds what records do not hold (who owns which
// partition) and starts every member's session, and the rebalance
// timeout of members still revoking.
func (s *Shard) finishConsumerLoad(g *group) {
	cg := g.cg
	cg.owner, cg.names, cg.regexes = map[topicPartition]string{}, map[string]int{}, 0
	for _, id := range cg.memberIDs() {
		m := cg.members[id]
		cg.track(m, +1)
		assigned, revoking := m.assigned, m.revoking
		m.assigned, m.revoking = partitions{}, partitions{}
		cg.setOwned(m, assigned, revoking)
		m.sessionSeq = s.schedule(timer{kind: timerConsumerSession, group: g.id, member: id}, int64(s.cfg.ConsumerSessionTimeoutMs))
		if m.state == memberUnrevoked {
			m.rebalanceSeq = s.schedule(timer{kind: timerConsumerRebalance, group: g.id, member: id, generation: m.epoch}, int64(max(m.rebalanceMs, 0)))
		}
	}
}
