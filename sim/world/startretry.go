package world

import (
	"errors"
	"fmt"
	"time"

	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/runfolder"
)

// A start the fault plan asks for (a schedule's restart, the reboot after
// a disk heal or a resume, a triggered crash's own restart) can fail: a
// disk fault during recovery, say an EIO on the data directory's fsync as
// the metadata quorum opens (seed 35013). The node is then down although
// the plan meant it up, and nothing else in the safety phase would start it
// again: with min.insync.replicas equal to the replication factor every
// acks=all produce waits for it, so the workload never returns and the
// liveness phase, which restarts every node, never comes. As a supervisor
// (systemd, Kubernetes) restarts a broker whose start failed, the world
// tries again startRetryFirst later, doubling the wait up to
// startRetryMax, until a start succeeds, something else started the node,
// or the world closes. Every retry is traced and recorded (faults.jsonl,
// with its error if it failed). A crash during recovery (a trigger armed by
// a restart with Ops) is a fault of its own, not a failed start: the
// schedule's next restart heals it.
//
// Nothing here can make a run that lost a node look healthy: a node that
// never starts again fails the liveness phase's convergence (ErrLiveness),
// and a workload that waits for it past the budget is a harness error.
const (
	startRetryFirst = time.Second
	startRetryMax   = 8 * time.Second
)

// errCrashedInRecovery is the error of a start that a triggered crash
// ended during recovery.
var errCrashedInRecovery = errors.New("crashed during recovery")

// startOrRetryLocked starts n (why names the start in the trace) and, if
// the start failed for a reason other than a crash during recovery,
// schedules its retry. Call with n.mu held.
func (n *machine) startOrRetryLocked(why string) error {
	err := n.startLocked(why)
	if err != nil && !errors.Is(err, errCrashedInRecovery) {
		n.retryStartLocked(startRetryFirst)
	}
	return err
}

// retryStartLocked schedules a start of n wait from now, unless a retry is
// pending already. The retry does nothing if n is up by then or has been
// up since (another incarnation), or the world closed; a retry that fails
// schedules the next one, twice as far (at most startRetryMax). Call with
// n.mu held, n down.
func (n *machine) retryStartLocked(wait time.Duration) {
	w := n.w
	if n.retrying || w.ctx.Err() != nil {
		return
	}
	n.retrying = true
	inc := n.incarnation // a failed start leaves it as it was
	w.Tracef("restart %s again in %v (its start failed)", n.name, wait)
	w.clock.AfterFunc(wait, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.retrying = false
		if n.up || n.incarnation != inc || w.ctx.Err() != nil {
			return
		}
		f := runfolder.Fault{Kind: faults.Crash.String(), Op: faults.OpRestart.String(), Heals: true, Nodes: []string{n.name},
			Detail: fmt.Sprintf("retry of a failed start, %v after it", wait)}
		if err := n.startLocked("restart"); err != nil {
			f.Error = err.Error()
			if !errors.Is(err, errCrashedInRecovery) {
				n.retryStartLocked(min(2*wait, startRetryMax))
			}
		}
		w.recordFault(f)
	})
}
