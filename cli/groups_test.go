package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// header is the first line of kafka-consumer-groups --describe with every
// column at its minimum width.
const describeHeader = "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID"

// row is one line of that table at minimum widths.
func row(group, topic string, partition int, current, end, lag, consumer, host, client string) string {
	return fmt.Sprintf("%-15s %-15s %-10d %-15s %-15s %-15s %-15s %-15s %s", group, topic, partition, current, end, lag, consumer, host, client)
}

// produceTo writes n records to each partition of topic.
func produceTo(t *testing.T, bs, topic string, partitions int32, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bs, ",")...), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for p := int32(0); p < partitions; p++ {
		for i := 0; i < n; i++ {
			if err := cl.ProduceSync(context.Background(), &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("%d-%d", p, i))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestGroupsDescribeResetDelete: describe shows what the group committed
// against each partition's end, like kafka-consumer-groups; offsets reset
// (dry run, then executed) and the group deleted.
func TestGroupsDescribeResetDelete(t *testing.T) {
	bs := cluster(t, 2, "orders")
	produceTo(t, bs, "orders", 2, 3)
	// A group consumer reads 4 of the 6 records and commits them.
	if r := run(t, Consume, "", "--bootstrap-server", bs, "--topic", "orders", "--group", "billing", "--from-beginning", "--max-messages", "4"); r.code != ExitOK || strings.Count(r.stdout, "\n") != 4 {
		t.Fatalf("consume: %+v", r)
	}

	r := run(t, Groups, "", "describe", "--bootstrap-server", bs, "--group", "billing")
	if r.code != ExitOK || r.stderr != "\nConsumer group 'billing' has no active members.\n" {
		t.Fatalf("describe: %+v", r)
	}
	// Which partition got 1 or 3 depends on fetch order; the sum is 4.
	lines := strings.Split(strings.TrimPrefix(r.stdout, "\n"), "\n")
	if len(lines) != 4 || lines[0] != describeHeader || lines[3] != "" {
		t.Fatalf("describe output:\n%s", r.stdout)
	}
	total := 0
	for p, line := range lines[1:3] {
		var cur int
		for _, c := range []int{1, 2, 3} {
			if line == row("billing", "orders", p, fmt.Sprint(c), "3", fmt.Sprint(3-c), "-", "-", "-") {
				cur = c
			}
		}
		if cur == 0 {
			t.Fatalf("describe row %d: %q", p, line)
		}
		total += cur
	}
	if total != 4 {
		t.Fatalf("committed %d records in all, want 4:\n%s", total, r.stdout)
	}

	run(t, Groups, "", "list", "--bootstrap-server", bs).want(t, ExitOK, "billing\n")
	run(t, Groups, "", "--list", "--state", "--bootstrap-server", bs).want(t, ExitOK,
		"GROUP                     STATE               \nbilling                   Empty               \n")

	resetTable := "\nGROUP                          TOPIC                          PARTITION  NEW-OFFSET     " +
		"\nbilling                        orders                         0          %d              " +
		"\nbilling                        orders                         1          %d              \n"
	// Without --execute nothing changes.
	r = run(t, Groups, "", "reset-offsets", "--bootstrap-server", bs, "--group", "billing", "--topic", "orders", "--to-earliest")
	if r.code != ExitOK || r.stdout != fmt.Sprintf(resetTable, 0, 0) || !strings.HasPrefix(r.stderr, "WARN: No action will be performed") {
		t.Fatalf("dry run: %+v", r)
	}
	run(t, Groups, "", "reset-offsets", "--bootstrap-server", bs, "--group", "billing", "--topic", "orders", "--to-earliest", "--execute").
		want(t, ExitOK, fmt.Sprintf(resetTable, 0, 0))
	run(t, Groups, "", "describe", "--bootstrap-server", bs, "--group", "billing").want(t, ExitOK, "\n"+describeHeader+"\n"+
		row("billing", "orders", 0, "0", "3", "3", "-", "-", "-")+"\n"+
		row("billing", "orders", 1, "0", "3", "3", "-", "-", "-")+"\n")
	// Offsets stay within each partition.
	run(t, Groups, "", "reset-offsets", "--bootstrap-server", bs, "--group", "billing", "--topic", "orders:1", "--to-offset", "100", "--execute").
		want(t, ExitOK, "\nGROUP                          TOPIC                          PARTITION  NEW-OFFSET     "+
			"\nbilling                        orders                         1          3              \n")
	run(t, Groups, "", "reset-offsets", "--bootstrap-server", bs, "--group", "billing", "--all-topics", "--shift-by", "-2", "--execute").
		want(t, ExitOK, fmt.Sprintf(resetTable, 0, 1))
	run(t, Groups, "", "reset-offsets", "--bootstrap-server", bs, "--group", "billing", "--topic", "orders", "--to-latest", "--dry-run").
		want(t, ExitOK, fmt.Sprintf(resetTable, 3, 3))
	// By time: after every record is the end; before all, the start.
	future := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	run(t, Groups, "", "reset-offsets", "--bootstrap-server", bs, "--group", "billing", "--topic", "orders", "--to-datetime", future, "--dry-run").
		want(t, ExitOK, fmt.Sprintf(resetTable, 3, 3))
	past := "2000-01-01T00:00:00"
	run(t, Groups, "", "reset-offsets", "--bootstrap-server", bs, "--group", "billing", "--topic", "orders", "--to-datetime", past, "--dry-run").
		want(t, ExitOK, fmt.Sprintf(resetTable, 0, 0))

	// The group reads on from its reset offsets: partition 1 from 1.
	out := run(t, Consume, "", "--bootstrap-server", bs, "--topic", "orders", "--group", "billing", "--timeout-ms", "3000", "--property", "print.partition=true")
	if out.code != ExitOK || strings.Count(out.stdout, "Partition:0\t") != 3 || strings.Count(out.stdout, "Partition:1\t") != 2 {
		t.Fatalf("consume after reset: %+v", out)
	}

	run(t, Groups, "", "delete", "--bootstrap-server", bs, "--group", "billing").
		want(t, ExitOK, "Deletion of requested consumer groups ('billing') was successful.\n")
	run(t, Groups, "", "list", "--bootstrap-server", bs).want(t, ExitOK, "")
	run(t, Groups, "", "describe", "--bootstrap-server", bs, "--group", "billing").
		wantErr(t, ExitError, "weir groups: consumer group 'billing' does not exist")
}

// TestGroupsWithActiveMember: a member shows in describe, and offsets of
// an active group cannot be reset.
func TestGroupsWithActiveMember(t *testing.T) {
	bs := cluster(t, 2, "orders")
	produceTo(t, bs, "orders", 2, 2)
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bs, ",")...), kgo.ClientID("reader-1"),
		kgo.ConsumerGroup("live"), kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for got := 0; got < 4; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("the member read nothing")
		}
		got += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	member, _ := cl.GroupMetadata()

	r := run(t, Groups, "", "describe", "--bootstrap-server", bs, "--group", "live")
	lines := strings.Split(r.stdout, "\n")
	if r.code != ExitOK || len(lines) != 5 || !strings.Contains(lines[2], member) || !strings.HasSuffix(lines[2], "reader-1") ||
		!strings.Contains(lines[2], "orders") || !strings.HasPrefix(lines[2], "live ") {
		t.Fatalf("describe with a member: %+v", r)
	}
	for _, l := range lines[2:4] {
		if f := strings.Fields(l); f[3] != "2" || f[4] != "2" || f[5] != "0" {
			t.Errorf("row %q: want committed 2, end 2, lag 0", l)
		}
	}
	r = run(t, Groups, "", "describe", "--members", "--verbose", "--bootstrap-server", bs, "--group", "live")
	if lines := strings.Split(r.stdout, "\n"); r.code != ExitOK || len(lines) != 4 || !strings.Contains(lines[1], "#PARTITIONS") ||
		!strings.HasSuffix(lines[1], "ASSIGNMENT") || !strings.HasSuffix(lines[2], " 2               orders(0,1)") {
		t.Fatalf("describe --members --verbose: %q", r.stdout)
	}
	run(t, Groups, "", "reset-offsets", "--bootstrap-server", bs, "--group", "live", "--topic", "orders", "--to-earliest", "--execute").
		wantErr(t, ExitError, "weir groups: assignments can only be reset if the group 'live' is inactive, but the current state is Stable")
	run(t, Groups, "", "delete", "--bootstrap-server", bs, "--group", "live").
		wantErr(t, ExitError, "weir groups: group 'live' could not be deleted: NON_EMPTY_GROUP")
}

