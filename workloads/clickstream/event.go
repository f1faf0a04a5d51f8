package clickstream

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// event is one page view or click, the value of an input record:
// "ev|<user>|<seq>|<kind>|<event time ms>". seq numbers a user's events
// in the order its producer client was given them, so the value is
// unique and names the send.
type event struct {
	User string
	Seq  int
	Kind string // "view" or "click"
	Ms   int64  // event time, milliseconds since the run's start
}

func (e event) String() string {
	return fmt.Sprintf("ev|%s|%d|%s|%d", e.User, e.Seq, e.Kind, e.Ms)
}

// parseEvent reads an event value; ok is false for anything else (a
// barrier, or a value this workload never writes).
func parseEvent(v string) (event, bool) {
	f := strings.Split(v, "|")
	if len(f) != 5 || f[0] != "ev" {
		return event{}, false
	}
	seq, err1 := strconv.Atoi(f[2])
	ms, err2 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil {
		return event{}, false
	}
	return event{User: f[1], Seq: seq, Kind: f[3], Ms: ms}, true
}

// barrierValue is the value of the attempt-th barrier of partition p.
func barrierValue(p int32, attempt int) string { return fmt.Sprintf("barrier|%d|%d", p, attempt) }

// topicBarrier names the barriers of the run's input topic: workloads
// that run together on one cluster send barriers of their own, and the
// checkers name a send by its value.
func topicBarrier(topic string) func(p int32, attempt int) string {
	return func(p int32, attempt int) string { return barrierValue(p, attempt) + "|" + topic }
}

func isBarrier(v string) bool { return strings.HasPrefix(v, "barrier|") }

// summary is one output record: a closed session (User set) or the answer
// to a barrier (Barrier set).
type summary struct {
	SID  string  `json:"sid,omitempty"`  // "<user>@<first offset>"
	User string  `json:"user,omitempty"` // the session's user
	Offs []int64 `json:"offs,omitempty"` // input offsets of its events, in the order counted
	T0   int64   `json:"t0,omitempty"`   // event times of its first and last event
	T1   int64   `json:"t1,omitempty"`
	// Barrier is the barrier's value, Offset its input offset.
	Barrier string `json:"barrier,omitempty"`
	Offset  int64  `json:"offset,omitempty"`
	W       string `json:"w"` // the write's unique tag
}

func (s summary) encode() string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a struct of strings and ints always encodes
	}
	return string(b)
}

func parseSummary(v string) (summary, bool) {
	var s summary
	if err := json.Unmarshal([]byte(v), &s); err != nil || (s.SID == "" && s.Barrier == "") {
		return summary{}, false
	}
	return s, true
}
