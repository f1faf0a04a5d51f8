package metadata

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ErrApply marks a batch that does not fit the image it is applied to (a
// record naming a missing topic, a partition out of order). Such a batch
// changes nothing.
var ErrApply = errors.New("metadata: record does not apply")

func applyErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrApply, fmt.Sprintf(format, args...))
}

// Apply returns the image after records, at offset; the receiver is never
// changed. The batch applies whole or not at all: on an error the caller
// still has the old image.
//
// Apply checks that records fit the image (references, dense partitions,
// one cluster id) but not the rules the controller keeps (epochs that only
// grow, the leader in the ISR): those are history properties, checked by
// CheckTransition and CheckImage, which the metadata checker runs over a
// whole run (quorum.History.Check) and tests after each decision.
func (img *Image) Apply(offset Offset, records []Record) (*Image, error) {
	if offset.Index <= img.offset.Index {
		return nil, applyErr("offset %d is not past the image's %d", offset.Index, img.offset.Index)
	}
	if offset.Term < img.offset.Term {
		return nil, applyErr("term %d is behind the image's %d", offset.Term, img.offset.Term)
	}
	b := newBuilder(img)
	for i, r := range records {
		if err := b.apply(r); err != nil {
			return nil, fmt.Errorf("record %d (%v): %w", i, r, err)
		}
	}
	return b.finish(offset), nil
}

// builder applies a batch copy-on-write: maps and topics are copied the
// first time the batch changes them, so a batch costs what it touches,
// not the size of the image.
type builder struct {
	img            *Image
	brokersCopied  bool
	featuresCopied bool
	topicsCopied   bool
	topicsChanged  bool
	copied         map[TopicID]bool // topics (and their partition slices) this batch copied
	reresolve      map[TopicID]bool
}

func newBuilder(old *Image) *builder {
	img := *old
	return &builder{img: &img, copied: map[TopicID]bool{}, reresolve: map[TopicID]bool{}}
}

func (b *builder) finish(offset Offset) *Image {
	img := b.img
	img.offset = offset
	for id := range b.reresolve {
		if t, ok := img.byID[id]; ok {
			t.Config = img.defaults.Resolve(t.Overrides)
		}
	}
	if b.brokersCopied {
		img.brokerList = slices.SortedFunc(maps.Values(img.brokers), func(x, y *Broker) int { return int(x.ID) - int(y.ID) })
	}
	if b.topicsChanged {
		img.topicList = slices.SortedFunc(maps.Values(img.topics), func(x, y *Topic) int { return strings.Compare(x.Name, y.Name) })
	}
	return img
}

func (b *builder) brokers() map[int32]*Broker {
	if !b.brokersCopied {
		b.img.brokers = maps.Clone(b.img.brokers)
		b.brokersCopied = true
	}
	return b.img.brokers
}

func (b *builder) topicMaps() {
	if !b.topicsCopied {
		b.img.topics = maps.Clone(b.img.topics)
		b.img.byID = maps.Clone(b.img.byID)
		b.topicsCopied = true
	}
	b.topicsChanged = true
}

// topic returns a copy of the topic that this batch may change.
func (b *builder) topic(id TopicID) (*Topic, error) {
	t, ok := b.img.byID[id]
	if !ok {
		return nil, applyErr("no topic with id %s", id)
	}
	if b.copied[id] {
		return t, nil
	}
	c := *t
	c.Partitions = slices.Clone(t.Partitions)
	b.topicMaps()
	b.img.topics[c.Name] = &c
	b.img.byID[id] = &c
	b.copied[id] = true
	return &c, nil
}

// changeBroker copies a registered broker for change, checking the epoch
// the record names.
func (b *builder) changeBroker(id int32, epoch int64) (*Broker, error) {
	old, ok := b.img.brokers[id]
	if !ok {
		return nil, applyErr("broker %d is not registered", id)
	}
	if old.Epoch != epoch {
		return nil, applyErr("broker %d has epoch %d, the record says %d", id, old.Epoch, epoch)
	}
	c := *old
	b.brokers()[id] = &c
	return &c, nil
}

func (b *builder) apply(r Record) error {
	switch r := r.(type) {
	case *ClusterRecord:
		if r.ClusterID == "" {
			return applyErr("empty cluster id")
		}
		if b.img.clusterID != "" && b.img.clusterID != r.ClusterID {
			return applyErr("cluster id is %s already", b.img.clusterID)
		}
		b.img.clusterID = r.ClusterID
	case *FeatureLevelRecord:
		if !b.featuresCopied {
			b.img.features = maps.Clone(b.img.features)
			b.featuresCopied = true
		}
		if r.Level == 0 {
			delete(b.img.features, r.Name)
		} else {
			b.img.features[r.Name] = r.Level
		}
	case *RegisterBrokerRecord:
		if r.NodeID < 0 {
			return applyErr("broker id %d", r.NodeID)
		}
		b.brokers()[r.NodeID] = &Broker{
			ID: r.NodeID, Epoch: r.Epoch, IncarnationID: r.IncarnationID,
			Listeners: slices.Clone(r.Listeners), Rack: r.Rack,
			Fenced: r.Fenced, InControlledShutdown: r.InControlledShutdown,
		}
	case *FenceBrokerRecord:
		br, err := b.changeBroker(r.NodeID, r.Epoch)
		if err != nil {
			return err
		}
		br.Fenced = true
	case *UnfenceBrokerRecord:
		br, err := b.changeBroker(r.NodeID, r.Epoch)
		if err != nil {
			return err
		}
		br.Fenced = false
	case *BrokerShutdownRecord:
		br, err := b.changeBroker(r.NodeID, r.Epoch)
		if err != nil {
			return err
		}
		br.InControlledShutdown = true
	case *TopicRecord:
		return b.addTopic(r)
	case *ConfigRecord:
		return b.setConfig(r)
	case *PartitionRecord:
		return b.addPartition(r)
	case *PartitionChangeRecord:
		return b.changePartition(r)
	case *RemoveTopicRecord:
		t, ok := b.img.byID[r.ID]
		if !ok {
			return applyErr("no topic with id %s", r.ID)
		}
		b.topicMaps()
		delete(b.img.topics, t.Name)
		delete(b.img.byID, r.ID)
		delete(b.copied, r.ID)
		delete(b.reresolve, r.ID)
	case *ProducerIDsRecord:
		b.img.nextProducerID = r.NextProducerID
	default:
		return applyErr("unknown record %T", r)
	}
	return nil
}

