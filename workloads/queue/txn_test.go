package queue_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/broker/brokertest"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/queue"
)

// The transactional mode against a real broker: transactions commit and
// abort, read_committed consumers and the final read see exactly the
// committed ones, and the checkers judge the history valid with the
// transaction checks run (not skipped).
func TestTxnAgainstWeir(t *testing.T) {
	addr := startBroker(t)
	cfg := queue.Config{
		Topic: "queue", Partitions: 2, Producers: 2, Consumers: 2,
		SendsPerProducer: 60, Duration: 20 * time.Second, Seed: 11,
		PollTimeout: 200 * time.Millisecond,
		Bootstrap:   []string{addr},
		Txn:         &queue.TxnConfig{AbortChance: 0.3},
	}
	h := runWithFinalReads(t, cfg, 60*time.Second)
	count := map[history.Type]int{}
	committed, aborted := map[string]bool{}, map[string]bool{}
	readCommitted := 0
	for _, op := range h {
		switch {
		case op.F == history.FnTxn && op.Type != history.Invoke:
			if !op.Txn.Transactional {
				t.Fatalf("op %d: a txn op that is not transactional", op.Index)
			}
			count[op.Type]++
			for _, s := range op.Sends() {
				switch op.Type {
				case history.OK:
					committed[s.Value] = true
				case history.Fail:
					aborted[s.Value] = true
				}
			}
			if op.Type == history.OK && op.Txn.CommitTime == 0 {
				t.Errorf("op %d committed without a commit time", op.Index)
			}
		case op.F == history.FnAssign && op.Type == history.OK && op.Assign.ReadCommitted,
			op.F == history.FnSubscribe && op.Type == history.OK && op.Subscribe.ReadCommitted:
			readCommitted++
		case op.F == history.FnSend:
			t.Fatalf("op %d: a plain send in the transactional mode", op.Index)
		}
	}
	if count[history.OK] == 0 || count[history.Fail] == 0 {
		t.Fatalf("transactions: %v; want both commits and aborts", count)
	}
	if readCommitted == 0 {
		t.Error("no consumer read read_committed")
	}
	// The final read (read_committed) holds every committed value and no
	// aborted one.
	final := map[string]bool{}
	for _, op := range h {
		if op.Process == queue.FinalReader && op.F == history.FnPoll && op.Poll != nil {
			for _, r := range op.Poll.Reads {
				for _, rec := range r.Records {
					final[rec.Value] = true
				}
			}
		}
	}
	for v := range committed {
		if !final[v] {
			t.Errorf("committed %s is not in the final read", v)
		}
	}
	for v := range aborted {
		if final[v] {
			t.Errorf("aborted %s is in the final read", v)
		}
	}
	v := checker.Check(h, checker.Opts{Allowed: cfg.Allowed()})
	if v.Outcome != checker.Valid {
		t.Errorf("a correct broker's history judged:\n%s", v.Summary())
	}
	for _, name := range []string{checker.AbortedRead, checker.PrecommittedRead, checker.TornTransaction, checker.AbortedOffsetCommit} {
		i := slices.IndexFunc(v.Checks, func(c checker.CheckResult) bool { return c.Name == name })
		if i < 0 || v.Checks[i].Status != checker.StatusClean {
			t.Errorf("%s not judged clean: %+v", name, v.Checks)
		}
	}
	if n := abortedWithOffsets(h); n == 0 {
		t.Error("no aborted transaction committed offsets")
	}
	t.Logf("%d ops, transactions %v, %d committed and %d aborted values", len(h), count, len(committed), len(aborted))
}

// abortedWithOffsets counts the aborted transactions whose offsets the
// coordinator accepted.
func abortedWithOffsets(h []history.Op) int {
	n := 0
	for _, op := range h {
		if op.F == history.FnTxn && op.Type == history.Fail && len(op.Txn.Offsets) > 0 && op.Txn.Offsets[0].Error == "" {
			n++
		}
	}
	return n
}

// TestTxnFindsAbortedOffsets: a group coordinator that applies an aborted
// transaction's offsets (the planted defect) is caught by
// aborted-offset-commit, from the transactional mode's reads of the
// group's offsets.
func TestTxnFindsAbortedOffsets(t *testing.T) {
	addr := brokertest.StartConfig(t, func(c *broker.Config) { c.Defects.Group.ApplyAbortedTxnOffsets = true })
	cfg := queue.Config{
		Topic: "queue", Partitions: 2, Producers: 2, Consumers: 1,
		SendsPerProducer: 40, Duration: 20 * time.Second, Seed: 12,
		PollTimeout: 200 * time.Millisecond,
		Bootstrap:   []string{addr},
		Txn:         &queue.TxnConfig{AbortChance: 0.4, ReadOffsetsChance: 1},
	}
	rec := history.NewRecorder(time.Now(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := queue.Run(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	if err := queue.FinalReads(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	h := rec.Ops()
	if abortedWithOffsets(h) == 0 {
		t.Fatal("no aborted transaction committed offsets: nothing to catch")
	}
	v := checker.Check(h, checker.Opts{Allowed: cfg.Allowed()})
	if v.Counts[checker.AbortedOffsetCommit] == 0 {
		t.Fatalf("the defect was not caught:\n%s", v.Summary())
	}
	t.Logf("caught: %s", v.Anomalies[checker.AbortedOffsetCommit][0].Detail)
}
