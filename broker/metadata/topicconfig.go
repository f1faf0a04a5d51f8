package metadata

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/record"
)

// TopicConfigDef is one topic-level config Weir knows: its built-in
// default, its type for DescribeConfigs and a validator.
type TopicConfigDef struct {
	Default  string
	Type     kmsg.ConfigType
	Doc      string
	validate func(string) error
}

func intIn(lo, hi int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("value %q must be an integer in [%d, %d]", v, lo, hi)
		}
		return nil
	}
}

func floatIn(lo, hi float64) func(string) error {
	return func(v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= lo && f <= hi) {
			return fmt.Errorf("value %q must be a number in [%g, %g]", v, lo, hi)
		}
		return nil
	}
}

func oneOf(allowed ...string) func(string) error {
	return func(v string) error {
		if slices.Contains(allowed, v) {
			return nil
		}
		return fmt.Errorf("value %q must be one of %v", v, allowed)
	}
}

const maxInt64 = 1<<63 - 1

// topicConfigDefs lists the topic configs Weir accepts, with Kafka's
// defaults: the one table the controller validates with and the broker
// describes and resolves from. Some are stored and reported but not yet
// acted on (file.delete.delay.ms, flush.messages, flush.ms); retention and
// compaction are enforced by the broker's log maintenance loop.
var topicConfigDefs = map[string]TopicConfigDef{
	"cleanup.policy":                 {Default: "delete", Type: kmsg.ConfigTypeList, validate: oneOf("delete", "compact", "compact,delete", "delete,compact"), Doc: "delete or compact old segments"},
	"compression.type":               {Default: "producer", Type: kmsg.ConfigTypeString, validate: oneOf("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"), Doc: "compression of stored batches; producer keeps what the producer sent"},
	"delete.retention.ms":            {Default: "86400000", Type: kmsg.ConfigTypeLong, validate: intIn(0, maxInt64)},
	"file.delete.delay.ms":           {Default: "60000", Type: kmsg.ConfigTypeLong, validate: intIn(0, maxInt64)},
	"flush.messages":                 {Default: "9223372036854775807", Type: kmsg.ConfigTypeLong, validate: intIn(1, maxInt64)},
	"flush.ms":                       {Default: "9223372036854775807", Type: kmsg.ConfigTypeLong, validate: intIn(0, maxInt64)},
	"index.interval.bytes":           {Default: "4096", Type: kmsg.ConfigTypeInt, validate: intIn(0, 1<<31-1)},
	"max.message.bytes":              {Default: "1048588", Type: kmsg.ConfigTypeInt, validate: intIn(0, 1<<31-1), Doc: "largest record batch the topic accepts"},
	"message.timestamp.type":         {Default: "CreateTime", Type: kmsg.ConfigTypeString, validate: oneOf("CreateTime", "LogAppendTime")},
	"min.cleanable.dirty.ratio":      {Default: "0.5", Type: kmsg.ConfigTypeDouble, validate: floatIn(0, 1), Doc: "share of a compacted log that must be dirty before it is cleaned"},
	"min.compaction.lag.ms":          {Default: "0", Type: kmsg.ConfigTypeLong, validate: intIn(0, maxInt64)},
	"min.insync.replicas":            {Default: "1", Type: kmsg.ConfigTypeInt, validate: intIn(1, 1<<31-1), Doc: "replicas that must hold an acks=all write"},
	"retention.bytes":                {Default: "-1", Type: kmsg.ConfigTypeLong, validate: intIn(-1, maxInt64)},
	"retention.ms":                   {Default: "604800000", Type: kmsg.ConfigTypeLong, validate: intIn(-1, maxInt64)},
	"segment.bytes":                  {Default: "1073741824", Type: kmsg.ConfigTypeInt, validate: intIn(record.HeaderSize, 1<<31-1), Doc: "segment size before a roll"},
	"segment.ms":                     {Default: "604800000", Type: kmsg.ConfigTypeLong, validate: intIn(1, maxInt64), Doc: "segment age before a roll"},
	"unclean.leader.election.enable": {Default: "false", Type: kmsg.ConfigTypeBoolean, validate: oneOf("true", "false")},
}

