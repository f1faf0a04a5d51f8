package checker

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/weir-dev/weir/history"
)

// Anomaly names, as keys of Verdict.Anomalies.
const (
	LostWrite           = "lost-write"
	Duplicate           = "duplicate"
	InconsistentOffsets = "inconsistent-offsets"
	AbortedRead         = "aborted-read"
	NonmonotonicPoll    = "nonmonotonic-poll"
	PollSkip            = "poll-skip"
)

// Anomalies lists every anomaly Check looks for, in a fixed order.
func Anomalies() []string {
	return []string{LostWrite, Duplicate, InconsistentOffsets, AbortedRead, NonmonotonicPoll, PollSkip}
}

// checks pairs each anomaly with the function that finds it.
func checks() []struct {
	name string
	find func(*index) []Witness
} {
	return []struct {
		name string
		find func(*index) []Witness
	}{
		{LostWrite, lostWrites},
		{Duplicate, duplicates},
		{InconsistentOffsets, inconsistentOffsets},
		{AbortedRead, abortedReads},
		{NonmonotonicPoll, nonmonotonicPolls},
		{PollSkip, pollSkips},
	}
}

// Position is a place in a partition log.
type Position struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

func (p Position) String() string { return fmt.Sprintf("%s/%d@%d", p.Topic, p.Partition, p.Offset) }

func comparePositions(a, b Position) int {
	return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
}

// Witness is one case of an anomaly: where, which values, and the indexes
// of the ops that show it (in history order), with a sentence for humans.
type Witness struct {
	Positions []Position `json:"positions,omitempty"`
	Values    []string   `json:"values,omitempty"`
	Ops       []int64    `json:"ops"`
	Detail    string     `json:"detail"`
}

// Opts tunes Check.
type Opts struct {
	// Allowed anomalies are still reported but do not make the verdict
	// invalid: what a configuration does not promise (acks=1 allows
	// lost-write, for one).
	Allowed []string
	// MaxWitnesses bounds the witnesses kept per anomaly; Verdict.Counts
	// has the full number. Default 32; negative keeps all.
	MaxWitnesses int
}

// Stats describe the history checked.
type Stats struct {
	Ops         int `json:"ops"`
	SendsOK     int `json:"sends_ok"`
	SendsFail   int `json:"sends_fail"`
	SendsInfo   int `json:"sends_info"` // info completions and invokes never completed
	Polls       int `json:"polls_ok"`
	RecordsRead int `json:"records_read"`
	ValuesRead  int `json:"distinct_values_read"`
	AckedRead   int `json:"acked_sends_read"` // ok sends read at their acknowledged position
	Unseen      int `json:"acked_sends_unseen"`
	// FinalPartitions is how many partitions an ok final read covered.
	FinalPartitions int `json:"final_partitions"`
}

// Verdict is the result of Check, encoded as verdict.json.
type Verdict struct {
	Valid     bool                 `json:"valid"`
	Anomalies map[string][]Witness `json:"anomalies"` // only anomalies found
	Counts    map[string]int       `json:"counts"`    // witnesses per anomaly before MaxWitnesses
	Allowed   []string             `json:"allowed,omitempty"`
	Stats     Stats                `json:"stats"`
}

// Check runs every checker on h. h should pass history.Validate; Check
// itself only needs each op's completion to carry its values.
func Check(h []history.Op, opts Opts) Verdict {
	if opts.MaxWitnesses == 0 {
		opts.MaxWitnesses = 32
	}
	ix := newIndex(h)
	v := Verdict{Valid: true, Anomalies: map[string][]Witness{}, Counts: map[string]int{}, Stats: ix.stats()}
	v.Allowed = slices.Sorted(slices.Values(opts.Allowed))
	v.Allowed = slices.Compact(v.Allowed)
	for _, c := range checks() {
		ws := c.find(ix)
		if len(ws) == 0 {
			continue
		}
		v.Counts[c.name] = len(ws)
		if opts.MaxWitnesses > 0 && len(ws) > opts.MaxWitnesses {
			ws = ws[:opts.MaxWitnesses]
		}
		v.Anomalies[c.name] = ws
		if !slices.Contains(v.Allowed, c.name) {
			v.Valid = false
		}
	}
	return v
}

// Summary is a few lines for humans: the verdict, the counts, and the first
// witness of each anomaly.
func (v Verdict) Summary() string {
	var b strings.Builder
	s := v.Stats
	state := "valid"
	if !v.Valid {
		state = "INVALID"
	}
	fmt.Fprintf(&b, "%s: %d ops; sends %d ok, %d fail, %d info; %d polls read %d records (%d values); %d acked sends read, %d unseen; final read covered %d partitions\n",
		state, s.Ops, s.SendsOK, s.SendsFail, s.SendsInfo, s.Polls, s.RecordsRead, s.ValuesRead, s.AckedRead, s.Unseen, s.FinalPartitions)
	for _, name := range Anomalies() {
		ws := v.Anomalies[name]
		if len(ws) == 0 {
			continue
		}
		allowed := ""
		if slices.Contains(v.Allowed, name) {
			allowed = " (allowed)"
		}
		fmt.Fprintf(&b, "  %s ×%d%s, e.g. %s\n", name, v.Counts[name], allowed, ws[0].Detail)
	}
	return b.String()
}
