package broker

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Topic operations shared by the admin APIs. Each changes b.meta, persists
// it, and only then makes the change visible, so what clients were told
// survives a crash. Topics are replaced, never mutated: a *topic a reader
// holds stays consistent.

// topicError is a Kafka error with the message the admin APIs return.
type topicError struct {
	err *kerr.Error
	msg string
}

func (e *topicError) Error() string { return e.msg }

func errTopic(err *kerr.Error, format string, args ...any) *topicError {
	return &topicError{err: err, msg: fmt.Sprintf(format, args...)}
}

func (b *Broker) hostPort() (string, int32) {
	host, portStr, err := net.SplitHostPort(b.Addr())
	if err != nil {
		return b.Addr(), 9092
	}
	port, _ := strconv.Atoi(portStr)
	return host, int32(port)
}

func (b *Broker) sortedTopics() []*topic {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]*topic, 0, len(b.topics))
	for _, t := range b.topics {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].meta.Name < out[j].meta.Name })
	return out
}

// maxTopicPartitions bounds one topic's partitions. Each partition holds
// open files and a goroutine; without a bound, one small CreateTopics
// request could ask for two billion of them.
const maxTopicPartitions = 10000

// topicSpec is a topic to create.
type topicSpec struct {
	name              string
	partitions        int32 // -1: num.partitions
	replicationFactor int16 // -1: default.replication.factor
	configs           map[string]string
	// internal: the broker creates one of its own topics (isInternalTopic),
	// which clients may not create. Its replication factor is stored as
	// asked; a single broker keeps one replica.
	internal bool
}

// resolve fills defaults and validates the spec.
func (b *Broker) resolve(s *topicSpec) *topicError {
	// Request strings alias the request's buffer; the topic outlives it.
	s.name = strings.Clone(s.name)
	cloned := make(map[string]string, len(s.configs))
	for k, v := range s.configs {
		cloned[strings.Clone(k)] = strings.Clone(v)
	}
	s.configs = cloned
	if err := validateTopicName(s.name); err != nil {
		return errTopic(kerr.InvalidTopicException, "%v", err)
	}
	if isInternalTopic(s.name) && !s.internal {
		return errTopic(kerr.InvalidRequest, "%s is an internal topic: the broker creates it when it is first needed", s.name)
	}
	if s.partitions == -1 {
		s.partitions = b.cfg.NumPartitions
	}
	if s.partitions <= 0 {
		return errTopic(kerr.InvalidPartitions, "number of partitions must be larger than 0, got %d", s.partitions)
	}
	if s.partitions > maxTopicPartitions {
		return errTopic(kerr.InvalidPartitions, "%d partitions is more than the %d a Weir topic may have", s.partitions, maxTopicPartitions)
	}
	if s.replicationFactor == -1 {
		s.replicationFactor = b.cfg.DefaultReplicationFactor
	}
	if s.replicationFactor <= 0 {
		return errTopic(kerr.InvalidReplicationFactor, "replication factor must be larger than 0, got %d", s.replicationFactor)
	}
	if s.replicationFactor > 1 && !s.internal {
		return errTopic(kerr.InvalidReplicationFactor, "replication factor: %d larger than available brokers: 1", s.replicationFactor)
	}
	for k, v := range s.configs {
		if err := validateTopicConfig(k, v); err != nil {
			return errTopic(kerr.InvalidConfig, "invalid config %s: %v", k, err)
		}
	}
	return nil
}

