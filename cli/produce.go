package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/internal/kopts"
)

const produceAbout = `
Read lines from stdin and write one record per line, like
kafka-console-producer. Exits 0 only once every record is acknowledged.

Properties (--property k=v), as in kafka-console-producer:
  parse.key=true           split each line into key and value at key.separator
  key.separator            default TAB
  parse.headers=true       lines start with headers, then headers.delimiter
  headers.delimiter        default TAB
  headers.separator        between headers, default ","
  headers.key.separator    between a header's key and value, default ":"
  null.marker              a key, value or header value equal to this is null
  ignore.error=true        a line without a separator is taken whole as the value

With --transactional-id the records are written in transactions, as a
transactional producer of that id: one transaction for the whole input,
committed at its end, or one per --transaction-size lines. A transaction
any record of which fails is aborted and the command fails: none of its
records reach read_committed consumers. An interrupt aborts the open
transaction; those committed before stay.

Example: printf 'k1\tv1\n' | weir produce --topic t --property parse.key=true`

// produceDefaults are kafka-console-producer's LineMessageReader defaults.
func produceDefaults() map[string]string {
	return map[string]string{
		"parse.key":             "false",
		"key.separator":         "\t",
		"parse.headers":         "false",
		"headers.delimiter":     "\t",
		"headers.separator":     ",",
		"headers.key.separator": ":",
		"null.marker":           "",
		"ignore.error":          "false",
	}
}

type produceOpts struct {
	bootstrap         string
	topic             string
	props             listFlag
	acks              string
	compression       string
	partition         int
	lingerMs          int
	batchSize         int
	deliveryTimeoutMs int
	txnID             string
	txnSize           int
	txnTimeoutMs      int
}

