package gen

import (
	"context"
	"fmt"
)

// BeginTxn runs begin, a kgo client's BeginTransaction (or a
// GroupTransactSession's Begin), and gives up when ctx ends.
//
// kgo's BeginTransaction takes no context: a client without a producer id
// (a new incarnation, or one whose id must be reloaded) sends
// InitProducerId, and sends it again for as long as the coordinator
// answers CONCURRENT_TRANSACTIONS. The coordinator answers that until it
// has written the markers ending the transactional id's last transaction,
// which may be never within a run: a partition of that transaction
// offline until the liveness phase restarts its node, and the liveness
// phase waits for the workload to return (seed 20104 hung on it). Only the
// client's own context ends kgo's loop, so when ctx ends first BeginTxn
// calls crash, which must close the client, waits for begin to return (no
// goroutine outlives the call), and returns an error wrapping ctx's. The
// caller records the transaction info and continues with a new client.
func BeginTxn(ctx context.Context, begin func() error, crash func()) error {
	began := make(chan error, 1)
	go func() { began <- begin() }()
	select {
	case err := <-began:
		return err
	case <-ctx.Done():
		crash()
		<-began
		return fmt.Errorf("no producer id before the transaction's deadline: %w", ctx.Err())
	}
}
