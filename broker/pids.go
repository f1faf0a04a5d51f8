package broker

import (
	"context"
	"errors"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// producerIDs hands out producer ids from blocks the controller allocates
// (AllocateProducerIDs), so ids are unique across the cluster and never
// reused after a restart: the metadata log records every block handed out.
type producerIDs struct {
	mu        sync.Mutex
	next, end int64 // the current block is [next, end)
}

// nextProducerID returns a fresh producer id, asking the controller for a
// new block when the current one is used up. The error is a Kafka error
// for the client (the controller unreachable: COORDINATOR_LOAD_IN_PROGRESS
// is what clients retry; Kafka answers the same while its block is late).
func (b *Broker) nextProducerID(ctx context.Context) (int64, error) {
	p := &b.producerIDs
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next < p.end {
		id := p.next
		p.next++
		return id, nil
	}
	epoch := b.session.brokerEpoch()
	if epoch < 0 {
		return 0, kerr.CoordinatorLoadInProgress
	}
	req := kmsg.NewPtrAllocateProducerIDsRequest()
	req.BrokerID, req.BrokerEpoch = b.cfg.NodeID, epoch
	resp, err := b.quorum.Submit(ctx, req)
	if err != nil {
		b.log.Warn("allocating a producer-id block failed", "err", err)
		return 0, kerr.CoordinatorLoadInProgress
	}
	r := resp.(*kmsg.AllocateProducerIDsResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		var ke *kerr.Error
		if errors.As(err, &ke) && (ke == kerr.StaleBrokerEpoch || ke == kerr.BrokerIDNotRegistered) {
			return 0, kerr.CoordinatorLoadInProgress
		}
		return 0, err
	}
	if r.ProducerIDLen <= 0 {
		return 0, kerr.UnknownServerError
	}
	p.next, p.end = r.ProducerIDStart+1, r.ProducerIDStart+int64(r.ProducerIDLen)
	return r.ProducerIDStart, nil
}
