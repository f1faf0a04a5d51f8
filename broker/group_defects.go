package broker

import "github.com/weir-dev/weir/broker/group"

// groupCoordinatorConfig is the group coordinator's config, with the planted
// defects of Defects.Group when any is set (weir sim --defect).
func (b *Broker) groupCoordinatorConfig() group.Config {
	c := b.cfg.Groups.Coordinator
	if b.cfg.Defects.Group != (group.Defects{}) {
		c.Defects = b.cfg.Defects.Group
	}
	return c
}

// groupDefects are the group coordinator's entries of DefectCatalog, kept
// together. Each needs the simulator's consumer-group mode, which a seed
// turns on for a share of runs and IsGroupDefect forces.
func groupDefects() []Defect {
	return []Defect{
		{"group-answer-before-durable",
			"group coordinator: answers (commits, joins, assignments) go out before the records behind them are durable, so a coordinator failover takes back acknowledged commits and generations",
			[]string{"undurable-group-answer", "lost-commit", "committed-redelivery", "nonmonotonic-commit", "double-assignment"},
			func(d *Defects) { d.Group.AnswerBeforeDurable = true }},
		{GroupOneAssignment,
			"group coordinator: every member gets the assignment the leader made for itself, so several members own the same partitions in one generation",
			[]string{"double-assignment", "nonmonotonic-commit", "committed-redelivery"},
			func(d *Defects) { d.Group.OneAssignmentForAll = true }},
		{GroupForgetParkedSync,
			"group coordinator: the parked SyncGroup of a member that is removed (it leaves, or its session ends) is never answered, so its client waits until its request times out",
			[]string{"unanswered-group-request"},
			func(d *Defects) { d.Group.ForgetParkedSync = true }},
		{"group-drop-leader-epoch",
			"group coordinator: commit records leave out the leader epoch, so a commit read back after a coordinator failover has lost it",
			[]string{"lost-commit"},
			func(d *Defects) { d.Group.DropLeaderEpoch = true }},
		{"group-load-first-commit",
			"group coordinator: loading its partition keeps the first commit record of each group partition, not the last, so after a coordinator failover members given a partition start below what the group committed",
			[]string{"committed-redelivery", "lost-commit", "nonmonotonic-commit"},
			func(d *Defects) { d.Group.LoadFirstCommit = true }},
		{"group-fetch-topic-max",
			"group coordinator: OffsetFetch answers every partition of a topic with the highest offset committed in the topic, so a member taking over a partition starts past records the group never read",
			[]string{"commit-past-read", "rebalance-skip", "lost-commit"},
			func(d *Defects) { d.Group.FetchTopicMax = true }},
		{GroupAcceptStaleCommit,
			"group coordinator: an OffsetCommit naming an older generation is accepted, so a member fenced by a rebalance moves the committed offset back under the partition's new owner",
			[]string{"nonmonotonic-commit", "committed-redelivery", "lost-commit"},
			func(d *Defects) { d.Group.AcceptStaleGeneration = true }},
		// The consumer protocol (KIP-848) and static membership (KIP-345):
		// the simulator runs its group with that protocol, or with static
		// members, for these.
		{GroupStaleEpochCommit,
			"group coordinator, consumer protocol (KIP-848): an OffsetCommit naming a member epoch the member no longer has is accepted, so a member that gave a partition up moves its committed offset back under the partition's new owner",
			[]string{"nonmonotonic-commit", "committed-redelivery", "lost-commit"},
			func(d *Defects) { d.Group.AcceptStaleMemberEpoch = true }},
		{GroupAssignUnreleased,
			"group coordinator, consumer protocol (KIP-848): a member gets the partitions of its target assignment at once, before their previous owner revoked them, so two members own a partition at the same time",
			[]string{"double-assignment", "committed-redelivery", "nonmonotonic-commit"},
			func(d *Defects) { d.Group.AssignUnreleased = true }},
		{GroupStaticUnfenced,
			"group coordinator, static membership (KIP-345): a static member that joins again under a new member id does not fence the old one, whose heartbeats and commits go on succeeding next to the new incarnation's",
			[]string{"unfenced-instance", "nonmonotonic-commit", "lost-commit"},
			func(d *Defects) { d.Group.UnfencedStaticMember = true }},
	}
}

// The --defect names of the group coordinator's defects that need a mode
// of the simulator's consumer group: the consumer protocol, or static
// members (of the classic protocol, whose zombies the workload makes), or
// the classic protocol, whose code alone they change (JoinGroup and
// SyncGroup, generations): in a consumer-protocol run they cannot act,
// and such a run finds only what it would find without them.
const (
	GroupStaleEpochCommit = "group-848-stale-epoch-commit"
	GroupAssignUnreleased = "group-848-assign-unreleased"
	GroupStaticUnfenced   = "group-static-unfenced"
	// GroupForgetParkedSync needs dynamic members of the classic
	// protocol too: only a LeaveGroup removes a member whose SyncGroup is
	// parked (its session does not run while it waits), and a static
	// member sends none (KIP-345).
	GroupForgetParkedSync  = "group-forget-parked-sync"
	GroupOneAssignment     = "group-one-assignment"
	GroupAcceptStaleCommit = "group-accept-stale-commit"
)

// IsGroupDefect reports whether the named defect is the group
// coordinator's and needs consumers in a group: the simulator runs its
// consumers as a group for it. TxnApplyAbortedOffsets is the group
// coordinator's too, but it needs the transactional mode instead.
func IsGroupDefect(name string) bool {
	d, err := ParseDefect(name)
	return err == nil && d.Group != (group.Defects{}) && name != TxnApplyAbortedOffsets
}

// TxnApplyAbortedOffsets is the --defect name of
// group.Defects.ApplyAbortedTxnOffsets.
const TxnApplyAbortedOffsets = "txn-apply-aborted-offsets"
