package streamtest

import (
	"testing"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
)

// RequireGroupJudged requires a pipeline run's history to carry its
// processing group's ops (joins, assignments, polls, final offsets) and
// every group checker to have judged them clean, unfenced-instance aside
// (it has nothing to judge when the members are dynamic).
func RequireGroupJudged(t testing.TB, v checker.Verdict, h []history.Op) {
	t.Helper()
	ops := map[string]int{}
	for _, op := range h {
		if op.Type == history.OK {
			ops[op.F]++
		}
	}
	if ops[history.FnJoin] == 0 || ops[history.FnAssignment] == 0 || ops[history.FnPoll] == 0 || ops[history.FnOffsets] == 0 {
		t.Errorf("the history lacks the group's ops: %v", ops)
	}
	for _, name := range checker.GroupAnomalies() {
		if c := v.Check(name); c.Status != checker.StatusClean && name != checker.UnfencedInstance {
			t.Errorf("%s: %s (%s)", name, c.Status, c.Note)
		}
	}
}
