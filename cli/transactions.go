package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

func transactionActions() []string { return []string{"list", "describe", "describe-producers"} }

const transactionsAbout = `
Show transactions, like kafka-transactions. The action is a word
(weir transactions list) or a flag (weir transactions --list).

  list                [--state S,...] [--producer-id P,...]
  describe            --transactional-id T
  describe-producers  --topic T --partition N

list asks every broker for the transactional ids it coordinates, with
their producer id and state. describe shows one id's state, producer id
and epoch, timeout, when its transaction started and the partitions in it.
describe-producers shows the producers a partition's leader knows: epoch,
last sequence and timestamp, the coordinator epoch of their last marker,
and where their open transaction started (-1: none).`

type transactionsOpts struct {
	bootstrap   string
	txnID       string
	topic       string
	partition   int
	states      string
	producerIDs string
	timeoutMs   int
	actionFlags map[string]*bool
}

// Transactions is `weir transactions`.
func Transactions(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	c := newCommand("transactions", "transactions list|describe|describe-producers [flags]", transactionsAbout, stdout, stderr)
	o := transactionsOpts{actionFlags: map[string]*bool{}}
	c.fs.StringVar(&o.bootstrap, "bootstrap-server", DefaultBootstrap, "comma-separated `host:port` list of brokers")
	c.fs.StringVar(&o.txnID, "transactional-id", "", "describe: the transactional `id`")
	c.fs.StringVar(&o.topic, "topic", "", "describe-producers: the `topic`")
	c.fs.IntVar(&o.partition, "partition", -1, "describe-producers: the `partition`")
	c.fs.StringVar(&o.states, "state", "", "list: only these `states` (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort)")
	c.fs.StringVar(&o.producerIDs, "producer-id", "", "list: only these producer `ids`")
	c.fs.IntVar(&o.timeoutMs, "timeout", 30000, "give up after this many `ms` (0: never)")
	for _, a := range transactionActions() {
		o.actionFlags[a] = c.fs.Bool(a, false, "same as the "+a+" action")
	}
	return c.exit(runTransactions(ctx, c, &o, args))
}

func runTransactions(ctx context.Context, c *command, o *transactionsOpts, args []string) error {
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	action, err := pickAction(pos, o.actionFlags, transactionActions())
	if err != nil {
		return err
	}
	switch {
	case action == "describe" && o.txnID == "":
		return usagef("describe needs --transactional-id")
	case action == "describe-producers" && (o.topic == "" || o.partition < 0 || o.partition > math.MaxInt32):
		return usagef("describe-producers needs --topic and --partition")
	}
	var producerIDs []int64
	for _, s := range splitList(o.producerIDs) {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return usagef("--producer-id %q: want producer ids", o.producerIDs)
		}
		producerIDs = append(producerIDs, id)
	}
	s, err := openAdmin(ctx, o.bootstrap, "weir-transactions", "timeout", o.timeoutMs)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, adm, tracker := s.ctx, s.adm, s.tracker
	switch action {
	case "list":
		err = transactionsList(ctx, adm, c, splitList(o.states), producerIDs)
	case "describe":
		err = transactionsDescribe(ctx, adm, c, o.txnID)
	case "describe-producers":
		err = transactionsProducers(ctx, adm, c, o.topic, int32(o.partition))
	}
	return tracker.explain(err)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func transactionsList(ctx context.Context, adm *kadm.Client, c *command, states []string, producerIDs []int64) error {
	listed, err := adm.ListTransactions(ctx, producerIDs, states)
	if err != nil {
		return fmt.Errorf("listing transactions: %w", err)
	}
	rows := [][]string{{"TransactionalId", "Coordinator", "ProducerId", "TransactionState"}}
	for _, l := range listed.Sorted() {
		rows = append(rows, []string{l.TxnID, strconv.Itoa(int(l.Coordinator)), strconv.FormatInt(l.ProducerID, 10), l.State})
	}
	printTable(c.stdout, rows)
	return nil
}

func transactionsDescribe(ctx context.Context, adm *kadm.Client, c *command, id string) error {
	described, err := adm.DescribeTransactions(ctx, id)
	if err != nil {
		return fmt.Errorf("describing transactional id %s: %w", id, err)
	}
	d, ok := described[id]
	switch {
	case !ok:
		return fmt.Errorf("transactional id %s: no answer", id)
	case d.Err != nil:
		return fmt.Errorf("transactional id %s: %w", id, d.Err)
	}
	start, duration := "None", "None"
	if d.StartTimestamp >= 0 {
		start = strconv.FormatInt(d.StartTimestamp, 10)
		duration = strconv.FormatInt(time.Now().UnixMilli()-d.StartTimestamp, 10)
	}
	var parts []string
	for _, t := range d.Topics.Sorted() {
		for _, p := range t.Partitions {
			parts = append(parts, fmt.Sprintf("%s-%d", t.Topic, p))
		}
	}
	sort.Strings(parts)
	printTable(c.stdout, [][]string{
		{"CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState", "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"},
		{strconv.Itoa(int(d.Coordinator)), d.TxnID, strconv.FormatInt(d.ProducerID, 10), strconv.Itoa(int(d.ProducerEpoch)), d.State,
			strconv.Itoa(int(d.TimeoutMillis)), start, duration, strings.Join(parts, ",")},
	})
	return nil
}

func transactionsProducers(ctx context.Context, adm *kadm.Client, c *command, topic string, partition int32) error {
	described, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {partition: {}}})
	if err != nil {
		return fmt.Errorf("describing the producers of %s-%d: %w", topic, partition, err)
	}
	dp, ok := described[topic].Partitions[partition]
	switch {
	case !ok:
		return fmt.Errorf("%s-%d: no answer", topic, partition)
	case dp.Err != nil:
		return fmt.Errorf("%s-%d: %w", topic, partition, dp.Err)
	}
	rows := [][]string{{"ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp", "CurrentTransactionStartOffset"}}
	for _, p := range dp.ActiveProducers.Sorted() {
		rows = append(rows, []string{
			strconv.FormatInt(p.ProducerID, 10), strconv.Itoa(int(p.ProducerEpoch)), strconv.Itoa(int(p.CoordinatorEpoch)),
			strconv.Itoa(int(p.LastSequence)), strconv.FormatInt(p.LastTimestamp, 10), strconv.FormatInt(p.CurrentTxnStartOffset, 10),
		})
	}
	printTable(c.stdout, rows)
	return nil
}

// printTable writes rows as columns separated by two spaces or more, as
// Kafka's tools print their tables.
func printTable(w io.Writer, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}
