package group

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ConsumerDescribe handles a ConsumerGroupDescribe request (v0-1) for
// groups of this shard, answered in request order: a group that does not
// exist, or is classic, is GROUP_ID_NOT_FOUND, as in Kafka. Assigned
// topics are named from topics (the metadata image), or else from what
// the group subscribed to.
func (s *Shard) ConsumerDescribe(nowMs int64, req *kmsg.ConsumerGroupDescribeRequest, topics Topics, w Waiter) Output {
	resp := req.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
	if code := s.unavailable(); code != 0 {
		for _, id := range req.Groups {
			dg := kmsg.NewConsumerGroupDescribeResponseGroup()
			dg.Group, dg.ErrorCode = strings.Clone(id), code
			resp.Groups = append(resp.Groups, dg)
		}
		return refuse(w, resp)
	}
	s.begin(nowMs)
	for _, id := range req.Groups {
		resp.Groups = append(resp.Groups, s.consumerDescribe(id, req.Version, topics))
	}
	s.reply(w, resp)
	return s.end()
}

func (s *Shard) consumerDescribe(id string, version int16, topics Topics) kmsg.ConsumerGroupDescribeResponseGroup {
	dg := kmsg.NewConsumerGroupDescribeResponseGroup()
	dg.Group = strings.Clone(id)
	g := s.groups[id]
	fail := func(code int16, msg string) kmsg.ConsumerGroupDescribeResponseGroup {
		dg.ErrorCode, dg.ErrorMessage = code, &msg
		return dg
	}
	switch {
	case id == "":
		return fail(kerr.InvalidGroupID.Code, "Group id can't be empty.")
	case g == nil:
		return fail(kerr.GroupIDNotFound.Code, "Group "+id+" not found.")
	case g.cg == nil:
		return fail(kerr.GroupIDNotFound.Code, "Group "+id+" is not a consumer group.")
	}
	cg := g.cg
	dg.State = string(cg.state())
	dg.Epoch, dg.AssignmentEpoch = cg.epoch, cg.assignmentEpoch
	dg.AssignorName = cg.preferredAssignor(s.cfg.defaultAssignor())
	for _, mid := range cg.memberIDs() {
		m := cg.members[mid]
		dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.RackID = m.id, cloneStringPtr(m.instanceID), cloneStringPtr(m.rackID)
		dm.MemberEpoch = m.epoch
		dm.ClientID, dm.ClientHost = m.clientID, m.clientHost
		dm.SubscribedTopics = append([]string{}, m.topicNames...)
		dm.SubscribedTopicRegex = cloneStringPtr(m.topicRegex)
		dm.Assignment = describeAssignment(cg, topics, m.assigned)
		dm.TargetAssignment = describeAssignment(cg, topics, cg.target[mid])
		if version >= 1 {
			dm.MemberType = 1 // consumer protocol (KIP-1099); 0 is classic
		}
		dg.Members = append(dg.Members, dm)
	}
	return dg
}

func describeAssignment(cg *consumerGroup, topics Topics, p partitions) kmsg.Assignment {
	var a kmsg.Assignment
	a.TopicPartitions = []kmsg.AssignmentTopicPartition{}
	for _, t := range p.sortedTopics() {
		name, ok := topics.Name(t)
		if !ok {
			name = cg.topicName(t)
		}
		tp := kmsg.AssignmentTopicPartition{TopicID: t, Topic: name}
		tp.Partitions = append([]int32{}, p[t]...)
		a.TopicPartitions = append(a.TopicPartitions, tp)
	}
	return a
}
