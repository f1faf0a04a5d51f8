package txn

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/record"
)

// Marker is a transaction marker: the control record a partition leader
// appends when the transaction coordinator tells it (WriteTxnMarkers) that
// a producer's transaction committed or aborted. It ends the producer's
// transaction in that partition.
type Marker struct {
	ProducerID    int64
	ProducerEpoch int16
	Commit        bool
	// CoordinatorEpoch is the leader epoch of the coordinator's
	// __transaction_state partition: a marker from an older coordinator
	// than the last one seen for the producer is refused.
	CoordinatorEpoch int32
}

// Control record types (Kafka's ControlRecordType) of transaction markers.
const (
	controlAbort  = 0
	controlCommit = 1
)

// ErrNotMarker means a control batch does not hold a transaction marker
// (another control type, or records that do not decode).
var ErrNotMarker = errors.New("txn: control batch is not a transaction marker")

// MarkerBatch is the control batch of m as Kafka writes it: one record
// whose key is the control type and whose value is the coordinator epoch,
// the transactional and control attributes, no sequence, timestamp nowMs,
// at base offset 0 (the log assigns the real one).
func MarkerBatch(m Marker, nowMs int64) []byte {
	key := kmsg.ControlRecordKey{Version: 0, Type: controlAbort}
	if m.Commit {
		key.Type = controlCommit
	}
	value := kmsg.EndTxnMarker{Version: 0, CoordinatorEpoch: m.CoordinatorEpoch}
	r := kmsg.Record{Key: key.AppendTo(nil), Value: value.AppendTo(nil)}
	r.Length = int32(len(r.AppendTo(nil)) - 1) // Length covers what follows it
	h := record.BatchHeader{
		PartitionLeaderEpoch: -1,
		Attributes:           record.TransactionalBit | record.ControlBit,
		FirstTimestamp:       nowMs,
		MaxTimestamp:         nowMs,
		ProducerID:           m.ProducerID,
		ProducerEpoch:        m.ProducerEpoch,
		FirstSequence:        -1,
	}
	raw, err := record.AppendBatch(nil, nil, h, r.AppendTo(nil), 1)
	if err != nil {
		panic(err) // uncompressed: AppendBatch cannot fail
	}
	return raw
}

// ParseMarker reads the transaction marker of a control batch.
func ParseMarker(b *record.Batch) (Marker, error) {
	if !b.IsControl() {
		return Marker{}, fmt.Errorf("%w: not a control batch", ErrNotMarker)
	}
	if b.Compression() != record.CodecNone || b.NumRecords < 1 {
		return Marker{}, fmt.Errorf("%w: %d records, codec %d", ErrNotMarker, b.NumRecords, b.Compression())
	}
	r, _, err := record.NextRecord(b.Records)
	if err != nil {
		return Marker{}, fmt.Errorf("%w: %v", ErrNotMarker, err)
	}
	var key kmsg.ControlRecordKey
	if err := key.ReadFrom(r.Key); err != nil {
		return Marker{}, fmt.Errorf("%w: key: %v", ErrNotMarker, err)
	}
	if key.Type != controlAbort && key.Type != controlCommit {
		return Marker{}, fmt.Errorf("%w: control type %d", ErrNotMarker, key.Type)
	}
	var value kmsg.EndTxnMarker
	if err := value.ReadFrom(r.Value); err != nil {
		return Marker{}, fmt.Errorf("%w: value: %v", ErrNotMarker, err)
	}
	return Marker{
		ProducerID:       b.ProducerID,
		ProducerEpoch:    b.ProducerEpoch,
		Commit:           key.Type == controlCommit,
		CoordinatorEpoch: value.CoordinatorEpoch,
	}, nil
}
