package broker

// WriteTxnMarkers v0-2, from a transaction coordinator to the leader of
// each partition of a transaction it ended: the leader appends the marker
// (a control batch: commit or abort, the producer id and epoch, the
// coordinator epoch) and answers once it is durable, as Kafka appends
// markers with acks=all. v1 is flexible; v2 carries the transaction
// version: a version 2 marker must have a newer epoch than the producer's
// open transaction (KIP-890 part 2). A marker for __consumer_offsets goes
// through the group coordinator, which applies or discards the offsets the
// transaction committed (txn_markers.go).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(27, 0, 2, handleWriteTxnMarkers) }

func handleWriteTxnMarkers(_ context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.WriteTxnMarkersRequest)
	resp, wait := b.writeMarkers(r)
	return reply{resp: resp, finish: func(ctx context.Context) {
		ctx, cancel := b.timeoutContext(ctx, peerRequestTimeout)
		defer cancel()
		wait(ctx)
	}}, nil
}
