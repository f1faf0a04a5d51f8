package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestCLITour follows the README's tour with the weir CLI: create a topic,
// produce keyed lines, consume them back, then list, describe, alter and
// delete the topic, checking the exact output of each step.
func TestCLITour(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	bs := "--bootstrap-server=" + s.addr

	r := mustWeir(t, "", "topics", "create", bs, "--topic", "orders", "--partitions", "3")
	if r.stdout != "Created topic orders.\n" {
		t.Fatalf("create: stdout %q", r.stdout)
	}
	if r := weir(t, "", "topics", "create", bs, "--topic", "orders", "--partitions", "3"); r.code != 1 || r.stderr != "weir topics: topic \"orders\" already exists\n" {
		t.Fatalf("create again: want exit 1 and a one-line error, got %s", r)
	}

	// Keyed lines as a user types them: five customers, 30 orders.
	customers := []string{"alice", "bob", "carol", "dave", "erin"}
	var lines []string
	perKey := map[string][]string{}
	for i := range 30 {
		k := customers[(i*7)%len(customers)]
		v := fmt.Sprintf("order-%02d", i)
		lines = append(lines, k+":"+v)
		perKey[k] = append(perKey[k], v)
	}
	r = mustWeir(t, strings.Join(lines, "\n")+"\n", "produce", bs, "--topic", "orders",
		"--property", "parse.key=true", "--property", "key.separator=:")
	if r.stdout != "" {
		t.Fatalf("produce printed %q", r.stdout)
	}

	// As in the README: keys and values.
	r = mustWeir(t, "", "consume", bs, "--topic", "orders", "--from-beginning", "--max-messages", "30",
		"--property", "print.key=true")
	if r.stderr != "Processed a total of 30 messages\n" {
		t.Fatalf("consume: stderr %q", r.stderr)
	}
	got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(got) != 30 {
		t.Fatalf("consume printed %d lines, want 30:\n%s", len(got), r.stdout)
	}
	gotPerKey := map[string][]string{}
	for _, l := range got {
		k, v, ok := strings.Cut(l, "\t")
		if !ok {
			t.Fatalf("line %q has no tab between key and value", l)
		}
		gotPerKey[k] = append(gotPerKey[k], v)
	}
	// Records of one key are on one partition, so they come back in the
	// order they were produced.
	for _, k := range customers {
		if fmt.Sprint(gotPerKey[k]) != fmt.Sprint(perKey[k]) {
			t.Errorf("key %s: consumed %v, produced %v", k, gotPerKey[k], perKey[k])
		}
	}

	// With partitions and offsets: each key on exactly one partition, offsets
	// dense from 0 in each partition.
	r = mustWeir(t, "", "consume", bs, "--topic", "orders", "--from-beginning", "--max-messages", "30",
		"--property", "print.key=true", "--property", "print.partition=true", "--property", "print.offset=true")
	keyPartition := map[string]string{}
	nextOffset := map[string]int{}
	lineRE := regexp.MustCompile(`^Partition:([0-2])\tOffset:(\d+)\t(\w+)\t(order-\d\d)$`)
	for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		m := lineRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q does not look like Partition:N<TAB>Offset:N<TAB>key<TAB>value", l)
		}
		p, off, k := m[1], m[2], m[3]
		if prev, ok := keyPartition[k]; ok && prev != p {
			t.Errorf("key %s is on partitions %s and %s", k, prev, p)
		}
		keyPartition[k] = p
		if want := strconv.Itoa(nextOffset[p]); off != want {
			t.Errorf("partition %s: offset %s, want %s (dense, in order)", p, off, want)
		}
		nextOffset[p]++
	}
	if len(keyPartition) != len(customers) {
		t.Errorf("saw keys %v, want %v", keyPartition, customers)
	}

	// One partition only, from an offset.
	r = mustWeir(t, "", "consume", bs, "--topic", "orders", "--partition", keyPartition["alice"], "--offset", "1",
		"--max-messages", strconv.Itoa(nextOffset[keyPartition["alice"]]-1), "--property", "print.offset=true")
	if strings.HasPrefix(r.stdout, "Offset:0\t") || !strings.HasPrefix(r.stdout, "Offset:1\t") {
		t.Errorf("consume --partition %s --offset 1 printed:\n%s", keyPartition["alice"], r.stdout)
	}

	mustWeir(t, "", "topics", "create", bs, "--topic", "payments")
	r = mustWeir(t, "", "topics", "list", bs)
	if r.stdout != "orders\npayments\n" {
		t.Fatalf("list: stdout %q, want %q", r.stdout, "orders\npayments\n")
	}

	describeRE := func(partitions int, configs string) *regexp.Regexp {
		var b strings.Builder
		b.WriteString(`^Topic: orders\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: ` + strconv.Itoa(partitions) +
			`\tReplicationFactor: 1\tConfigs: ` + regexp.QuoteMeta(configs) + `\n`)
		for p := range partitions {
			fmt.Fprintf(&b, `\tTopic: orders\tPartition: %d\tLeader: 1\tReplicas: 1\tIsr: 1\n`, p)
		}
		b.WriteString(`$`)
		return regexp.MustCompile(b.String())
	}
	r = mustWeir(t, "", "topics", "describe", bs, "--topic", "orders")
	if !describeRE(3, "").MatchString(r.stdout) {
		t.Fatalf("describe:\n%s", r.stdout)
	}

	r = mustWeir(t, "", "topics", "alter", bs, "--topic", "orders", "--partitions", "5")
	if r.stdout != "Increased the partition count of topic orders from 3 to 5.\n" {
		t.Fatalf("alter --partitions: stdout %q", r.stdout)
	}
	r = mustWeir(t, "", "topics", "alter", bs, "--topic", "orders", "--config", "retention.ms=3600000", "--config", "cleanup.policy=delete")
	if r.stdout != "Completed updating config for topic orders.\n" {
		t.Fatalf("alter --config: stdout %q", r.stdout)
	}
	r = mustWeir(t, "", "topics", "describe", bs, "--topic", "orders")
	if !describeRE(5, "cleanup.policy=delete,retention.ms=3600000").MatchString(r.stdout) {
		t.Fatalf("describe after alter:\n%s", r.stdout)
	}
	mustWeir(t, "", "topics", "alter", bs, "--topic", "orders", "--delete-config", "cleanup.policy")
	r = mustWeir(t, "", "topics", "describe", bs, "--topic", "orders")
	if !describeRE(5, "retention.ms=3600000").MatchString(r.stdout) {
		t.Fatalf("describe after --delete-config:\n%s", r.stdout)
	}
	// The data survived the partition change.
	r = mustWeir(t, "", "consume", bs, "--topic", "orders", "--from-beginning", "--max-messages", "30")
	if n := strings.Count(r.stdout, "\n"); n != 30 {
		t.Fatalf("after alter: consumed %d records, want 30", n)
	}

	r = mustWeir(t, "", "topics", "delete", bs, "--topic", "orders")
	if r.stdout != "Deleted topic orders.\n" {
		t.Fatalf("delete: stdout %q", r.stdout)
	}
	r = mustWeir(t, "", "topics", "list", bs)
	if r.stdout != "payments\n" {
		t.Fatalf("list after delete: stdout %q", r.stdout)
	}
	r = weir(t, "", "topics", "describe", bs, "--topic", "orders")
	if r.code != 1 || r.stderr != "weir topics: topic \"orders\" does not exist\n" {
		t.Fatalf("describe deleted topic: %s", r)
	}
	r = weir(t, "", "topics", "delete", bs, "--topic", "orders")
	if r.code != 1 || r.stderr != "weir topics: topic \"orders\" does not exist\n" {
		t.Fatalf("delete deleted topic: %s", r)
	}

	// A topic created again under the same name starts empty: none of the
	// deleted topic's records come back.
	mustWeir(t, "", "topics", "create", bs, "--topic", "orders", "--partitions", "1")
	r = mustWeir(t, "", "consume", bs, "--topic", "orders", "--from-beginning", "--timeout-ms", "500")
	if r.stdout != "" || r.stderr != "Processed a total of 0 messages\n" {
		t.Fatalf("re-created topic: consume printed %q, stderr %q; want nothing", r.stdout, r.stderr)
	}
	mustWeir(t, "zoe:fresh-1\n", "produce", bs, "--topic", "orders", "--property", "parse.key=true", "--property", "key.separator=:")
	r = mustWeir(t, "", "consume", bs, "--topic", "orders", "--from-beginning", "--max-messages", "1",
		"--property", "print.offset=true", "--property", "print.key=true")
	if r.stdout != "Offset:0\tzoe\tfresh-1\n" {
		t.Fatalf("re-created topic: consume printed %q, want %q", r.stdout, "Offset:0\tzoe\tfresh-1\n")
	}
}