// TopicConfigNames returns the known topic config names, sorted.
func TopicConfigNames() []string {
	names := make([]string, 0, len(topicConfigDefs))
	for n := range topicConfigDefs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LookupTopicConfig returns the definition of a topic config.
func LookupTopicConfig(name string) (TopicConfigDef, bool) {
	d, ok := topicConfigDefs[name]
	return d, ok
}

// ValidateTopicConfig checks one topic config override.
func ValidateTopicConfig(name, value string) error {
	d, ok := topicConfigDefs[name]
	if !ok {
		return fmt.Errorf("unknown topic config %q", name)
	}
	return d.validate(value)
}

// ConfigSource says where a resolved value came from, with Kafka's
// DescribeConfigs numbers.
type ConfigSource = kmsg.ConfigSource

// TopicConfig is a topic's resolved configuration: every value typed and
// parsed once, when the image is built, so request handlers never parse
// configs.
type TopicConfig struct {
	CleanupPolicy               string
	CompressionType             string
	DeleteRetentionMs           int64
	FileDeleteDelayMs           int64
	FlushMessages               int64
	FlushMs                     int64
	IndexIntervalBytes          int32
	MaxMessageBytes             int32
	LogAppendTime               bool // message.timestamp.type=LogAppendTime
	MinCompactionLagMs          int64
	MinInsyncReplicas           int32
	RetentionBytes              int64
	RetentionMs                 int64
	SegmentBytes                int32
	SegmentMs                   int64
	UncleanLeaderElectionEnable bool
}

// Defaults are the node's topic config defaults (server.properties keys
// already mapped to topic config names: log.segment.bytes is
// segment.bytes), over the built-in ones. Validated by NewDefaults.
type Defaults struct {
	values map[string]string
}

// NewDefaults validates static defaults; nil is no defaults.
func NewDefaults(values map[string]string) (*Defaults, error) {
	d := &Defaults{values: make(map[string]string, len(values))}
	for k, v := range values {
		if err := ValidateTopicConfig(k, v); err != nil {
			return nil, fmt.Errorf("default %s: %w", k, err)
		}
		d.values[k] = v
	}
	return d, nil
}

// Value resolves one config: override, else static default, else
// built-in default; with where it came from.
func (d *Defaults) Value(overrides map[string]string, name string) (string, ConfigSource) {
	if v, ok := overrides[name]; ok {
		return v, kmsg.ConfigSourceDynamicTopicConfig
	}
	if d != nil {
		if v, ok := d.values[name]; ok {
			return v, kmsg.ConfigSourceStaticBrokerConfig
		}
	}
	return topicConfigDefs[name].Default, kmsg.ConfigSourceDefaultConfig
}

// Resolve builds a TopicConfig from overrides. Every value has been
// validated before it reached here (by NewDefaults, or by Apply for
// overrides), so parsing cannot fail.
func (d *Defaults) Resolve(overrides map[string]string) TopicConfig {
	str := func(n string) string { v, _ := d.Value(overrides, n); return v }
	i64 := func(n string) int64 { v, _ := strconv.ParseInt(str(n), 10, 64); return v }
	i32 := func(n string) int32 { return int32(i64(n)) }
	return TopicConfig{
		CleanupPolicy:               str("cleanup.policy"),
		CompressionType:             str("compression.type"),
		DeleteRetentionMs:           i64("delete.retention.ms"),
		FileDeleteDelayMs:           i64("file.delete.delay.ms"),
		FlushMessages:               i64("flush.messages"),
		FlushMs:                     i64("flush.ms"),
		IndexIntervalBytes:          i32("index.interval.bytes"),
		MaxMessageBytes:             i32("max.message.bytes"),
		LogAppendTime:               str("message.timestamp.type") == "LogAppendTime",
		MinCompactionLagMs:          i64("min.compaction.lag.ms"),
		MinInsyncReplicas:           i32("min.insync.replicas"),
		RetentionBytes:              i64("retention.bytes"),
		RetentionMs:                 i64("retention.ms"),
		SegmentBytes:                i32("segment.bytes"),
		SegmentMs:                   i64("segment.ms"),
		UncleanLeaderElectionEnable: str("unclean.leader.election.enable") == "true",
	}
}
