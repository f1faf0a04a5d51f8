package quorum

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sync"

	"github.com/weir-dev/weir/broker/metadata"
)

// EventKind is what an Event reports.
type EventKind uint8

const (
	// EventLeader: Node became the Raft leader of Term.
	EventLeader EventKind = iota + 1
	// EventApply: Node applied the committed entry (Term, Index); Image
	// is its image after it, Records what it applied.
	EventApply
	// EventSnapshot: Node restored Image from a snapshot at (Term, Index).
	EventSnapshot
)

// Event is what a node tells Config.Observer.
type Event struct {
	Kind     EventKind
	Node     int32
	Term     uint64
	Index    uint64
	Leader   int32
	Image    *metadata.Image
	Records  []metadata.Record
	ApplyErr error
}

// History records the events of every node of a quorum, for Check.
// Record is safe for concurrent use (each node's loop calls it).
type History struct {
	mu      sync.Mutex
	leaders []Event
	applied map[int32][]appliedEntry // by node, in order
}

type appliedEntry struct {
	term, index uint64
	image       uint64 // hash of the image's snapshot
	img         *metadata.Image
	records     []metadata.Record // what the entry applied (none for a snapshot)
	snapshot    bool
	applyErr    error
}

// NewHistory returns an empty history.
func NewHistory() *History { return &History{applied: map[int32][]appliedEntry{}} }

// Record is a Config.Observer.
func (h *History) Record(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch e.Kind {
	case EventLeader:
		h.leaders = append(h.leaders, e)
	case EventApply, EventSnapshot:
		h.applied[e.Node] = append(h.applied[e.Node], appliedEntry{
			term: e.Term, index: e.Index, image: imageHash(e.Image), img: e.Image, records: e.Records,
			snapshot: e.Kind == EventSnapshot, applyErr: e.ApplyErr,
		})
	}
}

func imageHash(img *metadata.Image) uint64 {
	h := fnv.New64a()
	h.Write(metadata.EncodeSnapshot(nil, img))
	return h.Sum64()
}

// Violation is one broken rule CheckHistory found.
type Violation struct {
	Rule   string
	Detail string
}

func (v Violation) String() string { return v.Rule + ": " + v.Detail }

// Check verifies that the metadata log behaved as one linearizable
// log:
//   - at most one leader per term;
//   - every node applied entries with increasing index, and terms that
//     never decrease;
//   - every node that applied index i applied the same entry (term) and
//     built the same image there: each node's images are a prefix of one
//     committed log;
//   - epochs only grow: along each node's images, metadata.CheckTransition
//     holds, and every image passes metadata.CheckImage;
//   - every ISR change a leader asked for replaces the state its request
//     named (metadata.CheckLeaderRequests over each entry's records and
//     the image before them): the controller accepted no AlterPartition
//     from a stale partition epoch, leader epoch, leader or broker epoch;
//   - no entry failed to apply (a controller that wrote records the
//     image refuses).
//
// It returns every violation found (none: the history is valid) and
// counts what it checked, so a caller can tell an empty history from a
// valid one.
func (h *History) Check() (violations []Violation, entries int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	add := func(rule, format string, args ...any) {
		violations = append(violations, Violation{Rule: rule, Detail: fmt.Sprintf(format, args...)})
	}
	leaderOf := map[uint64]int32{}
	for _, e := range h.leaders {
		if l, ok := leaderOf[e.Term]; ok && l != e.Leader {
			add("two-leaders", "term %d: node %d and node %d", e.Term, l, e.Leader)
		}
		leaderOf[e.Term] = e.Leader
	}
	type atIndex struct {
		node  int32
		term  uint64
		image uint64
	}
	first := map[uint64]atIndex{}
	nodes := make([]int32, 0, len(h.applied))
	for id := range h.applied {
		nodes = append(nodes, id)
	}
	slices.Sort(nodes)
	for _, id := range nodes {
		var prev *appliedEntry
		for i := range h.applied[id] {
			e := &h.applied[id][i]
			entries++
			if e.applyErr != nil {
				add("apply-error", "node %d index %d: %v", id, e.index, e.applyErr)
			}
			if prev != nil && !e.snapshot {
				if e.index <= prev.index || e.term < prev.term {
					add("order", "node %d applied (%d,%d) after (%d,%d)", id, e.term, e.index, prev.term, prev.index)
				}
				if err := metadata.CheckTransition(prev.img, e.img); err != nil {
					add("epochs", "node %d index %d: %v", id, e.index, err)
				}
				if e.index == prev.index+1 && e.applyErr == nil {
					// prev.img is the image the entry's records applied to.
					if err := metadata.CheckLeaderRequests(prev.img, e.records); err != nil {
						add("alter-partition", "node %d index %d: %v", id, e.index, err)
					}
				}
			}
			if err := metadata.CheckImage(e.img); err != nil {
				add("image", "node %d index %d: %v", id, e.index, err)
			}
			if f, ok := first[e.index]; !ok {
				first[e.index] = atIndex{id, e.term, e.image}
			} else if f.term != e.term || f.image != e.image {
				add("diverged", "index %d: node %d has term %d image %x, node %d term %d image %x",
					e.index, f.node, f.term, f.image, id, e.term, e.image)
			}
			prev = e
		}
	}
	checkLeaderEpochs(h, nodes, add)
	return violations, entries
}

// checkLeaderEpochs: across all nodes and images, a partition's leader
// epoch names one leader ("no two leaders for one epoch").
func checkLeaderEpochs(h *History, nodes []int32, add func(rule, format string, args ...any)) {
	type key struct {
		topic metadata.TopicID
		index int
		epoch int32
	}
	seen := map[key]int32{}
	for _, id := range nodes {
		var last *metadata.Image
		for _, e := range h.applied[id] {
			if e.img == last {
				continue
			}
			last = e.img
			for _, t := range e.img.Topics() {
				for i, p := range t.Partitions {
					if p.Leader < 0 {
						continue
					}
					k := key{t.ID, i, p.LeaderEpoch}
					if l, ok := seen[k]; ok && l != p.Leader {
						add("leader-epoch", "%s/%d leader epoch %d has leaders %d and %d", t.Name, i, p.LeaderEpoch, l, p.Leader)
						seen[k] = p.Leader
					} else if !ok {
						seen[k] = p.Leader
					}
				}
			}
		}
	}
}
