package world

import (
	"fmt"
	"strings"
	"time"

	"github.com/weir-dev/weir/env/memfs"
	"github.com/weir-dev/weir/faults"
)

// A trigger is a crash waiting for its moment on one node's disk (see
// faults.Trigger): the disk's injector shows it every operation, and when
// it fires the node crashes, at once or after its lag. A node has at most
// one armed trigger; a restart event of the node disarms a trigger that has
// not fired (the node stayed up), and so does the liveness phase.
type trigger struct {
	why     string
	kind    faults.Trigger
	restart bool // armed by a restart with Ops: counts every operation from the start of recovery
	// controller: the node is a dedicated controller, whose disk holds
	// only the metadata quorum's log: TriggerSync counts the fsyncs of
	// its WAL, the moment its votes and acknowledgements go out, and
	// TriggerRoll waits for a snapshot (the WAL's rotation and compaction
	// follow it) instead of a segment roll.
	controller bool
	syncs      int // TriggerSync: segment fsyncs still to begin
	lag        time.Duration
	rolling    bool // TriggerRoll: a roll began; ops counts from there
	ops        int
	keep       float64
	down       time.Duration // restart this long after the crash (faults.Event.Down)
}

// advance shows t one disk operation and reports whether t fires now,
// before the operation happens.
func (t *trigger) advance(op memfs.Op, path string) bool {
	switch {
	case t.restart:
	case t.kind == faults.TriggerSync:
		if op != memfs.OpSync || !(isSegment(path) || t.controller && isWAL(path)) {
			return false
		}
		t.syncs--
		return t.syncs <= 0
	case t.kind == faults.TriggerRoll && !t.rolling:
		// A roll starts by writing the old segment's index; a snapshot
		// of the metadata quorum by creating its temporary file.
		first := ".index"
		if t.controller {
			first = ".snap.tmp"
		}
		if op != memfs.OpCreate || !strings.HasSuffix(path, first) {
			return false
		}
		t.rolling = true
	}
	t.ops--
	return t.ops <= 0
}

// isSegment reports whether path is a partition log segment,
// <20 digits>.log (the metadata quorum's WAL is wal-<digits>.log).
func isSegment(path string) bool {
	base, ok := strings.CutSuffix(path[strings.LastIndexByte(path, '/')+1:], ".log")
	if !ok || len(base) != 20 {
		return false
	}
	for _, c := range base {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isWAL reports whether path is a WAL file of the metadata quorum,
// wal-<digits>.log.
func isWAL(path string) bool {
	base := path[strings.LastIndexByte(path, '/')+1:]
	return strings.HasPrefix(base, "wal-") && strings.HasSuffix(base, ".log")
}

// armCrash arms the triggered crash of e (e.Trigger is not TriggerAt).
func (w *World) armCrash(e faults.Event) error {
	n, err := w.mustNode(e.Node)
	if err != nil {
		return err
	}
	if !w.Up(e.Node) {
		return fmt.Errorf("world: crash %s: not up", e.Node)
	}
	t := &trigger{kind: e.Trigger, syncs: e.Nth, lag: e.Lag, ops: e.Ops, keep: e.Keep, down: e.Down, controller: n.controller}
	switch {
	case e.Trigger == faults.TriggerSync && n.controller:
		t.why = fmt.Sprintf("%v after the start of metadata log fsync #%d since %.6fs", e.Lag, e.Nth, w.Elapsed().Seconds())
	case e.Trigger == faults.TriggerRoll && n.controller:
		t.why = fmt.Sprintf("before disk operation #%d of the first metadata snapshot since %.6fs", e.Ops, w.Elapsed().Seconds())
	case e.Trigger == faults.TriggerSync:
		t.why = fmt.Sprintf("%v after the start of segment fsync #%d since %.6fs", e.Lag, e.Nth, w.Elapsed().Seconds())
	case e.Trigger == faults.TriggerRoll:
		t.why = fmt.Sprintf("before disk operation #%d of the first segment roll since %.6fs", e.Ops, w.Elapsed().Seconds())
	default:
		return fmt.Errorf("world: crash %s: unknown trigger %v", e.Node, e.Trigger)
	}
	n.arm(t)
	w.Tracef("crash %s armed: %s", e.Node, t.why)
	return nil
}

func (n *machine) arm(t *trigger) {
	n.diskMu.Lock()
	defer n.diskMu.Unlock()
	n.trigger = t
}

// disarm removes n's trigger and returns it, nil if none was armed.
func (n *machine) disarm() *trigger {
	n.diskMu.Lock()
	defer n.diskMu.Unlock()
	t := n.trigger
	n.trigger = nil
	return t
}

// restart applies an OpRestart: a triggered crash that never fired is
// dropped (the node stayed up, and stays up), and restart says why;
// otherwise the node restarts, with a crash armed e.Ops disk operations
// into its recovery if e.Ops > 0.
func (w *World) restart(e faults.Event) (dropped string, err error) {
	n, err := w.mustNode(e.Node)
	if err != nil {
		return "", err
	}
	if t := n.disarm(); t != nil && w.Up(e.Node) {
		w.Tracef("crash %s never came (%s): it stays up", e.Node, t.why)
		return "the crash never came: " + t.why, nil
	}
	if w.Up(e.Node) {
		// A triggered crash with Down restarted the node itself, or a
		// failed start's retry did (startretry.go).
		return "the node is up already", nil
	}
	if e.Ops > 0 {
		n.arm(&trigger{restart: true, ops: e.Ops, keep: e.Keep,
			why: fmt.Sprintf("before disk operation #%d since the restart at %.6fs", e.Ops, w.Elapsed().Seconds())})
	}
	return "", w.restartOrRetry(e.Node)
}

// watch shows one operation of disk (whose dead channel is dead) to the
// node's armed trigger, and crashes the node when it fires: during a start
// (recovery) at once, from here; with a lag, that long after this
// operation began; else just before this operation, which waits for the
// crash and so never happens. A trigger waits while its node is stopping
// (a clean stop holds n.mu and waits for the broker's operations).
func (n *machine) watch(disk *memfs.FS, dead chan struct{}, op memfs.Op, path string) {
	n.diskMu.Lock()
	t := n.trigger
	starting := n.starting.Load()
	inc, stopped := n.serving, n.stopped
	if t == nil || dead != n.diskDead || (inc == 0 && !starting) || !t.advance(op, path) {
		n.diskMu.Unlock()
		return
	}
	n.trigger = nil
	n.diskMu.Unlock()
	w := n.w
	switch {
	case starting:
		w.Tracef("crash %s during its start, keep=%.2f: %s", n.name, t.keep, t.why)
		w.recordCrash(n.name, faults.OpCrash.String(), false, crashDetail(t.keep, "during recovery: "+t.why))
		next := n.crashDisk(disk, t.keep)
		n.diskMu.Lock()
		n.startCrash = next
		n.diskMu.Unlock()
	case t.lag > 0:
		w.clock.AfterFunc(t.lag, func() { w.crashIncarnation(n, inc, t) })
	default:
		go w.crashIncarnation(n, inc, t)
		select {
		case <-dead:
		case <-stopped: // a clean stop overtook the crash; the operation goes on
		case <-w.ctx.Done():
		}
	}
}
