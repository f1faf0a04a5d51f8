// Package invariants switches on the checks that are too costly, or too tied
// to the simulator, for a production build, as pebble's internal/invariants
// does: code guards each check with `if invariants.Enabled`, a constant, so
// the compiler drops the check from a build without the tag.
//
// Builds with -tags invariants turn it on: the simulation guest (sim/host
// builds it so) and `make test`'s run of the broker's tests. A check that
// fails reports a Breach to whoever collects them (broker.Deps.Breach; the
// simulator's world records them and the run's verdict names each one as an
// anomaly of its own); it never panics, so a run goes on to its verdict and
// the history shows what the breach led to.
//
// The breaches the broker reports are named here, so the guest, the
// selftest and the docs agree on the names.
//
// Invariants: no package-level mutable state; nothing here does I/O.
package invariants

// Names of the breaches the broker reports.
const (
	// UndurableRead: a fetch served a consumer bytes that were not durable
	// on the disk at that moment, while weir.fsync.acks.all promises that
	// consumers only see what a crash cannot take back.
	UndurableRead = "undurable-read"
	// UnsyncedHighWatermark: the high watermark moved past the log's synced
	// offset while weir.fsync.acks.all is on.
	UnsyncedHighWatermark = "unsynced-high-watermark"
	// SparseOffsets: an append did not start at the log's end offset, or
	// did not advance it by its batch's record count (offsets must be
	// dense).
	SparseOffsets = "sparse-offsets"
	// UnfencedISR: a partition leader counts, for its high watermark and
	// acks, an ISR that lacks a member of the ISR the controller committed
	// at the same partition epoch (its metadata image): it shrank the ISR
	// before the controller accepted the change, so the controller may
	// elect a replica that lacks what the leader acknowledged.
	UnfencedISR = "unfenced-isr"
	// UnansweredGroupRequest: the group coordinator dropped a request it
	// had taken (a parked JoinGroup or SyncGroup) without answering it.
	UnansweredGroupRequest = "unanswered-group-request"
	// UndurableGroupAnswer: the group coordinator answered a request (a
	// commit, a join, a sync) while records it had written were not
	// durable yet: a failover can take back what the client was told.
	UndurableGroupAnswer = "undurable-group-answer"
)

// Names lists every breach name, in a fixed order.
func Names() []string {
	return []string{UndurableRead, UnsyncedHighWatermark, SparseOffsets, UnfencedISR, UnansweredGroupRequest, UndurableGroupAnswer}
}

// Breach is one invariant found broken.
type Breach struct {
	Name   string `json:"name"`   // one of Names
	Node   string `json:"node"`   // the broker that broke it, as the world names nodes
	Detail string `json:"detail"` // what was seen, for people
}
