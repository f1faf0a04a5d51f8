package txncoord

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// State is a transaction's state, with Kafka's names and record ids
// (TransactionState).
type State int8

const (
	// Empty: the producer has no transaction (after InitProducerId).
	Empty State = 0
	// Ongoing: partitions were added; records are being written.
	Ongoing State = 1
	// PrepareCommit and PrepareAbort: the end is decided and durable; the
	// markers are being written to every partition of the transaction.
	PrepareCommit State = 2
	PrepareAbort  State = 3
	// CompleteCommit and CompleteAbort: every marker is written.
	CompleteCommit State = 4
	CompleteAbort  State = 5
	// Dead: the transactional id expired and is being removed (its
	// tombstone is written; the state is gone right after).
	Dead State = 6
	// PrepareEpochFence: an ongoing transaction is being aborted by the
	// coordinator (its timeout, or a new producer's InitProducerId), with
	// the epoch bumped so that the old producer is fenced. As in Kafka it
	// is never written: the abort it leads to (PrepareAbort) is.
	PrepareEpochFence State = 7
)

var stateNames = [...]string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int8(s))
}

// ParseState reads a state name as DescribeTransactions shows it.
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if strings.EqualFold(n, name) {
			return State(i), true
		}
	}
	return 0, false
}

// validPrevious is Kafka's transition table (TransactionState's
// validPreviousStates, transaction version 2 included): the states each
// state may be entered from.
var validPrevious = [...][]State{
	Empty:             {Empty, CompleteCommit, CompleteAbort},
	Ongoing:           {Ongoing, Empty, CompleteCommit, CompleteAbort},
	PrepareCommit:     {Ongoing},
	PrepareAbort:      {Ongoing, PrepareEpochFence, Empty, CompleteCommit, CompleteAbort},
	CompleteCommit:    {PrepareCommit},
	CompleteAbort:     {PrepareAbort},
	Dead:              {Empty, CompleteAbort, CompleteCommit},
	PrepareEpochFence: {Ongoing},
}

// noProducer is Kafka's "none" for producer ids and epochs.
const noProducer = -1

// txnMeta is what the coordinator knows of one transactional id (Kafka's
// TransactionMetadata).
type txnMeta struct {
	id string
	// producerID and epoch are the producer's current ones;
	// prevProducerID the id before the last rotation; nextProducerID the
	// id a TV2 transaction whose epoch ran out continues with once it
	// completes. lastEpoch is the epoch before the last InitProducerId
	// bump (memory only, as in Kafka: a retried InitProducerId that spans
	// a coordinator change is fenced).
	producerID, prevProducerID, nextProducerID int64
	epoch, lastEpoch                           int16
	timeoutMs                                  int32
	state                                      State
	partitions                                 map[TopicPartition]bool
	startMs, updateMs                          int64
	// tv2: the transaction's end (prepared) bumped the epoch (transaction
	// version 2), which decides how it completes.
	tv2 bool
}

func (m *txnMeta) sortedPartitions() []TopicPartition {
	out := make([]TopicPartition, 0, len(m.partitions))
	for tp := range m.partitions {
		out = append(out, tp)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// transition moves m to state, panicking on a transition Kafka's table
// forbids: the state machine's own invariant, never a client's doing.
func (m *txnMeta) transition(to State, nowMs int64) {
	ok := false
	for _, from := range validPrevious[to] {
		ok = ok || from == m.state
	}
	if !ok {
		panic(fmt.Sprintf("txncoord: transactional id %q: invalid transition from %v to %v", m.id, m.state, to))
	}
	m.state, m.updateMs = to, nowMs
}

// epochExhausted: epochs at or above MaxInt16-1 are not handed out, so the
// coordinator can always fence a producer with one more.
func epochExhausted(epoch int16) bool { return epoch >= math.MaxInt16-1 }

// Error codes used across the package.
var (
	notCoordinator       = kerr.NotCoordinator.Code
	concurrentTxns       = kerr.ConcurrentTransactions.Code
	producerFenced       = kerr.ProducerFenced.Code
	invalidMapping       = kerr.InvalidProducerIDMapping.Code
	invalidTxnState      = kerr.InvalidTxnState.Code
	transactionAbortable = kerr.TransactionAbortable.Code
)

// fencedFor is what a request of version v is told when its producer is
// fenced: clients older than the version that introduced PRODUCER_FENCED
// know it as INVALID_PRODUCER_EPOCH (as Kafka's request layer maps it).
func fencedFor(code int16, v, firstWithFenced int16) int16 {
	if code == producerFenced && v < firstWithFenced {
		return kerr.InvalidProducerEpoch.Code
	}
	return code
}
