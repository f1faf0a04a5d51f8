package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const consumeAbout = `
Print records to stdout, like kafka-console-consumer: one record per line,
by default only the value. Runs until --max-messages records were printed,
--timeout-ms passed without a record, or SIGINT; then prints
"Processed a total of N messages" to stderr and exits 0.

With --group G the consumer joins group G, reads the partitions the group
assigns it, starting at the group's committed offsets (or, for partitions
without one, where --from-beginning says), and commits what it printed
every 5 seconds and when it exits. Without --group, every partition (or
only --partition) is read directly and no offsets are committed.

Properties (--property k=v), as in kafka-console-consumer:
  print.timestamp=true     CreateTime:<ms> (or LogAppendTime:<ms>)
  print.partition=true     Partition:<n>
  print.offset=true        Offset:<n>
  print.headers=true       k1:v1,k2:v2 (NO_HEADERS when there are none)
  print.key=true           the key (null.literal when null)
  print.value=false        leave the value out
  key.separator            between fields, default TAB
  line.separator           after each record, default newline
  headers.separator        default ","
  headers.key.separator    default ":"
  null.literal             printed for null keys and values, default "null"

Fields appear in this order: timestamp, partition, offset, headers, key, value.
Example line: CreateTime:1700000000000	Partition:0	Offset:5	key	value

Consumer settings (--consumer-property k=v), with Kafka's names, for --group:
  client.id                        default weir-consumer
  group.instance.id                a static member (KIP-345)
  session.timeout.ms               default 45000
  heartbeat.interval.ms            default 3000
  max.poll.interval.ms             the rebalance timeout, default 300000
  auto.commit.interval.ms          default 5000
  partition.assignment.strategy    range, roundrobin, sticky or cooperative-sticky
                                   (default: cooperative-sticky, then range)
  group.protocol                   classic (default) or consumer: the KIP-848
                                   protocol, the broker assigns
  group.remote.assignor            with group.protocol=consumer: uniform
                                   (default) or range`

func consumeDefaults() map[string]string {
	return map[string]string{
		"print.timestamp":       "false",
		"print.partition":       "false",
		"print.offset":          "false",
		"print.headers":         "false",
		"print.key":             "false",
		"print.value":           "true",
		"key.separator":         "\t",
		"line.separator":        "\n",
		"headers.separator":     ",",
		"headers.key.separator": ":",
		"null.literal":          "null",
	}
}

type consumeOpts struct {
	bootstrap     string
	topic         string
	group         string
	fromBeginning bool
	offset        string
	partition     int
	maxMessages   int
	timeoutMs     int
	props         listFlag
	consumerProps listFlag
	isolation     string
}

// Consume is `weir consume`.
func Consume(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	c := newCommand("consume", "consume --topic T [flags]", consumeAbout, stdout, stderr)
	var o consumeOpts
	c.fs.StringVar(&o.bootstrap, "bootstrap-server", DefaultBootstrap, "comma-separated `host:port` list of brokers")
	c.fs.StringVar(&o.topic, "topic", "", "topic to read (required)")
	c.fs.StringVar(&o.group, "group", "", "consume as a member of this consumer `group`, committing offsets")
	c.fs.BoolVar(&o.fromBeginning, "from-beginning", false, "start at the earliest offset (default: only new records)")
	c.fs.StringVar(&o.offset, "offset", "", "start `offset`: a number, earliest or latest (needs --partition)")
	c.fs.IntVar(&o.partition, "partition", -1, "read only this partition")
	c.fs.IntVar(&o.maxMessages, "max-messages", 0, "exit after printing this many records")
	c.fs.IntVar(&o.timeoutMs, "timeout-ms", 0, "exit after this many `ms` without a record")
	c.fs.Var(&o.props, "property", "formatter property `key=value` (repeatable, see above)")
	c.fs.Var(&o.consumerProps, "consumer-property", "consumer setting `key=value` (repeatable, see above)")
	c.fs.StringVar(&o.isolation, "isolation-level", "read_uncommitted", "read_committed: only records of committed transactions (and none of an open one); read_uncommitted: every record")
	return c.exit(runConsume(ctx, c, &o, args))
}

