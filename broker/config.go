package broker

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weir-dev/weir/broker/controller"
	"github.com/weir-dev/weir/broker/group"
	"github.com/weir-dev/weir/broker/quorum"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/txncoord"
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

	// ProcessRoles is process.roles: "broker", "controller" or both
	// (combined mode, the default: every broker is also a voter of the
	// metadata quorum). Open serves the broker role; a controller-only
	// node runs just the quorum (StartController).
	ProcessRoles []string
	// ControllerListenAddr is the CONTROLLER listener: where this node's
	// metadata quorum listens. For a voter it defaults to its entry in
	// ControllerQuorumVoters; a broker that is not a voter must set it,
	// since the quorum's leader sends it the metadata log.
	ControllerListenAddr string
	// ControllerQuorumVoters is controller.quorum.voters, Kafka's
	// "1@host:port,2@host:port,...". Empty: a one-voter quorum of this
	// node alone (a single broker) that no other node can join, with no
	// controller listener.
	ControllerQuorumVoters string
	// Rack is broker.rack: replica placement spreads partitions over racks.
	Rack string
	// SessionTimeout is broker.session.timeout.ms: a broker whose
	// heartbeats stop reaching the controller for this long is fenced and
	// its partitions lose their leader. HeartbeatInterval is
	// broker.heartbeat.interval.ms.
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration

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

	// RetentionCheckInterval is log.retention.check.interval.ms: how often
	// the log maintenance loop enforces retention and runs the cleaner on
	// every partition (Kafka's default, 5 minutes, unless set).
	RetentionCheckInterval time.Duration
	// LogCleanerEnable is log.cleaner.enable: compacted topics are cleaned.
	LogCleanerEnable bool

	// TopicDefaults overrides the built-in topic config defaults
	// (log.segment.bytes in server.properties becomes segment.bytes here).
	TopicDefaults map[string]string

	// Groups configures the group coordinator and __consumer_offsets
	// (group_config.go).
	Groups GroupsConfig
	// Txn configures the transaction coordinator and __transaction_state
	// (txn_config.go).
	Txn TxnConfig

	// Replication (broker/partition, replication*.go). ReplicaLagTimeMax is
	// replica.lag.time.max.ms: a follower in the ISR that has not caught up
	// with its leader's log end for this long is proposed out of the ISR
	// (the leader checks every half of it). ReplicaFetchWaitMax
	// (replica.fetch.wait.max.ms) is how long a follower's fetch waits at
	// the leader for new records; ReplicaFetchBackoff
	// (replica.fetch.backoff.ms) is the pause after a failed fetch.
	ReplicaLagTimeMax   time.Duration
	ReplicaFetchWaitMax time.Duration
	ReplicaFetchBackoff time.Duration

	// Fetch sessions (KIP-227, fetch_sessions.go).
	// FetchSessionCacheSlots is max.incremental.fetch.session.cache.slots:
	// 0 takes Kafka's 1000, a negative value holds no sessions (the
	// property's 0). FetchSessionEvictAfter is
	// min.incremental.fetch.session.eviction.ms (0: 120 s).
	FetchSessionCacheSlots int
	FetchSessionEvictAfter time.Duration

	// Defects plants known bugs for the simulator to find. Never set outside
	// tests and `weir sim --defect`.
	Defects Defects

	Logger *slog.Logger
	// QuorumTickInterval is the metadata quorum's Raft tick;
	// QuorumElectionTicks and QuorumHeartbeatTicks count them (the
	// election timeout and the leader's heartbeat interval). Zero takes
	// quorum.Config's defaults (50ms, 20, 2). The simulator ticks less
	// often: every tick wakes every voter, and in the single-threaded
	// guest each wake-up costs wall time.
	QuorumTickInterval   time.Duration
	QuorumElectionTicks  int
	QuorumHeartbeatTicks int
	// QuorumObserver, if set, is told of the metadata quorum's leadership
	// changes and applied entries (quorum.Config.Observer): the
	// simulator's metadata checker records them.
	QuorumObserver func(quorum.Event)

	retentionKeyRank int // which log.retention.* key set retention.ms
	// listeners and controllerListenerNames are kept from
	// server.properties until the whole file is read, because either key
	// may come first.
	listeners               string
	controllerListenerNames string
}

