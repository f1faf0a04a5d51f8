package payments

import (
	"maps"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/workloads/stream"
)

// app is the payments processor: it applies commands to balances, writes
// a ledger entry per command and every changed balance, and raises fraud
// alerts, all in the batch's transaction.
type app struct {
	cfg   *Config
	parts map[int32]*partState
}

// partState is one input partition's state: its accounts' balances, the
// event times of their applied withdrawals (in the order applied), and the
// tumbling windows already alerted.
type partState struct {
	bal     map[string]int64
	wd      map[string][]int64
	tumbled windows
}

func newApp(cfg *Config) *app { return &app{cfg: cfg, parts: map[int32]*partState{}} }

func (a *app) part(p int32) *partState {
	s := a.parts[p]
	if s == nil {
		s = &partState{bal: map[string]int64{}, wd: map[string][]int64{}, tumbled: windows{}}
		a.parts[p] = s
	}
	return s
}

func (a *app) Drop(p int32) { delete(a.parts, p) }

func (a *app) Committable(_ int32, next int64) int64 { return next }

// Restore takes the balances from the state topic (the last record of
// each account), the withdrawals from the ledger and the alerted windows
// from the alerts.
func (a *app) Restore(p int32, outputs map[string][]*kgo.Record) {
	s := a.part(p)
	for _, r := range outputs[a.cfg.Balances] {
		if b, ok := decode[balance](string(r.Value)); ok {
			s.bal[b.Acct] = b.Bal
		}
	}
	for _, r := range outputs[a.cfg.Ledger] {
		if e, ok := decode[entry](string(r.Value)); ok && e.Applied && e.Kind == "withdraw" && len(e.Legs) == 1 {
			s.wd[e.Legs[0].Acct] = append(s.wd[e.Legs[0].Acct], e.Ms)
		}
	}
	for _, r := range outputs[a.cfg.Alerts] {
		if al, ok := decode[alert](string(r.Value)); ok && al.Rule == "tumbling" {
			s.tumbled.mark(al.Acct, al.Window)
		}
	}
}

// Process applies each command in order.
func (a *app) Process(b *stream.Batch, rs []*kgo.Record) {
	stale := map[int32]map[string]int64{}
	for _, r := range rs {
		s := a.part(r.Partition)
		v := string(r.Value)
		if isBarrier(v) {
			b.Emit(a.cfg.Ledger, r.Partition, "barrier", encode(entry{Barrier: v, Part: r.Partition, Offset: r.Offset, W: b.Unique()}))
			continue
		}
		c, ok := parseCommand(v)
		branch, inBranch := branchOf(c.Acct)
		if !ok || !inBranch {
			continue
		}
		check := s.bal
		if a.cfg.Defects.StaleBalance {
			// Planted: the check reads the balances as they were when the
			// batch began.
			if stale[r.Partition] == nil {
				stale[r.Partition] = maps.Clone(s.bal)
			}
			check = stale[r.Partition]
		}
		e := entry{Cmd: c.ID, Kind: c.Kind, Ms: c.Ms, Part: r.Partition, Offset: r.Offset}
		switch c.Kind {
		case "deposit":
			e.Applied, e.Legs = true, []leg{a.move(s, c.Acct, c.Amount)}
		case "withdraw":
			if check[c.Acct]-c.Amount >= a.cfg.floor(c.Acct) {
				e.Applied, e.Legs = true, []leg{a.move(s, c.Acct, -c.Amount)}
			}
		case "transfer":
			if check[c.Acct]-c.Amount >= a.cfg.floor(c.Acct) {
				e.Applied, e.Legs = true, []leg{a.move(s, c.Acct, -c.Amount), a.move(s, c.To, c.Amount)}
			}
		default:
			continue
		}
		e.W = b.Unique()
		b.Emit(a.cfg.Ledger, r.Partition, branch, encode(e))
		for _, l := range e.Legs {
			b.Emit(a.cfg.Balances, r.Partition, l.Acct, encode(balance{Acct: l.Acct, Bal: l.Bal, Cmd: c.ID, W: b.Unique()}))
		}
		if e.Applied && c.Kind == "withdraw" {
			for _, al := range a.fraud(s, c) {
				al.W = b.Unique()
				b.Emit(a.cfg.Alerts, r.Partition, al.Acct, encode(al))
			}
		}
	}
}

func (a *app) move(s *partState, acct string, delta int64) leg {
	s.bal[acct] += delta
	return leg{Acct: acct, Delta: delta, Bal: s.bal[acct]}
}

// fraud records an applied withdrawal and returns the alerts it raises:
// its tumbling window's first withdrawal over the limit, and itself when
// the window of event time before it holds more than the limit.
func (a *app) fraud(s *partState, c command) []alert {
	win := a.cfg.Window.Milliseconds()
	s.wd[c.Acct] = append(s.wd[c.Acct], c.Ms)
	limit := a.cfg.MaxWithdrawals
	if a.cfg.Defects.FraudAtLimit {
		limit-- // planted: "more than N" read as "N or more"
	}
	inWindow, inSlide := 0, 0
	for _, t := range s.wd[c.Acct] {
		if t/win == c.Ms/win {
			inWindow++
		}
		if t > c.Ms-win && t <= c.Ms {
			inSlide++
		}
	}
	var out []alert
	if inWindow > limit && !s.tumbled[c.Acct][c.Ms/win] {
		s.tumbled.mark(c.Acct, c.Ms/win)
		out = append(out, alert{Rule: "tumbling", Acct: c.Acct, Window: c.Ms / win, Cmd: c.ID})
	}
	if inSlide > limit {
		out = append(out, alert{Rule: "sliding", Acct: c.Acct, Cmd: c.ID})
	}
	return out
}

type windows map[string]map[int64]bool

func (w windows) mark(acct string, win int64) {
	if w[acct] == nil {
		w[acct] = map[int64]bool{}
	}
	w[acct][win] = true
}
