package broker

import (
	"strings"
	"testing"
	"time"
)

// propertyCase is one value of a server.properties key: what it sets, or
// that it is refused.
type propertyCase struct {
	val  string
	want int64
	err  bool
}

// checkProperty parses each value of key on line 2 of a file and checks
// what get reads back, or that the error names line 2.
func checkProperty(t *testing.T, key string, cases []propertyCase, get func(Config) int64) {
	t.Helper()
	for _, tc := range cases {
		cfg := DefaultConfig()
		_, err := ParseProperties(strings.NewReader("num.partitions=2\n"+key+"="+tc.val+"\n"), &cfg)
		switch {
		case tc.err && (err == nil || !strings.Contains(err.Error(), "line 2")):
			t.Errorf("%s=%q: error %v, want one naming line 2", key, tc.val, err)
		case !tc.err && err != nil:
			t.Errorf("%s=%q: %v", key, tc.val, err)
		case !tc.err && get(cfg) != tc.want:
			t.Errorf("%s=%q: got %d, want %d", key, tc.val, get(cfg), tc.want)
		}
	}
}

// TestDropBehindProperty: weir.log.drop.behind.bytes defaults to 64 MiB,
// takes any non-negative integer (0 keeps the whole page cache, as Kafka
// does) and refuses anything else with the line it is on.
func TestDropBehindProperty(t *testing.T) {
	if got := DefaultConfig().DropBehindBytes; got != 64<<20 {
		t.Fatalf("default %d, want 64 MiB", got)
	}
	checkProperty(t, "weir.log.drop.behind.bytes", []propertyCase{
		{"0", 0, false},
		{"1048576", 1 << 20, false},
		{"-1", 0, true},
		{"64MB", 0, true},
		{"", 0, true},
	}, func(c Config) int64 { return c.DropBehindBytes })
}

// TestBackgroundSyncNiceProperty: weir.log.background.sync.nice defaults to
// 19, takes 0 (off) to 19 and refuses anything else with its line.
func TestBackgroundSyncNiceProperty(t *testing.T) {
	if got := DefaultConfig().BackgroundSyncNice; got != 19 {
		t.Fatalf("default %d, want 19", got)
	}
	checkProperty(t, "weir.log.background.sync.nice", []propertyCase{
		{"0", 0, false},
		{"10", 10, false},
		{"19", 19, false},
		{"20", 0, true},
		{"-1", 0, true},
		{"low", 0, true},
	}, func(c Config) int64 { return int64(c.BackgroundSyncNice) })
}

// TestRetentionCheckIntervalProperty: log.retention.check.interval.ms
// defaults to Kafka's 5 minutes and takes a positive number of ms.
func TestRetentionCheckIntervalProperty(t *testing.T) {
	if got := DefaultConfig().RetentionCheckInterval; got != 5*time.Minute {
		t.Fatalf("default %v, want 5m", got)
	}
	checkProperty(t, "log.retention.check.interval.ms", []propertyCase{
		{"1000", 1000, false},
		{"300000", 300000, false},
		{"0", 0, true},
		{"-5", 0, true},
		{"5m", 0, true},
	}, func(c Config) int64 { return c.RetentionCheckInterval.Milliseconds() })
}

// TestFetchSessionProperties: max.incremental.fetch.session.cache.slots
// takes a count (0: no sessions, kept as -1 so that 0 can mean Kafka's
// default); min.incremental.fetch.session.eviction.ms a positive number
// of ms.
func TestFetchSessionProperties(t *testing.T) {
	checkProperty(t, "max.incremental.fetch.session.cache.slots", []propertyCase{
		{"1000", 1000, false},
		{"5", 5, false},
		{"0", -1, false},
		{"-1", 0, true},
		{"many", 0, true},
	}, func(c Config) int64 { return int64(c.FetchSessionCacheSlots) })
	checkProperty(t, "min.incremental.fetch.session.eviction.ms", []propertyCase{
		{"120000", 120000, false},
		{"0", 0, true},
		{"2m", 0, true},
	}, func(c Config) int64 { return c.FetchSessionEvictAfter.Milliseconds() })
}

// TestCleanerProperties: the log.cleaner.* keys set the topic defaults of
// the cleaner's topic configs, validated as the topic configs are.
func TestCleanerProperties(t *testing.T) {
	for key, topicKey := range map[string]string{
		"log.cleaner.min.cleanable.ratio":   "min.cleanable.dirty.ratio",
		"log.cleaner.delete.retention.ms":   "delete.retention.ms",
		"log.cleaner.min.compaction.lag.ms": "min.compaction.lag.ms",
	} {
		cfg := DefaultConfig()
		if _, err := ParseProperties(strings.NewReader(key+"=1\n"), &cfg); err != nil || cfg.TopicDefaults[topicKey] != "1" {
			t.Errorf("%s=1: %v, %s=%q", key, err, topicKey, cfg.TopicDefaults[topicKey])
		}
		if _, err := ParseProperties(strings.NewReader(key+"=-2\n"), &cfg); err == nil {
			t.Errorf("%s=-2 accepted", key)
		}
	}
	checkProperty(t, "log.cleaner.enable", []propertyCase{
		{"false", 0, false},
		{"true", 1, false},
		{"maybe", 0, true},
	}, func(c Config) int64 {
		if c.LogCleanerEnable {
			return 1
		}
		return 0
	})
}