func TestGroupsUsage(t *testing.T) {
	bs := cluster(t, 1, "t")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{}, "weir groups: missing action"},
		{[]string{"describe"}, "weir groups: describe needs --group or --all-groups"},
		{[]string{"describe", "--group", "g", "--all-groups"}, "weir groups: --group and --all-groups cannot be used together"},
		{[]string{"list", "--group", "g"}, "weir groups: --group does not apply to list"},
		{[]string{"reset-offsets", "--group", "g", "--topic", "t"}, "weir groups: reset-offsets needs exactly one of"},
		{[]string{"reset-offsets", "--group", "g", "--to-earliest"}, "weir groups: reset-offsets needs --topic or --all-topics"},
		{[]string{"reset-offsets", "--group", "g", "--topic", "t", "--to-earliest", "--to-latest"}, "weir groups: reset-offsets needs exactly one of"},
		{[]string{"reset-offsets", "--group", "g", "--topic", "t:x", "--to-earliest"}, `weir groups: --topic "t:x": "x" is not a partition number`},
		{[]string{"reset-offsets", "--group", "g", "--topic", "t", "--to-datetime", "yesterday"}, `weir groups: --to-datetime "yesterday"`},
		{[]string{"describe", "--group", "g", "--verbose"}, "weir groups: --verbose needs --members"},
		{[]string{"list", "--state", "Sleeping"}, `weir groups: --state "Sleeping": valid states are`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			run(t, Groups, "", append(tc.args, "--bootstrap-server", bs)...).wantErr(t, ExitUsage, tc.msg)
		})
	}
}