// Produce is `weir produce`.
func Produce(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := newCommand("produce", "produce --topic T [flags] < lines", produceAbout, stdout, stderr)
	var o produceOpts
	c.fs.StringVar(&o.bootstrap, "bootstrap-server", DefaultBootstrap, "comma-separated `host:port` list of brokers")
	c.fs.StringVar(&o.bootstrap, "broker-list", DefaultBootstrap, "old name of --bootstrap-server")
	c.fs.StringVar(&o.topic, "topic", "", "topic to write to (required)")
	c.fs.Var(&o.props, "property", "line reader property `key=value` (repeatable, see above)")
	c.fs.StringVar(&o.acks, "acks", "all", "acknowledgements: all (or -1), 1 or 0")
	c.fs.StringVar(&o.compression, "compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	c.fs.StringVar(&o.compression, "compression-codec", "none", "same as --compression")
	c.fs.IntVar(&o.partition, "partition", -1, "write every record to this partition (default: Kafka's key hash, sticky for null keys)")
	c.fs.IntVar(&o.lingerMs, "linger-ms", 0, "wait up to this many `ms` to fill a batch")
	c.fs.IntVar(&o.batchSize, "batch-size", 0, "maximum batch size in `bytes` (0: the client default, about 1 MB)")
	c.fs.IntVar(&o.deliveryTimeoutMs, "delivery-timeout-ms", 120000, "fail a record not acknowledged within this many `ms` (Kafka's delivery.timeout.ms)")
	c.fs.StringVar(&o.txnID, "transactional-id", "", "write in transactions as the producer of this transactional `id`")
	c.fs.IntVar(&o.txnSize, "transaction-size", 0, "with --transactional-id: commit every this many `lines` (0: one transaction for the whole input)")
	c.fs.IntVar(&o.txnTimeoutMs, "transaction-timeout-ms", 60000, "with --transactional-id: the coordinator aborts a transaction open longer than this many `ms`")
	return c.exit(runProduce(ctx, c, &o, args, stdin))
}

func runProduce(ctx context.Context, c *command, o *produceOpts, args []string, stdin io.Reader) error {
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
	props, err := properties(c, o.props, produceDefaults())
	if err != nil {
		return err
	}
	parser, err := newLineParser(props)
	if err != nil {
		return err
	}
	opts, tracker, err := clientOpts(o.bootstrap, "weir-producer")
	if err != nil {
		return err
	}
	popts, err := producerOpts(o)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, popts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if o.txnID != "" {
		return produceTransactions(ctx, c, cl, o, parser, stdin, tracker) // produce_txn.go
	}

	var (
		mu       sync.Mutex
		failed   int
		firstErr error
	)
	promise := func(_ *kgo.Record, err error) {
		if err == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if failed == 0 {
			firstErr = err
		}
		failed++
	}

	lines := make(chan lineOrErr)
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	go readLines(readCtx, stdin, lines)

	var sent int
	var stop error // why we stopped reading before EOF, if we did
read:
	for {
		select {
		case <-ctx.Done():
			break read // SIGINT: stop reading, but wait for what was sent
		case l, ok := <-lines:
			if !ok {
				break read
			}
			if l.err != nil {
				stop = fmt.Errorf("reading stdin: %w", l.err)
				break read
			}
			r, err := parser.parse(l.line, l.number)
			if err != nil {
				stop = err
				break read
			}
			r.Topic = o.topic
			if o.partition >= 0 {
				r.Partition = int32(o.partition)
			}
			sent++
			// The record outlives a SIGINT: a line read is a line owed.
			cl.Produce(context.WithoutCancel(ctx), r, promise)
		}
	}
	stopReading()
	// Flush waits for every promise; each record is bounded by the delivery
	// timeout, so this ends.
	if err := cl.Flush(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	if failed > 0 {
		err := tracker.explain(firstErr)
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			err = fmt.Errorf("topic %q does not exist (%w)", o.topic, err)
		}
		return fmt.Errorf("%d of %d records failed: %w", failed, sent, err)
	}
	if stop != nil {
		return fmt.Errorf("%w (the %d records before it were written)", stop, sent)
	}
	return nil
}

func producerOpts(o *produceOpts) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	switch o.acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, usagef("--acks %q: want all, -1, 1 or 0", o.acks)
	}
	codec, err := kopts.Compression(o.compression)
	if err != nil {
		return nil, usagef("--compression %q: want none, gzip, snappy, lz4 or zstd", o.compression)
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if o.partition < -1 || o.partition > math.MaxInt32 {
		return nil, usagef("--partition must be a partition number, got %d", o.partition)
	}
	if o.partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	// Otherwise kgo's default partitioner: murmur2 of the key modulo the
	// partition count like Kafka's Java client, sticky batches for null keys.
	linger, err := msDuration("linger-ms", o.lingerMs)
	if err != nil {
		return nil, err
	}
	if linger > 0 {
		opts = append(opts, kgo.ProducerLinger(linger))
	}
	if o.batchSize < 0 || o.batchSize > math.MaxInt32 {
		return nil, usagef("--batch-size must be a byte count, got %d", o.batchSize)
	}
	if o.batchSize > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(int32(o.batchSize)))
	}
	if o.txnID == "" && o.txnSize != 0 {
		return nil, usagef("--transaction-size needs --transactional-id")
	}
	if o.txnID != "" {
		if o.acks != "all" && o.acks != "-1" {
			return nil, usagef("--transactional-id needs --acks all (transactions are idempotent)")
		}
		if o.txnSize < 0 {
			return nil, usagef("--transaction-size must be a number of lines, got %d", o.txnSize)
		}
		txnTimeout, err := msDuration("transaction-timeout-ms", o.txnTimeoutMs)
		if err != nil || txnTimeout <= 0 {
			return nil, usagef("--transaction-timeout-ms must be a positive number of ms, got %d", o.txnTimeoutMs)
		}
		opts = append(opts, kgo.TransactionalID(o.txnID), kgo.TransactionTimeout(txnTimeout))
	}
	delivery, err := msDuration("delivery-timeout-ms", o.deliveryTimeoutMs)
	if err != nil {
		return nil, err
	}
	if delivery > 0 && delivery < time.Second {
		return nil, usagef("--delivery-timeout-ms must be at least 1000, got %d", o.deliveryTimeoutMs)
	}
	if delivery > 0 {
		opts = append(opts, kgo.RecordDeliveryTimeout(delivery))
	}
	return opts, nil
}

