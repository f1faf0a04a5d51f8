package broker

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/record"
)

// topicConfigDef is one topic-level config Weir knows: its default, its
// type for DescribeConfigs, and how to validate a value.
type topicConfigDef struct {
	def      string
	typ      kmsg.ConfigType
	validate func(string) error
	doc      string
}

func intIn(min, max int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min || n > max {
			return fmt.Errorf("value %q must be an integer in [%d, %d]", v, min, max)
		}
		return nil
	}
}

func floatIn(min, max float64) func(string) error {
	return func(v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= min && f <= max) {
			return fmt.Errorf("value %q must be a number in [%g, %g]", v, min, max)
		}
		return nil
	}
}

func oneOf(allowed ...string) func(string) error {
	return func(v string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("value %q must be one of %v", v, allowed)
	}
}

const maxInt64 = 1<<63 - 1

// topicConfigs lists the topic configs Weir accepts, with Kafka's defaults.
// Some are stored and reported but not yet acted on (file.delete.delay.ms,
// flush.messages, flush.ms, unclean.leader.election.enable); retention and
// compaction are enforced by the log maintenance loop (logmaint.go).
var topicConfigs = map[string]topicConfigDef{
	"cleanup.policy":                 {def: "delete", typ: kmsg.ConfigTypeList, validate: oneOf("delete", "compact", "compact,delete", "delete,compact"), doc: "delete or compact old segments"},
	"compression.type":               {def: "producer", typ: kmsg.ConfigTypeString, validate: oneOf("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"), doc: "compression of stored batches; producer keeps what the producer sent"},
	"delete.retention.ms":            {def: "86400000", typ: kmsg.ConfigTypeLong, validate: intIn(0, maxInt64)},
	"file.delete.delay.ms":           {def: "60000", typ: kmsg.ConfigTypeLong, validate: intIn(0, maxInt64)},
	"flush.messages":                 {def: "9223372036854775807", typ: kmsg.ConfigTypeLong, validate: intIn(1, maxInt64)},
	"flush.ms":                       {def: "9223372036854775807", typ: kmsg.ConfigTypeLong, validate: intIn(0, maxInt64)},
	"index.interval.bytes":           {def: "4096", typ: kmsg.ConfigTypeInt, validate: intIn(0, 1<<31-1)},
	"max.message.bytes":              {def: "1048588", typ: kmsg.ConfigTypeInt, validate: intIn(0, 1<<31-1), doc: "largest record batch the topic accepts"},
	"message.timestamp.type":         {def: "CreateTime", typ: kmsg.ConfigTypeString, validate: oneOf("CreateTime", "LogAppendTime")},
	"min.cleanable.dirty.ratio":      {def: "0.5", typ: kmsg.ConfigTypeDouble, validate: floatIn(0, 1), doc: "share of a compacted log that must be dirty before it is cleaned"},
	"min.compaction.lag.ms":          {def: "0", typ: kmsg.ConfigTypeLong, validate: intIn(0, maxInt64)},
	"min.insync.replicas":            {def: "1", typ: kmsg.ConfigTypeInt, validate: intIn(1, 1<<31-1), doc: "replicas that must hold an acks=all write"},
	"retention.bytes":                {def: "-1", typ: kmsg.ConfigTypeLong, validate: intIn(-1, maxInt64)},
	"retention.ms":                   {def: "604800000", typ: kmsg.ConfigTypeLong, validate: intIn(-1, maxInt64)},
	"segment.bytes":                  {def: "1073741824", typ: kmsg.ConfigTypeInt, validate: intIn(record.HeaderSize, 1<<31-1), doc: "segment size before a roll"},
	"segment.ms":                     {def: "604800000", typ: kmsg.ConfigTypeLong, validate: intIn(1, maxInt64), doc: "segment age before a roll"},
	"unclean.leader.election.enable": {def: "false", typ: kmsg.ConfigTypeBoolean, validate: oneOf("true", "false")},
}

// topicConfigNames returns the known topic config names, sorted.
func topicConfigNames() []string {
	names := make([]string, 0, len(topicConfigs))
	for n := range topicConfigs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func validateTopicConfig(name, value string) error {
	d, ok := topicConfigs[name]
	if !ok {
		return fmt.Errorf("unknown topic config %q", name)
	}
	return d.validate(value)
}

// effectiveTopicConfig resolves one config: topic override, else broker
// default, else built-in default; it also says where the value came from.
func (b *Broker) effectiveTopicConfig(overrides map[string]string, name string) (string, kmsg.ConfigSource) {
	if v, ok := overrides[name]; ok {
		return v, kmsg.ConfigSourceDynamicTopicConfig
	}
	if v, ok := b.cfg.TopicDefaults[name]; ok {
		return v, kmsg.ConfigSourceStaticBrokerConfig
	}
	return topicConfigs[name].def, kmsg.ConfigSourceDefaultConfig
}

func (b *Broker) topicConfigInt(overrides map[string]string, name string) int64 {
	v, _ := b.effectiveTopicConfig(overrides, name)
	n, _ := strconv.ParseInt(v, 10, 64) // validated when set
	return n
}
