package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func topicID(t *testing.T, bootstrap, topic string) string {
	t.Helper()
	adm, err := kadm.NewOptClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	tds, err := adm.ListTopics(context.Background(), topic)
	if err != nil || tds[topic].Err != nil {
		t.Fatalf("metadata for %s: %v %v", topic, err, tds[topic].Err)
	}
	return TopicIDString(tds[topic].ID)
}

func TestTopicsLifecycle(t *testing.T) {
	bs := cluster(t, 0)
	b := "--bootstrap-server=" + bs

	run(t, Topics, "", "create", b, "--topic", "orders", "--partitions", "3", "--replication-factor", "1",
		"--config", "cleanup.policy=compact", "--config", "retention.ms=60000").
		want(t, ExitOK, "Created topic orders.\n")
	// Kafka's spelling: the action as a flag, flags before it.
	run(t, Topics, "", b, "--create", "--topic", "payments", "--partitions", "1").
		want(t, ExitOK, "Created topic payments.\n")

	run(t, Topics, "", "create", b, "--topic", "orders", "--partitions", "3").
		wantErr(t, ExitError, `weir topics: topic "orders" already exists`)
	run(t, Topics, "", "create", b, "--topic", "orders", "--if-not-exists").want(t, ExitOK, "")

	run(t, Topics, "", "list", b).want(t, ExitOK, "orders\npayments\n")
	run(t, Topics, "", "list", b, "--topic", "ord.*").want(t, ExitOK, "orders\n")
	run(t, Topics, "", "list", b, "--topic", "ord").want(t, ExitOK, "") // whole-name match

	id := topicID(t, bs, "orders")
	if id == "" || strings.ContainsAny(id, "+/=") {
		t.Fatalf("topic id %q is not Kafka's url-safe base64", id)
	}
	describe := func(partitions int, configs string) string {
		s := fmt.Sprintf("Topic: orders\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: 1\tConfigs: %s\n", id, partitions, configs)
		for p := range partitions {
			s += fmt.Sprintf("\tTopic: orders\tPartition: %d\tLeader: 0\tReplicas: 0\tIsr: 0\n", p)
		}
		return s
	}
	run(t, Topics, "", "describe", b, "--topic", "orders").
		want(t, ExitOK, describe(3, "cleanup.policy=compact,retention.ms=60000"))

	run(t, Topics, "", "alter", b, "--topic", "orders", "--partitions", "5").
		want(t, ExitOK, "Increased the partition count of topic orders from 3 to 5.\n")
	run(t, Topics, "", "alter", b, "--topic", "orders", "--partitions", "4").
		wantErr(t, ExitError, `weir topics: topic "orders" has 5 partitions`, "can only be added")
	run(t, Topics, "", "alter", b, "--topic", "orders", "--config", "retention.ms=1000", "--delete-config", "cleanup.policy").
		want(t, ExitOK, "Completed updating config for topic orders.\n")
	run(t, Topics, "", "describe", b, "--topic", "orders").
		want(t, ExitOK, describe(5, "retention.ms=1000"))
	run(t, Topics, "", "alter", b, "--topic", "nope", "--partitions", "2").
		wantErr(t, ExitError, `weir topics: topic "nope" does not exist`)
	run(t, Topics, "", "alter", b, "--topic", "nope", "--partitions", "2", "--if-exists").want(t, ExitOK, "")

	// describe without --topic describes every topic.
	all := run(t, Topics, "", "describe", b)
	if all.code != ExitOK || !strings.HasPrefix(all.stdout, describe(5, "retention.ms=1000")+"Topic: payments\t") {
		t.Fatalf("describe all: exit %d\n%s%s", all.code, all.stdout, all.stderr)
	}
	run(t, Topics, "", "describe", b, "--topic", "nope").
		wantErr(t, ExitError, `weir topics: topic "nope" does not exist`)
	run(t, Topics, "", "describe", b, "--topic", "nope", "--if-exists").want(t, ExitOK, "")

	run(t, Topics, "", "delete", b, "--topic", "orders").want(t, ExitOK, "Deleted topic orders.\n")
	run(t, Topics, "", "list", b).want(t, ExitOK, "payments\n")
	run(t, Topics, "", "delete", b, "--topic", "orders").
		wantErr(t, ExitError, `weir topics: topic "orders" does not exist`)
	run(t, Topics, "", "delete", b, "--topic", "orders", "--if-exists").want(t, ExitOK, "")
}

func TestTopicsUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "weir topics: missing action"},
		{[]string{"frob"}, `weir topics: unknown action "frob"`},
		{[]string{"list", "--create"}, "weir topics: give exactly one action, got create and list"},
		{[]string{"create"}, "weir topics: create needs --topic"},
		{[]string{"delete"}, "weir topics: delete needs --topic"},
		{[]string{"list", "--replication-factor", "3"}, "weir topics: --replication-factor does not apply to list"},
		{[]string{"create", "--topic", "x", "--if-exists"}, "weir topics: --if-exists does not apply to create"},
		{[]string{"create", "--topic", "x", "--partitions", "0"}, "weir topics: --partitions must be at least 1"},
		{[]string{"create", "--topic", "x", "--config", "novalue"}, `weir topics: --config "novalue": want key=value`},
		{[]string{"alter", "--topic", "x"}, "weir topics: alter needs --partitions, --config or --delete-config"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			run(t, Topics, "", append(tc.args, "--bootstrap-server", "127.0.0.1:1")...).wantErr(t, ExitUsage, tc.msg)
		})
	}
}

func TestTopicsBadFlagPrintsUsage(t *testing.T) {
	r := run(t, Topics, "", "list", "--bogus")
	if r.code != ExitUsage || !strings.HasPrefix(r.stderr, "weir topics: unknown flag --bogus\nusage: weir topics ") ||
		!strings.Contains(r.stderr, "--bootstrap-server") || r.stdout != "" {
		t.Fatalf("exit %d\nstdout %q\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	h := run(t, Topics, "", "--help")
	if h.code != ExitOK || !strings.HasPrefix(h.stdout, "usage: weir topics ") || h.stderr != "" {
		t.Fatalf("--help: exit %d\nstdout %q\nstderr:\n%s", h.code, h.stdout, h.stderr)
	}
}

func TestTopicsUnreachable(t *testing.T) {
	addr := deadAddr(t)
	run(t, Topics, "", "list", "--bootstrap-server", addr, "--request-timeout-ms", "300").
		wantErr(t, ExitError, "weir topics: cannot reach bootstrap server "+addr)
}
