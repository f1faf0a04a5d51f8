package broker

import (
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

// Config resources shared by DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs.

// describeTopicConfigs lists a topic's configs (all, or the named ones).
func (b *Broker) describeTopicConfigs(t *topic, names []string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	if names == nil {
		names = topicConfigNames()
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, name := range names {
		def, known := metadata.LookupTopicConfig(name)
		if !known {
			continue // Kafka omits names it does not know
		}
		v, src := b.effectiveTopicConfig(t.overrides(), name)
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.Source, c.ConfigType = name, &v, src, def.Type
		c.IsDefault = src == kmsg.ConfigSourceDefaultConfig
		if docs && def.Doc != "" {
			d := def.Doc
			c.Documentation = &d
		}
		if synonyms {
			c.ConfigSynonyms = b.topicConfigSynonyms(t.overrides(), name)
		}
		out = append(out, c)
	}
	return out
}

func (b *Broker) topicConfigSynonyms(overrides map[string]string, name string) []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	var syn []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
	add := func(n, v string, src kmsg.ConfigSource) {
		s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
		s.Name, s.Source = n, src
		s.Value = &v
		syn = append(syn, s)
	}
	if v, ok := overrides[name]; ok {
		add(name, v, kmsg.ConfigSourceDynamicTopicConfig)
	}
	if v, ok := b.cfg.TopicDefaults[name]; ok {
		add(serverKeyFor(name), v, kmsg.ConfigSourceStaticBrokerConfig)
	}
	def, _ := metadata.LookupTopicConfig(name)
	add(serverKeyFor(name), def.Default, kmsg.ConfigSourceDefaultConfig)
	return syn
}

// serverKeyFor names the server.properties key that defaults a topic config.
func serverKeyFor(topicKey string) string {
	if topicKey == "retention.ms" {
		return "log.retention.ms"
	}
	for sk, tk := range serverKeyToTopicKey {
		if tk == topicKey {
			return sk
		}
	}
	return topicKey
}

// brokerConfigs is what DescribeConfigs shows for this broker: its static
// configuration in server.properties names.
func (b *Broker) brokerConfigs() map[string]string {
	m := map[string]string{
		"node.id":                       strconv.Itoa(int(b.cfg.NodeID)),
		"broker.id":                     strconv.Itoa(int(b.cfg.NodeID)),
		"log.dirs":                      b.cfg.DataDir,
		"listeners":                     "PLAINTEXT://" + b.cfg.ListenAddr,
		"advertised.listeners":          "PLAINTEXT://" + b.Addr(),
		"num.partitions":                strconv.Itoa(int(b.cfg.NumPartitions)),
		"default.replication.factor":    strconv.Itoa(int(b.cfg.DefaultReplicationFactor)),
		"auto.create.topics.enable":     strconv.FormatBool(b.cfg.AutoCreateTopics),
		"socket.request.max.bytes":      strconv.Itoa(int(b.cfg.SocketRequestMaxBytes)),
		"weir.fsync.acks.all":           strconv.FormatBool(b.cfg.FsyncAcksAll),
		"weir.log.drop.behind.bytes":    strconv.FormatInt(b.cfg.DropBehindBytes, 10),
		"weir.log.background.sync.nice": strconv.Itoa(b.cfg.BackgroundSyncNice),
		"log.flush.interval.messages":   strconv.FormatInt(b.cfg.FlushIntervalMessages, 10),
		"log.flush.interval.ms":         strconv.FormatInt(b.cfg.FlushInterval.Milliseconds(), 10),

		// The log maintenance loop's (logmaint.go).
		"log.retention.check.interval.ms": strconv.FormatInt(b.cfg.RetentionCheckInterval.Milliseconds(), 10),
		"log.cleaner.enable":              strconv.FormatBool(b.cfg.LogCleanerEnable),
	}
	b.groupBrokerConfigs(m)
	for _, name := range topicConfigNames() {
		sk := serverKeyFor(name)
		if sk == name && name != "compression.type" && name != "min.insync.replicas" {
			continue // not settable broker-wide
		}
		v, _ := b.effectiveTopicConfig(nil, name)
		m[sk] = v
	}
	return m
}

func (b *Broker) describeBrokerConfigs(names []string) []kmsg.DescribeConfigsResponseResourceConfig {
	all := b.brokerConfigs()
	if names == nil {
		for n := range all {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, n := range names {
		v, ok := all[n]
		if !ok {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.Source, c.ReadOnly = n, &v, kmsg.ConfigSourceStaticBrokerConfig, true
		c.ConfigType = kmsg.ConfigTypeString
		out = append(out, c)
	}
	return out
}

func errNotTopicResource(rt kmsg.ConfigResourceType) *topicError {
	if rt == kmsg.ConfigResourceTypeBroker {
		return errTopic(kerr.InvalidRequest, "broker configs are static in Weir; set them in server.properties")
	}
	return errTopic(kerr.InvalidRequest, "config resource type %d is not supported", rt)
}