// createTopic creates a topic, or with validateOnly only checks it could.
func (b *Broker) createTopic(s topicSpec, validateOnly bool) (*topic, *topicError) {
	if terr := b.resolve(&s); terr != nil {
		return nil, terr
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, exists := b.topics[s.name]; exists {
		return nil, errTopic(kerr.TopicAlreadyExists, "topic '%s' already exists", s.name)
	}
	if validateOnly {
		return &topic{meta: topicMeta{Name: s.name, Partitions: s.partitions, Configs: s.configs}}, nil
	}
	id, err := newTopicID()
	if err != nil {
		return nil, errTopic(kerr.UnknownServerError, "topic id: %v", err)
	}
	tm := topicMeta{Name: s.name, ID: id, Partitions: s.partitions, Configs: s.configs}
	if s.internal {
		tm.ReplicationFactor = s.replicationFactor
	}
	t := &topic{meta: tm, id: tm.id()}
	for i := int32(0); i < s.partitions; i++ {
		p, err := b.openPartition(t, i)
		if err != nil {
			for _, p := range t.partitions {
				p.delete()
			}
			return nil, errTopic(kerr.KafkaStorageError, "%v", err)
		}
		t.partitions = append(t.partitions, p)
	}
	next := b.meta
	next.Topics = append(append([]topicMeta(nil), b.meta.Topics...), tm)
	if err := saveMeta(b.fs, b.cfg.DataDir, next); err != nil {
		for _, p := range t.partitions {
			p.delete()
		}
		return nil, errTopic(kerr.KafkaStorageError, "persisting metadata: %v", err)
	}
	b.meta = next
	b.topics[s.name] = t
	b.byID[t.id] = t
	b.log.Info("created topic", "topic", s.name, "partitions", s.partitions)
	return t, nil
}

// autoCreateTopic creates a topic a client asked for in Metadata, as
// auto.create.topics.enable does. A concurrent creation is not an error.
func (b *Broker) autoCreateTopic(name string) (*topic, int16) {
	t, terr := b.createTopic(topicSpec{name: name, partitions: -1, replicationFactor: -1}, false)
	if terr == nil {
		return t, 0
	}
	if terr.err == kerr.TopicAlreadyExists {
		return b.topicByName(name), 0
	}
	return nil, terr.err.Code
}

// deleteTopic removes a topic from the metadata, durably, then its data. A
// crash between the two leaves directories that Open removes.
func (b *Broker) deleteTopic(t *topic) *topicError {
	if isInternalTopic(t.meta.Name) {
		return errTopic(kerr.InvalidTopicException, "%s is an internal topic the broker keeps its state in; it cannot be deleted", t.meta.Name)
	}
	b.mu.Lock()
	if b.topics[t.meta.Name] != t {
		b.mu.Unlock()
		return errTopic(kerr.UnknownTopicOrPartition, "topic '%s' does not exist", t.meta.Name)
	}
	next := b.meta
	next.Topics = nil
	for _, tm := range b.meta.Topics {
		if tm.Name != t.meta.Name {
			next.Topics = append(next.Topics, tm)
		}
	}
	if err := saveMeta(b.fs, b.cfg.DataDir, next); err != nil {
		b.mu.Unlock()
		return errTopic(kerr.KafkaStorageError, "persisting metadata: %v", err)
	}
	b.meta = next
	delete(b.topics, t.meta.Name)
	delete(b.byID, t.id)
	b.mu.Unlock()
	for _, p := range t.partitions {
		if err := p.delete(); err != nil {
			b.log.Warn("removing deleted partition's data", "topic", t.meta.Name, "partition", p.index, "err", err)
		}
	}
	b.log.Info("deleted topic", "topic", t.meta.Name)
	return nil
}

// replaceTopic swaps in a changed copy of a topic (more partitions, new
// configs) after persisting it. change edits next's meta and may add
// partitions to next.
func (b *Broker) replaceTopic(name string, validateOnly bool, change func(next *topic) *topicError) *topicError {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.topics[name]
	if cur == nil {
		return errTopic(kerr.UnknownTopicOrPartition, "topic '%s' does not exist", name)
	}
	next := &topic{meta: cur.meta, id: cur.id, partitions: append([]*partition(nil), cur.partitions...)}
	next.meta.Configs = map[string]string{}
	for k, v := range cur.meta.Configs {
		next.meta.Configs[k] = v
	}
	if terr := change(next); terr != nil {
		return terr
	}
	added := next.partitions[len(cur.partitions):]
	if validateOnly {
		return nil
	}
	undo := func() {
		for _, p := range added {
			p.delete()
		}
	}
	meta := b.meta
	meta.Topics = append([]topicMeta(nil), b.meta.Topics...)
	for i := range meta.Topics {
		if meta.Topics[i].Name == name {
			meta.Topics[i] = next.meta
		}
	}
	if err := saveMeta(b.fs, b.cfg.DataDir, meta); err != nil {
		undo()
		return errTopic(kerr.KafkaStorageError, "persisting metadata: %v", err)
	}
	b.meta = meta
	b.topics[name] = next
	b.byID[next.id] = next
	return nil
}

// addPartitions grows a topic to count partitions.
func (b *Broker) addPartitions(name string, count int32, validateOnly bool) *topicError {
	if isInternalTopic(name) {
		// Its partition count decides where every group lives.
		return errTopic(kerr.InvalidTopicException, "%s is an internal topic; its partition count cannot change", name)
	}
	return b.replaceTopic(name, validateOnly, func(next *topic) *topicError {
		have := int32(len(next.partitions))
		if count < have {
			return errTopic(kerr.InvalidPartitions, "topic currently has %d partitions, which is higher than the requested %d", have, count)
		}
		if count == have {
			return errTopic(kerr.InvalidPartitions, "topic already has %d partitions", have)
		}
		if count > maxTopicPartitions {
			return errTopic(kerr.InvalidPartitions, "%d partitions is more than the %d a Weir topic may have", count, maxTopicPartitions)
		}
		next.meta.Partitions = count
		if validateOnly {
			return nil
		}
		for i := have; i < count; i++ {
			p, err := b.openPartition(next, i)
			if err != nil {
				for _, p := range next.partitions[have:] {
					p.delete()
				}
				return errTopic(kerr.KafkaStorageError, "%v", err)
			}
			next.partitions = append(next.partitions, p)
		}
		return nil
	})
}