func (b *builder) addTopic(r *TopicRecord) error {
	if err := ValidateTopicName(r.Name); err != nil {
		return applyErr("%v", err)
	}
	if _, ok := b.img.topics[r.Name]; ok {
		return applyErr("topic %s exists", r.Name)
	}
	if _, ok := b.img.byID[r.ID]; ok || r.ID == (TopicID{}) {
		return applyErr("topic id %s is taken or zero", r.ID)
	}
	b.topicMaps()
	t := &Topic{Name: r.Name, ID: r.ID, Overrides: map[string]string{}}
	b.img.topics[r.Name] = t
	b.img.byID[r.ID] = t
	b.copied[r.ID] = true
	b.reresolve[r.ID] = true
	return nil
}

func (b *builder) setConfig(r *ConfigRecord) error {
	if r.Resource != ResourceTopic {
		return applyErr("config resource type %d", r.Resource)
	}
	t0, ok := b.img.topics[r.Name]
	if !ok {
		return applyErr("config for missing topic %s", r.Name)
	}
	if !r.Delete {
		if err := ValidateTopicConfig(r.Key, r.Value); err != nil {
			return applyErr("config %s: %v", r.Key, err)
		}
	}
	t, err := b.topic(t0.ID)
	if err != nil {
		return err
	}
	if !b.reresolve[t.ID] { // the first change of this batch: copy
		t.Overrides = maps.Clone(t.Overrides)
		if t.Overrides == nil {
			t.Overrides = map[string]string{}
		}
	}
	if r.Delete {
		delete(t.Overrides, r.Key)
	} else {
		t.Overrides[r.Key] = r.Value
	}
	b.reresolve[t.ID] = true
	return nil
}

func (b *builder) addPartition(r *PartitionRecord) error {
	t, err := b.topic(r.TopicID)
	if err != nil {
		return err
	}
	if int(r.Partition) != len(t.Partitions) {
		return applyErr("partition %d of %s, which has %d", r.Partition, t.Name, len(t.Partitions))
	}
	if len(r.Replicas) == 0 {
		return applyErr("partition %s/%d without replicas", t.Name, r.Partition)
	}
	t.Partitions = append(t.Partitions, &Partition{
		Replicas: slices.Clip(slices.Clone(r.Replicas)), ISR: slices.Clip(slices.Clone(r.ISR)),
		ELR: cloneOrNil(r.ELR), LastKnownELR: cloneOrNil(r.LastKnownELR),
		Leader: r.Leader, LeaderEpoch: r.LeaderEpoch, PartitionEpoch: r.PartitionEpoch,
	})
	return nil
}

func (b *builder) changePartition(r *PartitionChangeRecord) error {
	t, err := b.topic(r.TopicID)
	if err != nil {
		return err
	}
	if r.Partition < 0 || int(r.Partition) >= len(t.Partitions) {
		return applyErr("partition %d of %s, which has %d", r.Partition, t.Name, len(t.Partitions))
	}
	p := *t.Partitions[r.Partition]
	if r.Leader != NoLeaderChange {
		p.Leader = r.Leader
	}
	if r.ISR != nil {
		p.ISR = slices.Clip(slices.Clone(r.ISR))
	}
	if r.Replicas != nil {
		if len(r.Replicas) == 0 {
			return applyErr("partition %s/%d changed to no replicas", t.Name, r.Partition)
		}
		p.Replicas = slices.Clip(slices.Clone(r.Replicas))
	}
	if r.ELR != nil {
		p.ELR = cloneOrNil(r.ELR)
	}
	p.LeaderEpoch, p.PartitionEpoch = r.LeaderEpoch, r.PartitionEpoch
	t.Partitions[r.Partition] = &p
	return nil
}

func cloneOrNil(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return slices.Clip(slices.Clone(s))
}

// ValidateTopicName applies Kafka's rules: 1..249 characters from
// [a-zA-Z0-9._-], and not "." or "..".
func ValidateTopicName(name string) error {
	if name == "" {
		return errors.New("topic name is empty")
	}
	if name == "." || name == ".." {
		return fmt.Errorf("topic name %q is not allowed", name)
	}
	if len(name) > 249 {
		return fmt.Errorf("topic name is %d characters, the limit is 249", len(name))
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("topic name %q contains %q; only [a-zA-Z0-9._-] are allowed", name, c)
		}
	}
	return nil
}