// startOffset validates the flag combination and picks where to start.
func (o *consumeOpts) startOffset(c *command) (kgo.Offset, error) {
	start := kgo.NewOffset().AtEnd()
	if o.fromBeginning {
		start = kgo.NewOffset().AtStart()
	}
	if o.partition < -1 || o.partition > math.MaxInt32 {
		return start, usagef("--partition must be a partition number, got %d", o.partition)
	}
	if o.group != "" && c.isSet("partition") {
		return start, usagef("--partition cannot be used with --group")
	}
	if o.maxMessages < 0 {
		return start, usagef("--max-messages must not be negative, got %d", o.maxMessages)
	}
	if !c.isSet("offset") {
		return start, nil
	}
	if o.partition < 0 {
		return start, usagef("--offset needs --partition")
	}
	if o.fromBeginning {
		return start, usagef("--offset and --from-beginning cannot be used together")
	}
	switch strings.ToLower(o.offset) {
	case "earliest":
		return kgo.NewOffset().AtStart(), nil
	case "latest":
		return kgo.NewOffset().AtEnd(), nil
	}
	n, err := strconv.ParseInt(o.offset, 10, 64)
	if err != nil || n < 0 {
		return start, usagef("--offset %q: want a non-negative number, earliest or latest", o.offset)
	}
	return kgo.NewOffset().At(n), nil
}

func runConsume(ctx context.Context, c *command, o *consumeOpts, args []string) error {
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if o.topic == "" {
		return usagef("missing --topic")
	}
	start, err := o.startOffset(c)
	if err != nil {
		return err
	}
	idle, err := msDuration("timeout-ms", o.timeoutMs)
	if err != nil {
		return err
	}
	props, err := properties(c, o.props, consumeDefaults())
	if err != nil {
		return err
	}
	f := newFormatter(props)

	groupOpts, clientID, err := consumerSettings(c, o)
	if err != nil {
		return err
	}
	opts, tracker, err := clientOpts(o.bootstrap, clientID)
	if err != nil {
		return err
	}
	opts = append(opts, groupOpts...)
	var joined atomic.Bool // the group gave this consumer an assignment
	switch {
	case o.group != "":
		// Offsets are committed every 5 s while consuming and once more
		// at the end, as kafka-console-consumer's auto commit does.
		opts = append(opts, kgo.ConsumerGroup(o.group), kgo.ConsumeTopics(o.topic), kgo.ConsumeResetOffset(start),
			kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { joined.Store(true) }),
			// kgo retries a JoinGroup (and the coordinator lookup before
			// it) on the client's own context, and leaving the group
			// waits for that: bound the retries so that a consumer whose
			// coordinator is unavailable still stops when told to.
			kgo.RetryTimeoutFn(func(key int16) time.Duration {
				switch key {
				case int16(kmsg.FindCoordinator), int16(kmsg.JoinGroup):
					return groupRetryTimeout
				}
				return 30 * time.Second
			}))
	case o.partition >= 0:
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.topic: {int32(o.partition): start}}))
	default:
		opts = append(opts, kgo.ConsumeTopics(o.topic), kgo.ConsumeResetOffset(start))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	if err := checkConsumeTopic(ctx, cl, o, idle); err != nil {
		return tracker.explain(err)
	}

	out := bufio.NewWriterSize(c.stdout, 64<<10)
	n, err := consumeLoop(ctx, cl, o, idle, f, out)
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("writing stdout: %w", ferr)
	}
	if o.group != "" {
		if gerr := leaveGroup(ctx, cl, o.group, err == nil, joined.Load()); err == nil {
			err = gerr
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "Processed a total of %d messages\n", n)
	return nil
}

