package controller

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

// topicError is a Kafka error code with the message the admin APIs carry.
type topicError struct {
	code int16
	msg  string
}

func errTopic(err *kerr.Error, format string, args ...any) *topicError {
	return &topicError{code: err.Code, msg: fmt.Sprintf(format, args...)}
}

func (e *topicError) set(code *int16, msg **string) {
	if e == nil {
		return
	}
	*code = e.code
	m := e.msg
	*msg = &m
}

// createTopics validates each topic as Kafka does and writes, per topic,
// a TopicRecord, its ConfigRecords and one PartitionRecord per partition.
// The answer carries the topic id, partition count and replication
// factor; the broker fills in the resolved configs from its image.
func (c *Controller) createTopics(img *metadata.Image, r *kmsg.CreateTopicsRequest) Result {
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	b := newBatch(img)
	seen := map[string]int{}
	for _, rt := range r.Topics {
		seen[rt.Topic]++
	}
	created := map[string]bool{}
	for _, rt := range r.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic, st.NumPartitions, st.ReplicationFactor = rt.Topic, -1, -1
		var terr *topicError
		if seen[rt.Topic] > 1 {
			terr = errTopic(kerr.InvalidRequest, "topic '%s' appears more than once in the request", rt.Topic)
		} else if _, exists := img.Topic(rt.Topic); exists || created[rt.Topic] {
			terr = errTopic(kerr.TopicAlreadyExists, "topic '%s' already exists", rt.Topic)
		} else {
			var recs []metadata.Record
			recs, terr = c.createTopic(b, &rt)
			if terr == nil {
				tr := recs[0].(*metadata.TopicRecord)
				st.TopicID = tr.ID
				st.NumPartitions = countPartitions(recs)
				st.ReplicationFactor = int16(len(lastPartition(recs).Replicas))
				created[rt.Topic] = true
				if !r.ValidateOnly {
					b.add(recs...)
				}
			}
		}
		terr.set(&st.ErrorCode, &st.ErrorMessage)
		resp.Topics = append(resp.Topics, st)
	}
	return Result{Records: b.records, Response: resp}
}

func countPartitions(recs []metadata.Record) int32 {
	n := int32(0)
	for _, r := range recs {
		if _, ok := r.(*metadata.PartitionRecord); ok {
			n++
		}
	}
	return n
}

func lastPartition(recs []metadata.Record) *metadata.PartitionRecord {
	return recs[len(recs)-1].(*metadata.PartitionRecord)
}

func (c *Controller) createTopic(b *batch, rt *kmsg.CreateTopicsRequestTopic) ([]metadata.Record, *topicError) {
	name := strings.Clone(rt.Topic) // request strings alias the request's buffer
	if err := metadata.ValidateTopicName(name); err != nil {
		return nil, errTopic(kerr.InvalidTopicException, "%v", err)
	}
	configs := map[string]string{}
	for _, cfg := range rt.Configs {
		if cfg.Value == nil {
			continue
		}
		if err := metadata.ValidateTopicConfig(cfg.Name, *cfg.Value); err != nil {
			return nil, errTopic(kerr.InvalidConfig, "invalid config %s: %v", cfg.Name, err)
		}
		configs[strings.Clone(cfg.Name)] = strings.Clone(*cfg.Value)
	}
	var assignment [][]int32
	var terr *topicError
	if len(rt.ReplicaAssignment) > 0 {
		if rt.NumPartitions != -1 || rt.ReplicationFactor != -1 {
			return nil, errTopic(kerr.InvalidRequest, "both partitions/replication factor and a replica assignment were given")
		}
		manual := make([][]int32, len(rt.ReplicaAssignment))
		for i, a := range rt.ReplicaAssignment {
			if a.Partition != int32(i) {
				return nil, errTopic(kerr.InvalidReplicaAssignment, "assigned partitions must be 0..%d in order", len(rt.ReplicaAssignment)-1)
			}
			manual[i] = a.Replicas
		}
		assignment, terr = c.checkAssignment(b, manual, -1)
	} else {
		assignment, terr = c.placeNew(b, rt.NumPartitions, rt.ReplicationFactor, 0)
	}
	if terr != nil {
		return nil, terr
	}
	id := c.newTopicID(b.img)
	recs := []metadata.Record{&metadata.TopicRecord{Name: name, ID: id}}
	for _, k := range slices.Sorted(maps.Keys(configs)) {
		recs = append(recs, &metadata.ConfigRecord{Resource: metadata.ResourceTopic, Name: name, Key: k, Value: configs[k]})
	}
	recs = append(recs, c.partitionRecords(b, id, 0, assignment)...)
	return recs, nil
}

