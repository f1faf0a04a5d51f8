package world

import (
	"fmt"
	"slices"

	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/runfolder"
)

// The faults applied, for faults.jsonl (runfolder.Fault): every schedule
// event Apply handles, and the crashes and restarts nobody scheduled at a
// time (a trigger's, a power loss's, the liveness phase's heal), each at
// the virtual time since the world began.

// recordFault adds f, at the current time, to what FaultRecords returns.
func (w *World) recordFault(f runfolder.Fault) {
	f.TimeS = w.Elapsed().Seconds()
	w.breachMu.Lock()
	defer w.breachMu.Unlock()
	w.faultLog = append(w.faultLog, f)
}

// recordEvent records schedule event e as applied (status ""), armed or
// dropped (why says why), or failed (err).
func (w *World) recordEvent(e faults.Event, status, why string, err error) {
	f := runfolder.Fault{Kind: e.Op.Kind().String(), Op: e.Op.String(), Heals: e.Op.Heals(), Nodes: eventHosts(e), Detail: e.String(), Status: status}
	if why != "" {
		f.Detail += ": " + why
	}
	if err != nil {
		f.Error = err.Error()
	}
	w.recordFault(f)
}

// recordCrash records a crash (or restart) that no event applied itself.
func (w *World) recordCrash(node, op string, heals bool, detail string) {
	w.recordFault(runfolder.Fault{Kind: faults.Crash.String(), Op: op, Heals: heals, Nodes: []string{node}, Detail: detail})
}

// eventHosts are the hosts e names.
func eventHosts(e faults.Event) []string {
	switch {
	case e.Op == faults.OpPartition:
		var hosts []string
		for _, g := range e.Groups {
			hosts = append(hosts, g...)
		}
		slices.Sort(hosts)
		return slices.Compact(hosts)
	case e.From != "" || e.To != "":
		return []string{e.From, e.To}
	case e.Node != "":
		return []string{e.Node}
	}
	return nil
}

// FaultRecords returns every fault and heal recorded so far, in the order
// applied: the lines of faults.jsonl.
func (w *World) FaultRecords() []runfolder.Fault {
	w.breachMu.Lock()
	defer w.breachMu.Unlock()
	return slices.Clone(w.faultLog)
}

// crashDetail is the detail of a crash record: keep, and why.
func crashDetail(keep float64, why string) string { return fmt.Sprintf("keep=%.2f: %s", keep, why) }
