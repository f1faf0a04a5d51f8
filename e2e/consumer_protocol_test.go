package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGroupConsumerProtocolDescribe: a franz-go consumer of the KIP-848
// protocol (kgo.ServerSideBalancer, what group.protocol=consumer selects
// in Kafka's clients) reads and commits; `weir groups describe` shows its
// committed offsets, lag and member, --members its assignment, and
// --state the server-side assignor and the group's state.
func TestGroupConsumerProtocolDescribe(t *testing.T) {
	t.Parallel()
	s := startGroupServer(t)
	const topic, group = "clicks", "kip848"
	s.createTopic(t, topic, 2, nil)
	produceRound(t, s, topic, 2, 1, 4)
	cl := s.client(t, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.ServerSideBalancer(), kgo.ClientID("clicker"))
	ctx, cancel := context.WithTimeout(context.Background(), groupWait)
	defer cancel()
	for got := 0; got < 8; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of 8 records", got)
		}
		got += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	var rows map[int32]describedRow
	eventually(t, "describe shows the member and its commits", func() bool {
		rows = describeGroup(t, s, group)
		return len(rows) == 2 && rows[0].client == "clicker" && rows[1].client == "clicker" && rows[0].current == "4" && rows[1].current == "4"
	})
	for p, r := range rows {
		if r.end != "4" || r.lag != "0" {
			t.Errorf("partition %d: %+v, want end 4, lag 0", p, r)
		}
	}
	members := mustWeir(t, "", "groups", "describe", "--members", "--verbose", "--bootstrap-server", s.addr, "--group", group)
	if !strings.Contains(members.stdout, "clicks(0,1)") || !strings.Contains(members.stdout, "clicker") {
		t.Errorf("describe --members --verbose:\n%s", members.stdout)
	}
	state := mustWeir(t, "", "groups", "describe", "--state", "--bootstrap-server", s.addr, "--group", group)
	if f := strings.Fields(strings.Split(strings.TrimSpace(state.stdout), "\n")[1]); len(f) < 5 || f[len(f)-3] != "uniform" || f[len(f)-2] != "Stable" || f[len(f)-1] != "1" {
		t.Errorf("describe --state:\n%s", state.stdout)
	}
	cl.Close()

	// weir consume opts in as Kafka's tools do.
	r := mustWeir(t, "", "consume", "--bootstrap-server", s.addr, "--topic", topic, "--group", "cli848", "--from-beginning",
		"--max-messages", "8", "--consumer-property", "group.protocol=consumer", "--consumer-property", "group.remote.assignor=range")
	if strings.Count(r.stdout, "\n") != 8 {
		t.Fatalf("weir consume with group.protocol=consumer: %s", r)
	}
	// Left, it is an empty consumer group; an empty group's assignor is
	// the default one, as in Kafka.
	state = mustWeir(t, "", "groups", "describe", "--state", "--bootstrap-server", s.addr, "--group", "cli848")
	if f := strings.Fields(strings.Split(strings.TrimSpace(state.stdout), "\n")[1]); len(f) < 5 || f[len(f)-3] != "uniform" || f[len(f)-2] != "Empty" {
		t.Errorf("describe --state of the CLI's group:\n%s", state.stdout)
	}
	rows = describeGroup(t, s, "cli848")
	if len(rows) != 2 || rows[0].current == "-" || rows[1].current == "-" {
		t.Errorf("describe of the CLI's group: %+v", rows)
	}
	list := mustWeir(t, "", "groups", "list", "--bootstrap-server", s.addr)
	if strings.Join(strings.Fields(list.stdout), " ") != "cli848 "+group {
		t.Errorf("groups list: %q", list.stdout)
	}
}
