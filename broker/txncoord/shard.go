package txncoord

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Waiter identifies a request the shell waits to answer; the shard hands it
// back in a Reply, exactly once. It must be non-nil and comparable.
type Waiter any

// Reply is the answer to the request the shell passed with To.
type Reply struct {
	To   Waiter
	Resp kmsg.Response
}

// Record is one __transaction_state record; a nil Value is a tombstone.
type Record struct {
	Key, Value []byte
}

// Batch is records to append to the shard's partition at BaseOffset, one
// offset each. If the shell cannot append them there it must stop using
// the shard (its state is already ahead of the log).
type Batch struct {
	BaseOffset int64
	Records    []Record
}

// TopicPartition names a partition of a transaction.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// MarkerJob is a transaction end the shell must write to every partition
// of the transaction (WriteTxnMarkers to each partition's leader, retried
// until done) and then report with MarkersWritten. Its prepare record is
// durable: whatever happens to this coordinator, the transaction ends
// this way.
type MarkerJob struct {
	TransactionalID string
	ProducerID      int64
	// ProducerEpoch is the epoch the markers carry (the bumped one under
	// transaction version 2).
	ProducerEpoch    int16
	Commit           bool
	CoordinatorEpoch int32
	TV2              bool
	Partitions       []TopicPartition
}

// Output is what one call decided. The shell appends Batch (if any) before
// anything else it is told later, delivers Replies, and starts Markers.
type Output struct {
	Batch   *Batch
	Replies []Reply
	Markers []MarkerJob
}

// ProducerIDs returns a new producer id, or the Kafka error code to answer
// with when none can be had now. The shell's may block (it asks the
// controller for a block of ids); tests count.
type ProducerIDs func() (int64, int16)

// Shard is the transaction coordinator of the transactional ids that live
// in one __transaction_state partition. See the package documentation.
type Shard struct {
	cfg  Config
	txns map[string]*txnMeta

	// now is the latest time input, in Unix milliseconds.
	now int64
	// coordEpoch is the partition's leader epoch this shard was loaded
	// in: markers carry it, so partitions refuse a deposed coordinator's.
	coordEpoch int32

	loading, unloaded bool

	// nextOffset is where the next batch goes; durable is how far the log
	// is durable. Replies decided while durable < nextOffset wait in held;
	// so do the marker jobs of transactions whose prepare record is not
	// durable yet.
	nextOffset, durable int64
	held                []heldReply
	heldMarkers         []heldMarkers

	records []Record
	replies []Reply
	markers []MarkerJob

	// skipped counts records Replay did not understand.
	skipped int
}

type heldReply struct {
	after int64
	reply Reply
}

type heldMarkers struct {
	after int64
	job   MarkerJob
}

// NewShard returns a shard ready to be loaded: Replay every record of its
// partition, then FinishLoad.
func NewShard(cfg Config) *Shard {
	return &Shard{cfg: cfg, txns: map[string]*txnMeta{}, loading: true}
}

// begin starts a call at time nowMs; time never goes back.
func (s *Shard) begin(nowMs int64) {
	if nowMs > s.now {
		s.now = nowMs
	}
}

// end packs the call's records, replies and marker jobs into an Output:
// replies and jobs wait until the records are durable.
func (s *Shard) end() Output {
	var out Output
	if len(s.records) > 0 {
		out.Batch = &Batch{BaseOffset: s.nextOffset, Records: s.records}
		s.nextOffset += int64(len(s.records))
		s.records = nil
	}
	for _, r := range s.replies {
		if s.durable >= s.nextOffset {
			out.Replies = append(out.Replies, r)
		} else {
			s.held = append(s.held, heldReply{after: s.nextOffset, reply: r})
		}
	}
	for _, m := range s.markers {
		if s.durable >= s.nextOffset {
			out.Markers = append(out.Markers, m)
		} else {
			s.heldMarkers = append(s.heldMarkers, heldMarkers{after: s.nextOffset, job: m})
		}
	}
	s.replies, s.markers = nil, nil
	return out
}

func (s *Shard) reply(w Waiter, resp kmsg.Response) {
	if w == nil {
		panic("txncoord: reply to a nil waiter")
	}
	s.replies = append(s.replies, Reply{To: w, Resp: resp})
}

func (s *Shard) emit(r Record) { s.records = append(s.records, r) }

// refuse answers w at once, outside any call: an error reveals no state.
func refuse(w Waiter, resp kmsg.Response) Output {
	return Output{Replies: []Reply{{To: w, Resp: resp}}}
}

// Durable tells the shard that every record below offset is durable (the
// partition's high watermark): replies and marker jobs that waited for
// them are released.
func (s *Shard) Durable(offset int64) Output {
	if offset > s.durable {
		s.durable = offset
	}
	var out Output
	n := 0
	for n < len(s.held) && s.held[n].after <= s.durable {
		out.Replies = append(out.Replies, s.held[n].reply)
		n++
	}
	s.held = s.held[n:]
	n = 0
	for n < len(s.heldMarkers) && s.heldMarkers[n].after <= s.durable {
		out.Markers = append(out.Markers, s.heldMarkers[n].job)
		n++
	}
	s.heldMarkers = s.heldMarkers[n:]
	return out
}

// Pending reports whether replies or marker jobs wait for durability.
func (s *Shard) Pending() bool { return len(s.held) > 0 || len(s.heldMarkers) > 0 }

// Unload gives the partition up (leadership moved, or its log failed):
// held requests are answered NOT_COORDINATOR, and every later call too.
// Marker jobs under way are the new coordinator's: it loads the prepare
// records and sends them again.
func (s *Shard) Unload() Output {
	var out Output
	for _, h := range s.held {
		out.Replies = append(out.Replies, Reply{To: h.reply.To, Resp: withError(h.reply.Resp, notCoordinator)})
	}
	s.held, s.heldMarkers = nil, nil
	s.txns = map[string]*txnMeta{}
	s.unloaded = true
	return out
}

// Loading reports whether the shard still waits for FinishLoad.
func (s *Shard) Loading() bool { return s.loading }

// CoordinatorEpoch is the epoch the shard was loaded in.
func (s *Shard) CoordinatorEpoch() int32 { return s.coordEpoch }

func (s *Shard) sortedIDs() []string {
	ids := make([]string, 0, len(s.txns))
	for id := range s.txns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
