package registry

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/workloads/clickstream"
	"github.com/weir-dev/weir/workloads/payments"
	"github.com/weir-dev/weir/workloads/vitals"
)

// A workload defect is a planted bug of a processing application (its
// Config.Defects, off by default), named "<workload>/<defect>" so that it
// never collides with the broker's defects. A run plants one by setting
// its field in the workload's drawn parameters (PlantDefect): the
// parameters the run records then carry it, and the seed replays with it.

// Defect is one planted bug of a workload's processing application.
type Defect struct {
	Name     string // "<workload>/<name>", what --defect takes
	Workload string // the registry entry it belongs to
	// Field is its JSON name in the workload's Config.Defects.
	Field  string
	Breaks string
	// CaughtBy are the checkers (anomaly names) that should catch it.
	CaughtBy []string
}

// DefectCatalog is every workload defect, in the registry's order.
func DefectCatalog() []Defect {
	d := func(workload, name, field, breaks string, caughtBy ...string) Defect {
		return Defect{Name: workload + "/" + name, Workload: workload, Field: field, Breaks: breaks, CaughtBy: caughtBy}
	}
	return []Defect{
		d("clickstream", "commit-before-write", "commit_before_write",
			"the sessionizer commits consumed offsets before writing the summaries; a crash in between loses events",
			clickstream.LostEvent),
		d("clickstream", "skip-restore", "skip_restore",
			"a member taking a partition over does not read its summaries first, so a replay counts events again",
			clickstream.DoubleCount),
		d("clickstream", "event-time-order", "event_time_order",
			"a session lists its events by event time, not produce order",
			clickstream.Order),
		d("clickstream", "gap-from-first", "gap_from_first",
			"inactivity measured from a session's first event, not its last",
			clickstream.SessionWindow),
		d("payments", "no-transaction", "no_transaction",
			"outputs and offsets written outside any transaction; an abort leaves them visible and the input is applied again",
			payments.ExactlyOnce, checker.AbortedRead),
		d("payments", "keep-state-on-abort", "keep_state_on_abort",
			"after an abort the processor keeps the aborted batch's effects on its balances",
			payments.Conservation, payments.ExactlyOnce),
		d("payments", "stale-balance", "stale_balance",
			"the overdraft check reads balances as of the batch's start, so two withdrawals in a batch can overdraw",
			payments.NegativeBalance),
		d("payments", "fraud-at-limit", "fraud_at_limit",
			`the fraud rule reads "more than N withdrawals" as "N or more"`,
			payments.FraudAlerts),
		d("payments", "read-uncommitted", "read_uncommitted",
			"restores read_uncommitted while recorded as read_committed, so a restore after an abort reads aborted records",
			checker.AbortedRead, payments.ExactlyOnce, payments.Conservation),
		d("vitals", "skip-late-alerts", "skip_late_alerts",
			"late readings are not checked, so a late breach goes unalerted",
			vitals.Alerts),
		d("vitals", "hold-alerts", "hold_alerts",
			"alerts wait for the next barrier instead of going out at once",
			vitals.AlertLatency, vitals.Alerts),
		d("vitals", "no-late-check", "no_late_check",
			"late readings join the ordered stream",
			vitals.EventOrder),
		d("vitals", "interpolate", "interpolate",
			"the monitor invents a heart rate halfway between two readings far apart and alerts on it",
			vitals.UnackedAlert),
	}
}

// LookupDefect returns the named workload defect; ok is false for a name
// that is not one ("early-high-watermark", a broker defect, is not).
func LookupDefect(name string) (Defect, bool) {
	for _, d := range DefectCatalog() {
		if d.Name == name {
			return d, true
		}
	}
	return Defect{}, false
}

// IsWorkloadDefect says whether name has a workload defect's form
// ("<workload>/<defect>"), known or not.
func IsWorkloadDefect(name string) bool { return strings.Contains(name, "/") }

// DefectNames are the workload defects' names.
func DefectNames() []string {
	var names []string
	for _, d := range DefectCatalog() {
		names = append(names, d.Name)
	}
	return names
}

// PlantDefect returns the workload's parameters (as Draw made them) with
// d switched on. The workload's Build decodes them strictly, so a field
// the workload does not have is an error there, not a silent no-op.
func PlantDefect(params json.RawMessage, d Defect) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(params, &m); err != nil {
		return nil, fmt.Errorf("defect %s: parameters: %w", d.Name, err)
	}
	var ds map[string]bool
	if raw, ok := m["defects"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &ds); err != nil {
			return nil, fmt.Errorf("defect %s: parameters' defects: %w", d.Name, err)
		}
	}
	if ds == nil {
		ds = map[string]bool{}
	}
	ds[d.Field] = true
	raw, err := json.Marshal(ds)
	if err != nil {
		return nil, err
	}
	m["defects"] = raw
	return json.Marshal(m)
}