// consumerSettings turns --consumer-property into franz-go options, and
// the client id.
// Keys it does not know are ignored with a warning, as Kafka's tools pass
// them to a consumer that warns.
func consumerSettings(c *command, o *consumeOpts) ([]kgo.Opt, string, error) {
	kvs, err := keyValues("consumer-property", o.consumerProps)
	if err != nil {
		return nil, "", err
	}
	clientID := "weir-consumer"
	var opts []kgo.Opt
	switch o.isolation {
	case "read_uncommitted":
	case "read_committed":
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	default:
		return nil, "", usagef("--isolation-level %q: want read_committed or read_uncommitted", o.isolation)
	}
	ms := func(k, v string) (time.Duration, error) {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n <= 0 {
			return 0, usagef("--consumer-property %s=%s: want a positive number of ms", k, v)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		if o.group == "" && k != "client.id" {
			return nil, "", usagef("--consumer-property %s needs --group", k)
		}
		var d time.Duration
		switch k {
		case "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms", "auto.commit.interval.ms":
			if d, err = ms(k, v); err != nil {
				return nil, "", err
			}
		}
		switch k {
		case "client.id":
			clientID = v
		case "group.instance.id":
			opts = append(opts, kgo.InstanceID(v))
		case "session.timeout.ms":
			opts = append(opts, kgo.SessionTimeout(d))
		case "heartbeat.interval.ms":
			opts = append(opts, kgo.HeartbeatInterval(d))
		case "max.poll.interval.ms":
			opts = append(opts, kgo.RebalanceTimeout(d))
		case "auto.commit.interval.ms":
			opts = append(opts, kgo.AutoCommitInterval(d))
		case "group.protocol":
			switch v {
			case "classic":
			case "consumer":
				opts = append(opts, kgo.ServerSideBalancer())
			default:
				return nil, "", usagef("--consumer-property %s=%s: want classic or consumer", k, v)
			}
		case "group.remote.assignor":
			// franz-go asks the broker for uniform with its sticky
			// balancer first, for range with its range balancer first.
			b, ok := map[string]kgo.GroupBalancer{"uniform": kgo.CooperativeStickyBalancer(), "range": kgo.RangeBalancer()}[v]
			if !ok {
				return nil, "", usagef("--consumer-property %s=%s: want uniform or range", k, v)
			}
			opts = append(opts, kgo.Balancers(b))
		case "partition.assignment.strategy":
			b, ok := map[string]kgo.GroupBalancer{
				"range": kgo.RangeBalancer(), "roundrobin": kgo.RoundRobinBalancer(),
				"sticky": kgo.StickyBalancer(), "cooperative-sticky": kgo.CooperativeStickyBalancer(),
			}[v]
			if !ok {
				return nil, "", usagef("--consumer-property %s=%s: want range, roundrobin, sticky or cooperative-sticky", k, v)
			}
			opts = append(opts, kgo.Balancers(b))
		default:
			fmt.Fprintf(c.stderr, "weir consume: ignoring unsupported consumer property %q\n", k)
		}
	}
	return opts, clientID, nil
}

// Bounds on the end of a group consumer, so that --timeout-ms and SIGINT
// end it even when the group's coordinator cannot be reached.
const (
	finalCommitTimeout = 10 * time.Second
	leaveTimeout       = 5 * time.Second
	groupRetryTimeout  = 5 * time.Second
)

// leaveGroup ends a group consumer: it commits what was printed (if
// commit), then leaves the group, each within a bound. A consumer that
// never got an assignment says why if the broker can tell: a group that
// cannot form is an error, not a silent wait.
func leaveGroup(ctx context.Context, cl *kgo.Client, group string, commit, joined bool) error {
	ctx = context.WithoutCancel(ctx) // SIGINT may have ended it already
	var err error
	if commit && len(cl.UncommittedOffsets()) > 0 {
		cctx, cancel := context.WithTimeout(ctx, finalCommitTimeout)
		if cerr := cl.CommitUncommittedOffsets(cctx); cerr != nil {
			err = fmt.Errorf("committing offsets of group %q: %w", group, cerr)
		}
		cancel()
	}
	if !joined && err == nil {
		err = coordinatorProblem(ctx, cl, group)
	}
	// Leaving waits for the group's loop; with an unreachable coordinator
	// that could take the client's whole retry timeout.
	lctx, cancel := context.WithTimeout(ctx, leaveTimeout)
	cl.LeaveGroupContext(lctx)
	cancel()
	return err
}

// coordinatorProblem asks for the group's coordinator once and returns
// the broker's reason if there is none.
func coordinatorProblem(ctx context.Context, cl *kgo.Client, group string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKey = group
	req.CoordinatorKeys = []string{group}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil // no better answer than the timeout itself
	}
	code, msg := resp.ErrorCode, resp.ErrorMessage
	if len(resp.Coordinators) > 0 {
		code, msg = resp.Coordinators[0].ErrorCode, resp.Coordinators[0].ErrorMessage
	}
	if err := kerr.ErrorForCode(code); err != nil {
		if msg != nil && *msg != "" {
			return fmt.Errorf("group %q could not be joined: %w (%s)", group, err, *msg)
		}
		return fmt.Errorf("group %q could not be joined: %w", group, err)
	}
	return nil
}

// checkConsumeTopic fails fast and clearly when the cluster cannot be
// reached, the topic does not exist or --partition is out of range; a Kafka
// consumer would wait silently instead.
func checkConsumeTopic(ctx context.Context, cl *kgo.Client, o *consumeOpts, idle time.Duration) error {
	limit := 30 * time.Second
	if idle > 0 && idle < limit {
		limit = max(idle, time.Second)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	td, ok, err := topicDetail(ctx, kadm.NewClient(cl), o.topic)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("topic %q does not exist", o.topic)
	}
	if o.partition >= len(td.Partitions) {
		return fmt.Errorf("topic %q has %d partitions; there is no partition %d", o.topic, len(td.Partitions), o.partition)
	}
	return nil
}

