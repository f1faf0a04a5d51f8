package faults

import (
	"encoding/json"
	"time"
)

// RecordsFile is the run folder's file of Records, one JSON object a line.
const RecordsFile = "faults.jsonl"

// Record is one line of faults.jsonl: a fault or a heal as the world
// applied it (or armed, or dropped), at a virtual time since the run
// began. Fields that do not apply to Op are left out.
type Record struct {
	T      float64 `json:"t"`    // virtual seconds since the run began
	Op     string  `json:"op"`   // an Op's name, or "power-loss", "heal-all"
	Kind   string  `json:"kind"` // its Kind's name
	Heal   bool    `json:"heal,omitempty"`
	Status string  `json:"status"` // Applied, Armed, Dropped or Failed
	Node   string  `json:"node,omitempty"`

	Groups      [][]string `json:"groups,omitempty"`
	From        string     `json:"from,omitempty"`
	To          string     `json:"to,omitempty"`
	Keep        *float64   `json:"keep,omitempty"`
	Prob        float64    `json:"prob,omitempty"`
	Count       int        `json:"count,omitempty"`
	FlipProb    float64    `json:"flip_prob,omitempty"`
	Flips       int        `json:"flips,omitempty"`
	OffsetNs    int64      `json:"offset_ns,omitempty"`
	Drift       float64    `json:"drift,omitempty"`
	TimerJumpNs int64      `json:"timer_jump_ns,omitempty"`
	Trigger     string     `json:"trigger,omitempty"`
	Nth         int        `json:"nth,omitempty"`
	LagNs       int64      `json:"lag_ns,omitempty"`
	DownNs      int64      `json:"down_ns,omitempty"`
	Ops         int        `json:"ops,omitempty"`
	// ScheduledAt is the event's time in the schedule, in seconds since
	// the safety phase began, when it came from one.
	ScheduledAt *float64 `json:"scheduled_at,omitempty"`
	Note        string   `json:"note,omitempty"`
}

// Statuses of a Record.
const (
	Applied = "applied" // the fault or heal happened at T
	Armed   = "armed"   // a triggered crash now waits for its trigger
	Dropped = "dropped" // nothing happened: a triggered crash never came
	Failed  = "failed"  // applying it failed (Note says why)
)

// RecordOf is e as applied at t (since the run began) with status.
func RecordOf(t time.Duration, e Event, status, note string) Record {
	at := e.At.Seconds()
	r := Record{
		T: t.Seconds(), Op: e.Op.String(), Kind: e.Op.Kind().String(), Heal: e.Op.Heals(),
		Status: status, Node: e.Node, Groups: e.Groups, From: e.From, To: e.To,
		Prob: e.Prob, Count: e.Count, FlipProb: e.FlipProb, Flips: e.Flips,
		OffsetNs: int64(e.Offset), Drift: e.Drift, TimerJumpNs: int64(e.TimerJump),
		Nth: e.Nth, LagNs: int64(e.Lag), DownNs: int64(e.Down), Ops: e.Ops, ScheduledAt: &at, Note: note,
	}
	if e.Op == OpCrash || (e.Op == OpRestart && e.Ops > 0) {
		keep := e.Keep
		r.Keep = &keep
	}
	if e.Op == OpCrash && e.Trigger != TriggerAt {
		r.Trigger = e.Trigger.String()
	}
	return r
}

// AppendJSONL appends rs to b, one JSON object a line.
func AppendJSONL(b []byte, rs []Record) []byte {
	for _, r := range rs {
		j, err := json.Marshal(r)
		if err != nil {
			panic(err) // a Record always encodes
		}
		b = append(append(b, j...), '\n')
	}
	return b
}
