package pipeline

import (
	"encoding/json"
	"strings"

	"github.com/weir-dev/weir/workloads/registry"
)

// The page's definitions of a sample, per workload.
const (
	defPayments = "from a command's acknowledged send to the commit of the transaction that wrote its ledger entry (read back read_committed)"
	defVitals   = "from a reading's acknowledged send to the commit of the transaction that wrote its processed record (read back read_committed)"
	defClicks   = "from an event's acknowledged send to the acknowledgement of the session summary that counted it (read back)"
)

// shapeOf returns the shape of the named workload run with params; ok is
// false for a workload with no processing stage.
func shapeOf(name string, params json.RawMessage) (shape, bool, error) {
	switch name {
	case "payments":
		var p registry.PaymentsParams
		if err := unmarshal(params, &p); err != nil {
			return shape{}, false, err
		}
		cfg, err := p.Config.WithDefaults()
		if err != nil {
			return shape{}, false, err
		}
		return shape{name: name, input: cfg.Topic, output: cfg.Ledger, definition: defPayments,
			isInput: prefixed("cmd|"), inputs: ledgerInputs}, true, nil
	case "vitals":
		var p registry.VitalsParams
		if err := unmarshal(params, &p); err != nil {
			return shape{}, false, err
		}
		cfg, err := p.Config.WithDefaults()
		if err != nil {
			return shape{}, false, err
		}
		return shape{name: name, input: cfg.Topic, output: cfg.Processed, alerts: cfg.Alerts, alertBound: cfg.AlertBound,
			definition: defVitals, isInput: prefixed("rd|"), inputs: processedInputs}, true, nil
	case "clickstream":
		var p registry.ClickstreamParams
		if err := unmarshal(params, &p); err != nil {
			return shape{}, false, err
		}
		cfg, err := p.Config.WithDefaults()
		if err != nil {
			return shape{}, false, err
		}
		return shape{name: name, input: cfg.Topic, output: cfg.Output, definition: defClicks,
			isInput: prefixed("ev|"), inputs: summaryInputs}, true, nil
	}
	return shape{}, false, nil
}

func unmarshal(params json.RawMessage, v any) error {
	if len(params) == 0 {
		return nil // the workload's defaults
	}
	return json.Unmarshal(params, v)
}

func prefixed(p string) func(string) bool {
	return func(v string) bool { return strings.HasPrefix(v, p) }
}

// ledgerInputs: a payments ledger entry names its command's position.
func ledgerInputs(_ int32, v string) (int32, []int64) {
	var e struct {
		Cmd     string `json:"cmd"`
		Barrier string `json:"barrier"`
		Part    int32  `json:"p"`
		Offset  int64  `json:"o"`
	}
	if json.Unmarshal([]byte(v), &e) != nil || e.Cmd == "" || e.Barrier != "" {
		return 0, nil
	}
	return e.Part, []int64{e.Offset}
}

// processedInputs: a vitals processed record names its reading's offset
// in the same partition.
func processedInputs(part int32, v string) (int32, []int64) {
	var e struct {
		ID      string `json:"id"`
		Barrier string `json:"barrier"`
		Offset  int64  `json:"o"`
	}
	if json.Unmarshal([]byte(v), &e) != nil || e.ID == "" || e.Barrier != "" {
		return 0, nil
	}
	return part, []int64{e.Offset}
}

// summaryInputs: a clickstream summary names its events' offsets in the
// same partition.
func summaryInputs(part int32, v string) (int32, []int64) {
	var e struct {
		SID  string  `json:"sid"`
		Offs []int64 `json:"offs"`
	}
	if json.Unmarshal([]byte(v), &e) != nil || e.SID == "" {
		return 0, nil
	}
	return part, e.Offs
}
