package main

import (
	"strings"
	"testing"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/internal/invariants"
	"github.com/weir-dev/weir/runfolder"
)

func TestFaultSummary(t *testing.T) {
	fs := []runfolder.Fault{
		{Op: "crash", Kind: "crash", Status: runfolder.FaultArmed},
		{Op: "crash", Kind: "crash"},
		{Op: "restart", Kind: "crash", Heals: true},
		{Op: "pause", Kind: "pause"},
		{Op: "crash", Kind: "crash"},
		{Op: "restart", Kind: "crash", Heals: true, Status: runfolder.FaultDropped, Detail: "+1s restart n1: the crash never came: ..."},
		{Op: "isolate", Kind: "partition", Error: "failed"},
	}
	if got, want := faultSummary(fs), "crash×2 pause×1 (1 triggered crash(es) never came)"; got != want {
		t.Errorf("faultSummary = %q, want %q", got, want)
	}
	if got := faultSummary(nil); got != "none" {
		t.Errorf("faultSummary(nil) = %q, want none", got)
	}
	lines := strings.Split(strings.TrimSpace(string(faultsJSONL(fs[:2]))), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"status":"armed"`) || strings.Contains(lines[1], `"status"`) {
		t.Errorf("faults.jsonl = %q", lines)
	}
}

// A breach makes a valid verdict invalid, under its own name.
func TestAddBreaches(t *testing.T) {
	v := checker.Verdict{Outcome: checker.Valid, Anomalies: map[string][]checker.Witness{}, Counts: map[string]int{}}
	addBreaches(&v, []invariants.Breach{
		{Name: invariants.UndurableRead, Node: "n1", Detail: "fetch served unsynced bytes"},
		{Name: invariants.UndurableRead, Node: "n1", Detail: "again"},
	})
	if v.Outcome != checker.Invalid || v.Counts[invariants.UndurableRead] != 2 || len(v.Anomalies[invariants.UndurableRead]) != 2 {
		t.Fatalf("verdict after two breaches: %+v", v)
	}
	if summary := v.Summary(); !strings.Contains(summary, "undurable-read ×2, e.g. n1: fetch served unsynced bytes") {
		t.Fatalf("summary %q", summary)
	}
	v = checker.Verdict{Outcome: checker.Valid, Anomalies: map[string][]checker.Witness{}, Counts: map[string]int{}}
	if addBreaches(&v, nil); v.Outcome != checker.Valid {
		t.Fatal("no breach made the verdict invalid")
	}
}
