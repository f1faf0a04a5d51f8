package vitals

import (
	"fmt"
	"time"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
)

// lateAlerts finds alerts that came out later than Config.AlertBound
// after their reading was acknowledged: from the completion of the
// reading's ok send to the moment the transaction carrying the alert
// asked to commit (Txn.CommitTime; the txn's completion when it has
// none). A reading whose send was not acknowledged (info, or never
// completed) has no start to measure from and is not judged here; each
// breach is judged on its first committed alert.
func lateAlerts(a *analysis) checker.Finding {
	var f checker.Finding
	if u := a.unjudged(AlertLatency, a.in, a.alertLog); len(u) > 0 {
		f.Unjudged = u
		return f
	}
	bound := a.cfg.AlertBound.Nanoseconds()
	seen := map[string]bool{}
	for _, x := range a.alerts {
		id := x.al.id()
		if seen[id] {
			continue
		}
		seen[id] = true
		r, known := a.readings[x.al.Reading]
		if !known {
			continue
		}
		send, write := a.sends[r.at.Value], a.sends[x.at.Value]
		if send == nil || send.Type != history.OK || write == nil {
			continue
		}
		acked := a.h[send.Op].Time
		out := a.h[write.Op].Time
		if write.Txn != nil && write.Txn.CommitTime > 0 {
			out = write.Txn.CommitTime
		}
		if delay := out - acked; delay > bound {
			f.Witnesses = append(f.Witnesses, checker.Witness{
				Positions: []checker.Position{pos(a.cfg.Topic, r.part, r.at), pos(a.cfg.Alerts, x.part, x.at)},
				Values:    []string{r.at.Value, x.at.Value},
				Ops:       uniq([]int64{send.Op, write.Op}),
				Detail: fmt.Sprintf("patient %s: alert %s committed at %.3fs, %v after its reading was acknowledged (op %d at %.3fs); the bound is %v",
					x.al.Patient, id, history.Seconds(out), time.Duration(delay), send.Op, history.Seconds(acked), a.cfg.AlertBound),
			})
		}
	}
	return f
}