// placeNew fills defaults, validates counts and places count partitions.
func (c *Controller) placeNew(b *batch, partitions int32, rf int16, have int32) ([][]int32, *topicError) {
	if partitions == -1 {
		partitions = c.cfg.DefaultPartitions
	}
	if rf == -1 {
		rf = c.cfg.DefaultReplicationFactor
	}
	if partitions <= 0 {
		return nil, errTopic(kerr.InvalidPartitions, "number of partitions must be larger than 0, got %d", partitions)
	}
	if have+partitions > c.cfg.MaxPartitionsPerTopic {
		return nil, errTopic(kerr.InvalidPartitions, "%d partitions is more than the %d a Weir topic may have", have+partitions, c.cfg.MaxPartitionsPerTopic)
	}
	if rf <= 0 {
		return nil, errTopic(kerr.InvalidReplicationFactor, "replication factor must be larger than 0, got %d", rf)
	}
	pl := newPlacer(b)
	if int(rf) > pl.activeCount() {
		return nil, errTopic(kerr.InvalidReplicationFactor,
			"unable to replicate the partition %d time(s): the target replication factor of %d cannot be reached because only %d broker(s) are registered and unfenced",
			rf, rf, pl.activeCount())
	}
	return pl.place(pl.start(b), int(partitions), int(rf)), nil
}

// checkAssignment validates a manual assignment: every partition the same
// replication factor (rf, or the first's when rf is -1), distinct and
// registered brokers, and at least one active replica to lead.
func (c *Controller) checkAssignment(b *batch, as [][]int32, rf int) ([][]int32, *topicError) {
	for i, replicas := range as {
		if rf == -1 {
			rf = len(replicas)
		}
		switch {
		case len(replicas) == 0:
			return nil, errTopic(kerr.InvalidReplicaAssignment, "partition %d has no replicas", i)
		case len(replicas) != rf:
			return nil, errTopic(kerr.InvalidReplicaAssignment, "partition %d has %d replicas; every partition must have %d", i, len(replicas), rf)
		case hasDuplicates(replicas):
			return nil, errTopic(kerr.InvalidReplicaAssignment, "partition %d repeats a broker in %v", i, replicas)
		}
		anyActive := false
		for _, id := range replicas {
			if _, ok := b.broker(id); !ok {
				return nil, errTopic(kerr.InvalidReplicaAssignment, "partition %d: broker %d is not registered", i, id)
			}
			anyActive = anyActive || b.active(id)
		}
		if !anyActive {
			return nil, errTopic(kerr.InvalidReplicaAssignment, "all brokers of partition %d are fenced or shutting down", i)
		}
	}
	if len(as) > int(c.cfg.MaxPartitionsPerTopic) {
		return nil, errTopic(kerr.InvalidPartitions, "%d partitions is more than the %d a Weir topic may have", len(as), c.cfg.MaxPartitionsPerTopic)
	}
	out := make([][]int32, len(as))
	for i := range as {
		out[i] = slices.Clone(as[i])
	}
	return out, nil
}

// partitionRecords creates partitions first.. with the given replicas: the
// ISR is the active replicas, the leader the first of them.
func (c *Controller) partitionRecords(b *batch, id metadata.TopicID, first int32, assignment [][]int32) []metadata.Record {
	recs := make([]metadata.Record, 0, len(assignment))
	for i, replicas := range assignment {
		isr := slices.DeleteFunc(slices.Clone(replicas), func(r int32) bool { return !b.active(r) })
		recs = append(recs, &metadata.PartitionRecord{
			TopicID: id, Partition: first + int32(i), Replicas: replicas, ISR: isr, Leader: isr[0],
		})
	}
	return recs
}

