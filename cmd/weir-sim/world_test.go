package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/internal/invariants"
	"github.com/weir-dev/weir/sim/world"
)

// lostWriteHistory is a send acknowledged at t/0@0 that the complete final
// read does not have.
func lostWriteHistory(finalComplete bool) []history.Op {
	var ops []history.Op
	add := func(op history.Op) {
		op.Index, op.Time = int64(len(ops)), int64(len(ops)+1)*1e6
		ops = append(ops, op)
	}
	send := &history.Send{Client: 1, Topic: "t", Key: "k", Value: "a", Partition: -1, Offset: -1}
	add(history.Op{Process: 0, Type: history.Invoke, F: history.FnSend, Send: send})
	add(history.Op{Process: 0, Type: history.OK, F: history.FnSend, Send: &history.Send{Client: 1, Topic: "t", Key: "k", Value: "a", Partition: 0, Offset: 0}})
	add(history.Op{Process: 9, Type: history.Invoke, F: history.FnFinal, Final: &history.Final{Topic: "t", Partitions: 1, Reader: 10}})
	mark := history.FinalMark{Partition: 0, HighWatermark: 0, ReadTo: 0, Complete: true}
	typ := history.OK
	if !finalComplete {
		mark = history.FinalMark{Partition: 0, HighWatermark: 1, ReadTo: 0}
		typ = history.Info
	}
	add(history.Op{Process: 9, Type: typ, F: history.FnFinal, Final: &history.Final{Topic: "t", Partitions: 1, Reader: 10, Marks: []history.FinalMark{mark}}})
	return ops
}

// The sixth case of issue 9: a safety violation in a run whose liveness
// phase failed was never judged (the checkers were skipped).
func TestJudgeChecksSafetyWhenLivenessFailed(t *testing.T) {
	liveness := fmt.Errorf("%w within 60s: n1 down", world.ErrLiveness)
	code, summary, v := checker.Judge(lostWriteHistory(true), checker.Opts{}, liveness)
	if code != exitInvalid || v.Counts[checker.LostWrite] != 1 {
		t.Fatalf("exit %d, want %d (invalid wins over liveness):\n%s", code, exitInvalid, summary)
	}
	if !strings.Contains(summary, "LIVENESS: liveness: the healed cluster did not converge within 60s: n1 down") {
		t.Fatalf("the summary does not report the liveness failure beside the checkers:\n%s", summary)
	}
}

func TestJudgeExitCodes(t *testing.T) {
	liveness := fmt.Errorf("%w within 60s", world.ErrLiveness)
	for _, tc := range []struct {
		name     string
		ops      []history.Op
		opts     checker.Opts
		liveness error
		want     int
	}{
		{"lost write", lostWriteHistory(true), checker.Opts{}, nil, exitInvalid},
		{"lost write allowed", lostWriteHistory(true), checker.Opts{Allowed: []string{checker.LostWrite, checker.Nonlinearizable}}, nil, exitValid},
		{"allowed, liveness failed", lostWriteHistory(true), checker.Opts{Allowed: []string{checker.LostWrite, checker.Nonlinearizable}}, liveness, exitLiveness},
		{"final read incomplete", lostWriteHistory(false), checker.Opts{}, nil, exitLiveness},
		{"no final read", lostWriteHistory(false)[:2], checker.Opts{}, nil, exitLiveness},
		{"checker out of its budget", lostWriteHistory(true), checker.Opts{Allowed: []string{checker.LostWrite}, LinearizabilitySteps: 1}, nil, exitHarness},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, summary, _ := checker.Judge(tc.ops, tc.opts, tc.liveness); code != tc.want {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.want, summary)
			}
		})
	}
}

// A broken invariant makes a run invalid even when the history is clean
// (everything allowed) and the liveness phase failed.
func TestJudgeBreachIsInvalid(t *testing.T) {
	allowAll := checker.Opts{Allowed: []string{checker.LostWrite, checker.Nonlinearizable}}
	breach := []invariants.Breach{{Name: invariants.UndurableRead, Node: "n1", Detail: "fetch served unsynced bytes"}}
	liveness := fmt.Errorf("%w within 60s", world.ErrLiveness)
	code, summary, v := checker.Judge(lostWriteHistory(true), allowAll, liveness, func(v *checker.Verdict) { addBreaches(v, breach) })
	if code != exitInvalid || v.Counts[invariants.UndurableRead] != 1 || !strings.Contains(summary, "undurable-read ×1, e.g. n1: fetch served unsynced bytes") {
		t.Fatalf("exit %d, want %d:\n%s", code, exitInvalid, summary)
	}
	if !slices.ContainsFunc(v.Checks, func(c checker.CheckResult) bool {
		return c.Name == invariants.UndurableRead && c.Status == checker.StatusFound
	}) {
		t.Fatalf("the breach is not among the verdict's checks: %+v", v.Checks)
	}
}
