package queue

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/workloads/gen"
)

// Acks is how many replicas must have a record before a send is
// acknowledged.
type Acks int

const (
	// AcksAll (acks=-1) waits for the in-sync replicas: the broker answers
	// after the high watermark passed the record. The default.
	AcksAll Acks = iota
	// AcksLeader (acks=1) is answered once the leader appended the record,
	// before it is durable or committed. It turns idempotence off (kgo's
	// idempotent producer needs acks=all).
	AcksLeader
)

// Config is one run of the workload. Zero fields take the defaults noted.
type Config struct {
	Topic             string // required
	Partitions        int32  // default 3
	ReplicationFactor int16  // default 1
	// TopicConfigs are the topic's configs at creation
	// (min.insync.replicas, say).
	TopicConfigs map[string]string

	// Producers is the number of producer clients, default 2. Each runs
	// InFlight logical processes (default 4), each with one open send, so
	// a client has up to InFlight records in flight and the history stays
	// Jepsen-shaped.
	Producers int
	InFlight  int
	Consumers int // default 2; even workers subscribe first, odd ones assign
	// Group, when named, makes the consumers members of a consumer group
	// instead (group.go).
	Group GroupConfig

	// SendsPerProducer ends a producer client after this many sends; 0
	// sends until Duration. Rate is sends per second per producer client,
	// spread over its processes as Poisson arrivals; 0 is back to back.
	SendsPerProducer int
	Rate             float64
	Duration         time.Duration // default 10s (virtual in simulation)
	Keys             int           // distinct record keys, default 8
	// UnkeyedShare is the share of records sent without a key (kgo then
	// picks a partition per batch). Default 0.25; negative: none.
	UnkeyedShare float64
	// Linger is how long a client waits for more records before sending a
	// partition's batch (kgo.ProducerLinger), so requests carry several
	// records. Default 2ms; negative: 0.
	Linger time.Duration
	// Acks is the producers' acks; DisableIdempotence turns kgo's
	// idempotent producer off (AcksLeader does so too).
	Acks               Acks
	DisableIdempotence bool

	// ReassignChance is the chance, before each poll, that a consumer
	// assigns or subscribes anew (and so reads from the start again).
	// Default 0.02; negative disables.
	ReassignChance float64

	OpTimeout   time.Duration // longest wait for one send, default 10s
	PollTimeout time.Duration // longest wait of one poll, default 1s
	// PollInterval is a consumer's pause between two polls, so that at
	// high rates a fetch carries many records instead of one (kgo fetches
	// a partition again only once its previous fetch was polled). Default
	// 0. The final read never pauses.
	PollInterval time.Duration

	// Rand is the source of every random choice; if nil, one is seeded
	// from Seed. Run draws from it before starting workers only.
	Rand *rand.Rand
	Seed uint64

	Bootstrap []string // seed brokers, host:port; required
	// Dialer connects the clients (kgo.Dialer); nil dials with the OS.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// HostDialer, if set, runs each client on a network host of its own
	// (the simulator's, where a partition may cut some clients off from
	// some brokers): it returns the dialer of the named host, one of
	// ClientHosts, "admin" or "final". It takes the place of Dialer.
	HostDialer func(host string) func(ctx context.Context, network, addr string) (net.Conn, error)
	ClientOpts []kgo.Opt // applied last, so they override the workload's

	// Txn, if set, makes the producers transactional (txn.go) and the
	// consumers and the final read read_committed.
	Txn *TxnConfig
	// Compacted, if set, adds a compacted topic with a producer client and
	// a consumer of its own (compacted.go).
	Compacted *CompactedConfig
}

// Allowed is what this configuration does not promise, as anomaly names
// for checker.Opts.Allowed: without idempotence a retried request may be
// appended twice (duplicate); with acks=1 an acknowledged record may be
// lost (lost-write; another record then takes its offset:
// inconsistent-offsets), and the answer comes before the high watermark
// passes the record, so a later read may not show it yet
// (nonlinearizable). Sends of one op interleave with other producers'
// (int-send-skip), as in Jepsen. Unseen is informational in any case.
func (c Config) Allowed() []string {
	allowed := []string{checker.IntSendSkip}
	if c.DisableIdempotence || c.Acks == AcksLeader {
		allowed = append(allowed, checker.Duplicate)
	}
	if c.Acks == AcksLeader {
		allowed = append(allowed, checker.LostWrite, checker.InconsistentOffsets, checker.Nonlinearizable)
	}
	return allowed
}

