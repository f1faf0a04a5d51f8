package vitals

import (
	"fmt"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/workloads/hist"
)

// orderViolations finds a patient's event time going back in the
// processed stream: in each partition of the committed processed topic,
// in offset order, the readings of a patient not set aside as late must
// have non-decreasing event times.
func orderViolations(a *analysis) checker.Finding {
	var f checker.Finding
	if u := a.unjudged(EventOrder, a.processed); len(u) > 0 {
		f.Unjudged = u
		return f
	}
	for _, p := range sortedParts(a.processed.Records) {
		last := map[string]hist.Entry{}
		lastMs := map[string]int64{}
		for _, at := range a.processed.Records[p] {
			e, ok := decode[processed](at.Value)
			if !ok || e.ID == "" || e.Late {
				continue
			}
			if prev, had := last[e.Patient]; had && e.Ms < lastMs[e.Patient] {
				f.Witnesses = append(f.Witnesses, checker.Witness{
					Positions: []checker.Position{pos(a.cfg.Processed, p, prev), pos(a.cfg.Processed, p, at)},
					Values:    []string{prev.Value, at.Value},
					Ops:       uniq(append(a.ops(prev), a.ops(at)...)),
					Detail: fmt.Sprintf("patient %s: reading %s (event time %dms) follows %s (event time %dms) in the processed stream at %s, and is not set aside as late",
						e.Patient, e.ID, e.Ms, lastMsID(prev), lastMs[e.Patient], pos(a.cfg.Processed, p, at)),
				})
				continue
			}
			last[e.Patient], lastMs[e.Patient] = at, e.Ms
		}
	}
	return f
}

func lastMsID(at hist.Entry) string {
	e, _ := decode[processed](at.Value)
	return e.ID
}
