package broker

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/weir-dev/weir/internal/lowprio"
)

// Config is a broker's static configuration: what server.properties and the
// serve flags set. Topic-level defaults live in TopicDefaults, keyed by the
// topic config name (segment.bytes, retention.ms, ...), so a topic's
// effective config is its overrides over these defaults over the built-in
// defaults of topicConfigs.
type Config struct {
	NodeID         int32
	ListenAddr     string // host:port to listen on
	AdvertisedAddr string // host:port clients are told to connect to; ListenAddr if empty
	DataDir        string

	NumPartitions            int32 // partitions of a topic created without a count
	DefaultReplicationFactor int16
	AutoCreateTopics         bool
	MessageMaxBytes          int32 // broker-wide default for max.message.bytes
	SocketRequestMaxBytes    int32 // a larger frame closes the connection

	// FsyncAcksAll makes acks=-1 produces wait for fsync (group-committed).
	// Off, the broker behaves like Kafka's default page-cache durability:
	// acks=-1 is answered once appended, and the high watermark is the log
	// end offset.
	FsyncAcksAll bool
	// FlushIntervalMessages and FlushInterval are Kafka's
	// log.flush.interval.messages / log.flush.interval.ms: background fsync
	// after that many unflushed messages or that much time. Zero disables.
	FlushIntervalMessages int64
	FlushInterval         time.Duration
	// DropBehindBytes (weir.log.drop.behind.bytes) bounds the page cache each
	// partition keeps of what it wrote: after an fsync, the cache of the
	// partition's bytes more than this far behind the synced end is dropped
	// (see broker/log.Config). Fsyncs follow every append while FsyncAcksAll
	// is on; with it off, only the flush settings above fsync. 0 keeps
	// everything, as Kafka does.
	DropBehindBytes int64
	// BackgroundSyncNice (weir.log.background.sync.nice) is the nice value
	// of the threads that run the fsyncs nobody waits for (acks=1 appends
	// with no consumer fetching, the flush settings' fsyncs): 1 to 19, or
	// 0 to run them at the broker's own priority. See internal/lowprio.
	BackgroundSyncNice int

	// TopicDefaults overrides the built-in topic config defaults
	// (log.segment.bytes in server.properties becomes segment.bytes here).
	TopicDefaults map[string]string

	// Defects plants known bugs for the simulator to find. Never set outside
	// tests and `weir sim --defect`.
	Defects Defects

	Logger *slog.Logger

	retentionKeyRank int // which log.retention.* key set retention.ms
}

// Defects are deliberate bugs, reachable only from the simulator and tests
// (weir sim --defect NAME, weir selftest), that prove the checkers can
// catch a broken broker. The zero value plants nothing; nothing outside the
// simulator sets them. DefectCatalog (defects.go) names each one, says what
// it breaks and which checker should catch it.
type Defects struct {
	// AckBeforeFsync answers acks=-1 produces before their data is fsynced.
	AckBeforeFsync bool
	// ForgetProducers opens a partition with empty idempotence state (no
	// snapshot, no replay), as if the state were lost at every restart.
	ForgetProducers bool
	// KeepTornTail: recovery keeps a torn batch at the end of the active
	// segment (broker/log.Defects).
	KeepTornTail bool
	// OverlapOffsets: a multi-record batch advances the log end by one
	// (broker/log.Defects).
	OverlapOffsets bool
	// EarlyHighWatermark moves the high watermark at append, ahead of the
	// fsync, while weir.fsync.acks.all is on.
	EarlyHighWatermark bool
	// FetchSkipsBatch makes some fetches that return several batches drop
	// their first one.
	FetchSkipsBatch bool
}

// DefaultDropBehindBytes is weir.log.drop.behind.bytes unless set: 64 MiB
// of page cache per partition covers consumers up to a fraction of a second
// behind a partition written at full speed, and is far below the memory of
// any machine Weir runs on.
const DefaultDropBehindBytes = 64 << 20

// DefaultBackgroundSyncNice is weir.log.background.sync.nice unless set: the
// lowest priority, so that an fsync nobody waits for runs on CPU time the
// request path and the clients leave idle. Under a CPU that is busy all the
// time such fsyncs fall behind, and the kernel's dirty-page limits then slow
// the appends down.
const DefaultBackgroundSyncNice = 19

// DefaultConfig is the configuration `weir serve` starts from.
func DefaultConfig() Config {
	return Config{
		NodeID:                   1,
		ListenAddr:               "127.0.0.1:9092",
		DataDir:                  "weir-data",
		NumPartitions:            1,
		DefaultReplicationFactor: 1,
		AutoCreateTopics:         true,
		MessageMaxBytes:          1048588,
		SocketRequestMaxBytes:    104857600,
		FsyncAcksAll:             true,
		DropBehindBytes:          DefaultDropBehindBytes,
		BackgroundSyncNice:       DefaultBackgroundSyncNice,
		TopicDefaults:            map[string]string{},
	}
}

func (c *Config) advertised() string {
	if c.AdvertisedAddr != "" {
		return c.AdvertisedAddr
	}
	return c.ListenAddr
}

// serverKeyToTopicKey maps server.properties keys that set topic defaults to
// the topic config they default.
var serverKeyToTopicKey = map[string]string{
	"log.segment.bytes":          "segment.bytes",
	"log.roll.ms":                "segment.ms",
	"log.retention.bytes":        "retention.bytes",
	"log.cleanup.policy":         "cleanup.policy",
	"log.index.interval.bytes":   "index.interval.bytes",
	"log.message.timestamp.type": "message.timestamp.type",
	"compression.type":           "compression.type",
	"min.insync.replicas":        "min.insync.replicas",
	"message.max.bytes":          "max.message.bytes",
}