type lineOrErr struct {
	line   string
	number int // 1-based, for error messages
	err    error
}

// readLines sends stdin's lines (without the line end) until EOF, an error
// or ctx ends, then closes out. A read blocked on a terminal cannot be
// interrupted; the goroutine then ends with the process.
func readLines(ctx context.Context, r io.Reader, out chan<- lineOrErr) {
	defer close(out)
	send := func(item lineOrErr) bool {
		select {
		case out <- item:
			return true
		case <-ctx.Done():
			return false
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			send(lineOrErr{err: err})
			return
		}
		if len(line) > 0 {
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			if !send(lineOrErr{line: line, number: n}) {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// lineParser turns a line into a record the way Kafka's LineMessageReader
// does: [headers<headers.delimiter>][key<key.separator>]value.
type lineParser struct {
	parseKey, parseHeaders bool
	keySep, headersDelim   string
	headersSep, hdrKeySep  string
	nullMarker             string // "" disables
	ignoreError            bool
}

func newLineParser(props map[string]string) (*lineParser, error) {
	p := &lineParser{
		parseKey:     propTrue(props["parse.key"]),
		parseHeaders: propTrue(props["parse.headers"]),
		keySep:       props["key.separator"],
		headersDelim: props["headers.delimiter"],
		headersSep:   props["headers.separator"],
		hdrKeySep:    props["headers.key.separator"],
		nullMarker:   props["null.marker"],
		ignoreError:  propTrue(props["ignore.error"]),
	}
	for name, v := range map[string]string{
		"key.separator": p.keySep, "headers.delimiter": p.headersDelim,
		"headers.separator": p.headersSep, "headers.key.separator": p.hdrKeySep,
	} {
		if v == "" {
			return nil, usagef("property %s must not be empty", name)
		}
	}
	return p, nil
}

func (p *lineParser) parse(line string, number int) (*kgo.Record, error) {
	headers, hasHeaders, err := p.cut(p.parseHeaders, line, p.headersDelim, "headers delimiter", number)
	if err != nil {
		return nil, err
	}
	rest := line
	if hasHeaders {
		rest = line[len(headers)+len(p.headersDelim):]
	}
	key, hasKey, err := p.cut(p.parseKey, rest, p.keySep, "key separator", number)
	if err != nil {
		return nil, err
	}
	value := rest
	if hasKey {
		value = rest[len(key)+len(p.keySep):]
	}
	r := &kgo.Record{Value: p.bytes(value)}
	if hasKey {
		r.Key = p.bytes(key)
	}
	if hasHeaders && headers != p.nullMarker && headers != "" {
		for _, pair := range strings.Split(headers, p.headersSep) {
			k, v, ok := strings.Cut(pair, p.hdrKeySep)
			if !ok {
				if !p.ignoreError {
					return nil, fmt.Errorf("line %d: no header key separator %q in header %q", number, p.hdrKeySep, pair)
				}
				r.Headers = append(r.Headers, kgo.RecordHeader{Key: pair})
				continue
			}
			if p.nullMarker != "" && k == p.nullMarker {
				return nil, fmt.Errorf("line %d: header key %q equals the null marker", number, k)
			}
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: p.bytes(v)})
		}
	}
	return r, nil
}

// cut returns s up to sep when enabled; a missing separator is an error
// unless ignore.error is set, in which case the part is absent.
func (p *lineParser) cut(enabled bool, s, sep, what string, number int) (string, bool, error) {
	if !enabled {
		return "", false, nil
	}
	i := strings.Index(s, sep)
	if i < 0 {
		if p.ignoreError {
			return "", false, nil
		}
		return "", false, fmt.Errorf("line %d: no %s %q in %q", number, what, sep, s)
	}
	return s[:i], true, nil
}

// bytes maps the null marker to nil and anything else, even "", to a
// non-nil slice (an empty key is not a null key).
func (p *lineParser) bytes(s string) []byte {
	if p.nullMarker != "" && s == p.nullMarker {
		return nil
	}
	return append([]byte{}, s...)
}
