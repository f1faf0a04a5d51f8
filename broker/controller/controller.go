package controller

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

// Config is the controller's static configuration.
type Config struct {
	// DefaultPartitions and DefaultReplicationFactor fill a CreateTopics
	// that leaves them -1 (num.partitions, default.replication.factor).
	DefaultPartitions        int32
	DefaultReplicationFactor int16
	// MaxPartitionsPerTopic bounds CreateTopics and CreatePartitions.
	MaxPartitionsPerTopic int32
	// SessionTimeout is broker.session.timeout.ms: a broker whose
	// heartbeats stop for this long is fenced.
	SessionTimeout time.Duration
	// ProducerIDBlockSize is how many producer ids one AllocateProducerIDs
	// hands a broker.
	ProducerIDBlockSize int64
	// Defects plants known bugs for the metadata checker to find. Never
	// set outside tests and the simulator.
	Defects Defects
}

// Defects are deliberate controller bugs, off by default.
type Defects struct {
	// ReuseLeaderEpoch makes leader changes keep the leader epoch (the
	// partition epoch still rises): after a fencing, two brokers lead one
	// partition in one leader epoch.
	ReuseLeaderEpoch bool
	// SkipPartitionEpochCheck makes AlterPartition accept a stale
	// partition epoch, so a deposed leader's ISR change wins.
	SkipPartitionEpochCheck bool
	// ElectOutsideISR elects a leader from outside the ISR when no ISR
	// member is available, as if unclean.leader.election.enable were on
	// for every topic: a replica that missed acknowledged writes leads,
	// and they are lost.
	ElectOutsideISR bool
}

// DefaultConfig is Kafka's defaults, with Weir's partition bound.
func DefaultConfig() Config {
	return Config{
		DefaultPartitions:        1,
		DefaultReplicationFactor: 1,
		MaxPartitionsPerTopic:    10000,
		SessionTimeout:           9 * time.Second,
		ProducerIDBlockSize:      1000,
	}
}

// FeatureMetadataVersion is the feature the bootstrap finalizes.
const FeatureMetadataVersion = "metadata.version"

// Controller decides metadata changes: given the current image, a request
// and the time, it returns the records to append and the answer. It keeps
// one piece of state outside the log: when each broker last heartbeated.
// It is not safe for concurrent use; the Raft shell calls it from one
// goroutine.
type Controller struct {
	cfg        Config
	rng        *rand.Rand
	heartbeats map[int32]time.Time
}

// New returns a controller drawing ids (cluster, topics) from rng.
func New(cfg Config, rng *rand.Rand) *Controller {
	if cfg.SessionTimeout <= 0 || cfg.ProducerIDBlockSize <= 0 || cfg.MaxPartitionsPerTopic <= 0 {
		panic(fmt.Sprintf("controller: bad config %+v", cfg))
	}
	return &Controller{cfg: cfg, rng: rng, heartbeats: map[int32]time.Time{}}
}

// Result is a decision: records to append (nil for none) and the answer
// to send once they are committed. Err is set only for a request the
// controller does not handle (a bug of the caller, not a Kafka error).
type Result struct {
	Records  []metadata.Record
	Response kmsg.Response
	Err      error
}

// Activate is called when this node's controller starts deciding (it
// became the Raft leader and applied its term's first entry): every
// registered broker gets a fresh session, as Kafka's new active controller
// gives them, so no broker is fenced for heartbeats sent to an old leader.
func (c *Controller) Activate(img *metadata.Image, now time.Time) {
	clear(c.heartbeats)
	for _, b := range img.Brokers() {
		c.heartbeats[b.ID] = now
	}
}

// Bootstrap returns the records that start an empty cluster: its id and
// feature levels. It returns nil once the cluster has an id.
func (c *Controller) Bootstrap(img *metadata.Image) []metadata.Record {
	if img.ClusterID() != "" {
		return nil
	}
	var id [16]byte
	for i := range id {
		id[i] = byte(c.rng.Uint32())
	}
	return []metadata.Record{
		&metadata.ClusterRecord{ClusterID: base64.RawURLEncoding.EncodeToString(id[:])},
		&metadata.FeatureLevelRecord{Name: FeatureMetadataVersion, Level: 1},
	}
}

// Decide handles one request against img. The records it returns will be
// appended right after img's offset: a decision reads the epoch a
// registration gets from that (img.Offset().Index+1).
func (c *Controller) Decide(img *metadata.Image, req kmsg.Request, now time.Time) Result {
	switch r := req.(type) {
	case *kmsg.CreateTopicsRequest:
		return c.createTopics(img, r)
	case *kmsg.DeleteTopicsRequest:
		return c.deleteTopics(img, r)
	case *kmsg.CreatePartitionsRequest:
		return c.createPartitions(img, r)
	case *kmsg.IncrementalAlterConfigsRequest:
		return c.incrementalAlterConfigs(img, r)
	case *kmsg.AlterConfigsRequest:
		return c.alterConfigs(img, r)
	case *kmsg.BrokerRegistrationRequest:
		return c.registerBroker(img, r, now)
	case *kmsg.BrokerHeartbeatRequest:
		return c.heartbeat(img, r, now)
	case *kmsg.AlterPartitionRequest:
		return c.alterPartition(img, r)
	case *kmsg.ElectLeadersRequest:
		return c.electLeaders(img, r)
	case *kmsg.AllocateProducerIDsRequest:
		return c.allocateProducerIDs(img, r)
	}
	return Result{Err: fmt.Errorf("controller: no decision for %T", req)}
}

// Tick fences the brokers whose sessions expired by now and moves their
// leadership away. The shell calls it on its ticks while it decides.
func (c *Controller) Tick(img *metadata.Image, now time.Time) []metadata.Record {
	b := newBatch(img)
	for _, br := range img.Brokers() {
		last, ok := c.heartbeats[br.ID]
		if !ok {
			c.heartbeats[br.ID] = now // a broker this controller has not seen: its session starts now
			continue
		}
		if last.After(now) {
			// The clock went back past the last heartbeat (a wall clock
			// reset): the session restarts now, so it lasts at most its
			// timeout from here, not the jump as well.
			c.heartbeats[br.ID], last = now, now
		}
		if br.Fenced || now.Sub(last) < c.cfg.SessionTimeout {
			continue
		}
		c.fence(b, br.ID, br.Epoch)
	}
	return b.records
}

// Session reports when a broker last heartbeated, for tests and the
// liveness report.
func (c *Controller) Session(id int32) (time.Time, bool) {
	t, ok := c.heartbeats[id]
	return t, ok
}
