package payments

import (
	"fmt"
	"slices"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/hist"
)

// Anomaly names of the workload's properties.
const (
	ExactlyOnce     = "payments-exactly-once"
	Conservation    = "payments-conservation"
	NegativeBalance = "payments-negative-balance"
	FraudAlerts     = "payments-fraud-alerts"
)

// Properties are the workload's checks, one per anomaly, each in its own
// file; they share one reading of the history. The transactional
// anomalies (aborted-read, precommitted-read, torn-transaction) are the
// checker package's, judged on the processor's txn ops.
func Properties(cfg Config) []checker.Property {
	cfg, _ = cfg.WithDefaults()
	type check = hist.Check[*analysis]
	return hist.Properties(func(h []history.Op) *analysis { return analyze(cfg, h) },
		check{Name: ExactlyOnce, Find: exactlyOnce},
		check{Name: Conservation, Find: conservation},
		check{Name: NegativeBalance, Find: negativeBalances},
		check{Name: FraudAlerts, Find: fraudAlerts},
	)
}

// analysis is the history read for the checkers.
type analysis struct {
	cfg      Config
	h        []history.Op
	sends    map[string]*hist.Sent
	in       *hist.Log
	ledger   *hist.Log
	balances *hist.Log
	alerts   *hist.Log
	// entries are the ledger's command entries in partition, then offset
	// order; barrier the highest barrier offset answered per partition.
	entries   []ledgerEntry
	barrier   map[int32]int64
	barrierAt map[int32]hist.Entry
	// commands are the input log's commands by id.
	commands map[string]inputCommand
}

type ledgerEntry struct {
	e    entry
	part int32
	at   hist.Entry
}

type inputCommand struct {
	c    command
	part int32
	at   hist.Entry
}

func analyze(cfg Config, h []history.Op) *analysis {
	a := &analysis{cfg: cfg, h: h, sends: hist.Sends(h),
		in: hist.FinalLog(h, cfg.Topic), ledger: hist.FinalLog(h, cfg.Ledger),
		balances: hist.FinalLog(h, cfg.Balances), alerts: hist.FinalLog(h, cfg.Alerts),
		barrier: map[int32]int64{}, barrierAt: map[int32]hist.Entry{}, commands: map[string]inputCommand{}}
	for _, p := range sortedParts(a.ledger.Records) {
		for _, at := range a.ledger.Records[p] {
			e, ok := decode[entry](at.Value)
			switch {
			case !ok:
			case e.Barrier != "":
				if o, seen := a.barrier[p]; !seen || e.Offset > o {
					a.barrier[p], a.barrierAt[p] = e.Offset, at
				}
			case e.Cmd != "":
				a.entries = append(a.entries, ledgerEntry{e, p, at})
			}
		}
	}
	for _, p := range sortedParts(a.in.Records) {
		for _, at := range a.in.Records[p] {
			if c, ok := parseCommand(at.Value); ok {
				a.commands[c.ID] = inputCommand{c, p, at}
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

func (a *analysis) pos(topic string, p int32, at hist.Entry) checker.Position {
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
