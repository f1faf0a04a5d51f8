package queue

import (
	"slices"
	"testing"

	"github.com/weir-dev/weir/history"
)

// The compacted mode adds its topic (cleanup.policy=compact, the queue's
// min.insync.replicas unless it sets one) and its two client hosts; a
// tombstone is a null value carrying its history value in a header, as
// gen.PollValue reads it back.
func TestCompactedConfig(t *testing.T) {
	cfg := Config{Topic: "q", Bootstrap: []string{"b:9092"}, Producers: 1, Consumers: 1,
		TopicConfigs: map[string]string{"min.insync.replicas": "2"},
		Compacted:    &CompactedConfig{TopicConfigs: map[string]string{"segment.bytes": "1024", "cleanup.policy": "delete"}}}
	if got, want := cfg.ClientHosts(), []string{"producer-0", "consumer-0", "kv-producer", "kv-consumer"}; !slices.Equal(got, want) {
		t.Fatalf("hosts %v, want %v", got, want)
	}
	c, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	top := c.compactedTopic()
	if top == nil || top.Name != "q-kv" || top.Partitions != 1 {
		t.Fatalf("topic %+v", top)
	}
	want := map[string]string{"cleanup.policy": "compact", "min.insync.replicas": "2", "segment.bytes": "1024"}
	for k, v := range want {
		if top.Configs[k] == nil || *top.Configs[k] != v {
			t.Errorf("config %s = %v, want %s", k, top.Configs[k], v)
		}
	}
	if c.Compacted.Keys == 0 || c.Compacted.Processes == 0 || c.Compacted.Rate == 0 || cfg.Compacted.Topic != "" {
		t.Errorf("defaults %+v (the caller's config must stay as it was: %+v)", c.Compacted, cfg.Compacted)
	}
	if (&Config{}).compactedTopic() != nil {
		t.Error("a topic without the mode")
	}

	snd, r := compactedRecord("q-kv", "k1", "kv3-7", true)
	if !snd.Tombstone || snd.Value != "kv3-7" || r.Value != nil || len(r.Headers) != 1 || r.Headers[0].Key != history.TombstoneHeader || string(r.Headers[0].Value) != "kv3-7" {
		t.Errorf("tombstone %+v, record %+v", snd, r)
	}
	snd, r = compactedRecord("q-kv", "k1", "kv3-8", false)
	if snd.Tombstone || string(r.Value) != "kv3-8" || len(r.Headers) != 0 {
		t.Errorf("value %+v, record %+v", snd, r)
	}
}
