package broker

import (
	"fmt"
	"slices"
	"strings"
)

// Defect describes one planted bug of Defects: its --defect name, what it
// breaks, and the checkers that should catch it (anomaly names of the
// verdict: the history checkers' and the invariant breaches'; "liveness"
// for a run whose final reads cannot complete).
type Defect struct {
	Name     string
	Breaks   string
	CaughtBy []string
	set      func(*Defects)
}

// DefectCatalog lists every planted defect, in the order `weir selftest`
// plants them.
func DefectCatalog() []Defect {
	return append([]Defect{
		{"ack-before-fsync",
			"durability: acks=-1 is answered before the fsync, so a crash loses acknowledged writes, and a poll may see the high watermark below an acknowledged offset",
			[]string{"lost-write", "nonlinearizable"},
			func(d *Defects) { d.AckBeforeFsync = true }},
		{"forget-producers",
			"idempotence: a restarted partition forgets its producers' sequence numbers, so a retry of a batch appended before the crash is appended again (and, in a transactional run, its open transactions, so read_committed readers see their records)",
			[]string{"duplicate", "aborted-read", "precommitted-read"},
			func(d *Defects) { d.ForgetProducers = true }},
		{"keep-torn-tail",
			"recovery: a torn batch stays at the end of the log and appends go after it, so reads stop at it and a later recovery reuses the offsets behind it",
			[]string{"lost-write", "inconsistent-offsets", "liveness"},
			func(d *Defects) { d.KeepTornTail = true }},
		{"overlap-offsets",
			"offsets: a batch of several records advances the log end by one, so the next batch's offsets overlap it",
			[]string{"sparse-offsets", "inconsistent-offsets"},
			func(d *Defects) { d.OverlapOffsets = true }},
		{"early-high-watermark",
			"visibility: the high watermark moves at append, before the fsync, so consumers read (and producers are acknowledged) what a crash can take back",
			[]string{"undurable-read", "unsynced-high-watermark", "lost-write"},
			func(d *Defects) { d.EarlyHighWatermark = true }},
		{"fetch-skips-batch",
			"reads: a fetch that finds several batches sometimes drops the first, so a consumer skips offsets",
			[]string{"poll-skip", "lost-write"},
			func(d *Defects) { d.FetchSkipsBatch = true }},
		// The log cleaner (broker/log): observable only on seeds whose
		// cleaner runs within the run (weir sim --compaction on; the
		// defect forces it).
		{CompactKeepsFirst,
			"compaction: the log cleaner keeps the first value of each key in the segments it cleans and removes the later ones, so a compacted topic read from its start no longer has a key's latest value",
			[]string{"compaction-lost-key", "lost-write", "poll-skip", "int-poll-skip"},
			func(d *Defects) { d.CompactKeepsFirst = true }},
		// Replication (broker/replica).
		{"hw-at-leader-end",
			"replication: the leader advances the high watermark to its own log end instead of the minimum over the ISR, so acks=all is answered, and consumers read, before a follower has the records and before the leader's fsync",
			[]string{"unsynced-high-watermark", "undurable-read", "lost-write", "nonlinearizable"},
			func(d *Defects) { d.Replica.HighWatermarkAtLeaderEnd = true }},
		{"skip-truncation",
			"replication: a follower never truncates its divergent tail after a leader change, so its log keeps records the new leader does not have and appends the leader's after them at the wrong offsets (or, its tail past the leader's end, never fetches again and never rejoins the ISR)",
			// liveness: a follower whose kept tail runs past the new
			// leader's log end is answered OFFSET_OUT_OF_RANGE at every
			// fetch and stays out of the ISR, so the healed cluster never
			// converges (the full selftest of 2026-12-07, seed 5).
			[]string{"inconsistent-offsets", "lost-write", "duplicate", "phantom-value", "nonlinearizable", "liveness"},
			func(d *Defects) { d.Replica.SkipTruncation = true }},
		{"unfenced-shrink",
			"replication: the leader applies an ISR shrink before the controller accepted it at its partition epoch, so it counts a smaller ISR than the controller elects from and acknowledges records only it has",
			[]string{"unfenced-isr", "lost-write", "nonlinearizable", "inconsistent-offsets"},
			func(d *Defects) { d.Replica.UnfencedShrink = true }},
		// The controller (broker/controller).
		{"reuse-leader-epoch",
			"metadata: a leader change keeps the leader epoch, so after a fencing two brokers lead one partition in one leader epoch",
			[]string{"metadata"},
			func(d *Defects) { d.Controller.ReuseLeaderEpoch = true }},
		{"skip-partition-epoch-check",
			"metadata: AlterPartition accepts a stale partition epoch, so a leader's ISR change computed before the controller's own (a fenced broker taken out) overwrites it",
			[]string{"metadata", "lost-write", "nonlinearizable"},
			func(d *Defects) { d.Controller.SkipPartitionEpochCheck = true }},
		{"elect-outside-isr",
			"elections: with unclean election off, a partition whose ISR is gone elects a replica from outside it, which misses acknowledged writes",
			[]string{"lost-write", "nonlinearizable", "watermark-regression"},
			func(d *Defects) { d.Controller.ElectOutsideISR = true }},
		// Transactions (broker/txn, broker/txncoord): observable only in
		// the queue's transactional mode (weir sim --txn on).
		{"no-kip890",
			"transactions: the KIP-890 defences are off (no verification of transactional produces, no epoch bump at a transaction's end, transaction.version 0), so a late produce or a delayed EndTxn can land in the producer's next transaction",
			[]string{"aborted-read", "torn-transaction", "precommitted-read", "lost-write", "liveness"},
			func(d *Defects) { d.NoKIP890 = true }},
		{"no-epoch-bump",
			"transactions: the coordinator ends every transaction at the epoch it ran in while advertising transaction version 2 (KIP-890 part 2 off), so a delayed EndTxn of one transaction can end the producer's next one",
			[]string{"aborted-read", "torn-transaction", "precommitted-read", "lost-write"},
			func(d *Defects) { d.TxnCoordinator.NoEpochBump = true }},
		{TxnApplyAbortedOffsets,
			"transactions: the group coordinator applies the offsets a transaction committed (TxnOffsetCommit) when the transaction's abort marker comes, as if it had committed, so an aborted consume-transform-produce batch moves the group's committed offset past input it never processed",
			[]string{"aborted-offset-commit"},
			func(d *Defects) { d.Group.ApplyAbortedTxnOffsets = true }},
	}, groupDefects()...)
}

// CompactKeepsFirst is the --defect name of the cleaner's planted bug; it
// needs the simulator's compaction draw (IsCompactionDefect).
const CompactKeepsFirst = "compact-keeps-first"

// IsCompactionDefect reports whether the named defect is the log cleaner's
// and shows only where the cleaner runs within a run: the simulator then
// draws compaction on every seed.
func IsCompactionDefect(name string) bool { return name == CompactKeepsFirst }

// ParseDefect returns the Defects with the named defect planted; "" plants
// none.
func ParseDefect(name string) (Defects, error) {
	var d Defects
	if name == "" {
		return d, nil
	}
	cat := DefectCatalog()
	i := slices.IndexFunc(cat, func(x Defect) bool { return x.Name == name })
	if i < 0 {
		names := make([]string, len(cat))
		for j, x := range cat {
			names[j] = x.Name
		}
		return d, fmt.Errorf("unknown defect %q (known: %s)", name, strings.Join(names, ", "))
	}
	cat[i].set(&d)
	return d, nil
}
