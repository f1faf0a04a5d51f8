package group

import "math"

// Config holds the broker settings the coordinator obeys, in Kafka's units
// and with Kafka's names.
type Config struct {
	// MinSessionTimeoutMs and MaxSessionTimeoutMs bound a member's
	// session.timeout.ms (group.min.session.timeout.ms,
	// group.max.session.timeout.ms); a join outside is refused with
	// INVALID_SESSION_TIMEOUT.
	MinSessionTimeoutMs int32
	MaxSessionTimeoutMs int32
	// InitialRebalanceDelayMs (group.initial.rebalance.delay.ms) is how long
	// the first rebalance of an empty group waits for more members, extended
	// while members keep arriving, up to the rebalance timeout.
	InitialRebalanceDelayMs int32
	// MaxSize (group.max.size) bounds a group's members; more are refused
	// with GROUP_MAX_SIZE_REACHED.
	MaxSize int32
	// NewMemberJoinTimeoutMs is how long a new member's parked JoinGroup
	// keeps it in the group without a heartbeat (Kafka: 5 minutes, fixed).
	NewMemberJoinTimeoutMs int32
	// OffsetMetadataMaxBytes (offset.metadata.max.bytes) bounds the metadata
	// string of a commit; larger is OFFSET_METADATA_TOO_LARGE.
	OffsetMetadataMaxBytes int32
	// OffsetsRetentionMs (offsets.retention.minutes) is how long the
	// offsets of an empty group are kept after it became empty (or, for a
	// group without a protocol, after the commit).
	OffsetsRetentionMs int64
	// OffsetsRetentionCheckIntervalMs (offsets.retention.check.interval.ms)
	// is how often expired offsets are removed.
	OffsetsRetentionCheckIntervalMs int64

	// ConsumerSessionTimeoutMs (group.consumer.session.timeout.ms) is how
	// long a member of a consumer-protocol group stays without a
	// heartbeat; ConsumerHeartbeatIntervalMs
	// (group.consumer.heartbeat.interval.ms) is how often members are
	// told to heartbeat.
	ConsumerSessionTimeoutMs    int32
	ConsumerHeartbeatIntervalMs int32
	// ConsumerMaxSize (group.consumer.max.size) bounds a consumer group's
	// members; more are refused with GROUP_MAX_SIZE_REACHED.
	ConsumerMaxSize int32
	// ConsumerAssignors (group.consumer.assignors) are the server-side
	// assignors members may ask for; the first is used when none does.
	// Only "uniform" and "range" exist.
	ConsumerAssignors []string

	// Defects plants known bugs, for tests and the simulator to show that
	// their checks catch them. Never set otherwise.
	Defects Defects
}

// Defects are deliberate bugs of the coordinator.
type Defects struct {
	// AnswerBeforeDurable releases replies without waiting for the
	// records decided before them to be durable.
	AnswerBeforeDurable bool
	// OneAssignmentForAll gives every member the assignment the leader made
	// for itself: two members own the same partitions.
	OneAssignmentForAll bool
	// ForgetParkedSync never answers the parked SyncGroup of a member that
	// is removed (it leaves, or its session ends).
	ForgetParkedSync bool
	// DropLeaderEpoch leaves the leader epoch out of commit records: it is
	// lost on reload.
	DropLeaderEpoch bool
	// AssignUnreleased gives a consumer group member the partitions of its
	// target at once, before their previous owner revoked them: two
	// members own a partition at the same time.
	AssignUnreleased bool
	// FetchTopicMax answers OffsetFetch for every partition of a topic with
	// the highest offset committed in that topic: a member taking over a
	// partition starts past what the group read of it.
	FetchTopicMax bool
	// LoadFirstCommit keeps, while loading the partition, the first
	// commit record of each group partition instead of the last: a
	// coordinator taking over answers with an offset the group committed
	// past long ago, and members given the partition read again what the
	// group had committed.
	LoadFirstCommit bool
	// AcceptStaleGeneration accepts an OffsetCommit of a member naming a
	// generation older than the group's (ILLEGAL_GENERATION in Kafka): a
	// member fenced by a rebalance overwrites what the partition's new
	// owner committed.
	AcceptStaleGeneration bool
	// AcceptStaleMemberEpoch accepts an OffsetCommit of a consumer-protocol
	// (KIP-848) member naming an epoch other than its own
	// (STALE_MEMBER_EPOCH in Kafka): a member that gave a partition up at
	// an older epoch moves its committed offset back under its new owner.
	AcceptStaleMemberEpoch bool
	// UnfencedStaticMember keeps a static member's replaced member id
	// working: when the instance joins again under a new member id, the
	// old incarnation is not fenced (FENCED_INSTANCE_ID in Kafka) and its
	// heartbeats and commits pass for the new one's, so a process believed
	// dead and replaced goes on committing the partitions the new one
	// owns.
	UnfencedStaticMember bool
	// ApplyAbortedTxnOffsets makes an abort marker apply the offsets the
	// producer committed inside its transaction (TxnOffsetCommit), as a
	// commit marker does: an aborted transaction's offsets become the
	// group's.
	ApplyAbortedTxnOffsets bool
}

// DefaultConfig is Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		MinSessionTimeoutMs:             6000,
		MaxSessionTimeoutMs:             1800000,
		InitialRebalanceDelayMs:         3000,
		MaxSize:                         math.MaxInt32,
		NewMemberJoinTimeoutMs:          5 * 60 * 1000,
		OffsetMetadataMaxBytes:          4096,
		OffsetsRetentionMs:              7 * 24 * 60 * 60 * 1000,
		OffsetsRetentionCheckIntervalMs: 600000,
		ConsumerSessionTimeoutMs:        45000,
		ConsumerHeartbeatIntervalMs:     5000,
		ConsumerMaxSize:                 math.MaxInt32,
		ConsumerAssignors:               []string{uniformAssignor, rangeAssignor},
	}
}

// defaultAssignor is the assignor of a consumer group whose members name
// none.
func (c *Config) defaultAssignor() string {
	if len(c.ConsumerAssignors) > 0 && knownAssignor(c.ConsumerAssignors[0]) {
		return c.ConsumerAssignors[0]
	}
	return uniformAssignor
}
