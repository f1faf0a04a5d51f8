package vitals

import (
	"fmt"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
)

// unackedAlerts finds alerts for readings the cluster never took: the
// reading named is not in the complete final read of the input (no
// device's send of it was appended), or it is there but its send failed
// (fail promised it was not appended). A reading whose send ended info
// and that the input holds was appended: alerting it is right.
func unackedAlerts(a *analysis) checker.Finding {
	var f checker.Finding
	if u := a.unjudged(UnackedAlert, a.in, a.alertLog); len(u) > 0 {
		f.Unjudged = u
		return f
	}
	sentByID := map[string]string{} // reading id -> value, for every send of a reading
	for v, s := range a.sends {
		if r, ok := parseReading(v); ok && s.Send.Topic == a.cfg.Topic {
			sentByID[r.ID] = v
		}
	}
	for _, x := range a.alerts {
		at := pos(a.cfg.Alerts, x.part, x.at)
		r, inLog := a.readings[x.al.Reading]
		var why string
		ops := a.ops(x.at)
		switch v, sent := sentByID[x.al.Reading]; {
		case inLog && a.sends[r.at.Value] != nil && a.sends[r.at.Value].Type == history.Fail:
			s := a.sends[r.at.Value]
			why = fmt.Sprintf("its send failed (op %d: %s)", s.Op, s.Send.Value)
			ops = append(ops, s.Op)
		case inLog:
			continue
		case sent:
			s := a.sends[v]
			why = fmt.Sprintf("its send ended %s (op %d) and the complete final read of %s does not hold it", s.Type, s.Op, a.cfg.Topic)
			ops = append(ops, s.Op, a.in.Op)
		default:
			why = fmt.Sprintf("no device sent it and the complete final read of %s does not hold it", a.cfg.Topic)
			ops = append(ops, a.in.Op)
		}
		f.Witnesses = append(f.Witnesses, checker.Witness{
			Positions: []checker.Position{at},
			Values:    []string{x.at.Value},
			Ops:       uniq(ops),
			Detail:    fmt.Sprintf("patient %s: alert %s at %s for reading %s, but %s", x.al.Patient, x.al.id(), at, x.al.Reading, why),
		})
	}
	return f
}