// ParseProperties applies a server.properties file to cfg. Keys Weir does not
// know, or knows but does not act on, are returned as warnings rather than
// failing the start, as a Kafka user moving an existing file over expects.
func ParseProperties(r io.Reader, cfg *Config) (warnings []string, err error) {
	sc := bufio.NewScanner(r)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			return warnings, fmt.Errorf("line %d: %q is not key=value", lineNo, line)
		}
		key, val := strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
		w, err := applyProperty(cfg, key, val)
		if err != nil {
			return warnings, fmt.Errorf("line %d: %s: %w", lineNo, key, err)
		}
		if w != "" {
			warnings = append(warnings, fmt.Sprintf("line %d: %s", lineNo, w))
		}
	}
	return warnings, sc.Err()
}

func applyProperty(cfg *Config, key, val string) (warning string, err error) {
	if cfg.TopicDefaults == nil {
		cfg.TopicDefaults = map[string]string{}
	}
	switch key {
	case "node.id", "broker.id":
		n, err := strconv.ParseInt(val, 10, 32)
		if err != nil || n < 0 {
			return "", fmt.Errorf("%q is not a non-negative integer", val)
		}
		cfg.NodeID = int32(n)
	case "log.dirs", "log.dir":
		dirs := strings.Split(val, ",")
		cfg.DataDir = filepath.Clean(strings.TrimSpace(dirs[0]))
		if len(dirs) > 1 {
			return fmt.Sprintf("%s: only the first directory (%s) is used", key, cfg.DataDir), nil
		}
	case "listeners":
		addr, err := listenerAddr(val)
		if err != nil {
			return "", err
		}
		cfg.ListenAddr = addr
	case "advertised.listeners":
		addr, err := listenerAddr(val)
		if err != nil {
			return "", err
		}
		cfg.AdvertisedAddr = addr
	case "num.partitions":
		n, err := parsePositive(val, math.MaxInt32)
		if err != nil {
			return "", err
		}
		cfg.NumPartitions = int32(n)
	case "default.replication.factor":
		n, err := parsePositive(val, math.MaxInt16)
		if err != nil {
			return "", err
		}
		cfg.DefaultReplicationFactor = int16(n)
	case "auto.create.topics.enable":
		b, err := strconv.ParseBool(val)
		if err != nil {
			return "", fmt.Errorf("%q is not true or false", val)
		}
		cfg.AutoCreateTopics = b
	case "socket.request.max.bytes":
		n, err := parsePositive(val, math.MaxInt32)
		if err != nil {
			return "", err
		}
		cfg.SocketRequestMaxBytes = int32(n)
	case "log.flush.interval.messages":
		n, err := parsePositive(val, math.MaxInt64)
		if err != nil {
			return "", err
		}
		cfg.FlushIntervalMessages = n
	case "log.flush.interval.ms", "log.flush.scheduler.interval.ms":
		n, err := parsePositive(val, math.MaxInt64)
		if err != nil {
			return "", err
		}
		cfg.FlushInterval = time.Duration(n) * time.Millisecond
	case "weir.fsync.acks.all":
		b, err := strconv.ParseBool(val)
		if err != nil {
			return "", fmt.Errorf("%q is not true or false", val)
		}
		cfg.FsyncAcksAll = b
	case "weir.log.drop.behind.bytes":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 0 {
			return "", fmt.Errorf("%q is not a non-negative integer", val)
		}
		cfg.DropBehindBytes = n
	case "weir.log.background.sync.nice":
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > lowprio.MaxNice {
			return "", fmt.Errorf("%q is not an integer from 0 to %d", val, lowprio.MaxNice)
		}
		cfg.BackgroundSyncNice = n
	case "log.retention.hours", "log.retention.minutes", "log.retention.ms":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < -1 {
			return "", fmt.Errorf("%q is not an integer >= -1", val)
		}
		ms := n
		switch {
		case n < 0:
		case key == "log.retention.hours":
			ms = n * int64(time.Hour/time.Millisecond)
		case key == "log.retention.minutes":
			ms = n * int64(time.Minute/time.Millisecond)
		}
		// Kafka lets the finer-grained key win whatever the order:
		// .ms over .minutes over .hours.
		rank := map[string]int{"log.retention.hours": 1, "log.retention.minutes": 2, "log.retention.ms": 3}[key]
		if rank >= cfg.retentionKeyRank {
			cfg.retentionKeyRank = rank
			cfg.TopicDefaults["retention.ms"] = strconv.FormatInt(ms, 10)
		}
	default:
		topicKey, ok := serverKeyToTopicKey[key]
		if !ok {
			return fmt.Sprintf("unknown or unsupported key %s ignored", key), nil
		}
		if err := validateTopicConfig(topicKey, val); err != nil {
			return "", err
		}
		cfg.TopicDefaults[topicKey] = val
		if key == "message.max.bytes" {
			n, _ := strconv.ParseInt(val, 10, 32)
			cfg.MessageMaxBytes = int32(n)
		}
	}
	return "", nil
}

// listenerAddr takes the first listener of a Kafka listener list
// ("PLAINTEXT://host:port,...") and returns host:port.
func listenerAddr(val string) (string, error) {
	first := strings.TrimSpace(strings.Split(val, ",")[0])
	if i := strings.Index(first, "://"); i >= 0 {
		first = first[i+3:]
	}
	if !strings.Contains(first, ":") {
		return "", fmt.Errorf("%q has no port", val)
	}
	return first, nil
}

func parsePositive(val string, max int64) (int64, error) {
	n, err := strconv.ParseInt(val, 10, 64)
	if err != nil || n <= 0 || n > max {
		return 0, fmt.Errorf("%q is not an integer in 1..%d", val, max)
	}
	return n, nil
}