func (c *Controller) newTopicID(img *metadata.Image) metadata.TopicID {
	for {
		var id metadata.TopicID
		for i := range id {
			id[i] = byte(c.rng.Uint32())
		}
		if _, taken := img.TopicByID(id); !taken && id != (metadata.TopicID{}) {
			return id
		}
	}
}

func (c *Controller) deleteTopics(img *metadata.Image, r *kmsg.DeleteTopicsRequest) Result {
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	b := newBatch(img)
	removed := map[metadata.TopicID]bool{}
	del := func(name *string, id metadata.TopicID) kmsg.DeleteTopicsResponseTopic {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = name, id
		var t *metadata.Topic
		var ok bool
		if name != nil {
			t, ok = img.Topic(*name)
		} else {
			t, ok = img.TopicByID(id)
		}
		switch {
		case !ok && name == nil:
			st.ErrorCode = kerr.UnknownTopicID.Code
		case !ok || removed[t.ID]:
			st.ErrorCode = kerr.UnknownTopicOrPartition.Code
		default:
			n := t.Name
			st.Topic, st.TopicID = &n, t.ID
			removed[t.ID] = true
			b.add(&metadata.RemoveTopicRecord{ID: t.ID})
		}
		return st
	}
	for _, name := range r.TopicNames { // v0-5
		resp.Topics = append(resp.Topics, del(&name, metadata.TopicID{}))
	}
	for _, rt := range r.Topics { // v6+
		resp.Topics = append(resp.Topics, del(rt.Topic, rt.TopicID))
	}
	return Result{Records: b.records, Response: resp}
}

func (c *Controller) createPartitions(img *metadata.Image, r *kmsg.CreatePartitionsRequest) Result {
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	b := newBatch(img)
	seen := map[string]int{}
	for _, rt := range r.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range r.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		var terr *topicError
		if seen[rt.Topic] > 1 {
			terr = errTopic(kerr.InvalidRequest, "topic '%s' appears more than once in the request", rt.Topic)
		} else {
			var recs []metadata.Record
			recs, terr = c.addPartitions(b, &rt)
			if terr == nil && !r.ValidateOnly {
				b.add(recs...)
			}
		}
		terr.set(&st.ErrorCode, &st.ErrorMessage)
		resp.Topics = append(resp.Topics, st)
	}
	return Result{Records: b.records, Response: resp}
}

func (c *Controller) addPartitions(b *batch, rt *kmsg.CreatePartitionsRequestTopic) ([]metadata.Record, *topicError) {
	t, ok := b.img.Topic(rt.Topic)
	if !ok {
		return nil, errTopic(kerr.UnknownTopicOrPartition, "topic '%s' does not exist", rt.Topic)
	}
	have := int32(len(t.Partitions))
	switch {
	case rt.Count < have:
		return nil, errTopic(kerr.InvalidPartitions, "topic currently has %d partitions, which is higher than the requested %d", have, rt.Count)
	case rt.Count == have:
		return nil, errTopic(kerr.InvalidPartitions, "topic already has %d partitions", have)
	}
	rf := len(t.Partitions[0].Replicas)
	var assignment [][]int32
	var terr *topicError
	if rt.Assignment != nil {
		if int32(len(rt.Assignment)) != rt.Count-have {
			return nil, errTopic(kerr.InvalidReplicaAssignment, "%d assignments for %d new partitions", len(rt.Assignment), rt.Count-have)
		}
		manual := make([][]int32, len(rt.Assignment))
		for i, a := range rt.Assignment {
			manual[i] = a.Replicas
		}
		assignment, terr = c.checkAssignment(b, manual, rf)
		if terr == nil && rt.Count > c.cfg.MaxPartitionsPerTopic {
			terr = errTopic(kerr.InvalidPartitions, "%d partitions is more than the %d a Weir topic may have", rt.Count, c.cfg.MaxPartitionsPerTopic)
		}
	} else {
		assignment, terr = c.placeNew(b, rt.Count-have, int16(rf), have)
	}
	if terr != nil {
		return nil, terr
	}
	return c.partitionRecords(b, t.ID, have, assignment), nil
}