func (c Config) withDefaults() (Config, error) {
	if c.Topic == "" {
		return c, errors.New("queue: no topic")
	}
	if len(c.Bootstrap) == 0 {
		return c, errors.New("queue: no bootstrap brokers")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Producers, 2)
	def(&c.InFlight, 4)
	def(&c.Consumers, 2)
	def(&c.Keys, 8)
	if c.Producers < 0 || c.InFlight < 0 || c.Consumers < 0 || c.Keys < 0 || c.SendsPerProducer < 0 || c.Rate < 0 {
		return c, errors.New("queue: negative count or rate")
	}
	if c.Partitions == 0 {
		c.Partitions = 3
	}
	if c.Partitions < 0 {
		return c, errors.New("queue: negative partitions")
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = 1
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.UnkeyedShare == 0 {
		c.UnkeyedShare = 0.25
	}
	if c.Linger == 0 {
		c.Linger = 2 * time.Millisecond
	}
	c.Linger = max(c.Linger, 0)
	if c.ReassignChance == 0 {
		c.ReassignChance = 0.02
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = 10 * time.Second
	}
	if c.PollTimeout == 0 {
		c.PollTimeout = time.Second
	}
	if c.Rand == nil {
		c.Rand = gen.NewRand(c.Seed)
	}
	if c.Txn != nil {
		t := *c.Txn
		if err := t.withDefaults(); err != nil {
			return c, err
		}
		if t.Group == "" {
			t.Group = c.Topic + "-txn"
		}
		c.Txn = &t
	}
	if c.Compacted != nil {
		k := *c.Compacted
		k.withDefaults(c.Topic, c.TopicConfigs)
		c.Compacted = &k
	}
	var err error
	c.Group, err = c.Group.withDefaults()
	return c, err
}

// clientConfig is how the workload's client on host reaches the cluster
// (host matters only with HostDialer).
func (c *Config) clientConfig(host string) gen.ClientConfig {
	dialer := c.Dialer
	if c.HostDialer != nil {
		dialer = c.HostDialer(host)
	}
	return gen.ClientConfig{Bootstrap: c.Bootstrap, Dialer: dialer, OpTimeout: c.OpTimeout, PollTimeout: c.PollTimeout, Opts: c.ClientOpts}
}

// ClientHosts names the hosts the workload's clients run on while it runs,
// with HostDialer: "producer-<i>" for the i-th producer client and
// "consumer-<i>" for the i-th consumer, then, in the compacted mode,
// "kv-producer" and "kv-consumer". The topic is created from "admin", the
// final read made from "final".
func (c Config) ClientHosts() []string {
	var hosts []string
	for i := range c.Producers {
		hosts = append(hosts, producerHost(i))
	}
	for i := range c.Consumers {
		hosts = append(hosts, consumerHost(i))
	}
	if c.Compacted != nil {
		hosts = append(hosts, compactedProducerHost, compactedConsumerHost)
	}
	return hosts
}

// ProducerHosts names the hosts of the producer clients (in the
// transactional mode, of the transactional producers).
func (c Config) ProducerHosts() []string {
	var hosts []string
	for i := range c.Producers {
		hosts = append(hosts, producerHost(i))
	}
	return hosts
}

const (
	adminHost = "admin"
	finalHost = "final"
)

func producerHost(i int) string { return "producer-" + strconv.Itoa(i) }
func consumerHost(i int) string { return "consumer-" + strconv.Itoa(i) }

// producerOpts are the producers' linger, acks and idempotence.
func (c *Config) producerOpts() []kgo.Opt {
	opts := []kgo.Opt{kgo.ProducerLinger(c.Linger)}
	switch {
	case c.Acks == AcksLeader:
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case c.DisableIdempotence:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite())
	default:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks())) // idempotence (the default) needs it
	}
	return opts
}

// client returns a kgo client on host for the workload's consumers: the
// bounded timeouts first, then extra, then Config.ClientOpts.
func (c *Config) client(host string, extra ...kgo.Opt) (*kgo.Client, error) {
	return c.clientConfig(host).New(extra...)
}
