package broker

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

// Topic configs: the table lives in broker/metadata, shared with the
// controller that validates every change.

// topicConfigNames returns the known topic config names, sorted.
func topicConfigNames() []string { return metadata.TopicConfigNames() }

func validateTopicConfig(name, value string) error { return metadata.ValidateTopicConfig(name, value) }

// effectiveTopicConfig resolves one config: topic override, else broker
// default, else built-in default; it also says where the value came from.
func (b *Broker) effectiveTopicConfig(overrides map[string]string, name string) (string, kmsg.ConfigSource) {
	if v, ok := overrides[name]; ok {
		return v, kmsg.ConfigSourceDynamicTopicConfig
	}
	if v, ok := b.cfg.TopicDefaults[name]; ok {
		return v, kmsg.ConfigSourceStaticBrokerConfig
	}
	def, _ := metadata.LookupTopicConfig(name)
	return def.Default, kmsg.ConfigSourceDefaultConfig
}

func (b *Broker) topicConfigInt(overrides map[string]string, name string) int64 {
	v, _ := b.effectiveTopicConfig(overrides, name)
	n, _ := strconv.ParseInt(v, 10, 64) // validated when set
	return n
}
