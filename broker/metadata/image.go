package metadata

import (
	"slices"
)

// Offset is the position in the metadata log (the Raft log) an image
// reflects: the index and term of the last entry applied.
type Offset struct {
	Index uint64
	Term  uint64
}

// Broker is a registered broker as the image sees it.
type Broker struct {
	ID                   int32
	Epoch                int64
	IncarnationID        [16]byte
	Listeners            []Listener
	Rack                 string
	Fenced               bool
	InControlledShutdown bool
}

// Active reports whether the broker may lead and receive new replicas.
func (b *Broker) Active() bool { return !b.Fenced && !b.InControlledShutdown }

// Topic is a topic with its partitions and resolved configs.
type Topic struct {
	Name       string
	ID         TopicID
	Overrides  map[string]string // config overrides; never mutated
	Config     TopicConfig       // resolved: overrides over the node's defaults
	Partitions []*Partition      // by index, dense from 0
}

// Partition is one partition's replica set and leadership.
type Partition struct {
	Replicas       []int32 // the first is the preferred leader
	ISR            []int32
	ELR            []int32
	LastKnownELR   []int32
	Leader         int32 // NoLeader when offline
	LeaderEpoch    int32
	PartitionEpoch int32
}

// HasLeader reports whether the partition is online.
func (p *Partition) HasLeader() bool { return p.Leader >= 0 }

// InISR reports whether id is in the partition's ISR.
func (p *Partition) InISR(id int32) bool { return slices.Contains(p.ISR, id) }

// Image is an immutable snapshot of the cluster's metadata at one offset of
// the metadata log. Apply returns a new Image and never changes the old
// one, so a request handler may hold an Image for as long as it likes. Every
// slice and map reachable from an Image (Broker.Listeners, Topic.Overrides,
// Partition.ISR, ...) is shared between images and must never be mutated.
type Image struct {
	offset         Offset
	clusterID      string
	features       map[string]int16
	brokers        map[int32]*Broker
	brokerList     []*Broker // sorted by id
	topics         map[string]*Topic
	byID           map[TopicID]*Topic
	topicList      []*Topic // sorted by name
	nextProducerID int64
	defaults       *Defaults
}

// Empty returns the image of an empty metadata log, resolving topic
// configs with defaults (nil: built-in defaults only).
func Empty(defaults *Defaults) *Image {
	if defaults == nil {
		defaults = &Defaults{}
	}
	return &Image{
		features: map[string]int16{},
		brokers:  map[int32]*Broker{},
		topics:   map[string]*Topic{},
		byID:     map[TopicID]*Topic{},
		defaults: defaults,
	}
}

// Offset is the metadata log position the image reflects.
func (img *Image) Offset() Offset { return img.offset }

// ClusterID is the cluster's id; empty before bootstrap.
func (img *Image) ClusterID() string { return img.clusterID }

// Feature returns a feature's finalized level (0 if unset).
func (img *Image) Feature(name string) int16 { return img.features[name] }

// Features returns the finalized features; the map must not be mutated.
func (img *Image) Features() map[string]int16 { return img.features }

// Broker returns a registered broker.
func (img *Image) Broker(id int32) (*Broker, bool) {
	b, ok := img.brokers[id]
	return b, ok
}

// Brokers returns every registered broker, sorted by id; the slice must
// not be mutated.
func (img *Image) Brokers() []*Broker { return img.brokerList }

// Topic returns a topic by name.
func (img *Image) Topic(name string) (*Topic, bool) {
	t, ok := img.topics[name]
	return t, ok
}

// TopicByID returns a topic by id.
func (img *Image) TopicByID(id TopicID) (*Topic, bool) {
	t, ok := img.byID[id]
	return t, ok
}

// Topics returns every topic, sorted by name; the slice must not be
// mutated.
func (img *Image) Topics() []*Topic { return img.topicList }

// Partition returns one partition.
func (img *Image) Partition(id TopicID, index int32) (*Partition, bool) {
	t, ok := img.byID[id]
	if !ok || index < 0 || int(index) >= len(t.Partitions) {
		return nil, false
	}
	return t.Partitions[index], true
}

// NextProducerID is where the next producer-id block starts.
func (img *Image) NextProducerID() int64 { return img.nextProducerID }

// Defaults are the config defaults this image resolves topics with.
func (img *Image) Defaults() *Defaults { return img.defaults }

// ConfigValue is a topic config's value and source, for DescribeConfigs.
func (img *Image) ConfigValue(t *Topic, name string) (string, ConfigSource) {
	return img.defaults.Value(t.Overrides, name)
}

// PartitionCount is the number of partitions of every topic together.
func (img *Image) PartitionCount() int {
	n := 0
	for _, t := range img.topicList {
		n += len(t.Partitions)
	}
	return n
}
