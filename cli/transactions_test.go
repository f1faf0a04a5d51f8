package cli

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestProduceTransactional: weir produce --transactional-id commits every
// --transaction-size lines; read_committed consumers see the committed
// transactions and none of a transaction left open by another producer;
// weir transactions lists and describes the id.
func TestProduceTransactional(t *testing.T) {
	bs := cluster(t, 1, "t")
	in := "a\nb\nc\nd\ne\n"
	run(t, Produce, in, "--bootstrap-server", bs, "--topic", "t", "--transactional-id", "cli-1", "--transaction-size", "2").want(t, 0, "")

	// A transaction another producer leaves open.
	cl, err := kgo.NewClient(kgo.SeedBrokers(bs), kgo.TransactionalID("open"), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(t.Context(), &kgo.Record{Value: []byte("open")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	committed := run(t, Consume, "", "--bootstrap-server", bs, "--topic", "t", "--from-beginning",
		"--isolation-level", "read_committed", "--timeout-ms", "1000")
	committed.want(t, 0, "a\nb\nc\nd\ne\n")
	all := run(t, Consume, "", "--bootstrap-server", bs, "--topic", "t", "--from-beginning",
		"--isolation-level", "read_uncommitted", "--timeout-ms", "1000")
	all.want(t, 0, "a\nb\nc\nd\ne\nopen\n")

	list := run(t, Transactions, "", "--bootstrap-server", bs, "list")
	if list.code != 0 || !strings.Contains(list.stdout, "TransactionalId") || !strings.Contains(list.stdout, "cli-1") || !strings.Contains(list.stdout, "Ongoing") {
		t.Fatalf("list: exit %d\n%s%s", list.code, list.stdout, list.stderr)
	}
	desc := run(t, Transactions, "", "--bootstrap-server", bs, "describe", "--transactional-id", "open")
	if desc.code != 0 || !strings.Contains(desc.stdout, "Ongoing") || !strings.Contains(desc.stdout, "t-0") {
		t.Fatalf("describe: exit %d\n%s%s", desc.code, desc.stdout, desc.stderr)
	}
	prods := run(t, Transactions, "", "--bootstrap-server", bs, "describe-producers", "--topic", "t", "--partition", "0")
	if prods.code != 0 || !strings.Contains(prods.stdout, "CurrentTransactionStartOffset") || len(strings.Split(strings.TrimSpace(prods.stdout), "\n")) < 2 {
		t.Fatalf("describe-producers: exit %d\n%s%s", prods.code, prods.stdout, prods.stderr)
	}
}

// TestProduceTransactionalFailureAborts: a transaction with a record that
// cannot be written (to a partition that does not exist) is aborted and
// the command fails, saying how many records stay committed.
func TestProduceTransactionalFailureAborts(t *testing.T) {
	bs := cluster(t, 1, "t")
	r := run(t, Produce, "x\ny\n", "--bootstrap-server", bs, "--topic", "t", "--transactional-id", "bad",
		"--partition", "5", "--delivery-timeout-ms", "1000")
	r.wantErr(t, 1, "weir produce: ", "aborted", "0 records in 0 committed transactions stay")
	run(t, Consume, "", "--bootstrap-server", bs, "--topic", "t", "--from-beginning", "--isolation-level", "read_committed", "--timeout-ms", "500").want(t, 0, "")
}

func TestTransactionsUsage(t *testing.T) {
	bs := deadAddr(t)
	run(t, Transactions, "", "--bootstrap-server", bs, "describe").wantErr(t, 2, "weir transactions: describe needs --transactional-id")
	run(t, Transactions, "", "--bootstrap-server", bs, "describe-producers", "--topic", "t").wantErr(t, 2, "weir transactions: describe-producers needs --topic and --partition")
	run(t, Transactions, "", "--bootstrap-server", bs, "list", "--producer-id", "x").wantErr(t, 2, "weir transactions: --producer-id")
	run(t, Produce, "", "--bootstrap-server", bs, "--topic", "t", "--transaction-size", "3").wantErr(t, 2, "weir produce: --transaction-size needs --transactional-id")
	run(t, Produce, "", "--bootstrap-server", bs, "--topic", "t", "--transactional-id", "x", "--acks", "1").wantErr(t, 2, "weir produce: --transactional-id needs --acks all")
	run(t, Consume, "", "--bootstrap-server", bs, "--topic", "t", "--isolation-level", "serializable").wantErr(t, 2, "weir consume: --isolation-level \"serializable\"")
}
