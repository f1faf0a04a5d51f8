package clickstream

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/hist"
)

// Anomaly names of the workload's properties.
const (
	Order         = "clickstream-order"
	LostEvent     = "clickstream-lost-event"
	DoubleCount   = "clickstream-double-count"
	SessionWindow = "clickstream-session-window"
)

// Properties are the workload's checks, one per anomaly, each in its own
// file. They share one reading of the history.
func Properties(cfg Config) []checker.Property {
	cfg, _ = cfg.WithDefaults()
	type check = hist.Check[*analysis]
	return hist.Properties(func(h []history.Op) *analysis { return analyze(cfg, h) },
		check{Name: Order, Find: orderViolations},
		check{Name: LostEvent, Find: lostEvents},
		check{Name: DoubleCount, Find: doubleCounts},
		check{Name: SessionWindow, Find: windowViolations},
	)
}

// analysis is the history read for the checkers.
type analysis struct {
	cfg   Config
	h     []history.Op
	sends map[string]*hist.Sent
	in    *hist.Log // the final read of the input
	out   *hist.Log // the final read of the summaries
	// barrier is, per input partition, the highest barrier offset the
	// processing answered, and barrierAt the output entry answering it.
	barrier   map[int32]int64
	barrierAt map[int32]hist.Entry
	// sessions are the distinct session summaries of the output (a
	// summary written twice with the same events is one), in output order.
	sessions []outSession
}

type outSession struct {
	sum   summary
	part  int32
	entry hist.Entry // where the final read found it
}

func (s outSession) pos(topic string) checker.Position {
	return checker.Position{Topic: topic, Partition: s.part, Offset: s.entry.Offset}
}

// ops returns the ops that show the session: the final read's poll and
// the write that carried it.
func (a *analysis) sessionOps(s outSession) []int64 {
	ops := []int64{s.entry.Op}
	if w := a.sends[s.entry.Value]; w != nil {
		ops = append(ops, w.Op)
	}
	return ops
}

func analyze(cfg Config, h []history.Op) *analysis {
	a := &analysis{cfg: cfg, h: h, sends: hist.Sends(h), in: hist.FinalLog(h, cfg.Topic), out: hist.FinalLog(h, cfg.Output),
		barrier: map[int32]int64{}, barrierAt: map[int32]hist.Entry{}}
	seen := map[string]bool{}
	for _, p := range sortedParts(a.out.Records) {
		for _, e := range a.out.Records[p] {
			s, ok := parseSummary(e.Value)
			if !ok {
				continue
			}
			if s.Barrier != "" {
				if o, ok := a.barrier[p]; !ok || s.Offset > o {
					a.barrier[p], a.barrierAt[p] = s.Offset, e
				}
				continue
			}
			key := fmt.Sprintf("%s %v", s.SID, s.Offs)
			if seen[key] {
				continue
			}
			seen[key] = true
			a.sessions = append(a.sessions, outSession{sum: s, part: p, entry: e})
		}
	}
	return a
}

// finalsUnjudged says why the final reads cannot judge a property.
func (a *analysis) finalsUnjudged(check string) []checker.Unjudged {
	var out []checker.Unjudged
	for _, l := range []*hist.Log{a.in, a.out} {
		if !l.AllComplete() {
			out = append(out, checker.Unjudged{Reason: checker.FinalReadIncomplete, Check: check,
				Detail: fmt.Sprintf("the final read of %s is missing or incomplete", l.Topic)})
		}
	}
	return out
}

// eventAt returns the input event at p/o as the final read found it.
func (a *analysis) eventAt(p int32, o int64) (event, hist.Entry, bool) {
	e, ok := a.in.Find(p, o)
	if !ok {
		return event{}, e, false
	}
	ev, ok := parseEvent(e.Value)
	return ev, e, ok
}

// eventOps returns the ops that show input entry e: its send and the
// final read's poll.
func (a *analysis) eventOps(e hist.Entry) []int64 {
	ops := []int64{e.Op}
	if s := a.sends[e.Value]; s != nil {
		ops = append(ops, s.Op)
	}
	return ops
}

func sortedParts[V any](m map[int32]V) []int32 {
	ps := make([]int32, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func uniq(ops []int64) []int64 {
	ops = slices.Clone(ops)
	slices.Sort(ops)
	return slices.Compact(ops)
}

func offsets(os []int64) string {
	var b strings.Builder
	for i, o := range os {
		if i > 0 {
			b.WriteByte(',')
		}
		if i == 6 && len(os) > 8 {
			fmt.Fprintf(&b, "...(%d)", len(os))
			break
		}
		fmt.Fprint(&b, o)
	}
	return b.String()
}

func comparePos(x, y checker.Position) int {
	return cmp.Or(cmp.Compare(x.Topic, y.Topic), cmp.Compare(x.Partition, y.Partition), cmp.Compare(x.Offset, y.Offset))
}