// consumeLoop prints records until a stop condition and returns how many it
// printed. SIGINT (ctx) and the idle timeout are normal ends.
func consumeLoop(ctx context.Context, cl *kgo.Client, o *consumeOpts, idle time.Duration, f *formatter, out *bufio.Writer) (int, error) {
	n := 0
	last := time.Now()
	for {
		if ctx.Err() != nil {
			return n, nil
		}
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if idle > 0 {
			pollCtx, cancel = context.WithDeadline(ctx, last.Add(idle))
		}
		want := 0
		if o.maxMessages > 0 {
			want = o.maxMessages - n
		}
		fetches := cl.PollRecords(pollCtx, want)
		timedOut := pollCtx.Err() != nil && ctx.Err() == nil
		cancel()

		got := 0
		fetches.EachRecord(func(r *kgo.Record) {
			f.write(out, r)
			got++
		})
		n += got
		if got > 0 {
			last = time.Now()
			if err := out.Flush(); err != nil {
				return n, fmt.Errorf("writing stdout: %w", err)
			}
		}
		if o.maxMessages > 0 && n >= o.maxMessages {
			return n, nil
		}
		for _, fe := range fetches.Errors() {
			if err := fetchErr(o, fe); err != nil {
				return n, err
			}
		}
		if got == 0 && (timedOut || ctx.Err() != nil) {
			return n, nil
		}
	}
}

// fetchErr decides whether a fetch error ends the consumer. Cancellation and
// errors the client retries by itself are not fatal.
func fetchErr(o *consumeOpts, fe kgo.FetchError) error {
	err := fe.Err
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil
	case kerr.IsRetriable(err):
		return nil
	case fe.Topic == "" && o.group != "":
		return fmt.Errorf("group %q: %w", o.group, err)
	case fe.Topic == "":
		return err
	default:
		return fmt.Errorf("topic %q partition %d: %w", fe.Topic, fe.Partition, err)
	}
}

// formatter prints records like Kafka's DefaultMessageFormatter.
type formatter struct {
	timestamp, partition, offset, headers, key, value bool

	keySep, lineSep, headersSep, headersKeySep, null string
}

func newFormatter(props map[string]string) *formatter {
	return &formatter{
		timestamp:     propTrue(props["print.timestamp"]),
		partition:     propTrue(props["print.partition"]),
		offset:        propTrue(props["print.offset"]),
		headers:       propTrue(props["print.headers"]),
		key:           propTrue(props["print.key"]),
		value:         propTrue(props["print.value"]),
		keySep:        props["key.separator"],
		lineSep:       props["line.separator"],
		headersSep:    props["headers.separator"],
		headersKeySep: props["headers.key.separator"],
		null:          props["null.literal"],
	}
}

func (f *formatter) write(w *bufio.Writer, r *kgo.Record) {
	// sep writes the key separator if another field follows, else the line
	// separator, exactly as Kafka's formatter does.
	sep := func(more bool) {
		if more {
			w.WriteString(f.keySep)
		} else {
			w.WriteString(f.lineSep)
		}
	}
	bytesOrNull := func(b []byte) {
		if b == nil {
			w.WriteString(f.null)
		} else {
			w.Write(b)
		}
	}
	if f.timestamp {
		switch r.Attrs.TimestampType() {
		case 0:
			fmt.Fprintf(w, "CreateTime:%d", r.Timestamp.UnixMilli())
		case 1:
			fmt.Fprintf(w, "LogAppendTime:%d", r.Timestamp.UnixMilli())
		default:
			w.WriteString("NO_TIMESTAMP")
		}
		sep(f.partition || f.offset || f.headers || f.key || f.value)
	}
	if f.partition {
		fmt.Fprintf(w, "Partition:%d", r.Partition)
		sep(f.offset || f.headers || f.key || f.value)
	}
	if f.offset {
		fmt.Fprintf(w, "Offset:%d", r.Offset)
		sep(f.headers || f.key || f.value)
	}
	if f.headers {
		if len(r.Headers) == 0 {
			w.WriteString("NO_HEADERS")
		}
		for i, h := range r.Headers {
			if i > 0 {
				w.WriteString(f.headersSep)
			}
			w.WriteString(h.Key)
			w.WriteString(f.headersKeySep)
			bytesOrNull(h.Value)
		}
		sep(f.key || f.value)
	}
	if f.key {
		bytesOrNull(r.Key)
		sep(f.value)
	}
	if f.value {
		bytesOrNull(r.Value)
		w.WriteString(f.lineSep)
	}
}