// TestConsumeGroupCoordinatorUnavailable: a group that cannot form (the
// broker answers FindCoordinator COORDINATOR_NOT_AVAILABLE forever) ends
// the consumer at --timeout-ms with the broker's reason, instead of a
// silent wait.
func TestConsumeGroupCoordinatorUnavailable(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "g"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.ControlKey(int16(kmsg.FindCoordinator), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.FindCoordinatorRequest)
		resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		for _, k := range r.CoordinatorKeys {
			resp.Coordinators = append(resp.Coordinators, kmsg.FindCoordinatorResponseCoordinator{Key: k, NodeID: -1, ErrorCode: kerr.CoordinatorNotAvailable.Code})
		}
		return resp, nil, true
	})
	done := make(chan result, 1)
	go func() {
		done <- run(t, Consume, "", "--bootstrap-server", strings.Join(c.ListenAddrs(), ","), "--topic", "g", "--group", "x", "--timeout-ms", "1000")
	}()
	// Not a speed check: a consumer that ignores its timeout never ends.
	select {
	case r := <-done:
		r.wantErr(t, ExitError, `weir consume: group "x" could not be joined: COORDINATOR_NOT_AVAILABLE`)
	case <-time.After(time.Minute):
		t.Fatal("weir consume --group --timeout-ms 1000 did not stop")
	}
}

// TestConsumeConsumerProperties: --consumer-property sets the group
// consumer's settings (a static member here, seen in describe), refuses bad
// values and warns about keys it does not know.
func TestConsumeConsumerProperties(t *testing.T) {
	bs := cluster(t, 1, "t")
	produceTo(t, bs, "t", 1, 2)
	base := []string{"--bootstrap-server", bs, "--topic", "t", "--from-beginning"}
	run(t, Consume, "", append(base, "--group", "g", "--consumer-property", "session.timeout.ms=soon")...).
		wantErr(t, ExitUsage, "weir consume: --consumer-property session.timeout.ms=soon: want a positive number of ms")
	run(t, Consume, "", append(base, "--group", "g", "--consumer-property", "partition.assignment.strategy=fair")...).
		wantErr(t, ExitUsage, "weir consume: --consumer-property partition.assignment.strategy=fair")
	run(t, Consume, "", append(base, "--consumer-property", "session.timeout.ms=6000")...).
		wantErr(t, ExitUsage, "weir consume: --consumer-property session.timeout.ms needs --group")
	r := run(t, Consume, "", append(base, "--group", "g", "--max-messages", "2",
		"--consumer-property", "client.id=me", "--consumer-property", "session.timeout.ms=6000",
		"--consumer-property", "partition.assignment.strategy=roundrobin", "--consumer-property", "fetch.min.bytes=1")...)
	if r.code != ExitOK || r.stdout != "0-0\n0-1\n" || !strings.HasPrefix(r.stderr, "weir consume: ignoring unsupported consumer property \"fetch.min.bytes\"\n") {
		t.Fatalf("consume with properties: %+v", r)
	}
}
