package vitals

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Kinds of reading.
const (
	HeartRate = "hr"
	SpO2      = "spo2"
)

// Alert rules.
const (
	RuleHRHigh  = "hr-high"  // a heart rate above Config.HRHigh
	RuleSpO2Low = "spo2-low" // an SpO2 below Config.SpO2Low
	RuleHRRise  = "hr-rise"  // a heart rate Config.Rise above one within Config.RiseWithin before it
)

// reading is a value of the input topic:
// "rd|<id>|<patient>|<kind>|<value>|<event ms>", keyed by patient.
type reading struct {
	ID      string // "p<process>.<n>": unique, names the send
	Patient string
	Kind    string // HeartRate or SpO2
	V       int
	Ms      int64 // event time, milliseconds (the run's clock times Config.TimeScale)
}

func (r reading) String() string {
	return fmt.Sprintf("rd|%s|%s|%s|%d|%d", r.ID, r.Patient, r.Kind, r.V, r.Ms)
}

func parseReading(v string) (reading, bool) {
	f := strings.Split(v, "|")
	if len(f) != 6 || f[0] != "rd" || (f[3] != HeartRate && f[3] != SpO2) {
		return reading{}, false
	}
	val, err1 := strconv.Atoi(f[4])
	ms, err2 := strconv.ParseInt(f[5], 10, 64)
	if err1 != nil || err2 != nil {
		return reading{}, false
	}
	return reading{ID: f[1], Patient: f[2], Kind: f[3], V: val, Ms: ms}, true
}

func barrierValue(p int32, attempt int) string { return fmt.Sprintf("barrier|%d|%d", p, attempt) }

// topicBarrier names the barriers of the run's input topic: workloads
// that run together on one cluster send barriers of their own, and the
// checkers name a send by its value.
func topicBarrier(topic string) func(p int32, attempt int) string {
	return func(p int32, attempt int) string { return barrierValue(p, attempt) + "|" + topic }
}

func isBarrier(v string) bool { return strings.HasPrefix(v, "barrier|") }

// processed is a record of the processed stream: a reading as the
// processor took it (Late: its event time is before its patient's latest
// in-order reading, so it is set aside, outside the ordered stream), or
// the answer to a barrier.
type processed struct {
	ID      string `json:"id,omitempty"`
	Patient string `json:"pid,omitempty"`
	Kind    string `json:"k,omitempty"`
	V       int    `json:"v,omitempty"`
	Ms      int64  `json:"ms,omitempty"`
	Late    bool   `json:"late,omitempty"`
	Barrier string `json:"barrier,omitempty"`
	Offset  int64  `json:"o"` // the input offset
	W       string `json:"w"` // the write's unique tag
}

// alert is a record of the alerts topic, keyed by patient: Rule fired on
// reading Reading.
type alert struct {
	Rule    string `json:"rule"`
	Patient string `json:"pid"`
	Reading string `json:"reading"`
	Ms      int64  `json:"ms"`
	V       int    `json:"v"`
	W       string `json:"w"`
}

// id names the breach the alert is for: one rule on one reading.
func (a alert) id() string { return a.Rule + " " + a.Reading }

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs always encode
	}
	return string(b)
}

func decode[T any](v string) (T, bool) {
	var t T
	err := json.Unmarshal([]byte(v), &t)
	return t, err == nil
}
