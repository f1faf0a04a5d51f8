package metadata

import (
	"encoding/hex"
	"fmt"
)

// TopicID is a topic's 16-byte id, as Kafka's Uuid.
type TopicID [16]byte

func (id TopicID) String() string { return hex.EncodeToString(id[:]) }

// NoLeader is a partition's leader when no replica may lead it.
const NoLeader int32 = -1

// NoLeaderChange in PartitionChangeRecord.Leader keeps the current leader.
const NoLeaderChange int32 = -2

// RecordType names a record kind in the encoding. The values are part of
// the on-disk format (Raft log and snapshots): never reuse or renumber one.
type RecordType uint8

const (
	TypeCluster         RecordType = 1
	TypeFeatureLevel    RecordType = 2
	TypeRegisterBroker  RecordType = 3
	TypeFenceBroker     RecordType = 4
	TypeUnfenceBroker   RecordType = 5
	TypeBrokerShutdown  RecordType = 6
	TypeTopic           RecordType = 7
	TypeConfig          RecordType = 8
	TypePartition       RecordType = 9
	TypePartitionChange RecordType = 10
	TypeRemoveTopic     RecordType = 11
	TypeProducerIDs     RecordType = 12
)

// Record is one metadata change. The concrete types below are the only
// implementations; each encodes itself with a type byte and a version byte
// (see codec.go).
type Record interface {
	Type() RecordType
	fmt.Stringer
}

// ClusterRecord bootstraps the cluster: its id. It is the first record of
// every metadata log and may appear only once.
type ClusterRecord struct {
	ClusterID string
}

// FeatureLevelRecord sets a feature's finalized level (metadata.version,
// transaction.version later). Level 0 removes the feature.
type FeatureLevelRecord struct {
	Name  string
	Level int16
}

// Listener is one advertised listener of a broker.
type Listener struct {
	Name             string // "PLAINTEXT"
	Host             string
	Port             uint16
	SecurityProtocol int16 // Kafka's SecurityProtocol id; 0 is PLAINTEXT
}

// RegisterBrokerRecord registers (or re-registers) a broker. A new
// incarnation replaces the previous registration of the node. Epoch is the
// broker epoch: the metadata offset (Raft index) of this record, as in
// Kafka, so it increases with every registration and fences requests of
// older incarnations. A registered broker starts fenced unless Fenced is
// false (only snapshots write that).
type RegisterBrokerRecord struct {
	NodeID               int32
	Epoch                int64
	IncarnationID        [16]byte
	Listeners            []Listener
	Rack                 string
	Fenced               bool
	InControlledShutdown bool
}

// FenceBrokerRecord fences a broker: it may lead nothing and is not
// counted for placement. Epoch must be the broker's current epoch.
type FenceBrokerRecord struct {
	NodeID int32
	Epoch  int64
}

// UnfenceBrokerRecord unfences a broker that heartbeats and has caught up
// with the metadata log.
type UnfenceBrokerRecord struct {
	NodeID int32
	Epoch  int64
}

// BrokerShutdownRecord marks a broker as in controlled shutdown: it leads
// nothing new and is fenced once its leadership has moved.
type BrokerShutdownRecord struct {
	NodeID int32
	Epoch  int64
}

// TopicRecord creates a topic. Its configs (ConfigRecord) and partitions
// (PartitionRecord, in index order from 0) follow it in the same batch.
type TopicRecord struct {
	Name string
	ID   TopicID
}

// ResourceType is the kind of thing a ConfigRecord configures, with
// Kafka's ConfigResourceType numbers.
type ResourceType int8

// ResourceTopic is the only resource Weir's metadata configures today;
// broker configs are static (server.properties).
const ResourceTopic ResourceType = 2

// ConfigRecord sets (or with Delete, removes) one config override of a
// resource.
type ConfigRecord struct {
	Resource ResourceType
	Name     string // the topic's name for ResourceTopic
	Key      string
	Value    string
	Delete   bool
}

// PartitionRecord creates a partition (or, in a snapshot, states it whole).
// Partitions of a topic are dense: Partition is the topic's next index.
type PartitionRecord struct {
	TopicID        TopicID
	Partition      int32
	Replicas       []int32 // the first is the preferred leader
	ISR            []int32
	ELR            []int32 // eligible leader replicas (KIP-966); empty until used
	LastKnownELR   []int32
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
}

// PartitionChangeRecord changes a partition. A nil slice keeps the field
// (an empty non-nil slice sets it empty); Leader NoLeaderChange keeps the
// leader. LeaderEpoch and PartitionEpoch are the partition's epochs after
// the change: a leader change raises the leader epoch, every change
// raises the partition epoch, and Apply refuses a change that does not.
type PartitionChangeRecord struct {
	TopicID        TopicID
	Partition      int32
	Leader         int32
	ISR            []int32
	Replicas       []int32
	ELR            []int32
	LeaderEpoch    int32
	PartitionEpoch int32
	// Request is set on a change the partition's leader asked for
	// (AlterPartition, KIP-497): what its request named. Nil on a change
	// the controller made on its own (elections, fencing, shutdown) and
	// on every record written before the field existed (version 0).
	// Kafka's record has no such field; Weir keeps it so that the log
	// itself shows what each accepted ISR change was computed from, and
	// the metadata checker can hold the controller to its fencing
	// (CheckLeaderRequests).
	Request *LeaderRequest
}

