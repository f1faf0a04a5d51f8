package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func TestLeadersElect(t *testing.T) {
	b := "--bootstrap-server=" + cluster(t, 2, "orders", "audit")
	run(t, Leaders, "", "elect", b, "--preferred", "--topic", "orders").
		want(t, ExitOK, "Successfully completed leader election (PREFERRED) for partitions orders-0, orders-1\n")
	run(t, Leaders, "", "elect", b, "--election-type", "unclean", "--topic", "audit", "--partition", "1").
		want(t, ExitOK, "Successfully completed leader election (UNCLEAN) for partitions audit-1\n")
	run(t, Leaders, "", "elect", b, "--preferred", "--all-topic-partitions").
		want(t, ExitOK, "Successfully completed leader election (PREFERRED) for partitions audit-0, audit-1, orders-0, orders-1\n")
	run(t, Leaders, "", "elect", b, "--preferred", "--topic", "nope").
		wantErr(t, ExitError, `weir leaders: topic "nope" does not exist`)
}

func TestLeadersUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "weir leaders: want: weir leaders elect"},
		{[]string{"elect", "--topic", "x"}, "weir leaders: give --preferred or --unclean"},
		{[]string{"elect", "--preferred", "--unclean", "--topic", "x"}, "weir leaders: give one election type, got PREFERRED and UNCLEAN"},
		{[]string{"elect", "--election-type", "random", "--topic", "x"}, `weir leaders: --election-type "random": want PREFERRED or UNCLEAN`},
		{[]string{"elect", "--preferred"}, "weir leaders: give --topic (and optionally --partition) or --all-topic-partitions"},
		{[]string{"elect", "--preferred", "--all-topic-partitions", "--topic", "x"}, "weir leaders: --all-topic-partitions cannot be combined"},
		{[]string{"elect", "--preferred", "--topic", "x", "--partition", "-2"}, "weir leaders: --partition must be a partition index"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			run(t, Leaders, "", append(tc.args, "--bootstrap-server", "127.0.0.1:1")...).wantErr(t, ExitUsage, tc.msg)
		})
	}
}

// The outcome lines follow kafka-leader-election; a partition that could
// not be elected makes the command fail.
func TestWriteElections(t *testing.T) {
	var out bytes.Buffer
	err := writeElections(&out, "PREFERRED", kadm.ElectLeadersResults{
		"orders": {
			0: {Topic: "orders", Partition: 0},
			1: {Topic: "orders", Partition: 1, Err: kerr.ElectionNotNeeded},
			2: {Topic: "orders", Partition: 2, Err: kerr.PreferredLeaderNotAvailable, ErrMessage: "preferred replica 3 is not an active ISR member"},
		},
	})
	want := "Successfully completed leader election (PREFERRED) for partitions orders-0\n" +
		"Valid replica already elected for partitions orders-1\n" +
		"Error completing leader election (PREFERRED) for partition: orders-2: " + kerr.PreferredLeaderNotAvailable.Error() + " (preferred replica 3 is not an active ISR member)\n"
	if out.String() != want || err == nil || err.Error() != "1 replica(s) could not be elected" {
		t.Fatalf("got %q, %v", out.String(), err)
	}
}

// describe's partition filters print only the partitions that match one
// of them, as kafka-topics does.
func TestPartitionReport(t *testing.T) {
	td := kadm.TopicDetail{Topic: "payments", Partitions: kadm.PartitionDetails{
		0: {Partition: 0, Leader: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}},
		1: {Partition: 1, Leader: 2, Replicas: []int32{2, 3, 1}, ISR: []int32{2, 3}},
		2: {Partition: 2, Leader: 3, Replicas: []int32{3, 1, 2}, ISR: []int32{3}},
		3: {Partition: 3, Leader: -1, Replicas: []int32{1, 2, 3}, ISR: []int32{1}},
		4: {Partition: 4, Leader: 4, Replicas: []int32{4, 1, 2}, ISR: []int32{4, 1, 2}},
	}}
	configs := []kadm.Config{{Key: "min.insync.replicas", Value: kadm.StringPtr("2")}}
	live := map[int32]bool{1: true, 2: true, 3: true}
	for _, tc := range []struct {
		name   string
		report partitionReport
		want   []int
	}{
		{"under-replicated", partitionReport{underReplicated: true}, []int{1, 2, 3}},
		{"under-min-isr", partitionReport{underMinISR: true}, []int{2, 3}},
		{"unavailable", partitionReport{unavailable: true, live: live}, []int{3, 4}},
		{"under-min-isr or unavailable", partitionReport{underMinISR: true, unavailable: true, live: live}, []int{2, 3, 4}},
	} {
		var out bytes.Buffer
		tc.report.write(&out, td, configs)
		var want strings.Builder
		for _, p := range tc.want {
			writePartitionLine(&want, "payments", td.Partitions[int32(p)])
		}
		if out.String() != want.String() {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.name, out.String(), want.String())
		}
	}
}
