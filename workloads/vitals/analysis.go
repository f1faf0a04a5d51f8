package vitals

import (
	"fmt"
	"slices"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/hist"
)

// Anomaly names of the workload's properties.
const (
	Alerts       = "vitals-alerts"
	AlertLatency = "vitals-alert-latency"
	EventOrder   = "vitals-event-order"
	UnackedAlert = "vitals-unacked-alert"
)

// Properties are the workload's checks, one per anomaly, each in its own
// file; they share one reading of the history. The transactional
// anomalies (aborted-read, precommitted-read, torn-transaction) are the
// checker package's, judged on the processor's txn ops.
func Properties(cfg Config) []checker.Property {
	cfg, _ = cfg.WithDefaults()
	type check = hist.Check[*analysis]
	return hist.Properties(func(h []history.Op) *analysis { return analyze(cfg, h) },
		check{Name: Alerts, Find: alertViolations},
		check{Name: AlertLatency, Find: lateAlerts},
		check{Name: EventOrder, Find: orderViolations},
		check{Name: UnackedAlert, Find: unackedAlerts},
	)
}

// analysis is the history read for the checkers.
type analysis struct {
	cfg       Config
	h         []history.Op
	sends     map[string]*hist.Sent
	in        *hist.Log
	processed *hist.Log
	alertLog  *hist.Log
	// readings are the input log's readings by id; barrier the highest
	// barrier offset answered per partition, barrierAt its answer.
	readings  map[string]inputReading
	barrier   map[int32]int64
	barrierAt map[int32]hist.Entry
	// alerts are the committed alerts in partition, then offset order.
	alerts []raised
}

type inputReading struct {
	r    reading
	part int32
	at   hist.Entry
}

type raised struct {
	al   alert
	part int32
	at   hist.Entry
}

func analyze(cfg Config, h []history.Op) *analysis {
	a := &analysis{cfg: cfg, h: h, sends: hist.Sends(h),
		in: hist.FinalLog(h, cfg.Topic), processed: hist.FinalLog(h, cfg.Processed), alertLog: hist.FinalLog(h, cfg.Alerts),
		readings: map[string]inputReading{}, barrier: map[int32]int64{}, barrierAt: map[int32]hist.Entry{}}
	for _, p := range sortedParts(a.in.Records) {
		for _, at := range a.in.Records[p] {
			if r, ok := parseReading(at.Value); ok {
				a.readings[r.ID] = inputReading{r, p, at}
			}
		}
	}
	for _, p := range sortedParts(a.processed.Records) {
		for _, at := range a.processed.Records[p] {
			if e, ok := decode[processed](at.Value); ok && e.Barrier != "" {
				if o, seen := a.barrier[p]; !seen || e.Offset > o {
					a.barrier[p], a.barrierAt[p] = e.Offset, at
				}
			}
		}
	}
	for _, p := range sortedParts(a.alertLog.Records) {
		for _, at := range a.alertLog.Records[p] {
			if al, ok := decode[alert](at.Value); ok && al.Rule != "" {
				a.alerts = append(a.alerts, raised{al, p, at})
			}
		}
	}
	return a
}

// unjudged says which of the logs named are missing or incomplete.
func (a *analysis) unjudged(check string, logs ...*hist.Log) []checker.Unjudged {
	var out []checker.Unjudged
	for _, l := range logs {
		if !l.AllComplete() {
			out = append(out, checker.Unjudged{Reason: checker.FinalReadIncomplete, Check: check,
				Detail: fmt.Sprintf("the final read of %s is missing or incomplete", l.Topic)})
		}
	}
	return out
}

// ops returns the ops that show entry at: the final read's poll and the
// write that carried it.
func (a *analysis) ops(at hist.Entry) []int64 {
	ops := []int64{at.Op}
	if s := a.sends[at.Value]; s != nil {
		ops = append(ops, s.Op)
	}
	return ops
}

func pos(topic string, p int32, at hist.Entry) checker.Position {
	return checker.Position{Topic: topic, Partition: p, Offset: at.Offset}
}

func sortedParts[V any](m map[int32]V) []int32 {
	ps := make([]int32, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func uniq(ops []int64) []int64 {
	ops = slices.Clone(ops)
	slices.Sort(ops)
	return slices.Compact(ops)
}