// LeaderRequest is what a leader's AlterPartition named: who asked, in
// which broker epoch, and the leader and partition epochs of the state its
// new ISR was computed from. A correct controller accepts the request only
// if all four match the image it applies the change to, so a change with a
// LeaderRequest always replaces exactly the partition epoch it names.
type LeaderRequest struct {
	BrokerID       int32
	BrokerEpoch    int64
	LeaderEpoch    int32
	PartitionEpoch int32
}

// RemoveTopicRecord deletes a topic, its partitions and its configs.
type RemoveTopicRecord struct {
	ID TopicID
}

// ProducerIDsRecord allocates the block of producer ids below
// NextProducerID to BrokerID; the next block starts at NextProducerID, so
// producer ids are unique across the cluster.
type ProducerIDsRecord struct {
	BrokerID       int32
	BrokerEpoch    int64
	NextProducerID int64
}

func (*ClusterRecord) Type() RecordType         { return TypeCluster }
func (*FeatureLevelRecord) Type() RecordType    { return TypeFeatureLevel }
func (*RegisterBrokerRecord) Type() RecordType  { return TypeRegisterBroker }
func (*FenceBrokerRecord) Type() RecordType     { return TypeFenceBroker }
func (*UnfenceBrokerRecord) Type() RecordType   { return TypeUnfenceBroker }
func (*BrokerShutdownRecord) Type() RecordType  { return TypeBrokerShutdown }
func (*TopicRecord) Type() RecordType           { return TypeTopic }
func (*ConfigRecord) Type() RecordType          { return TypeConfig }
func (*PartitionRecord) Type() RecordType       { return TypePartition }
func (*PartitionChangeRecord) Type() RecordType { return TypePartitionChange }
func (*RemoveTopicRecord) Type() RecordType     { return TypeRemoveTopic }
func (*ProducerIDsRecord) Type() RecordType     { return TypeProducerIDs }

func (r *ClusterRecord) String() string { return fmt.Sprintf("cluster id=%s", r.ClusterID) }
func (r *FeatureLevelRecord) String() string {
	return fmt.Sprintf("feature %s=%d", r.Name, r.Level)
}
func (r *RegisterBrokerRecord) String() string {
	s := fmt.Sprintf("register broker=%d epoch=%d rack=%q", r.NodeID, r.Epoch, r.Rack)
	for _, l := range r.Listeners {
		s += fmt.Sprintf(" %s://%s:%d", l.Name, l.Host, l.Port)
	}
	if !r.Fenced {
		s += " unfenced"
	}
	if r.InControlledShutdown {
		s += " shutting-down"
	}
	return s
}
func (r *FenceBrokerRecord) String() string {
	return fmt.Sprintf("fence broker=%d epoch=%d", r.NodeID, r.Epoch)
}
func (r *UnfenceBrokerRecord) String() string {
	return fmt.Sprintf("unfence broker=%d epoch=%d", r.NodeID, r.Epoch)
}
func (r *BrokerShutdownRecord) String() string {
	return fmt.Sprintf("shutdown broker=%d epoch=%d", r.NodeID, r.Epoch)
}
func (r *TopicRecord) String() string { return fmt.Sprintf("topic %s id=%s", r.Name, shortID(r.ID)) }
func (r *ConfigRecord) String() string {
	if r.Delete {
		return fmt.Sprintf("config %s delete %s", r.Name, r.Key)
	}
	return fmt.Sprintf("config %s %s=%s", r.Name, r.Key, r.Value)
}
func (r *PartitionRecord) String() string {
	return fmt.Sprintf("partition %s/%d replicas=%v isr=%v leader=%d epoch=%d pepoch=%d",
		shortID(r.TopicID), r.Partition, r.Replicas, r.ISR, r.Leader, r.LeaderEpoch, r.PartitionEpoch)
}
func (r *PartitionChangeRecord) String() string {
	s := fmt.Sprintf("change %s/%d", shortID(r.TopicID), r.Partition)
	if r.Leader != NoLeaderChange {
		s += fmt.Sprintf(" leader=%d", r.Leader)
	}
	if r.ISR != nil {
		s += fmt.Sprintf(" isr=%v", r.ISR)
	}
	if r.Replicas != nil {
		s += fmt.Sprintf(" replicas=%v", r.Replicas)
	}
	if r.ELR != nil {
		s += fmt.Sprintf(" elr=%v", r.ELR)
	}
	s += fmt.Sprintf(" epoch=%d pepoch=%d", r.LeaderEpoch, r.PartitionEpoch)
	if q := r.Request; q != nil {
		s += fmt.Sprintf(" requested-by=%d/%d at epoch=%d pepoch=%d", q.BrokerID, q.BrokerEpoch, q.LeaderEpoch, q.PartitionEpoch)
	}
	return s
}
func (r *RemoveTopicRecord) String() string { return fmt.Sprintf("remove topic id=%s", shortID(r.ID)) }
func (r *ProducerIDsRecord) String() string {
	return fmt.Sprintf("producer-ids broker=%d epoch=%d next=%d", r.BrokerID, r.BrokerEpoch, r.NextProducerID)
}

// shortID keeps scenario output readable: the first 4 bytes of an id.
func shortID(id TopicID) string { return hex.EncodeToString(id[:4]) }
