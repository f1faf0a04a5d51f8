package broker

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/weir-dev/weir/broker/group"
)

// GroupsConfig is the group coordinator's part of the broker config, with
// Kafka's server.properties names and defaults.
type GroupsConfig struct {
	// OffsetsTopicPartitions (offsets.topic.num.partitions) is how many
	// partitions __consumer_offsets gets when the broker creates it. Once
	// it exists, its actual partition count rules: it decides where every
	// group lives.
	OffsetsTopicPartitions int32
	// OffsetsTopicReplicationFactor (offsets.topic.replication.factor) is
	// stored with the topic; a single broker keeps one replica.
	OffsetsTopicReplicationFactor int16
	// OffsetsTopicSegmentBytes (offsets.topic.segment.bytes) is the topic's
	// segment.bytes.
	OffsetsTopicSegmentBytes int32
	// Coordinator holds the group.* and offsets.retention.* settings.
	Coordinator group.Config
}

// DefaultGroupsConfig is Kafka's defaults.
func DefaultGroupsConfig() GroupsConfig {
	return GroupsConfig{
		OffsetsTopicPartitions:        50,
		OffsetsTopicReplicationFactor: 3,
		OffsetsTopicSegmentBytes:      100 << 20,
		Coordinator:                   group.DefaultConfig(),
	}
}

// applyGroupProperty sets a group coordinator key of server.properties;
// ok is false for keys that are not its own.
func applyGroupProperty(cfg *Config, key, val string) (ok bool, err error) {
	g := &cfg.Groups
	c := &g.Coordinator
	int32In := func(min, max int64, dst *int32) error {
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < min || n > max {
			return fmt.Errorf("%q is not an integer in %d..%d", val, min, max)
		}
		*dst = int32(n)
		return nil
	}
	switch key {
	case "offsets.topic.num.partitions":
		return true, int32In(1, maxTopicPartitions, &g.OffsetsTopicPartitions)
	case "offsets.topic.replication.factor":
		var rf int32
		err := int32In(1, math.MaxInt16, &rf)
		g.OffsetsTopicReplicationFactor = int16(rf)
		return true, err
	case "offsets.topic.segment.bytes":
		return true, int32In(1, math.MaxInt32, &g.OffsetsTopicSegmentBytes)
	case "group.initial.rebalance.delay.ms":
		return true, int32In(0, math.MaxInt32, &c.InitialRebalanceDelayMs)
	case "group.min.session.timeout.ms":
		return true, int32In(0, math.MaxInt32, &c.MinSessionTimeoutMs)
	case "group.max.session.timeout.ms":
		return true, int32In(0, math.MaxInt32, &c.MaxSessionTimeoutMs)
	case "group.max.size":
		return true, int32In(1, math.MaxInt32, &c.MaxSize)
	case "offset.metadata.max.bytes":
		return true, int32In(0, math.MaxInt32, &c.OffsetMetadataMaxBytes)
	case "offsets.retention.minutes":
		var m int32
		if err := int32In(1, math.MaxInt32, &m); err != nil {
			return true, err
		}
		c.OffsetsRetentionMs = int64(m) * 60000
		return true, nil
	case "offsets.retention.check.interval.ms":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 1 {
			return true, fmt.Errorf("%q is not a positive integer", val)
		}
		c.OffsetsRetentionCheckIntervalMs = n
		return true, nil
	case "group.consumer.session.timeout.ms":
		return true, int32In(1, math.MaxInt32, &c.ConsumerSessionTimeoutMs)
	case "group.consumer.heartbeat.interval.ms":
		return true, int32In(1, math.MaxInt32, &c.ConsumerHeartbeatIntervalMs)
	case "group.consumer.max.size":
		return true, int32In(1, math.MaxInt32, &c.ConsumerMaxSize)
	case "group.consumer.assignors":
		names := strings.Split(val, ",")
		for i, n := range names {
			names[i] = strings.TrimSpace(n)
			if names[i] != "uniform" && names[i] != "range" {
				return true, fmt.Errorf("assignor %q is not one of uniform, range", names[i])
			}
		}
		c.ConsumerAssignors = names
		return true, nil
	}
	return false, nil
}

// groupBrokerConfigs adds the group coordinator's settings to what
// DescribeConfigs shows for the broker.
func (b *Broker) groupBrokerConfigs(m map[string]string) {
	g, c := b.cfg.Groups, b.cfg.Groups.Coordinator
	m["offsets.topic.num.partitions"] = strconv.Itoa(int(g.OffsetsTopicPartitions))
	m["offsets.topic.replication.factor"] = strconv.Itoa(int(g.OffsetsTopicReplicationFactor))
	m["offsets.topic.segment.bytes"] = strconv.Itoa(int(g.OffsetsTopicSegmentBytes))
	m["group.initial.rebalance.delay.ms"] = strconv.Itoa(int(c.InitialRebalanceDelayMs))
	m["group.min.session.timeout.ms"] = strconv.Itoa(int(c.MinSessionTimeoutMs))
	m["group.max.session.timeout.ms"] = strconv.Itoa(int(c.MaxSessionTimeoutMs))
	m["group.max.size"] = strconv.Itoa(int(c.MaxSize))
	m["offset.metadata.max.bytes"] = strconv.Itoa(int(c.OffsetMetadataMaxBytes))
	m["offsets.retention.minutes"] = strconv.FormatInt(c.OffsetsRetentionMs/60000, 10)
	m["offsets.retention.check.interval.ms"] = strconv.FormatInt(c.OffsetsRetentionCheckIntervalMs, 10)
	m["group.consumer.session.timeout.ms"] = strconv.Itoa(int(c.ConsumerSessionTimeoutMs))
	m["group.consumer.heartbeat.interval.ms"] = strconv.Itoa(int(c.ConsumerHeartbeatIntervalMs))
	m["group.consumer.max.size"] = strconv.Itoa(int(c.ConsumerMaxSize))
	m["group.consumer.assignors"] = strings.Join(c.ConsumerAssignors, ",")
}
