package broker

import (
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
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
		def, known := topicConfigs[name]
		if !known {
			continue // Kafka omits names it does not know
		}
		v, src := b.effectiveTopicConfig(t.meta.Configs, name)
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.Source, c.ConfigType = name, &v, src, def.typ
		c.IsDefault = src == kmsg.ConfigSourceDefaultConfig
		if docs && def.doc != "" {
			d := def.doc
			c.Documentation = &d
		}
		if synonyms {
			c.ConfigSynonyms = b.topicConfigSynonyms(t.meta.Configs, name)
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
	add(serverKeyFor(name), topicConfigs[name].def, kmsg.ConfigSourceDefaultConfig)
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

// setTopicConfigs replaces or edits a topic's overrides and applies the
// ones the log acts on.
func (b *Broker) setTopicConfigs(name string, validateOnly bool, edit func(overrides map[string]string) *topicError) *topicError {
	var changed *topic
	terr := b.replaceTopic(name, validateOnly, func(next *topic) *topicError {
		if err := edit(next.meta.Configs); err != nil {
			return err
		}
		// Request strings alias the request's buffer; configs outlive it.
		cloned := make(map[string]string, len(next.meta.Configs))
		for k, v := range next.meta.Configs {
			if err := validateTopicConfig(k, v); err != nil {
				return errTopic(kerr.InvalidConfig, "invalid config %s: %v", k, err)
			}
			cloned[strings.Clone(k)] = strings.Clone(v)
		}
		next.meta.Configs = cloned
		changed = next
		return nil
	})
	if terr == nil && !validateOnly {
		cfg := b.logConfig(changed.meta.Configs)
		for _, p := range changed.partitions {
			if err := p.log.SetConfig(cfg); err != nil {
				b.log.Error("applying topic config to a partition log", "topic", name, "partition", p.index, "err", err)
			}
		}
	}
	return terr
}

func errNotTopicResource(rt kmsg.ConfigResourceType) *topicError {
	if rt == kmsg.ConfigResourceTypeBroker {
		return errTopic(kerr.InvalidRequest, "broker configs are static in Weir; set them in server.properties")
	}
	return errTopic(kerr.InvalidRequest, "config resource type %d is not supported", rt)
}