// Roles of process.roles.
const (
	RoleBroker     = "broker"
	RoleController = "controller"
)

// HasRole reports whether process.roles includes role.
func (c *Config) HasRole(role string) bool { return slices.Contains(c.ProcessRoles, role) }

// Defects are deliberate bugs, reachable only from the simulator and tests
// (weir sim --defect NAME, weir selftest), that prove the checkers can
// catch a broken broker. The zero value plants nothing; nothing outside the
// simulator sets them. DefectCatalog (defects.go) names each one, says what
// it breaks and which checker should catch it.
type Defects struct {
	// AckBeforeFsync answers acks=-1 produces before their data is fsynced.
	AckBeforeFsync bool
	// NoKIP890 turns the KIP-890 defences off: partitions do not verify
	// transactional produces with the coordinator (part 1), transactions
	// end at the epoch they ran in and transaction.version is advertised
	// as 0 (part 2), as with Kafka before 4.0. A delayed EndTxn or a late
	// produce can then land in the producer's next transaction.
	NoKIP890 bool
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
	// CompactKeepsFirst: the log cleaner keeps a key's first value in the
	// segments it cleans instead of its last (broker/log.Defects).
	CompactKeepsFirst bool
	// Controller are the controller's planted bugs (broker/controller).
	Controller controller.Defects
	// Replica are the replication rules' planted bugs (broker/replica).
	Replica replica.Defects
	// Group are the group coordinator's planted bugs (broker/group); they
	// replace Groups.Coordinator.Defects when any is set.
	Group group.Defects
	// TxnCoordinator are the transaction coordinator's planted bugs
	// (broker/txncoord), added to Config.Txn.Coordinator.Defects.
	TxnCoordinator txncoord.Defects
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

// DefaultRetentionCheckInterval is log.retention.check.interval.ms unless
// set, as in Kafka.
const DefaultRetentionCheckInterval = 5 * time.Minute

// DefaultConfig is the configuration `weir serve` starts from.
func DefaultConfig() Config {
	return Config{
		NodeID:                   1,
		ProcessRoles:             []string{RoleBroker, RoleController},
		SessionTimeout:           9 * time.Second,
		HeartbeatInterval:        2 * time.Second,
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
		RetentionCheckInterval:   DefaultRetentionCheckInterval,
		LogCleanerEnable:         true,
		TopicDefaults:            map[string]string{},
		Groups:                   DefaultGroupsConfig(),
		Txn:                      DefaultTxnConfig(),
		ReplicaLagTimeMax:        30 * time.Second,
		ReplicaFetchWaitMax:      500 * time.Millisecond,
		ReplicaFetchBackoff:      time.Second,
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

	// The log cleaner's (logmaint.go).
	"log.cleaner.min.cleanable.ratio":   "min.cleanable.dirty.ratio",
	"log.cleaner.delete.retention.ms":   "delete.retention.ms",
	"log.cleaner.min.compaction.lag.ms": "min.compaction.lag.ms",
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
	if err := sc.Err(); err != nil {
		return warnings, err
	}
	return warnings, cfg.resolveListeners()
}

// resolveListeners applies the listeners key once the whole file is read:
// the listeners named in controller.listener.names (default CONTROLLER)
// become the controller listener, the first other one the broker's.
func (c *Config) resolveListeners() error {
	if c.listeners == "" {
		return nil
	}
	names := c.controllerListenerNames
	if names == "" {
		names = "CONTROLLER"
	}
	isController := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		isController[strings.ToUpper(strings.TrimSpace(n))] = true
	}
	broker, controller := "", ""
	for _, l := range strings.Split(c.listeners, ",") {
		name, addr, err := parseListener(l)
		if err != nil {
			return fmt.Errorf("listeners: %w", err)
		}
		switch {
		case isController[name] && controller == "":
			controller = addr
		case !isController[name] && broker == "":
			broker = addr
		}
	}
	if broker != "" {
		c.ListenAddr = broker
	}
	if controller != "" {
		c.ControllerListenAddr = controller
	}
	return nil
}

// parseListener splits "NAME://host:port" (the name defaults to
// PLAINTEXT); an empty host means every interface.
func parseListener(l string) (name, addr string, err error) {
	l = strings.TrimSpace(l)
	name = "PLAINTEXT"
	if i := strings.Index(l, "://"); i >= 0 {
		name, l = strings.ToUpper(l[:i]), l[i+3:]
	}
	if _, _, err := net.SplitHostPort(l); err != nil {
		return "", "", fmt.Errorf("%q: %v", l, err)
	}
	return name, l, nil
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
		for _, l := range strings.Split(val, ",") {
			if _, _, err := parseListener(l); err != nil {
				return "", err
			}
		}
		cfg.listeners = val
	case "controller.listener.names":
		cfg.controllerListenerNames = val
	case "process.roles":
		var roles []string
		for _, r := range strings.Split(val, ",") {
			r = strings.TrimSpace(r)
			if r != RoleBroker && r != RoleController {
				return "", fmt.Errorf("%q: roles are broker and controller", val)
			}
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
		cfg.ProcessRoles = roles
	case "controller.quorum.voters":
		cfg.ControllerQuorumVoters = val
	case "broker.rack":
		cfg.Rack = val
	case "broker.session.timeout.ms", "broker.heartbeat.interval.ms":
		n, err := parsePositive(val, math.MaxInt32)
		if err != nil {
			return "", err
		}
		d := time.Duration(n) * time.Millisecond
		if key == "broker.session.timeout.ms" {
			cfg.SessionTimeout = d
		} else {
			cfg.HeartbeatInterval = d
		}
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
	case "replica.lag.time.max.ms", "replica.fetch.wait.max.ms", "replica.fetch.backoff.ms":
		n, err := parsePositive(val, math.MaxInt32)
		if err != nil {
			return "", err
		}
		d := time.Duration(n) * time.Millisecond
		switch key {
		case "replica.lag.time.max.ms":
			cfg.ReplicaLagTimeMax = d
		case "replica.fetch.wait.max.ms":
			cfg.ReplicaFetchWaitMax = d
		default:
			cfg.ReplicaFetchBackoff = d
		}
	case "max.incremental.fetch.session.cache.slots":
		n, err := strconv.ParseInt(val, 10, 32)
		if err != nil || n < 0 {
			return "", fmt.Errorf("%q is not a count of sessions", val)
		}
		cfg.FetchSessionCacheSlots = int(n)
		if n == 0 {
			cfg.FetchSessionCacheSlots = -1
		}
	case "min.incremental.fetch.session.eviction.ms":
		n, err := parsePositive(val, math.MaxInt32)
		if err != nil {
			return "", err
		}
		cfg.FetchSessionEvictAfter = time.Duration(n) * time.Millisecond
	case "log.retention.check.interval.ms":
		n, err := parsePositive(val, math.MaxInt64/int64(time.Millisecond))
		if err != nil {
			return "", err
		}
		cfg.RetentionCheckInterval = time.Duration(n) * time.Millisecond
	case "log.cleaner.enable":
		b, err := strconv.ParseBool(val)
		if err != nil {
			return "", fmt.Errorf("%q is not true or false", val)
		}
		cfg.LogCleanerEnable = b
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
		if ok, err := applyGroupProperty(cfg, key, val); ok {
			return "", err
		}
		if ok, err := applyTxnProperty(cfg, key, val); ok {
			return "", err
		}
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
