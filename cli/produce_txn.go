package cli

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produceTransactions is `weir produce --transactional-id`: the lines of
// stdin written in transactions of o.txnSize lines (0: one for the whole
// input), each committed once all its records are acknowledged, aborted
// if any failed.
func produceTransactions(ctx context.Context, c *command, cl *kgo.Client, o *produceOpts, parser *lineParser, stdin io.Reader, tracker *connTracker) error {
	lines := make(chan lineOrErr)
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	go readLines(readCtx, stdin, lines)
	// Ending a transaction outlives a SIGINT: an open one is aborted.
	endCtx := context.WithoutCancel(ctx)

	var (
		mu       sync.Mutex
		firstErr error
	)
	promise := func(_ *kgo.Record, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	committed, txns, inTxn := 0, 0, 0
	// end ends the open transaction: a commit unless a record failed or
	// abort is set; it reports why a commit did not happen.
	end := func(abort bool) error {
		if err := cl.Flush(endCtx); err != nil {
			return err
		}
		mu.Lock()
		failed := firstErr
		mu.Unlock()
		commit := failed == nil && !abort
		if err := cl.EndTransaction(endCtx, kgo.TransactionEndTry(commit)); err != nil {
			return fmt.Errorf("ending the transaction of %d records: %w", inTxn, tracker.explain(err))
		}
		if failed != nil {
			return fmt.Errorf("a record failed, so the transaction of %d records was aborted: %w", inTxn, tracker.explain(failed))
		}
		if commit {
			committed += inTxn
			txns++
		}
		inTxn = 0
		return nil
	}
	summary := func(err error) error {
		return fmt.Errorf("%w (%d records in %d committed transactions stay)", err, committed, txns)
	}
	for {
		var l lineOrErr
		var ok bool
		select {
		case <-ctx.Done():
			if inTxn > 0 {
				if err := end(true); err != nil {
					return summary(err)
				}
			}
			return summary(fmt.Errorf("interrupted; the open transaction of %d records was aborted", inTxn))
		case l, ok = <-lines:
		}
		if !ok {
			break
		}
		var r *kgo.Record
		err := l.err
		if err == nil {
			r, err = parser.parse(l.line, l.number)
		} else {
			err = fmt.Errorf("reading stdin: %w", err)
		}
		if err != nil {
			if inTxn > 0 {
				n := inTxn
				if eerr := end(true); eerr != nil {
					return summary(eerr)
				}
				err = fmt.Errorf("%w; the open transaction of %d records was aborted", err, n)
			}
			return summary(err)
		}
		if inTxn == 0 {
			if err := cl.BeginTransaction(); err != nil {
				return summary(err)
			}
		}
		r.Topic = o.topic
		if o.partition >= 0 {
			r.Partition = int32(o.partition)
		}
		cl.Produce(endCtx, r, promise)
		inTxn++
		if o.txnSize > 0 && inTxn == o.txnSize {
			if err := end(false); err != nil {
				return summary(err)
			}
		}
	}
	if inTxn > 0 {
		if err := end(false); err != nil {
			return summary(err)
		}
	}
	return nil
}
